/* Reading and writing the pipeline's tables (tables.h).
 *
 * Readers decode row groups in parallel (each row group lands at its own
 * row offset, so no merging is needed) and narrow every column to its
 * in-memory type with a range check: a file from another tool or an older
 * run that breaks the contract fails with the file and column named,
 * instead of producing wrong codes. The events writer gathers rows into
 * fixed 1M-row batches (one row group each) so that memory stays one batch
 * above the caller's arrays, whatever the file size. */
#include "data/tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "data/pqcol.h"
#include "parquet/parquet.h"

#define BATCH_ROWS (1 << 20)

/* Runs body(rg) for every row group in parallel; the first error wins. */
#define FOR_ROW_GROUPS(r, rc, body)                                                                  \
    do {                                                                                             \
        int n_rg_ = mr_pq_num_row_groups(r), err_ = 0;                                               \
        char msg_[1024] = "";                                                                        \
        _Pragma("omp parallel for schedule(dynamic, 1)") for (int rg = 0; rg < n_rg_; rg++)          \
        {                                                                                            \
            if (__atomic_load_n(&err_, __ATOMIC_RELAXED)) continue;                                  \
            int rc_ = body;                                                                          \
            if (rc_) {                                                                               \
                _Pragma("omp critical(mr_tables_err)") if (!err_)                                    \
                {                                                                                    \
                    snprintf(msg_, sizeof msg_, "%s", mr_errmsg());                                  \
                    __atomic_store_n(&err_, rc_, __ATOMIC_RELAXED);                                  \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
        if (err_) mr_err_set_msg(msg_);                                                              \
        (rc) = err_;                                                                                 \
    } while (0)

static int64_t *rg_starts(mr_pq_reader *r)
{
    int n = mr_pq_num_row_groups(r);
    int64_t *s = mr_malloc((size_t)(n + 1) * 8);
    if (!s) return NULL;
    s[0] = 0;
    for (int i = 0; i < n; i++) s[i + 1] = s[i] + mr_pq_row_group_rows(r, i);
    return s;
}

/* Reads row group rg of an integer-like column into dst (int32 when
 * out32, else int64), checking lo <= v <= hi. */
static int read_int_col(mr_pq_reader *r, int rg, int col, mr_pqc_kind kind, void *dst, int out32, int64_t lo,
                        int64_t hi)
{
    return mr_pqc_read_narrow(r, rg, col, kind, dst, out32 ? 4 : 8, lo, hi);
}

/* ---------------------------------------------------------------- events */

void mr_events_free(mr_events *ev)
{
    if (!ev) return;
    free(ev->user_idx);
    free(ev->item_idx);
    free(ev->day);
    free(ev->track_seq);
    free(ev->user_id);
    free(ev->track_id);
    memset(ev, 0, sizeof *ev);
}

static int events_rg(mr_pq_reader *r, int rg, const int *cols, const int64_t *start, mr_events *ev, int raw)
{
    int64_t o = start[rg];
    int rc = read_int_col(r, rg, cols[0], MR_PQC_INT, ev->user_idx + o, 1, 0, INT32_MAX);
    if (!rc) rc = read_int_col(r, rg, cols[1], MR_PQC_INT, ev->item_idx + o, 1, 0, INT32_MAX);
    if (!rc) rc = read_int_col(r, rg, cols[2], MR_PQC_DAY, ev->day + o, 1, INT32_MIN, INT32_MAX);
    if (!rc) rc = mr_pqc_read_narrow(r, rg, cols[3], MR_PQC_INT, ev->track_seq + o, 2, INT16_MIN, INT16_MAX);
    if (!rc && raw) rc = read_int_col(r, rg, cols[4], MR_PQC_INT, ev->user_id + o, 1, INT32_MIN, INT32_MAX);
    if (!rc && raw) rc = read_int_col(r, rg, cols[5], MR_PQC_INT, ev->track_id + o, 0, INT64_MIN, INT64_MAX);
    return rc;
}

int mr_events_read(const char *path, int with_raw_ids, mr_events *ev)
{
    memset(ev, 0, sizeof *ev);
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int cols[6];
    rc = mr_pqc_require(r, "user_idx", MR_PQC_INT, 0, &cols[0]);
    if (!rc) rc = mr_pqc_require(r, "item_idx", MR_PQC_INT, 0, &cols[1]);
    if (!rc) rc = mr_pqc_require(r, "started_at", MR_PQC_DAY, 0, &cols[2]);
    if (!rc) rc = mr_pqc_require(r, "track_seq", MR_PQC_INT, 0, &cols[3]);
    if (!rc && with_raw_ids) rc = mr_pqc_require(r, "user_id", MR_PQC_INT, 0, &cols[4]);
    if (!rc && with_raw_ids) rc = mr_pqc_require(r, "track_id", MR_PQC_INT, 0, &cols[5]);
    int64_t n = mr_pq_num_rows(r);
    int64_t *start = rc ? NULL : rg_starts(r);
    if (!rc && !start) rc = MR_ENOMEM;
    if (!rc) {
        size_t m = (size_t)(n ? n : 1);
        ev->n = n;
        ev->user_idx = mr_malloc_huge(m * 4);
        ev->item_idx = mr_malloc_huge(m * 4);
        ev->day = mr_malloc_huge(m * 4);
        ev->track_seq = mr_malloc_huge(m * 2);
        if (with_raw_ids) {
            ev->user_id = mr_malloc_huge(m * 4);
            ev->track_id = mr_malloc_huge(m * 8);
        }
        if (!ev->user_idx || !ev->item_idx || !ev->day || !ev->track_seq ||
            (with_raw_ids && (!ev->user_id || !ev->track_id)))
            rc = MR_ENOMEM;
    }
    if (!rc) FOR_ROW_GROUPS(r, rc, events_rg(r, rg, cols, start, ev, with_raw_ids));
    free(start);
    mr_pq_close(r);
    if (rc) mr_events_free(ev);
    return rc;
}

static const mr_pq_field event_fields[] = {
    {"user_id", MR_PQ_W_I32, 0, 0, 0},  {"user_idx", MR_PQ_W_I32, 0, 0, 0},   {"track_id", MR_PQ_W_I64, 0, 0, 0},
    {"item_idx", MR_PQ_W_I32, 0, 0, 0}, {"track_seq", MR_PQ_W_I32, 16, 0, 0}, {"started_at", MR_PQ_W_DATE, 0, 0, 0},
};

int mr_events_write_days(const char *path, const mr_events *ev, int32_t day_from, int32_t day_to,
                         const int32_t *user_ids, const int64_t *track_ids, int64_t *n_written)
{
    if ((!ev->user_id && !user_ids) || (!ev->track_id && !track_ids))
        return mr_err(MR_EINVAL, "writing %s: events without raw ids and no id lookup", path);
    mr_pq_writer *w;
    int rc = mr_pq_writer_open(&w, path, event_fields, 6, NULL);
    if (rc) return rc;
    int32_t *uid = mr_malloc(BATCH_ROWS * 4), *uidx = mr_malloc(BATCH_ROWS * 4), *iidx = mr_malloc(BATCH_ROWS * 4),
            *seq = mr_malloc(BATCH_ROWS * 4), *day = mr_malloc(BATCH_ROWS * 4);
    int64_t *tid = mr_malloc(BATCH_ROWS * 8);
    if (!uid || !uidx || !iidx || !seq || !day || !tid) rc = MR_ENOMEM;
    int64_t total = 0, k = 0;
    for (int64_t i = 0; !rc && i <= ev->n; i++) {
        if (i < ev->n) {
            int32_t d = ev->day[i];
            if (d < day_from || d >= day_to) continue;
            int32_t u = ev->user_idx[i], it = ev->item_idx[i];
            uid[k] = ev->user_id ? ev->user_id[i] : user_ids[u];
            uidx[k] = u;
            tid[k] = ev->track_id ? ev->track_id[i] : track_ids[it];
            iidx[k] = it;
            seq[k] = ev->track_seq[i];
            day[k] = d;
            k++;
        }
        if (k == BATCH_ROWS || (i == ev->n && k > 0)) {
            mr_pq_col cols[6];
            memset(cols, 0, sizeof cols);
            void *vals[6] = {uid, uidx, tid, iidx, seq, day};
            for (int c = 0; c < 6; c++) {
                cols[c].n_rows = cols[c].n_slots = k;
                cols[c].values = vals[c];
            }
            rc = mr_pq_writer_write(w, cols);
            total += k;
            k = 0;
        }
    }
    free(uid), free(uidx), free(iidx), free(seq), free(day), free(tid);
    if (rc) {
        mr_pq_writer_abort(w);
        return rc;
    }
    rc = mr_pq_writer_close(w);
    if (!rc && n_written) *n_written = total;
    return rc;
}

int mr_events_write(const char *path, const mr_events *ev)
{
    return mr_events_write_days(path, ev, INT32_MIN, INT32_MAX, NULL, NULL, NULL);
}

/* ----------------------------------------------------------------- items */

void mr_items_free(mr_items *it)
{
    if (!it) return;
    free(it->track_id), free(it->group_id), free(it->flags), free(it->name_off), free(it->name_bytes);
    free(it->artist_off), free(it->artist_ids), free(it->artist_name_off), free(it->artist_name_bytes);
    free(it->genre_off), free(it->genre_ids), free(it->genre_name_off), free(it->genre_name_bytes);
    free(it->album_off), free(it->album_ids);
    memset(it, 0, sizeof *it);
}

static int to_i32(const mr_pqc_gathered *g, int32_t **out, const char *path, const char *name, int64_t lo, int64_t hi)
{
    *out = mr_malloc((size_t)(g->n_slots ? g->n_slots : 1) * 4);
    if (!*out) return MR_ENOMEM;
    for (int64_t i = 0; i < g->n_slots; i++) {
        if (g->vals[i] < lo || g->vals[i] > hi) {
            free(*out);
            *out = NULL;
            return mr_err(MR_EFORMAT, "%s: column %s: value %lld is outside %lld..%lld", path, name,
                          (long long)g->vals[i], (long long)lo, (long long)hi);
        }
        (*out)[i] = (int32_t)g->vals[i];
    }
    return 0;
}

int mr_items_read(const char *path, mr_items *it)
{
    memset(it, 0, sizeof *it);
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    static const struct {
        const char *name;
        mr_pqc_kind kind;
        int list;
    } spec[] = {{"track_id", MR_PQC_INT, 0},     {"item_idx", MR_PQC_INT, 0},       {"track_group_id", MR_PQC_INT, 0},
                {"track_name", MR_PQC_STRING, 0}, {"artist_ids", MR_PQC_INT, 1},    {"album_ids", MR_PQC_INT, 1},
                {"genre_ids", MR_PQC_INT, 1},     {"artist_names", MR_PQC_STRING, 1}, {"genre_names", MR_PQC_STRING, 1},
                {"flags", MR_PQC_INT, 0}};
    mr_pqc_gathered g[10];
    memset(g, 0, sizeof g);
    for (int i = 0; i < 10 && !rc; i++) {
        int col;
        rc = mr_pqc_require(r, spec[i].name, spec[i].kind, spec[i].list, &col);
        if (!rc) rc = mr_pqc_gather(r, col, spec[i].kind, spec[i].list, &g[i]);
    }
    int64_t n = mr_pq_num_rows(r);
    if (!rc && n > INT32_MAX) rc = mr_err(MR_EFORMAT, "%s: too many items (%lld)", path, (long long)n);
    int32_t *idx = NULL;
    if (!rc) rc = to_i32(&g[1], &idx, path, "item_idx", 0, INT32_MAX);
    for (int64_t i = 0; !rc && i < n; i++)
        if (idx[i] != i)
            rc = mr_err(MR_EFORMAT, "%s: row %lld has item_idx %d; items must be in item_idx order", path, (long long)i,
                        idx[i]);
    free(idx);
    if (!rc && (g[4].n_slots != g[7].n_slots || g[6].n_slots != g[8].n_slots))
        rc = mr_err(MR_EFORMAT, "%s: artist_names (genre_names) do not match artist_ids (genre_ids)", path);
    if (!rc) rc = to_i32(&g[2], &it->group_id, path, "track_group_id", 0, INT32_MAX);
    if (!rc) rc = to_i32(&g[9], &it->flags, path, "flags", INT32_MIN, INT32_MAX);
    if (!rc) {
        it->n = (int32_t)n;
        it->track_id = g[0].vals, g[0].vals = NULL;
        it->name_off = g[3].soff, g[3].soff = NULL;
        it->name_bytes = g[3].bytes, g[3].bytes = NULL;
        it->artist_off = g[4].off, g[4].off = NULL;
        it->artist_ids = g[4].vals, g[4].vals = NULL;
        it->album_off = g[5].off, g[5].off = NULL;
        it->album_ids = g[5].vals, g[5].vals = NULL;
        it->genre_off = g[6].off, g[6].off = NULL;
        it->genre_ids = g[6].vals, g[6].vals = NULL;
        it->artist_name_off = g[7].soff, g[7].soff = NULL;
        it->artist_name_bytes = g[7].bytes, g[7].bytes = NULL;
        it->genre_name_off = g[8].soff, g[8].soff = NULL;
        it->genre_name_bytes = g[8].bytes, g[8].bytes = NULL;
    }
    for (int i = 0; i < 10; i++) mr_pqc_gathered_free(&g[i]);
    mr_pq_close(r);
    if (rc) mr_items_free(it);
    return rc;
}

/* ----------------------------------------------------------------- users */

void mr_users_free(mr_users *u)
{
    if (!u) return;
    free(u->user_id), free(u->n_events), free(u->first_day), free(u->last_day);
    memset(u, 0, sizeof *u);
}

int mr_users_read(const char *path, mr_users *u)
{
    memset(u, 0, sizeof *u);
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int cols[5];
    rc = mr_pqc_require(r, "user_id", MR_PQC_INT, 0, &cols[0]);
    if (!rc) rc = mr_pqc_require(r, "user_idx", MR_PQC_INT, 0, &cols[1]);
    if (!rc) rc = mr_pqc_require(r, "n_events", MR_PQC_INT, 0, &cols[2]);
    if (!rc) rc = mr_pqc_require(r, "first_day", MR_PQC_DAY, 0, &cols[3]);
    if (!rc) rc = mr_pqc_require(r, "last_day", MR_PQC_DAY, 0, &cols[4]);
    int64_t n = mr_pq_num_rows(r);
    if (!rc && n > INT32_MAX) rc = mr_err(MR_EFORMAT, "%s: too many users", path);
    int64_t *start = rc ? NULL : rg_starts(r);
    int32_t *idx = NULL;
    if (!rc) {
        size_t m = (size_t)(n ? n : 1) * 4;
        u->user_id = mr_malloc(m), u->n_events = mr_malloc(m), u->first_day = mr_malloc(m), u->last_day = mr_malloc(m);
        idx = mr_malloc(m);
        if (!start || !u->user_id || !u->n_events || !u->first_day || !u->last_day || !idx) rc = MR_ENOMEM;
    }
    if (!rc) {
        int32_t *dst[5] = {u->user_id, idx, u->n_events, u->first_day, u->last_day};
        FOR_ROW_GROUPS(r, rc, ({
                           int rr = 0;
                           for (int c = 0; c < 5 && !rr; c++)
                               rr = read_int_col(r, rg, cols[c], c >= 3 ? MR_PQC_DAY : MR_PQC_INT,
                                                 dst[c] + start[rg], 1, c == 0 || c >= 3 ? INT32_MIN : 0, INT32_MAX);
                           rr;
                       }));
    }
    for (int64_t i = 0; !rc && i < n; i++)
        if (idx[i] != i)
            rc = mr_err(MR_EFORMAT, "%s: row %lld has user_idx %d; users must be in user_idx order", path, (long long)i,
                        idx[i]);
    if (!rc) u->n = (int32_t)n;
    free(idx);
    free(start);
    mr_pq_close(r);
    if (rc) mr_users_free(u);
    return rc;
}
