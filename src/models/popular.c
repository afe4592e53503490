/* The popularity baseline (see popular.h for what it computes).
 *
 * Counting is one pass over the train events, split between threads at user
 * boundaries: the events are sorted by user, so a per-thread "last user that
 * counted this item" stamp makes each (user, item) pair count once, and the
 * shared per-item totals are updated with atomic adds. Recency weights are
 * added in fixed point (units of 2^-32, exact for any int32 number of users)
 * so that the sum, and therefore the ranking and its ties, is identical at
 * any thread count; each weight is exact to 1.2e-10.
 */
#include "models/popular.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/vec.h"
#include "parquet/parquet.h"

#define FIXED_ONE 4294967296.0 /* 2^32: one listener in fixed point */

void mr_popular_free(mr_popularity *p)
{
    free(p->track_id);
    free(p->listeners);
    free(p->order);
    memset(p, 0, sizeof *p);
}

typedef struct {
    int64_t key;       /* listeners (fixed point when weighted) */
    int64_t track_id;
    int32_t item;
} rank_row;

static int cmp_rank(const void *a, const void *b)
{
    const rank_row *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    if (x->track_id != y->track_id) return x->track_id < y->track_id ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* Moves i forward to the first event of a user (so ranges split at users). */
static int64_t user_start(const int32_t *user, int64_t n, int64_t i)
{
    while (i > 0 && i < n && user[i] == user[i - 1]) i++;
    return i;
}

int mr_popular_fit(const int32_t *user_idx, const int32_t *item_idx, const int32_t *day, int64_t n_events,
                   int32_t n_items, const int64_t *track_id, double half_life, mr_popularity *p)
{
    memset(p, 0, sizeof *p);
    if (n_events <= 0) return mr_err(MR_EINVAL, "there are no train events to count listeners from");
    if (n_items <= 0) return mr_err(MR_EINVAL, "there are no items to rank");
    int weighted = half_life > 0;
    if (weighted && !(half_life < 1e9)) return mr_err(MR_EINVAL, "half-life %g days is not a finite number", half_life);

    /* Validate in parallel: sorted users, items in range; find the day range. */
    int64_t bad_sort = INT64_MAX, bad_item = INT64_MAX;
    int32_t dmin = INT32_MAX, dmax = INT32_MIN;
    int64_t users = 0;
#pragma omp parallel for reduction(min : bad_sort, bad_item, dmin) reduction(max : dmax) reduction(+ : users)
    for (int64_t i = 0; i < n_events; i++) {
        if (i > 0 && user_idx[i] < user_idx[i - 1] && i < bad_sort) bad_sort = i;
        if (i == 0 || user_idx[i] != user_idx[i - 1]) users++;
        if ((item_idx[i] < 0 || item_idx[i] >= n_items) && i < bad_item) bad_item = i;
        if (day) {
            if (day[i] < dmin) dmin = day[i];
            if (day[i] > dmax) dmax = day[i];
        }
    }
    if (bad_item != INT64_MAX)
        return mr_err(MR_EFORMAT, "train event %lld has item_idx %d outside the %d items of items.parquet",
                      (long long)bad_item, item_idx[bad_item], n_items);
    if (bad_sort != INT64_MAX)
        return mr_err(MR_EFORMAT, "train events are not sorted by user_idx: row %lld has user %d after user %d",
                      (long long)bad_sort, user_idx[bad_sort], user_idx[bad_sort - 1]);
    if (weighted && !day) return mr_err(MR_EINVAL, "recency weighting needs the event days");

    /* weight of an event of age a (days before the last train day) */
    int64_t *wfix = NULL;
    int64_t n_ages = 1;
    if (weighted) {
        n_ages = (int64_t)dmax - dmin + 1;
        wfix = mr_malloc((size_t)n_ages * sizeof *wfix);
        if (!wfix) return MR_ENOMEM;
        for (int64_t a = 0; a < n_ages; a++) wfix[a] = llround(exp2(-(double)a / half_life) * FIXED_ONE);
    }

    int64_t *total = mr_calloc((size_t)n_items, sizeof *total);
    int rc = total ? 0 : MR_ENOMEM;
    if (!rc)
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t lo = user_start(user_idx, n_events, n_events * t / nt);
        int64_t hi = user_start(user_idx, n_events, n_events * (t + 1) / nt);
        int32_t *stamp = lo < hi ? mr_malloc((size_t)n_items * sizeof *stamp) : NULL;
        if (lo < hi && !stamp) {
#pragma omp atomic write
            rc = MR_ENOMEM;
        } else if (stamp) {
            for (int32_t i = 0; i < n_items; i++) stamp[i] = -1;
            for (int64_t e = lo; e < hi; e++) {
                int32_t it = item_idx[e];
                if (stamp[it] == user_idx[e]) continue; /* this user already counted it */
                stamp[it] = user_idx[e];
                int64_t w = weighted ? wfix[dmax - day[e]] : 1;
                __atomic_fetch_add(&total[it], w, __ATOMIC_RELAXED);
            }
        }
        free(stamp);
    }
    free(wfix);
    if (rc) {
        free(total);
        return rc;
    }

    rank_row *rows = mr_malloc((size_t)n_items * sizeof *rows);
    p->track_id = mr_malloc((size_t)n_items * sizeof *p->track_id);
    p->listeners = mr_malloc((size_t)n_items * sizeof *p->listeners);
    p->order = mr_malloc((size_t)n_items * sizeof *p->order);
    if (!rows || !p->track_id || !p->listeners || !p->order) {
        free(rows);
        free(total);
        mr_popular_free(p);
        return MR_ENOMEM;
    }
    for (int32_t i = 0; i < n_items; i++) {
        rows[i] = (rank_row){total[i], track_id[i], i};
        p->track_id[i] = track_id[i];
        p->listeners[i] = weighted ? (double)total[i] / FIXED_ONE : (double)total[i];
    }
    qsort(rows, (size_t)n_items, sizeof *rows, cmp_rank);
    for (int32_t i = 0; i < n_items; i++) p->order[i] = rows[i].item;
    free(rows);
    free(total);
    p->n_items = n_items;
    p->half_life = weighted ? half_life : 0;
    p->ref_day = day ? dmax : 0;
    p->train_users = users;
    return 0;
}

int mr_popular_write(const char *path, const mr_popularity *p, int64_t top_n)
{
    int64_t n = top_n <= 0 || top_n > p->n_items ? p->n_items : top_n;
    int weighted = p->half_life > 0;
    double max = p->n_items > 0 ? p->listeners[p->order[0]] : 0;
    int32_t *rank = mr_malloc((size_t)n * sizeof *rank + 1);
    int64_t *tid = mr_malloc((size_t)n * sizeof *tid + 1);
    int32_t *item = mr_malloc((size_t)n * sizeof *item + 1);
    int64_t *cnt = mr_malloc((size_t)n * sizeof *cnt + 1);
    double *wcnt = mr_malloc((size_t)n * sizeof *wcnt + 1);
    float *score = mr_malloc((size_t)n * sizeof *score + 1);
    int rc = rank && tid && item && cnt && wcnt && score ? 0 : MR_ENOMEM;
    for (int64_t r = 0; !rc && r < n; r++) {
        int32_t it = p->order[r];
        rank[r] = (int32_t)(r + 1);
        tid[r] = p->track_id[it];
        item[r] = it;
        cnt[r] = (int64_t)p->listeners[it];
        wcnt[r] = p->listeners[it];
        score[r] = max > 0 ? (float)(p->listeners[it] / max) : 0.0f;
    }
    mr_pq_field fields[] = {
        {.name = "rank", .type = MR_PQ_W_I32},
        {.name = "track_id", .type = MR_PQ_W_I64},
        {.name = "item_idx", .type = MR_PQ_W_I32},
        {.name = "listeners", .type = weighted ? MR_PQ_W_F64 : MR_PQ_W_I64},
        {.name = "score", .type = MR_PQ_W_F32},
    };
    mr_pq_col cols[5] = {
        {.n_rows = n, .n_slots = n, .values = rank},
        {.n_rows = n, .n_slots = n, .values = tid},
        {.n_rows = n, .n_slots = n, .values = item},
        {.n_rows = n, .n_slots = n, .values = weighted ? (void *)wcnt : (void *)cnt},
        {.n_rows = n, .n_slots = n, .values = score},
    };
    mr_pq_writer *w = NULL;
    if (!rc) rc = mr_pq_writer_open(&w, path, fields, 5, NULL);
    char buf[64];
    if (!rc) {
        snprintf(buf, sizeof buf, "%.17g", p->half_life);
        rc = mr_pq_writer_kv(w, "musrec.half_life_days", buf);
    }
    if (!rc) {
        snprintf(buf, sizeof buf, "%d", p->ref_day);
        rc = mr_pq_writer_kv(w, "musrec.reference_day", buf);
    }
    if (!rc) rc = mr_pq_writer_write(w, cols);
    if (!rc) {
        rc = mr_pq_writer_close(w);
        w = NULL;
    }
    if (w) mr_pq_writer_abort(w);
    free(rank), free(tid), free(item), free(cnt), free(wcnt), free(score);
    return rc;
}

int mr_popular_read_order(const char *path, int32_t **item_idx, int64_t *n_out)
{
    *item_idx = NULL;
    *n_out = 0;
    mr_pq_reader *r = NULL;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int c_rank, c_item;
    int64_t n = mr_pq_num_rows(r);
    int64_t *rank = NULL, *item = NULL;
    int32_t *out = NULL;
    if ((rc = mr_pq_require(r, "rank", &c_rank)) || (rc = mr_pq_require(r, "item_idx", &c_item))) goto done;
    rank = mr_malloc((size_t)n * sizeof *rank + 1);
    item = mr_malloc((size_t)n * sizeof *item + 1);
    out = mr_malloc((size_t)n * sizeof *out + 1);
    if (!rank || !item || !out) {
        rc = MR_ENOMEM;
        goto done;
    }
    if ((rc = mr_pq_read_all_i64(r, c_rank, rank)) || (rc = mr_pq_read_all_i64(r, c_item, item))) goto done;
    for (int64_t i = 0; i < n; i++) {
        if (rank[i] != i + 1) {
            rc = mr_err(MR_EFORMAT, "%s: row %lld has rank %lld, expected %lld (rows must be in rank order)", path,
                        (long long)i, (long long)rank[i], (long long)i + 1);
            goto done;
        }
        if (item[i] < 0 || item[i] > INT32_MAX) {
            rc = mr_err(MR_EFORMAT, "%s: row %lld has item_idx %lld", path, (long long)i, (long long)item[i]);
            goto done;
        }
        out[i] = (int32_t)item[i];
    }
    *item_idx = out;
    *n_out = n;
    out = NULL;
done:
    free(rank);
    free(item);
    free(out);
    mr_pq_close(r);
    return rc;
}

/* track_id of every item of items.parquet, checking item_idx == row. */
static int read_track_ids(const char *path, int64_t **track_id, int32_t *n_items)
{
    mr_pq_reader *r = NULL;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int c_tid, c_item;
    int64_t n = mr_pq_num_rows(r);
    int64_t *tid = NULL, *item = NULL;
    if ((rc = mr_pq_require(r, "track_id", &c_tid)) || (rc = mr_pq_require(r, "item_idx", &c_item))) goto done;
    if (n <= 0 || n > INT32_MAX) {
        rc = mr_err(MR_EFORMAT, "%s has %lld rows; expected 1 to %d items", path, (long long)n, INT32_MAX);
        goto done;
    }
    tid = mr_malloc((size_t)n * sizeof *tid);
    item = mr_malloc((size_t)n * sizeof *item);
    if (!tid || !item) {
        rc = MR_ENOMEM;
        goto done;
    }
    if ((rc = mr_pq_read_all_i64(r, c_tid, tid)) || (rc = mr_pq_read_all_i64(r, c_item, item))) goto done;
    for (int64_t i = 0; i < n; i++)
        if (item[i] != i) {
            rc = mr_err(MR_EFORMAT, "%s: row %lld has item_idx %lld; items must be stored in item_idx order", path,
                        (long long)i, (long long)item[i]);
            goto done;
        }
    *track_id = tid;
    *n_items = (int32_t)n;
    tid = NULL;
done:
    free(tid);
    free(item);
    mr_pq_close(r);
    return rc;
}

void mr_event_cols_free(mr_event_cols *ev)
{
    free(ev->user_idx), free(ev->item_idx), free(ev->day), free(ev->user_id);
    memset(ev, 0, sizeof *ev);
}

/* One row group of an integer column into int32 dst (DATE and INT32 as they
 * are; INT64 narrowed with a range check; TIMESTAMP as days, rounded down). */
static int read_i32_chunk(mr_pq_reader *r, int rg, int col, int32_t *dst, int64_t rows)
{
    const mr_pq_column_info *ci = mr_pq_column(r, col);
    mr_pq_col c;
    int rc = mr_pq_read(r, rg, col, &c);
    if (rc) return rc;
    if (c.n_slots != rows) rc = mr_err(MR_EFORMAT, "%s: column '%s' has %lld values in row group %d, expected %lld",
                                       mr_pq_path(r), ci->name, (long long)c.n_slots, rg, (long long)rows);
    for (int64_t i = 0; !rc && c.valid && i < rows; i++)
        if (!c.valid[i]) rc = mr_err(MR_EFORMAT, "%s: column '%s' has a null in row group %d", mr_pq_path(r), ci->name, rg);
    if (!rc && ci->physical == MR_PQ_INT32) {
        memcpy(dst, c.values, (size_t)rows * sizeof *dst);
    } else if (!rc && ci->physical == MR_PQ_INT64 && ci->logical == MR_PQ_L_TIMESTAMP) {
        const int64_t *v = c.values;
        int64_t per_day = ci->unit == MR_PQ_MILLIS ? 86400000LL : ci->unit == MR_PQ_MICROS ? 86400000000LL
                                                                                         : 86400000000000LL;
        for (int64_t i = 0; i < rows; i++) {
            int64_t d = v[i] / per_day - (v[i] % per_day < 0);
            dst[i] = (int32_t)d;
        }
    } else if (!rc && ci->physical == MR_PQ_INT64) {
        const int64_t *v = c.values;
        for (int64_t i = 0; i < rows && !rc; i++) {
            if (v[i] < INT32_MIN || v[i] > INT32_MAX)
                rc = mr_err(MR_EFORMAT, "%s: column '%s' has %lld in row group %d, outside int32", mr_pq_path(r),
                            ci->name, (long long)v[i], rg);
            dst[i] = (int32_t)v[i];
        }
    } else if (!rc) {
        rc = mr_err(MR_EFORMAT, "%s: column '%s' is not an integer column", mr_pq_path(r), ci->name);
    }
    mr_pq_col_free(&c);
    return rc;
}

int mr_event_cols_read(const char *path, int want_day, int want_user_id, mr_event_cols *ev)
{
    memset(ev, 0, sizeof *ev);
    mr_pq_reader *r = NULL;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    const char *names[4] = {"user_idx", "item_idx", "started_at", "user_id"};
    int want[4] = {1, 1, want_day, want_user_id}, col[4] = {-1, -1, -1, -1};
    int32_t **dst[4] = {&ev->user_idx, &ev->item_idx, &ev->day, &ev->user_id};
    int64_t n = mr_pq_num_rows(r);
    for (int k = 0; k < 4 && !rc; k++) {
        if (!want[k]) continue;
        rc = mr_pq_require(r, names[k], &col[k]);
        const mr_pq_column_info *ci = rc ? NULL : mr_pq_column(r, col[k]);
        if (ci && ci->list_depth)
            rc = mr_err(MR_EFORMAT, "%s: column '%s' is a list, expected integers", path, names[k]);
        if (!rc && !(*dst[k] = mr_malloc((size_t)n * sizeof(int32_t) + 1))) rc = MR_ENOMEM;
    }
    int n_rg = mr_pq_num_row_groups(r);
    int64_t *first = rc ? NULL : mr_malloc(((size_t)n_rg + 1) * sizeof *first);
    if (!rc && !first) rc = MR_ENOMEM;
    if (!rc) {
        first[0] = 0;
        for (int g = 0; g < n_rg; g++) first[g + 1] = first[g] + mr_pq_row_group_rows(r, g);
        char msg[512] = "";
        int bad = 0;
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
        for (int g = 0; g < n_rg; g++)
            for (int k = 0; k < 4; k++) {
                if (!want[k] || __atomic_load_n(&bad, __ATOMIC_RELAXED)) continue;
                int e = read_i32_chunk(r, g, col[k], *dst[k] + first[g], first[g + 1] - first[g]);
                if (e) {
#pragma omp critical(mr_event_cols_err)
                    if (!bad) {
                        bad = e;
                        snprintf(msg, sizeof msg, "%s", mr_errmsg());
                    }
                }
            }
        if (bad) {
            mr_err_set_msg(msg);
            rc = bad;
        }
    }
    free(first);
    mr_pq_close(r);
    if (rc) mr_event_cols_free(ev);
    else ev->n = n;
    return rc;
}

int mr_popular_build(const char *train_path, const char *items_path, double half_life, mr_popularity *p)
{
    memset(p, 0, sizeof *p);
    if (!mr_file_exists(train_path))
        return mr_err(MR_ENOTFOUND, "train events file %s does not exist; run `musrec split` first", train_path);
    if (!mr_file_exists(items_path))
        return mr_err(MR_ENOTFOUND, "items file %s does not exist; run `musrec preprocess` first", items_path);
    int64_t *track_id = NULL;
    int32_t n_items = 0;
    int rc = read_track_ids(items_path, &track_id, &n_items);
    if (rc) return rc;
    mr_event_cols ev;
    rc = mr_event_cols_read(train_path, half_life > 0, 0, &ev);
    if (!rc) {
        rc = mr_popular_fit(ev.user_idx, ev.item_idx, ev.day, ev.n, n_items, track_id, half_life, p);
        if (rc) mr_err_wrap(rc, "%s: ", train_path);
    }
    mr_event_cols_free(&ev);
    free(track_id);
    return rc;
}

int64_t mr_popular_recommend(const int32_t *order, int64_t n_order, const int32_t *history, int64_t n_history,
                             int64_t k, int32_t *out)
{
    int64_t got = 0;
    for (int64_t i = 0; i < n_order && got < k; i++)
        if (!mr_sorted_has_i32(history, n_history, order[i])) out[got++] = order[i];
    return got;
}
