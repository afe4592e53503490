/* Step 4, split. Events are read once (codes and days only, 14 bytes per
 * event); each part is written straight from those arrays through a day
 * filter, with raw ids mapped back by user and item tables, so no copy of
 * either part is ever made. The matrices are built by a counting pass per
 * user, a fill that runs in parallel over users when the events are ordered
 * by user (as preprocess writes them) and serially otherwise, then a
 * parallel per-row sort that merges repeated pairs. */
#include "data/split.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "data/pqcol.h"
#include "parquet/parquet.h"

int32_t mr_split_quantile_day(const mr_events *ev, double q)
{
    if (ev->n == 0) return 0;
    int32_t mn = INT32_MAX, mx = INT32_MIN;
#pragma omp parallel for reduction(min : mn) reduction(max : mx)
    for (int64_t i = 0; i < ev->n; i++) {
        if (ev->day[i] < mn) mn = ev->day[i];
        if (ev->day[i] > mx) mx = ev->day[i];
    }
    int64_t range = (int64_t)mx - mn + 1;
    int64_t *hist = calloc((size_t)range, 8);
    if (!hist) return mn;
    for (int64_t i = 0; i < ev->n; i++) hist[ev->day[i] - mn]++;
    int64_t k = (int64_t)floor(q * (double)(ev->n - 1)), c = 0;
    int32_t d = mx;
    for (int64_t v = 0; v < range; v++) {
        c += hist[v];
        if (c > k) {
            d = (int32_t)(v + mn);
            break;
        }
    }
    free(hist);
    return d;
}

int mr_split_matrix(const mr_events *ev, int64_t n_users, int64_t n_items, int32_t from, int32_t to,
                    mr_value_kind value, double half_life_days, mr_csr *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = ev->n;
    int32_t ref = INT32_MIN;
    for (int64_t i = 0; i < n; i++)
        if (ev->day[i] >= from && ev->day[i] < to && ev->day[i] > ref) ref = ev->day[i];
    int64_t *indptr = mr_calloc((size_t)n_users + 1, 8);
    int64_t *ustart = mr_calloc((size_t)n_users + 1, 8);
    if (!indptr || !ustart) {
        free(indptr), free(ustart);
        return MR_ENOMEM;
    }
    int sorted = 1;
    for (int64_t i = 0; i < n; i++) {
        int32_t u = ev->user_idx[i];
        if (u < 0 || u >= n_users || ev->item_idx[i] < 0 || ev->item_idx[i] >= n_items) {
            free(indptr), free(ustart);
            return mr_err(MR_EFORMAT, "event %lld has user_idx %d / item_idx %d outside %lld users x %lld items",
                          (long long)i, u, ev->item_idx[i], (long long)n_users, (long long)n_items);
        }
        if (i && u < ev->user_idx[i - 1]) sorted = 0;
        ustart[u + 1]++;
        if (ev->day[i] >= from && ev->day[i] < to) indptr[u + 1]++;
    }
    for (int64_t u = 0; u < n_users; u++) indptr[u + 1] += indptr[u], ustart[u + 1] += ustart[u];
    int64_t nnz = indptr[n_users];
    /* rows filled in event order, then sorted by column with two counting
     * sorts (a transpose and back: each scatters in row order, so the
     * result's rows come out sorted), no comparisons */
    mr_csr raw = {n_users, n_items, nnz, indptr, mr_malloc((size_t)(nnz ? nnz : 1) * 4),
                  mr_malloc((size_t)(nnz ? nnz : 1) * 4)};
    if (!raw.indices || !raw.data) {
        free(ustart);
        mr_csr_free(&raw);
        return MR_ENOMEM;
    }
    const double ln2 = 0.69314718055994530942;
#define WEIGHT(d) (value == MR_VALUE_DECAY ? (float)exp(-ln2 * (double)(ref - (d)) / half_life_days) : 1.0f)
    if (sorted) {
#pragma omp parallel for schedule(dynamic, 4096)
        for (int64_t u = 0; u < n_users; u++) {
            int64_t p = indptr[u];
            for (int64_t i = ustart[u]; i < ustart[u + 1]; i++) {
                int32_t d = ev->day[i];
                if (d >= from && d < to) raw.indices[p] = ev->item_idx[i], raw.data[p++] = WEIGHT(d);
            }
        }
    } else {
        memcpy(ustart, indptr, (size_t)(n_users + 1) * 8);
        for (int64_t i = 0; i < n; i++) {
            int32_t d = ev->day[i];
            if (d >= from && d < to) {
                int64_t p = ustart[ev->user_idx[i]]++;
                raw.indices[p] = ev->item_idx[i], raw.data[p] = WEIGHT(d);
            }
        }
    }
#undef WEIGHT
    free(ustart);
    mr_csr t;
    int rc = mr_csr_transpose(&raw, &t);
    mr_csr_free(&raw);
    if (rc) return rc;
    rc = mr_csr_transpose(&t, out);
    mr_csr_free(&t);
    if (rc) return rc;
    /* merge repeated (user, item) pairs: now adjacent within a row */
    int64_t w = 0, start = 0;
    int dup = 0;
    for (int64_t k = 1; k < out->nnz && !dup; k++) dup = out->indices[k] == out->indices[k - 1];
    if (!dup) return 0;
    for (int64_t u = 0; u < n_users; u++) {
        int64_t e = out->indptr[u + 1], rs = w;
        for (int64_t k = start; k < e; k++) {
            if (w > rs && out->indices[w - 1] == out->indices[k]) {
                if (value != MR_VALUE_ONE) out->data[w - 1] += out->data[k];
            } else {
                out->indices[w] = out->indices[k];
                out->data[w] = out->data[k];
                w++;
            }
        }
        start = e;
        out->indptr[u + 1] = w;
    }
    out->nnz = w;
    return 0;
}

/* The track_id column of items.parquet, in item_idx order. */
static int read_track_ids(const char *path, int64_t **ids, int64_t *n)
{
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int col;
    mr_pqc_gathered g = {0};
    rc = mr_pqc_require(r, "track_id", MR_PQC_INT, 0, &col);
    if (!rc) rc = mr_pqc_gather(r, col, MR_PQC_INT, 0, &g);
    mr_pq_close(r);
    if (rc) return rc;
    *ids = g.vals;
    *n = g.n_slots;
    g.vals = NULL;
    mr_pqc_gathered_free(&g);
    return 0;
}

static const char *value_name(mr_value_kind v)
{
    return v == MR_VALUE_COUNT ? "count" : v == MR_VALUE_DECAY ? "decay" : "one";
}

int mr_split(const mr_split_opts *o, mr_split_info *info)
{
    memset(info, 0, sizeof *info);
    char *p_ev = mr_path_join(o->dir, "events.parquet"), *p_users = mr_path_join(o->dir, "users.parquet"),
         *p_items = mr_path_join(o->dir, "items.parquet"), *p_tr = mr_path_join(o->dir, "train_events.parquet"),
         *p_te = mr_path_join(o->dir, "test_events.parquet"), *p_trm = mr_path_join(o->dir, "train_matrix.npz"),
         *p_tem = mr_path_join(o->dir, "test_matrix.npz"), *p_info = mr_path_join(o->dir, "split_info.json");
    mr_events ev = {0};
    mr_users users = {0};
    int64_t *track_ids = NULL, n_items = 0;
    mr_csr m = {0};
    uint8_t *seen = NULL;
    int rc = 0;
    if (!p_ev || !p_users || !p_items || !p_tr || !p_te || !p_trm || !p_tem || !p_info) rc = MR_ENOMEM;
    const char *inputs[] = {p_ev, p_users, p_items};
    for (int i = 0; i < 3 && !rc; i++)
        if (!mr_file_exists(inputs[i]))
            rc = mr_err(MR_ENOTFOUND, "input %s does not exist (run `musrec preprocess` first)", inputs[i]);
    if (!rc && o->value == MR_VALUE_DECAY && !(o->half_life_days > 0))
        rc = mr_err(MR_EINVAL, "the decay half-life must be a positive number of days");
    double t0 = mr_now();
    if (!rc) rc = mr_users_read(p_users, &users);
    if (!rc) rc = read_track_ids(p_items, &track_ids, &n_items);
    if (!rc) rc = mr_events_read(p_ev, 0, &ev);
    if (!rc && ev.n == 0) rc = mr_err(MR_EFORMAT, "%s has no events", p_ev);
    if (!rc) {
        info->n_users = users.n;
        info->n_items = n_items;
        int32_t mn = INT32_MAX, mx = INT32_MIN, bad = 0;
#pragma omp parallel for reduction(min : mn) reduction(max : mx) reduction(| : bad)
        for (int64_t i = 0; i < ev.n; i++) {
            if (ev.day[i] < mn) mn = ev.day[i];
            if (ev.day[i] > mx) mx = ev.day[i];
            bad |= ev.user_idx[i] >= users.n || ev.item_idx[i] >= n_items;
        }
        if (bad)
            rc = mr_err(MR_EFORMAT, "%s has codes beyond the %d users of %s or the %lld items of %s; rerun preprocess",
                        p_ev, users.n, p_users, (long long)n_items, p_items);
        info->first_day = mn, info->last_day = mx;
    }
    char dsplit[16] = "", d0[16], d1[16];
    if (!rc) {
        info->split_day = o->test_quantile > 0 ? mr_split_quantile_day(&ev, o->test_quantile) : o->split_day;
        mr_day_format(info->split_day, dsplit);
        mr_day_format(info->first_day, d0);
        mr_day_format(info->last_day, d1);
        if (info->split_day <= info->first_day)
            rc = mr_err(MR_EINVAL, "split date %s leaves the train set empty: events run from %s to %s", dsplit, d0, d1);
        else if (info->split_day > info->last_day)
            rc = mr_err(MR_EINVAL, "split date %s leaves the test set empty: events run from %s to %s", dsplit, d0, d1);
    }
    /* who is where */
    if (!rc && !(seen = mr_calloc((size_t)(users.n > n_items ? users.n : n_items) + 1, 1))) rc = MR_ENOMEM;
    if (!rc) {
        for (int64_t i = 0; i < ev.n; i++) {
            if (ev.day[i] < info->split_day) info->train_events++, seen[ev.user_idx[i]] |= 1;
            else seen[ev.user_idx[i]] |= 2;
        }
        info->test_events = ev.n - info->train_events;
        for (int32_t u = 0; u < users.n; u++) {
            info->train_users += seen[u] & 1;
            info->test_users += (seen[u] >> 1) & 1;
            info->both_users += seen[u] == 3;
        }
        info->cold_test_users = info->test_users - info->both_users;
        memset(seen, 0, (size_t)n_items);
        for (int64_t i = 0; i < ev.n; i++) seen[ev.item_idx[i]] |= ev.day[i] < info->split_day ? 1 : 2;
        for (int64_t it = 0; it < n_items; it++) {
            info->train_items += seen[it] & 1;
            info->test_items += (seen[it] >> 1) & 1;
            info->items_only_in_test += seen[it] == 2;
        }
        MR_LOG(MR_LOG_INFO, "parts", MR_S("split_date", dsplit), MR_I("train_events", info->train_events),
               MR_I("test_events", info->test_events), MR_I("train_users", info->train_users),
               MR_I("test_users", info->test_users), MR_I("users_in_both", info->both_users),
               MR_I("cold_test_users", info->cold_test_users), MR_I("items_only_in_test", info->items_only_in_test),
               MR_F("seconds", mr_now() - t0));
    }
    /* events files */
    if (!rc) {
        t0 = mr_now();
        rc = mr_events_write_days(p_tr, &ev, INT32_MIN, info->split_day, users.user_id, track_ids, NULL);
    }
    if (!rc) rc = mr_events_write_days(p_te, &ev, info->split_day, INT32_MAX, users.user_id, track_ids, NULL);
    /* matrices, one at a time */
    if (!rc) rc = mr_split_matrix(&ev, users.n, n_items, INT32_MIN, info->split_day, o->value, o->half_life_days, &m);
    if (!rc) {
        info->train_nnz = m.nnz;
        rc = mr_npz_write_csr(p_trm, &m);
        mr_csr_free(&m);
    }
    if (!rc) rc = mr_split_matrix(&ev, users.n, n_items, info->split_day, INT32_MAX, o->value, o->half_life_days, &m);
    if (!rc) {
        info->test_nnz = m.nnz;
        rc = mr_npz_write_csr(p_tem, &m);
        mr_csr_free(&m);
    }
    if (!rc) {
        char json[2048];
        int k = snprintf(json, sizeof json,
                         "{\n  \"split_date\": \"%s\",\n  \"split_by\": \"%s\",\n  \"test_quantile\": %.17g,\n"
                         "  \"first_day\": \"%s\",\n  \"last_day\": \"%s\",\n"
                         "  \"events\": %lld,\n  \"train_events\": %lld,\n  \"test_events\": %lld,\n"
                         "  \"users\": %lld,\n  \"items\": %lld,\n"
                         "  \"train_users\": %lld,\n  \"test_users\": %lld,\n  \"users_in_both\": %lld,\n"
                         "  \"cold_test_users\": %lld,\n  \"train_items\": %lld,\n  \"test_items\": %lld,\n"
                         "  \"items_only_in_test\": %lld,\n  \"train_nnz\": %lld,\n  \"test_nnz\": %lld,\n"
                         "  \"matrix_value\": \"%s\",\n  \"half_life_days\": %.17g\n}\n",
                         dsplit, o->test_quantile > 0 ? "quantile" : "date", o->test_quantile > 0 ? o->test_quantile : 0.0,
                         d0, d1, (long long)ev.n, (long long)info->train_events, (long long)info->test_events,
                         (long long)info->n_users, (long long)info->n_items, (long long)info->train_users,
                         (long long)info->test_users, (long long)info->both_users, (long long)info->cold_test_users,
                         (long long)info->train_items, (long long)info->test_items, (long long)info->items_only_in_test,
                         (long long)info->train_nnz, (long long)info->test_nnz, value_name(o->value),
                         o->value == MR_VALUE_DECAY ? o->half_life_days : 0.0);
        rc = mr_write_file_atomic(p_info, json, (size_t)k);
        MR_LOG(MR_LOG_INFO, "written", MR_S("dir", o->dir), MR_I("train_nnz", info->train_nnz),
               MR_I("test_nnz", info->test_nnz), MR_S("matrix_value", value_name(o->value)),
               MR_F("seconds", mr_now() - t0));
    }
    free(seen);
    mr_events_free(&ev);
    mr_users_free(&users);
    free(track_ids);
    free(p_ev), free(p_users), free(p_items), free(p_tr), free(p_te), free(p_trm), free(p_tem), free(p_info);
    return rc;
}
