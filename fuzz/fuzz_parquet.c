/* libFuzzer target for the parquet reader: opens the input as an in-memory
 * parquet file, reads every column chunk of every row group (INT96 both
 * raw and converted), walks the decoded layout and assembles nested rows,
 * touching every value so ASan sees any read outside the buffers. Memory per
 * chunk is capped so that files claiming billions of values end in a clean
 * error rather than in libFuzzer's out-of-memory report. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/parquet.h"

static void touch_cb(void *ctx) { (*(uint64_t *)ctx)++; }
static void touch_val(void *ctx, int64_t slot) { *(uint64_t *)ctx += (uint64_t)slot; }

static uint64_t touch(const mr_pq_column_info *ci, const mr_pq_col *c)
{
    uint64_t h = 0;
    size_t w = ci->physical == MR_PQ_BOOLEAN ? 1
               : ci->physical == MR_PQ_INT32 || ci->physical == MR_PQ_FLOAT ? 4
               : ci->physical == MR_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)ci->type_length
               : ci->physical == MR_PQ_BYTE_ARRAY ? 0 : 8;
    const uint8_t *v = c->values;
    if (w && c->n_slots) h += v[(size_t)c->n_slots * w - 1] + v[0];
    if (ci->physical == MR_PQ_BYTE_ARRAY)
        for (int64_t i = 0; i < c->n_slots; i++) {
            int64_t a = c->offsets[i], b = c->offsets[i + 1];
            if (b > a) h += c->bytes[a] + c->bytes[b - 1];
        }
    if (c->valid) for (int64_t i = 0; i < c->n_slots; i++) h += c->valid[i];
    if (c->list_offsets) h += (uint64_t)c->list_offsets[c->n_rows];
    if (c->list_valid) for (int64_t i = 0; i < c->n_rows; i++) h += c->list_valid[i];
    if (ci->list_depth > 1) {
        static const mr_pq_assembler cb = {touch_cb, touch_cb, touch_cb, touch_val};
        mr_pq_cursor cur = {0};
        for (int64_t r = 0; r < c->n_rows; r++)
            if (mr_pq_assemble_row(ci, c, &cur, &cb, &h)) break;
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mr_pq_reader *r;
    if (mr_pq_open_mem(&r, data, size, "fuzz.parquet")) return 0;
    mr_pq_set_alloc_limit(r, (size_t)64 << 20);
    volatile uint64_t sink = 0;
    for (int raw = 0; raw < 2; raw++) {
        mr_pq_set_int96_raw(r, raw);
        for (int g = 0; g < mr_pq_num_row_groups(r) && g < 64; g++)
            for (int c = 0; c < mr_pq_num_columns(r) && c < 256; c++) {
                const mr_pq_column_info *ci = mr_pq_column(r, c);
                if (raw && ci->physical != MR_PQ_INT96) continue;
                mr_pq_col col;
                if (mr_pq_read(r, g, c, &col) == 0) {
                    sink += touch(ci, &col);
                    mr_pq_col_free(&col);
                }
                /* The decode-into-caller-array path, for flat fixed-width columns. */
                int64_t rows = mr_pq_row_group_rows(r, g);
                size_t w = ci->physical == MR_PQ_BOOLEAN ? 1
                           : ci->physical == MR_PQ_INT32 || ci->physical == MR_PQ_FLOAT ? 4
                           : ci->physical == MR_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)ci->type_length
                           : ci->physical == MR_PQ_INT96 && raw ? 12 : 8;
                if (!raw && ci->list_depth == 0 && ci->physical != MR_PQ_BYTE_ARRAY && rows >= 0 &&
                    (uint64_t)rows * (w + 1) <= ((uint64_t)16 << 20)) {
                    uint8_t *dst = malloc((size_t)rows * w + 1), *valid = malloc((size_t)rows + 1);
                    if (dst && valid && mr_pq_read_into(r, g, c, dst, valid) == 0 && rows > 0)
                        sink += dst[(size_t)rows * w - 1] + valid[rows - 1];
                    if (dst && mr_pq_read_into(r, g, c, dst, NULL) == 0 && rows > 0) sink += dst[0];
                    free(dst);
                    free(valid);
                }
            }
    }
    for (int i = 0; i < mr_pq_num_kv(r); i++) {
        const char *k, *v;
        mr_pq_kv_at(r, i, &k, &v);
        sink += strlen(k) + strlen(v);
    }
    (void)sink;
    mr_pq_close(r);
    return 0;
}
