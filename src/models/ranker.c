/* The ranker: candidate generation, features, XGBoost training and
 * inference. See ranker.h for what it computes and docs/ranker.md for every
 * feature.
 *
 * Work is done per block of users: a block's candidates and features are
 * computed in parallel (OpenMP over users, each user writing into its own
 * slot range, compacted afterwards in user order, so the result does not
 * depend on the thread count), scored by XGBoost, and dropped. That keeps
 * memory at one block of features whatever the number of users.
 */
#include "models/ranker.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/vec.h"
#include "data/pqcol.h"
#include "data/split.h"
#include "eval/metrics.h"
#include "models/similar.h"
#include "models/topk.h"
#include "parquet/parquet.h"

const char *const mr_rank_feature_names[MR_RANK_NFEAT] = {
    "als_score",        "als_rank",          "log_listeners",        "pop_rank",
    "group_size",       "genre_pop",         "artist_pop",           "user_log_listens",
    "user_active_days", "user_genre_affinity", "user_artist_affinity", "track_age_days",
    "src_als",          "src_pop",           "src_similar",          "similar_score",
    "group_listened",   "user_days_since_last",
};

enum {
    F_ALS_SCORE, F_ALS_RANK, F_LOG_LISTENERS, F_POP_RANK, F_GROUP_SIZE, F_GENRE_POP, F_ARTIST_POP,
    F_USER_LISTENS, F_USER_DAYS, F_USER_GENRE, F_USER_ARTIST, F_TRACK_AGE, F_SRC_ALS, F_SRC_POP,
    F_SRC_SIM, F_SIM_SCORE, F_GROUP_LISTENED, F_USER_RECENCY,
};

/* ---------------------------------------------------------------- world */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Maps the raw ids of one list column to dense indices. */
static int dense_lists(int32_t n_items, const int64_t *off, const int64_t *ids, int64_t **out_off, int32_t **out,
                       int32_t *n_dense)
{
    int64_t total = off ? off[n_items] : 0;
    *out_off = mr_malloc(sizeof(int64_t) * ((size_t)n_items + 1));
    *out = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
    mr_imap m;
    if (!*out_off || !*out || mr_imap_init(&m, 1024)) return MR_ENOMEM;
    int32_t next = 0;
    for (int32_t i = 0; i <= n_items; i++) (*out_off)[i] = off ? off[i] : 0;
    for (int64_t k = 0; k < total; k++) {
        int32_t v;
        if (mr_imap_get_or_put(&m, ids[k], next, &v)) {
            mr_imap_free(&m);
            return MR_ENOMEM;
        }
        if (v == next) next++;
        (*out)[k] = v;
    }
    mr_imap_free(&m);
    *n_dense = next;
    return 0;
}

static _Thread_local const int64_t *pop_listeners;

static int cmp_pop(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    int64_t lx = pop_listeners[x], ly = pop_listeners[y];
    if (lx != ly) return lx < ly ? 1 : -1;
    return (x > y) - (x < y); /* item_idx follows track_id order */
}

int mr_rank_world_build(const mr_events *ev, int32_t ref_day, int32_t n_users, const mr_items *items,
                        mr_rank_world *w)
{
    memset(w, 0, sizeof *w);
    int32_t ni = items->n;
    w->n_users = n_users;
    w->n_items = ni;
    w->ref_day = ref_day;
    w->ev = ev;
    int rc = mr_split_matrix(ev, n_users, ni, INT32_MIN, ref_day, MR_VALUE_ONE, 0, &w->hist);
    if (rc) return rc;
    w->ubeg = mr_malloc(sizeof(int64_t) * ((size_t)n_users + 1));
    w->uend = mr_malloc(sizeof(int64_t) * ((size_t)n_users + 1));
    w->listeners = mr_calloc((size_t)ni + 1, sizeof(int64_t));
    w->first_day = mr_malloc(sizeof(int32_t) * ((size_t)ni + 1));
    w->pop_order = mr_malloc(sizeof(int32_t) * ((size_t)ni + 1));
    w->pop_rank = mr_malloc(sizeof(int32_t) * ((size_t)ni + 1));
    w->group_id = mr_malloc(sizeof(int32_t) * ((size_t)ni + 1));
    w->group_size = mr_calloc((size_t)ni + 1, sizeof(int32_t));
    w->genre_pop = mr_calloc((size_t)ni + 1, sizeof(float));
    w->artist_pop = mr_calloc((size_t)ni + 1, sizeof(float));
    if (!w->ubeg || !w->uend || !w->listeners || !w->first_day || !w->pop_order || !w->pop_rank ||
        !w->group_id || !w->group_size || !w->genre_pop || !w->artist_pop)
        return MR_ENOMEM;
    /* history ranges: events are sorted by user then day, so a user's
     * history is a prefix of the user's rows */
    for (int32_t u = 0; u <= n_users; u++) w->ubeg[u] = w->uend[u] = -1;
    for (int64_t i = 0; i < ev->n; i++) {
        int32_t u = ev->user_idx[i];
        if (i && (u < ev->user_idx[i - 1] || (u == ev->user_idx[i - 1] && ev->day[i] < ev->day[i - 1])))
            return mr_err(MR_EFORMAT, "train events are not sorted by user and day at row %lld", (long long)i);
        if (w->ubeg[u] < 0) w->ubeg[u] = w->uend[u] = i;
        if (ev->day[i] < ref_day) w->uend[u] = i + 1;
    }
    for (int32_t u = 0; u < n_users; u++)
        if (w->ubeg[u] < 0) w->ubeg[u] = w->uend[u] = 0;
    for (int32_t i = 0; i < ni; i++) w->first_day[i] = INT32_MAX;
    for (int32_t u = 0; u < n_users; u++)
        for (int64_t r = w->ubeg[u]; r < w->uend[u]; r++) {
            int32_t it = ev->item_idx[r];
            w->listeners[it]++; /* (user, track) pairs are unique */
            if (ev->day[r] < w->first_day[it]) w->first_day[it] = ev->day[r];
        }
    for (int32_t i = 0; i < ni; i++) w->pop_order[i] = i;
    pop_listeners = w->listeners;
    qsort(w->pop_order, (size_t)ni, sizeof(int32_t), cmp_pop);
    for (int32_t r = 0; r < ni; r++) w->pop_rank[w->pop_order[r]] = r + 1;
    /* track groups */
    for (int32_t i = 0; i < ni; i++) {
        int32_t g = items->group_id ? items->group_id[i] : i;
        w->group_id[i] = (g >= 0 && g < ni) ? g : i;
        w->group_size[w->group_id[i]]++;
    }
    if ((rc = dense_lists(ni, items->genre_off, items->genre_ids, &w->ig_off, &w->ig, &w->n_genres)) ||
        (rc = dense_lists(ni, items->artist_off, items->artist_ids, &w->ia_off, &w->ia, &w->n_artists)))
        return rc;
    /* genre and artist popularity: share of history listens */
    double *gl = mr_calloc((size_t)w->n_genres + 1, sizeof(double));
    double *al = mr_calloc((size_t)w->n_artists + 1, sizeof(double));
    if (!gl || !al) {
        free(gl), free(al);
        return MR_ENOMEM;
    }
    double total = 0;
    for (int32_t i = 0; i < ni; i++) {
        total += (double)w->listeners[i];
        for (int64_t k = w->ig_off[i]; k < w->ig_off[i + 1]; k++) gl[w->ig[k]] += (double)w->listeners[i];
        for (int64_t k = w->ia_off[i]; k < w->ia_off[i + 1]; k++) al[w->ia[k]] += (double)w->listeners[i];
    }
    if (total <= 0) total = 1;
    for (int32_t i = 0; i < ni; i++) {
        double g = 0, a = 0;
        for (int64_t k = w->ig_off[i]; k < w->ig_off[i + 1]; k++) g = fmax(g, gl[w->ig[k]] / total);
        for (int64_t k = w->ia_off[i]; k < w->ia_off[i + 1]; k++) a = fmax(a, al[w->ia[k]] / total);
        w->genre_pop[i] = (float)g;
        w->artist_pop[i] = (float)a;
    }
    free(gl);
    free(al);
    return 0;
}

void mr_rank_world_free(mr_rank_world *w)
{
    mr_csr_free(&w->hist);
    free(w->ubeg), free(w->uend), free(w->listeners), free(w->pop_order), free(w->pop_rank);
    free(w->first_day), free(w->group_id), free(w->group_size), free(w->genre_pop), free(w->artist_pop);
    free(w->ig_off), free(w->ia_off), free(w->ig), free(w->ia);
    memset(w, 0, sizeof *w);
}

/* ----------------------------------------------------------- candidates */

void mr_cand_block_free(mr_cand_block *b)
{
    free(b->user), free(b->item), free(b->x), free(b->uoff);
    memset(b, 0, sizeof *b);
}

static int in_sorted(const int32_t *a, int64_t n, int32_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && a[lo] == v;
}

static int64_t count_sorted(const int32_t *a, int64_t n, int32_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    int64_t first = lo;
    hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (a[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    return lo - first;
}

/* Per-thread scratch. */
typedef struct {
    int32_t *slot;     /* item -> position in the user's candidate list, valid when stamp matches */
    int32_t *stamp;
    int32_t *gstamp;   /* group -> stamp when the user listened to the group */
    double *gcount;    /* genre listens of the user */
    mr_vec_i32 artists;
    int32_t cur;
} scratch;

/* Finds a user's row of the ALS list (als->user_idx is ascending). */
static int64_t als_row(const mr_recs *r, int32_t u)
{
    int64_t lo = 0, hi = r->n_users;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (r->user_idx[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->n_users && r->user_idx[lo] == u ? lo : -1;
}

static float dotf(const float *a, const float *b, int f)
{
    float s = 0;
    for (int k = 0; k < f; k++) s += a[k] * b[k];
    return s;
}

/* Fills the rows of one user starting at row0 (capacity cap); returns the
 * row count. als_idx/als_sc: the user's ALS list (n_als entries). */
static int64_t user_rows(const mr_rank_world *w, const mr_cand_opts *o, scratch *s, int32_t u, const int32_t *als_idx,
                         const float *als_sc, int64_t n_als, int32_t *items, float *x, int64_t cap)
{
    const mr_events *ev = w->ev;
    const int32_t *hist = w->hist.indices + w->hist.indptr[u];
    int64_t nh = w->hist.indptr[u + 1] - w->hist.indptr[u], n = 0;
    s->cur++;
    if (s->cur == INT32_MAX) {
        memset(s->stamp, 0, sizeof(int32_t) * (size_t)w->n_items);
        memset(s->gstamp, 0, sizeof(int32_t) * (size_t)w->n_items);
        s->cur = 1;
    }
    const int32_t st = s->cur;
#define ADD(item_, src_, simscore_)                                                                    \
    do {                                                                                             \
        int32_t it_ = (item_);                                                                       \
        if (s->stamp[it_] != st) {                                                                   \
            if (n >= cap) break;                                                                     \
            s->stamp[it_] = st;                                                                      \
            s->slot[it_] = (int32_t)n;                                                               \
            items[n] = it_;                                                                          \
            memset(x + n * MR_RANK_NFEAT, 0, sizeof(float) * MR_RANK_NFEAT);                          \
            x[n * MR_RANK_NFEAT + F_ALS_RANK] = (float)(o->als_n + 1);                                \
            n++;                                                                                     \
        }                                                                                            \
        float *r_ = x + (int64_t)s->slot[it_] * MR_RANK_NFEAT;                                       \
        r_[src_] = 1;                                                                                \
        if ((src_) == F_SRC_SIM && (simscore_) > r_[F_SIM_SCORE]) r_[F_SIM_SCORE] = (simscore_);     \
    } while (0)
    for (int64_t j = 0; j < n_als; j++) {
        if (als_idx[j] < 0 || in_sorted(hist, nh, als_idx[j])) continue;
        ADD(als_idx[j], F_SRC_ALS, 0.0f);
        x[(int64_t)s->slot[als_idx[j]] * MR_RANK_NFEAT + F_ALS_RANK] = (float)(j + 1);
        (void)als_sc;
    }
    int64_t taken = 0;
    for (int32_t r = 0; r < w->n_items && taken < o->pop_n; r++) {
        int32_t it = w->pop_order[r];
        if (w->listeners[it] == 0) break;
        if (in_sorted(hist, nh, it)) continue;
        ADD(it, F_SRC_POP, 0.0f);
        taken++;
    }
    /* similar to the last distinct listens */
    if (o->sim_idx) {
        int found = 0;
        int32_t last[16];
        for (int64_t r = w->uend[u] - 1; r >= w->ubeg[u] && found < o->last_n && found < 16; r--) {
            int32_t it = ev->item_idx[r], dup = 0;
            for (int k = 0; k < found; k++) dup |= last[k] == it;
            if (dup) continue;
            last[found++] = it;
            const int32_t *nb = o->sim_idx + (int64_t)it * o->sim_n;
            const float *sc = o->sim_score + (int64_t)it * o->sim_n;
            for (int k = 0; k < o->sim_n; k++) {
                if (nb[k] < 0 || nb[k] >= w->n_items || in_sorted(hist, nh, nb[k])) continue;
                ADD(nb[k], F_SRC_SIM, sc[k]);
            }
        }
    }
#undef ADD
    /* user statistics from the history */
    int64_t nu = w->uend[u] - w->ubeg[u];
    double inv = nu > 0 ? 1.0 / (double)nu : 0;
    int32_t days = 0, last_day = INT32_MIN;
    memset(s->gcount, 0, sizeof(double) * ((size_t)w->n_genres + 1));
    s->artists.n = 0;
    for (int64_t r = w->ubeg[u]; r < w->uend[u]; r++) {
        int32_t it = ev->item_idx[r];
        if (ev->day[r] != last_day) days++, last_day = ev->day[r];
        for (int64_t k = w->ig_off[it]; k < w->ig_off[it + 1]; k++) s->gcount[w->ig[k]] += 1;
        for (int64_t k = w->ia_off[it]; k < w->ia_off[it + 1]; k++) mr_vec_i32_push(&s->artists, w->ia[k]);
        s->gstamp[w->group_id[it]] = st;
    }
    qsort(s->artists.v, s->artists.n, sizeof(int32_t), cmp_i32);
    const float *xu = o->user_factors ? o->user_factors + (int64_t)u * o->factors : NULL;
    for (int64_t j = 0; j < n; j++) {
        int32_t it = items[j];
        float *r = x + j * MR_RANK_NFEAT;
        if (xu) r[F_ALS_SCORE] = dotf(xu, o->item_factors + (int64_t)it * o->factors, o->factors);
        r[F_LOG_LISTENERS] = (float)log1p((double)w->listeners[it]);
        r[F_POP_RANK] = (float)w->pop_rank[it];
        r[F_GROUP_SIZE] = (float)w->group_size[w->group_id[it]];
        r[F_GENRE_POP] = w->genre_pop[it];
        r[F_ARTIST_POP] = w->artist_pop[it];
        r[F_USER_LISTENS] = (float)log1p((double)nu);
        r[F_USER_DAYS] = (float)days;
        double ga = 0, aa = 0;
        for (int64_t k = w->ig_off[it]; k < w->ig_off[it + 1]; k++) ga = fmax(ga, s->gcount[w->ig[k]] * inv);
        for (int64_t k = w->ia_off[it]; k < w->ia_off[it + 1]; k++)
            aa = fmax(aa, (double)count_sorted(s->artists.v, (int64_t)s->artists.n, w->ia[k]) * inv);
        r[F_USER_GENRE] = (float)ga;
        r[F_USER_ARTIST] = (float)aa;
        r[F_TRACK_AGE] = w->first_day[it] == INT32_MAX ? -1.0f : (float)(w->ref_day - w->first_day[it]);
        r[F_GROUP_LISTENED] = s->gstamp[w->group_id[it]] == st ? 1.0f : 0.0f;
        r[F_USER_RECENCY] = nu > 0 ? (float)(w->ref_day - last_day) : -1.0f;
    }
    return n;
}

int mr_rank_candidates(const mr_rank_world *w, const mr_cand_opts *o, const int32_t *users, int32_t n,
                       mr_cand_block *out)
{
    memset(out, 0, sizeof *out);
    int64_t per = (int64_t)o->als_n + o->pop_n + (int64_t)o->last_n * (o->sim_idx ? o->sim_n : 0);
    int32_t *als_idx = NULL;
    float *als_sc = NULL;
    int rc = 0;
    if (!o->als && o->user_factors && o->als_n > 0) {
        /* ALS top N for these users: gather their factors and history rows */
        float *Q = mr_malloc(sizeof(float) * (size_t)n * o->factors + 1);
        mr_csr ex = {.n_rows = n, .n_cols = w->n_items};
        ex.indptr = mr_malloc(sizeof(int64_t) * ((size_t)n + 1));
        int64_t tot = 0;
        for (int32_t k = 0; k < n; k++) tot += w->hist.indptr[users[k] + 1] - w->hist.indptr[users[k]];
        ex.indices = mr_malloc(sizeof(int32_t) * (size_t)(tot + 1));
        als_idx = mr_malloc(sizeof(int32_t) * (size_t)n * o->als_n + 1);
        als_sc = mr_malloc(sizeof(float) * (size_t)n * o->als_n + 1);
        if (!Q || !ex.indptr || !ex.indices || !als_idx || !als_sc) rc = MR_ENOMEM;
        if (!rc) {
            ex.indptr[0] = 0;
            for (int32_t k = 0; k < n; k++) {
                int32_t u = users[k];
                int64_t a = w->hist.indptr[u], b = w->hist.indptr[u + 1];
                memcpy(ex.indices + ex.indptr[k], w->hist.indices + a, sizeof(int32_t) * (size_t)(b - a));
                ex.indptr[k + 1] = ex.indptr[k] + (b - a);
                memcpy(Q + (int64_t)k * o->factors, o->user_factors + (int64_t)u * o->factors, sizeof(float) * o->factors);
            }
            ex.nnz = ex.indptr[n];
            mr_topk_opts to = {.k = o->als_n, .exclude = &ex, .prune = 1};
            rc = mr_topk(Q, n, o->item_factors, w->n_items, o->factors, &to, als_idx, als_sc);
        }
        free(Q);
        free(ex.indptr);
        free(ex.indices);
        if (rc) {
            free(als_idx), free(als_sc);
            return rc;
        }
    }
    int32_t *items = mr_malloc(sizeof(int32_t) * (size_t)(n * per + 1));
    float *x = mr_malloc(sizeof(float) * (size_t)(n * per * MR_RANK_NFEAT + 1));
    int64_t *cnt = mr_calloc((size_t)n + 1, sizeof(int64_t));
    if (!items || !x || !cnt) {
        free(items), free(x), free(cnt), free(als_idx), free(als_sc);
        return MR_ENOMEM;
    }
    int failed = 0;
#pragma omp parallel
    {
        scratch s = {0};
        s.slot = malloc(sizeof(int32_t) * ((size_t)w->n_items + 1));
        s.stamp = calloc((size_t)w->n_items + 1, sizeof(int32_t));
        s.gstamp = calloc((size_t)w->n_items + 1, sizeof(int32_t));
        s.gcount = malloc(sizeof(double) * ((size_t)w->n_genres + 1));
        if (!s.slot || !s.stamp || !s.gstamp || !s.gcount) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 64)
        for (int32_t k = 0; k < n; k++) {
            if (failed) continue;
            int32_t u = users[k];
            const int32_t *ai = NULL;
            const float *as = NULL;
            int64_t na = 0;
            if (o->als) {
                int64_t row = als_row(o->als, u);
                if (row >= 0) {
                    ai = o->als->item_idx + o->als->off[row];
                    as = o->als->score + o->als->off[row];
                    na = o->als->off[row + 1] - o->als->off[row];
                    if (na > o->als_n) na = o->als_n;
                }
            } else if (als_idx) {
                ai = als_idx + (int64_t)k * o->als_n;
                as = als_sc + (int64_t)k * o->als_n;
                na = o->als_n;
            }
            cnt[k] = user_rows(w, o, &s, u, ai, as, na, items + k * per, x + k * per * MR_RANK_NFEAT, per);
        }
        free(s.slot), free(s.stamp), free(s.gstamp), free(s.gcount);
        mr_vec_i32_free(&s.artists);
    }
    free(als_idx), free(als_sc);
    if (failed) {
        free(items), free(x), free(cnt);
        return mr_err(MR_ENOMEM, "out of memory for candidate scratch space (%d items)", w->n_items);
    }
    /* compact in user order */
    out->uoff = mr_malloc(sizeof(int64_t) * ((size_t)n + 1));
    out->user = mr_malloc(sizeof(int32_t) * (size_t)(n * per + 1));
    if (!out->uoff || !out->user) {
        free(items), free(x), free(cnt);
        mr_cand_block_free(out);
        return MR_ENOMEM;
    }
    int64_t wpos = 0;
    for (int32_t k = 0; k < n; k++) {
        out->uoff[k] = wpos;
        if (wpos != k * per) {
            memmove(items + wpos, items + k * per, sizeof(int32_t) * (size_t)cnt[k]);
            memmove(x + wpos * MR_RANK_NFEAT, x + k * per * MR_RANK_NFEAT, sizeof(float) * (size_t)cnt[k] * MR_RANK_NFEAT);
        }
        for (int64_t j = 0; j < cnt[k]; j++) out->user[wpos + j] = users[k];
        wpos += cnt[k];
    }
    out->uoff[n] = wpos;
    out->n_rows = wpos;
    out->n_users = n;
    out->item = items;
    out->x = x;
    free(cnt);
    return 0;
}

/* -------------------------------------------------------------- xgboost */

static int xgb_err(const char *what)
{
    return mr_err(MR_EFORMAT, "XGBoost %s failed: %s", what, XGBGetLastError());
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

typedef struct {
    mr_vec_f32 x, y;
    mr_vec_i32 users, items;
    mr_vec_i64 group; /* rows per user */
} dataset;

static void dataset_free(dataset *d)
{
    mr_vec_f32_free(&d->x), mr_vec_f32_free(&d->y);
    mr_vec_i32_free(&d->users), mr_vec_i32_free(&d->items);
    mr_vec_i64_free(&d->group);
}

/* Appends a block: labels from the label matrix; with neg_per_pos > 0 keeps
 * every positive and at most neg_per_pos negatives per positive (a seeded
 * choice per user); users without a positive candidate are skipped then. */
static int dataset_add(dataset *d, const mr_cand_block *b, const mr_csr *labels, int neg_per_pos, uint64_t seed)
{
    for (int32_t k = 0; k < b->n_users; k++) {
        int64_t a = b->uoff[k], e = b->uoff[k + 1];
        if (a == e) continue;
        int32_t u = b->user[a];
        const int32_t *lab = labels->indices + labels->indptr[u];
        int64_t nl = labels->indptr[u + 1] - labels->indptr[u], pos = 0;
        for (int64_t r = a; r < e; r++) pos += in_sorted(lab, nl, b->item[r]);
        if (neg_per_pos > 0 && pos == 0) continue;
        int64_t neg = e - a - pos, keep_neg = neg_per_pos > 0 ? pos * neg_per_pos : neg;
        if (keep_neg > neg) keep_neg = neg;
        /* choose keep_neg of the neg negatives: selection sampling (Knuth S) */
        uint64_t rng = mix64(seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(u + 1)));
        int64_t seen = 0, chosen = 0, rows = 0;
        for (int64_t r = a; r < e; r++) {
            int y = in_sorted(lab, nl, b->item[r]);
            if (!y) {
                rng = mix64(rng + 0x9e3779b97f4a7c15ULL);
                double uu = (double)(rng >> 11) * 0x1.0p-53;
                int take = (double)(neg - seen) * uu < (double)(keep_neg - chosen);
                seen++;
                if (!take) continue;
                chosen++;
            }
            for (int f = 0; f < MR_RANK_NFEAT; f++)
                if (mr_vec_f32_push(&d->x, b->x[r * MR_RANK_NFEAT + f])) return MR_ENOMEM;
            if (mr_vec_f32_push(&d->y, (float)y) || mr_vec_i32_push(&d->users, u) || mr_vec_i32_push(&d->items, b->item[r]))
                return MR_ENOMEM;
            rows++;
        }
        if (rows && mr_vec_i64_push(&d->group, rows)) return MR_ENOMEM;
    }
    return 0;
}

static int make_dmatrix(const float *x, int64_t n, const float *y, const int64_t *group, int64_t n_groups,
                        DMatrixHandle *out)
{
    if (XGDMatrixCreateFromMat(x, (bst_ulong)n, MR_RANK_NFEAT, NAN, out)) return xgb_err("creating a matrix");
    if (y && XGDMatrixSetFloatInfo(*out, "label", y, (bst_ulong)n)) return xgb_err("setting labels");
    if (group) {
        unsigned *g = mr_malloc(sizeof(unsigned) * (size_t)(n_groups + 1));
        if (!g) return MR_ENOMEM;
        for (int64_t i = 0; i < n_groups; i++) g[i] = (unsigned)group[i];
        int bad = XGDMatrixSetUIntInfo(*out, "group", g, (bst_ulong)n_groups);
        free(g);
        if (bad) return xgb_err("setting groups");
    }
    return 0;
}

static int train_booster(const dataset *d, const char *objective, const mr_rank_opts *o, BoosterHandle *out)
{
    DMatrixHandle dm = NULL;
    int rc = make_dmatrix(d->x.v, (int64_t)d->y.n, d->y.v, strcmp(objective, "rank:ndcg") == 0 ? d->group.v : NULL,
                          (int64_t)d->group.n, &dm);
    if (rc) return rc;
    char buf[64];
    if (XGBoosterCreate(&dm, 1, out)) {
        XGDMatrixFree(dm);
        return xgb_err("creating a booster");
    }
    struct {
        const char *k, *v;
    } params[] = {{"objective", objective}, {"tree_method", "hist"}, {"max_bin", "256"},
                  {"subsample", "1"},        {"min_child_weight", "1"}, {"verbosity", "0"}};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (XGBoosterSetParam(*out, params[i].k, params[i].v)) rc = xgb_err("setting a parameter");
    snprintf(buf, sizeof buf, "%g", o->eta);
    if (!rc && XGBoosterSetParam(*out, "eta", buf)) rc = xgb_err("setting eta");
    snprintf(buf, sizeof buf, "%d", o->max_depth);
    if (!rc && XGBoosterSetParam(*out, "max_depth", buf)) rc = xgb_err("setting max_depth");
    /* Training runs on one thread. XGBoost's hist updater opens thousands of
     * short OpenMP regions per round; between them libgomp's default (active)
     * wait keeps the idle thread spinning, which on 2 cores shared with
     * anything else starves the working thread: at scale 0.01 on a loaded
     * machine fitting both objectives took 44-54 s on 2 threads, 8 s on one
     * (9 s on 2 with OMP_WAIT_POLICY=passive). One thread also makes the
     * model independent of --threads (rank:ndcg differed in the 4th digit
     * between 1 and 2 threads). Inference keeps every thread (predict()). */
    if (!rc && XGBoosterSetParam(*out, "nthread", "1")) rc = xgb_err("setting nthread");
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(o->seed & 0x7fffffff));
    if (!rc && XGBoosterSetParam(*out, "seed", buf)) rc = xgb_err("setting seed");
    if (!rc && XGBoosterSetStrFeatureInfo(*out, "feature_name", (const char **)mr_rank_feature_names, MR_RANK_NFEAT))
        rc = xgb_err("naming features");
    for (int it = 0; !rc && it < o->rounds; it++)
        if (XGBoosterUpdateOneIter(*out, it, dm)) rc = xgb_err("training");
    snprintf(buf, sizeof buf, "%d", o->threads);
    if (!rc && XGBoosterSetParam(*out, "nthread", buf)) rc = xgb_err("setting nthread for prediction");
    XGDMatrixFree(dm);
    if (rc) XGBoosterFree(*out);
    return rc;
}

/* Scores n dense rows in place (XGBoosterPredictFromDense): no DMatrix, so
 * no copy of the block into XGBoost's sparse pages (4-6% of the step's
 * time at scale 0.01). Same trees, same inputs, NaN as missing: the scores
 * equal those of a DMatrix prediction (tests/e2e/rank_xgboost.sh compares
 * them with Python xgboost's DMatrix path). */
static int predict(BoosterHandle b, const float *x, int64_t n, float *out)
{
    if (n == 0) return 0;
    char arr[256];
    snprintf(arr, sizeof arr,
             "{\"data\": [%llu, true], \"shape\": [%lld, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)x, (long long)n, MR_RANK_NFEAT);
    static const char cfg[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                              "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    if (XGBoosterPredictFromDense(b, arr, cfg, NULL, &shape, &dim, &res)) return xgb_err("predicting");
    bst_ulong len = 1;
    for (bst_ulong d = 0; d < dim; d++) len *= shape[d];
    if ((int64_t)len != n)
        return mr_err(MR_EFORMAT, "XGBoost returned %llu predictions for %lld rows", (unsigned long long)len, (long long)n);
    memcpy(out, res, sizeof(float) * (size_t)n);
    return 0;
}

/* Sorts one user's rows by score (desc, ties by item) into order[]. */
static void sort_rows(const float *score, const int32_t *item, int64_t n, int64_t *order)
{
    for (int64_t i = 0; i < n; i++) order[i] = i;
    for (int64_t i = 1; i < n; i++) { /* insertion sort: a few hundred rows */
        int64_t v = order[i], j = i;
        while (j > 0 && (score[order[j - 1]] < score[v] || (score[order[j - 1]] == score[v] && item[order[j - 1]] > item[v]))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

/* NDCG@10 of a ranking of the validation rows (grouped by user) against
 * each user's label items, with the metrics of src/eval. */
static int ndcg10(const dataset *d, const float *score, const mr_csr *labels, double *out)
{
    int64_t nu = (int64_t)d->group.n, n = (int64_t)d->y.n;
    int64_t *rbeg = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1)), *rend = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1));
    int64_t *lbeg = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1)), *lend = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1));
    int32_t *ranked = mr_malloc(sizeof(int32_t) * (size_t)(n + 1));
    int64_t *order = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
    int rc = 0;
    if (!rbeg || !rend || !lbeg || !lend || !ranked || !order) rc = MR_ENOMEM;
    int64_t r0 = 0;
    for (int64_t k = 0; !rc && k < nu; k++) {
        int64_t cnt = d->group.v[k];
        sort_rows(score + r0, d->items.v + r0, cnt, order);
        for (int64_t j = 0; j < cnt; j++) ranked[r0 + j] = d->items.v[r0 + order[j]];
        int32_t u = d->users.v[r0];
        rbeg[k] = r0;
        rend[k] = r0 + cnt;
        lbeg[k] = labels->indptr[u];
        lend[k] = labels->indptr[u + 1];
        r0 += cnt;
    }
    if (!rc) {
        mr_metrics_input in = {.n_users = nu, .rel = {labels->indices, lbeg, lend}, .rec = {ranked, rbeg, rend},
                               .n_items = (int32_t)labels->n_cols};
        int32_t k10 = 10;
        mr_metrics m;
        rc = mr_metrics_compute(&in, &k10, 1, &m);
        if (!rc) *out = m.ndcg;
    }
    free(rbeg), free(rend), free(lbeg), free(lend), free(ranked), free(order);
    return rc;
}

/* ------------------------------------------------------------ the step */

static int read_split_day(const char *path, int32_t *day)
{
    char *text;
    int rc = mr_read_file(path, &text, NULL);
    if (rc) return mr_err_wrap(rc, "the split must run before rank: ");
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON *d = j ? cJSON_GetObjectItem(j, "split_date") : NULL;
    rc = cJSON_IsString(d) ? mr_day_parse(d->valuestring, day) : MR_EFORMAT;
    cJSON_Delete(j);
    if (rc) return mr_err(MR_EFORMAT, "%s has no split_date of the form YYYY-MM-DD", path);
    return 0;
}

static int save_model(BoosterHandle b, const char *path)
{
    bst_ulong len = 0;
    const char *buf = NULL;
    if (XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &buf)) return xgb_err("saving the model");
    return mr_write_file_atomic(path, buf, (size_t)len);
}

static int save_features(BoosterHandle b, const char *path, const char *objective, double nd_bin, double nd_rank,
                         double nd_als, cJSON **importance_out)
{
    bst_ulong nf = 0, dim = 0;
    const char **names = NULL;
    const bst_ulong *shape = NULL;
    const float *scores = NULL;
    if (XGBoosterFeatureScore(b, "{\"importance_type\": \"total_gain\"}", &nf, &names, &dim, &shape, &scores))
        return xgb_err("computing feature importance");
    cJSON *j = cJSON_CreateObject(), *feat = cJSON_AddArrayToObject(j, "features");
    for (int f = 0; f < MR_RANK_NFEAT; f++) cJSON_AddItemToArray(feat, cJSON_CreateString(mr_rank_feature_names[f]));
    cJSON_AddStringToObject(j, "objective", objective);
    cJSON *imp = cJSON_AddObjectToObject(j, "importance_gain");
    /* features never used in a split are absent from XGBoost's answer: 0 */
    for (int f = 0; f < MR_RANK_NFEAT; f++) {
        double g = 0;
        for (bst_ulong i = 0; i < nf; i++)
            if (strcmp(names[i], mr_rank_feature_names[f]) == 0) g = scores[i];
        cJSON_AddNumberToObject(imp, mr_rank_feature_names[f], g);
    }
    cJSON *nd = cJSON_AddObjectToObject(j, "ndcg10");
    cJSON_AddNumberToObject(nd, "binary:logistic", nd_bin);
    cJSON_AddNumberToObject(nd, "rank:ndcg", nd_rank);
    cJSON_AddNumberToObject(nd, "als_candidates_order", nd_als);
    char *text = cJSON_Print(j);
    int rc = text ? mr_write_file_atomic(path, text, strlen(text)) : MR_ENOMEM;
    free(text);
    *importance_out = cJSON_Duplicate(imp, 1);
    cJSON_Delete(j);
    return rc;
}

static char *wp(const char *wd, const char *rel) { return mr_path_join(wd, rel); }

/* Builds train and validation sets on the label window and fits the model. */
static int fit_on_label_window(const mr_rank_opts *o, const mr_events *ev, int32_t n_users, const mr_items *items,
                               int32_t split_day, BoosterHandle *best, char *objective, size_t objective_len,
                               double nd[3])
{
    int32_t label_start = split_day - o->label_days;
    char d0[16], d1[16];
    mr_day_format(label_start, d0);
    mr_day_format(split_day, d1);
    mr_rank_world w;
    mr_csr labels = {0}, iu = {0};
    mr_als_model m = {0};
    dataset tr = {0}, va = {0};
    int32_t *sim_idx = NULL, *users = NULL;
    float *sim_sc = NULL, *pred = NULL;
    BoosterHandle bb = NULL, br = NULL;
    int rc = mr_rank_world_build(ev, label_start, n_users, items, &w);
    if (!rc) rc = mr_split_matrix(ev, n_users, items->n, label_start, split_day, MR_VALUE_ONE, 0, &labels);
    if (rc) goto out;
    if (w.hist.nnz == 0) {
        rc = mr_err(MR_EINVAL, "no train events before the label window %s .. %s: nothing to fit on; lower --label-days", d0, d1);
        goto out;
    }
    /* users with history and a label */
    int64_t n_label_users = 0;
    users = mr_malloc(sizeof(int32_t) * ((size_t)n_users + 1));
    if (!users) {
        rc = MR_ENOMEM;
        goto out;
    }
    for (int32_t u = 0; u < n_users; u++)
        if (labels.indptr[u + 1] > labels.indptr[u] && w.hist.indptr[u + 1] > w.hist.indptr[u]) users[n_label_users++] = u;
    MR_LOG(MR_LOG_INFO, "label window", MR_S("from", d0), MR_S("to", d1), MR_I("label_events", labels.nnz),
           MR_I("users_with_history_and_labels", n_label_users), MR_I("fit_events", w.hist.nnz));
    if (n_label_users < 2) {
        rc = mr_err(MR_EINVAL, "only %lld users have train events both before and inside the label window %s .. %s; "
                               "a ranker cannot be fit (change --label-days)", (long long)n_label_users, d0, d1);
        goto out;
    }
    /* a seeded sample of at most max_train_users (a partial shuffle) */
    uint64_t rng = mix64(o->seed ^ 0x72616e6bULL);
    for (int64_t i = 0; i < n_label_users; i++) {
        rng = mix64(rng + 1);
        int64_t j = i + (int64_t)(rng % (uint64_t)(n_label_users - i));
        int32_t t = users[i];
        users[i] = users[j];
        users[j] = t;
    }
    if (o->max_train_users > 0 && n_label_users > o->max_train_users) n_label_users = o->max_train_users;
    qsort(users, (size_t)n_label_users, sizeof(int32_t), cmp_i32);

    /* fit-part ALS and its similar items */
    double t0 = mr_now();
    if ((rc = mr_csr_transpose(&w.hist, &iu)) || (rc = mr_als_validate(&w.hist, &o->als)) ||
        (rc = mr_als_init(&m, n_users, items->n, o->als.factors, o->seed)) ||
        (rc = mr_als_fit(&w.hist, &iu, &o->als, &m, NULL, NULL)))
        goto out;
    mr_csr_free(&iu);
    sim_idx = mr_malloc(sizeof(int32_t) * (size_t)items->n * o->sim_n + 1);
    sim_sc = mr_malloc(sizeof(float) * (size_t)items->n * o->sim_n + 1);
    if (!sim_idx || !sim_sc) {
        rc = MR_ENOMEM;
        goto out;
    }
    if ((rc = mr_similar_compute(m.item_factors, items->n, m.factors, o->sim_n, sim_idx, sim_sc))) goto out;
    MR_LOG(MR_LOG_INFO, "fit-part ALS and similar items", MR_I("factors", m.factors), MR_F("seconds", mr_now() - t0));

    mr_cand_opts co = {.als_n = o->als_n, .pop_n = o->pop_n, .last_n = o->last_n, .user_factors = m.user_factors,
                       .item_factors = m.item_factors, .factors = m.factors, .sim_idx = sim_idx,
                       .sim_score = sim_sc, .sim_n = o->sim_n};
    t0 = mr_now();
    int64_t n_valid_users = 0, n_cand = 0, n_pos_cand = 0;
    enum { BLOCK = 4096 };
    for (int64_t b0 = 0; !rc && b0 < n_label_users; b0 += BLOCK) {
        int32_t nb = (int32_t)(n_label_users - b0 < BLOCK ? n_label_users - b0 : BLOCK);
        /* validation users are chosen by a hash of the user, not by position */
        int32_t tu[BLOCK], vu[BLOCK], nt = 0, nv = 0;
        for (int32_t k = 0; k < nb; k++) {
            int32_t u = users[b0 + k];
            double h = (double)(mix64(o->seed * 31 + (uint64_t)u) >> 11) * 0x1.0p-53;
            if (h < o->valid_frac) vu[nv++] = u;
            else tu[nt++] = u;
        }
        mr_cand_block cb;
        if ((rc = mr_rank_candidates(&w, &co, tu, nt, &cb))) break;
        n_cand += cb.n_rows;
        for (int64_t r = 0; r < cb.n_rows; r++)
            n_pos_cand += in_sorted(labels.indices + labels.indptr[cb.user[r]],
                                    labels.indptr[cb.user[r] + 1] - labels.indptr[cb.user[r]], cb.item[r]);
        rc = dataset_add(&tr, &cb, &labels, o->neg_per_pos, o->seed);
        mr_cand_block_free(&cb);
        if (rc || (rc = mr_rank_candidates(&w, &co, vu, nv, &cb))) break;
        rc = dataset_add(&va, &cb, &labels, 0, o->seed);
        mr_cand_block_free(&cb);
        n_valid_users += nv;
    }
    if (rc) goto out;
    int64_t pos = 0;
    for (size_t i = 0; i < tr.y.n; i++) pos += tr.y.v[i] > 0.5f;
    MR_LOG(MR_LOG_INFO, "training set", MR_I("train_users", (int64_t)tr.group.n), MR_I("rows", (int64_t)tr.y.n),
           MR_I("positives", pos), MR_I("candidates", n_cand), MR_F("candidate_recall_share", n_cand ? (double)n_pos_cand / n_cand : 0),
           MR_I("valid_users", (int64_t)va.group.n), MR_I("valid_rows", (int64_t)va.y.n), MR_F("seconds", mr_now() - t0));
    if (pos == 0 || pos == (int64_t)tr.y.n) {
        rc = mr_err(MR_EINVAL, "the training labels hold a single class (%lld of %lld rows positive): no candidate of "
                               "the %lld sampled users was listened in the label window %s .. %s, or all were; "
                               "change --label-days or the candidate counts",
                    (long long)pos, (long long)tr.y.n, (long long)n_label_users, d0, d1);
        goto out;
    }
    for (size_t i = 0; i < tr.x.n; i++)
        if (!isfinite(tr.x.v[i])) {
            rc = mr_err(MR_EFORMAT, "feature %s is not finite (%g) in training row %zu", mr_rank_feature_names[i % MR_RANK_NFEAT],
                        tr.x.v[i], i / MR_RANK_NFEAT);
            goto out;
        }
    if (va.group.n == 0) {
        rc = mr_err(MR_EINVAL, "no held-out users to choose the model with (%lld label users, --valid-frac %g)",
                    (long long)n_label_users, o->valid_frac);
        goto out;
    }
    pred = mr_malloc(sizeof(float) * (va.y.n + 1));
    if (!pred) {
        rc = MR_ENOMEM;
        goto out;
    }
    /* the ALS order of the same candidates, for context */
    for (size_t i = 0; i < va.y.n; i++) pred[i] = -va.x.v[i * MR_RANK_NFEAT + F_ALS_RANK];
    if ((rc = ndcg10(&va, pred, &labels, &nd[2]))) goto out;
    int want_bin = strcmp(o->objective, "rank:ndcg") != 0, want_rank = strcmp(o->objective, "binary:logistic") != 0;
    nd[0] = nd[1] = NAN;
    t0 = mr_now();
    if (want_bin) {
        if ((rc = train_booster(&tr, "binary:logistic", o, &bb))) goto out;
        if ((rc = predict(bb, va.x.v, (int64_t)va.y.n, pred)) || (rc = ndcg10(&va, pred, &labels, &nd[0]))) goto out;
    }
    if (want_rank) {
        if ((rc = train_booster(&tr, "rank:ndcg", o, &br))) goto out;
        if ((rc = predict(br, va.x.v, (int64_t)va.y.n, pred)) || (rc = ndcg10(&va, pred, &labels, &nd[1]))) goto out;
    }
    MR_LOG(MR_LOG_INFO, "held-out NDCG@10", MR_F("binary_logistic", nd[0]), MR_F("rank_ndcg", nd[1]),
           MR_F("als_order", nd[2]), MR_I("users", (int64_t)va.group.n), MR_F("seconds", mr_now() - t0));
    int pick_rank = want_rank && (!want_bin || nd[1] > nd[0]);
    *best = pick_rank ? br : bb;
    if (pick_rank && bb) XGBoosterFree(bb);
    if (!pick_rank && br) XGBoosterFree(br);
    bb = br = NULL;
    snprintf(objective, objective_len, "%s", pick_rank ? "rank:ndcg" : "binary:logistic");
    if (o->dump_dir) {
        char *px = mr_path_join(o->dump_dir, "features.npy"), *ps = mr_path_join(o->dump_dir, "scores.npy");
        rc = px && ps ? 0 : MR_ENOMEM;
        if (!rc) rc = predict(*best, va.x.v, (int64_t)va.y.n, pred);
        if (!rc) rc = mr_npy_write_f32(px, va.x.v, (int64_t)va.y.n, MR_RANK_NFEAT);
        if (!rc) rc = mr_npy_write_f32(ps, pred, (int64_t)va.y.n, 1);
        free(px), free(ps);
    }
out:
    if (bb) XGBoosterFree(bb);
    if (br) XGBoosterFree(br);
    if (rc && *best) {
        XGBoosterFree(*best);
        *best = NULL;
    }
    free(pred), free(users), free(sim_idx), free(sim_sc);
    dataset_free(&tr);
    dataset_free(&va);
    mr_als_free(&m);
    mr_csr_free(&iu);
    mr_csr_free(&labels);
    mr_rank_world_free(&w);
    return rc;
}

/* Scores every user of step 6's ALS lists and keeps the top N. */
static int infer(const mr_rank_opts *o, BoosterHandle b, const mr_events *ev, int32_t n_users, const mr_items *items,
                 int32_t split_day, mr_recs *out)
{
    char *als_path = wp(o->workdir, "results/personal_als.parquet"), *model_path = wp(o->workdir, "models/als_model.bin");
    char *sim_path = wp(o->workdir, "results/similar_index.bin");
    mr_recs als = {0};
    mr_als_model m = {0};
    mr_als_meta meta;
    mr_similar_index six = {0};
    mr_rank_world w;
    int32_t *sim_idx = NULL;
    float *sim_sc = NULL, *pred = NULL;
    int64_t *order = NULL;
    int rc = als_path && model_path && sim_path ? 0 : MR_ENOMEM;
    memset(out, 0, sizeof *out);
    memset(&w, 0, sizeof w);
    if (!rc) rc = mr_recs_read(als_path, &als);
    if (!rc) rc = mr_als_load(model_path, &m, &meta);
    if (!rc && (m.n_items != items->n || m.n_users != n_users))
        rc = mr_err(MR_EFORMAT, "%s has %lld users x %lld items but the preprocessed data has %d x %d: rerun als",
                    model_path, (long long)m.n_users, (long long)m.n_items, n_users, items->n);
    if (rc) goto out;
    int sim_n = o->sim_n;
    if (mr_file_exists(sim_path) && mr_similar_map(sim_path, 0, &six) == 0 && six.n_items == items->n) {
        /* copy the first sim_n neighbours of the mapped index */
        if (six.n < sim_n) sim_n = six.n;
    } else {
        mr_similar_unmap(&six);
        memset(&six, 0, sizeof six);
    }
    sim_idx = mr_malloc(sizeof(int32_t) * (size_t)items->n * sim_n + 1);
    sim_sc = mr_malloc(sizeof(float) * (size_t)items->n * sim_n + 1);
    if (!sim_idx || !sim_sc) {
        rc = MR_ENOMEM;
        goto out;
    }
    if (six.base) {
        for (int64_t i = 0; i < items->n; i++) {
            memcpy(sim_idx + i * sim_n, mr_similar_items(&six, i), sizeof(int32_t) * sim_n);
            memcpy(sim_sc + i * sim_n, mr_similar_scores(&six, i), sizeof(float) * sim_n);
        }
    } else if ((rc = mr_similar_compute(m.item_factors, items->n, m.factors, sim_n, sim_idx, sim_sc))) {
        goto out;
    }
    if ((rc = mr_rank_world_build(ev, split_day, n_users, items, &w))) goto out;
    mr_cand_opts co = {.als_n = o->als_n, .pop_n = o->pop_n, .last_n = o->last_n, .user_factors = m.user_factors,
                       .item_factors = m.item_factors, .factors = m.factors, .als = &als, .sim_idx = sim_idx,
                       .sim_score = sim_sc, .sim_n = sim_n};
    int64_t nu = als.n_users;
    out->user_idx = mr_malloc(sizeof(int32_t) * (size_t)(nu + 1));
    out->off = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1));
    out->item_idx = mr_malloc(sizeof(int32_t) * (size_t)(nu * o->top_n + 1));
    out->score = mr_malloc(sizeof(float) * (size_t)(nu * o->top_n + 1));
    if (!out->user_idx || !out->off || !out->item_idx || !out->score) {
        rc = MR_ENOMEM;
        goto out;
    }
    int64_t wpos = 0;
    enum { BLOCK = 8192 };
    for (int64_t b0 = 0; !rc && b0 < nu; b0 += BLOCK) {
        int32_t nb = (int32_t)(nu - b0 < BLOCK ? nu - b0 : BLOCK);
        mr_cand_block cb;
        if ((rc = mr_rank_candidates(&w, &co, als.user_idx + b0, nb, &cb))) break;
        float *p = mr_realloc(pred, sizeof(float) * (size_t)(cb.n_rows + 1));
        int64_t *ord = mr_realloc(order, sizeof(int64_t) * (size_t)(cb.n_rows + 1));
        if (p) pred = p;
        if (ord) order = ord;
        if (!p || !ord) rc = MR_ENOMEM;
        if (!rc) rc = predict(b, cb.x, cb.n_rows, pred);
        for (int32_t k = 0; !rc && k < nb; k++) {
            int64_t a = cb.uoff[k], e = cb.uoff[k + 1];
            sort_rows(pred + a, cb.item + a, e - a, order);
            out->user_idx[b0 + k] = als.user_idx[b0 + k];
            out->off[b0 + k] = wpos;
            for (int64_t j = 0; j < e - a && j < o->top_n; j++) {
                out->item_idx[wpos] = cb.item[a + order[j]];
                out->score[wpos++] = pred[a + order[j]];
            }
        }
        mr_cand_block_free(&cb);
    }
    out->off[nu] = wpos;
    out->n_users = nu;
out:
    free(als_path), free(model_path), free(sim_path), free(sim_idx), free(sim_sc), free(pred), free(order);
    mr_similar_unmap(&six);
    mr_recs_free(&als);
    mr_als_free(&m);
    mr_rank_world_free(&w);
    if (rc) mr_recs_free(out);
    return rc;
}

int mr_rank_step(const mr_rank_opts *o)
{
    char *split_path = wp(o->workdir, "data/preprocessed/split_info.json");
    char *train_path = wp(o->workdir, "data/preprocessed/train_events.parquet");
    char *items_path = wp(o->workdir, "data/preprocessed/items.parquet");
    char *users_path = wp(o->workdir, "data/preprocessed/users.parquet");
    char *model_path = wp(o->workdir, "models/ranker.json");
    char *feat_path = wp(o->workdir, "models/ranker_features.json");
    char *out_path = wp(o->workdir, "results/recommendations.parquet");
    mr_events ev = {0};
    mr_items items = {0};
    mr_users users = {0};
    mr_recs recs = {0};
    BoosterHandle best = NULL;
    cJSON *imp = NULL;
    int64_t *uid = NULL, *tid = NULL, nuid = 0, ntid = 0;
    int32_t *uid32 = NULL;
    int32_t split_day = 0;
    char objective[32] = "";
    double nd[3] = {NAN, NAN, NAN};
    int rc = split_path && train_path && items_path && users_path && model_path && feat_path && out_path ? 0 : MR_ENOMEM;
    if (!rc) rc = read_split_day(split_path, &split_day);
    if (!rc) rc = mr_events_read(train_path, 0, &ev);
    if (!rc) rc = mr_items_read(items_path, &items);
    if (!rc) rc = mr_users_read(users_path, &users);
    if (rc) goto out;
    if (ev.n == 0) {
        rc = mr_err(MR_EINVAL, "%s has no events", train_path);
        goto out;
    }
    double t0 = mr_now();
    rc = fit_on_label_window(o, &ev, users.n, &items, split_day, &best, objective, sizeof objective, nd);
    if (rc) goto out;
    if ((rc = save_model(best, model_path)) ||
        (rc = save_features(best, feat_path, objective, nd[0], nd[1], nd[2], &imp)))
        goto out;
    char *imp_text = cJSON_PrintUnformatted(imp);
    MR_LOG(MR_LOG_INFO, "ranker saved", MR_S("objective", objective), MR_S("path", model_path),
           MR_J("importance_gain", imp_text), MR_F("seconds", mr_now() - t0));
    free(imp_text);
    t0 = mr_now();
    if ((rc = infer(o, best, &ev, users.n, &items, split_day, &recs))) goto out;
    if ((rc = mr_read_id_column(users_path, "user_id", users.n, &uid, &nuid)) ||
        (rc = mr_read_id_column(items_path, "track_id", items.n, &tid, &ntid)))
        goto out;
    uid32 = mr_malloc(sizeof(int32_t) * (size_t)(nuid + 1));
    if (!uid32) {
        rc = MR_ENOMEM;
        goto out;
    }
    for (int64_t i = 0; i < nuid; i++) uid32[i] = (int32_t)uid[i];
    if ((rc = mr_recs_write(out_path, &recs, uid32, tid))) goto out;
    MR_LOG(MR_LOG_INFO, "recommendations written", MR_S("path", out_path), MR_I("users", recs.n_users),
           MR_I("rows", recs.off[recs.n_users]), MR_F("seconds", mr_now() - t0));
out:
    if (best) XGBoosterFree(best);
    cJSON_Delete(imp);
    mr_events_free(&ev);
    mr_items_free(&items);
    mr_users_free(&users);
    mr_recs_free(&recs);
    free(uid), free(tid), free(uid32);
    free(split_path), free(train_path), free(items_path), free(users_path), free(model_path), free(feat_path), free(out_path);
    return rc;
}
