/* Record assembly (the Dremel algorithm, restricted to lists): each level
 * entry of a row either continues the list at nesting `rep` or starts the
 * row (rep 0); its definition level says how deep the structure exists
 * below that point: a null list, an empty list, a null element, or a value.
 * Only list nesting is supported (no structs), so nesting k's list is null
 * when def < list_def[k] and empty when def < elem_def[k]. */
#include "base/err.h"
#include "parquet/parquet.h"

int mr_pq_assemble_row(const mr_pq_column_info *ci, const mr_pq_col *c, mr_pq_cursor *cur,
                       const mr_pq_assembler *cb, void *ctx)
{
    const int depth = ci->list_depth;
    int64_t i = cur->level;
    if (depth < 1 || depth > MR_PQ_MAX_LIST_DEPTH || !c->def || !c->rep)
        return mr_err(MR_EINVAL, "column '%s' has no levels to assemble", ci->path);
    if (i >= c->n_levels) return mr_err(MR_EFORMAT, "column '%s': no levels left for another row", ci->path);
    if (c->rep[i] != 0) return mr_err(MR_EFORMAT, "column '%s': a row starts with repetition level %d", ci->path, c->rep[i]);
    int open = 0;
    for (int first = 1; i < c->n_levels && (first || c->rep[i] != 0); first = 0, i++) {
        int r = c->rep[i], d = c->def[i], k = 0;
        if (!first) {
            if (r > open)
                return mr_err(MR_EFORMAT, "column '%s': repetition level %d continues a list that is not open", ci->path, r);
            while (open > r) {
                cb->list_end(ctx);
                open--;
            }
            k = r;
        }
        for (; k < depth; k++) {
            if (d < ci->list_def[k]) break;
            cb->list_begin(ctx);
            open++;
            if (d < ci->elem_def[k]) break;
        }
        if (k < depth && d < ci->list_def[k]) {
            cb->null(ctx);
        } else if (k == depth) {
            if (d == ci->max_def) {
                if (cur->value >= c->n_slots) return mr_err(MR_EFORMAT, "column '%s': more values referenced than decoded", ci->path);
                cb->value(ctx, cur->value++);
            } else {
                cb->null(ctx);
            }
        }
    }
    while (open > 0) {
        cb->list_end(ctx);
        open--;
    }
    cur->level = i;
    return 0;
}
