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
#define _GNU_SOURCE /* qsort_r */
#include "models/ranker.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xgboost/c_api.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/vec.h"
#include "data/pqcol.h"
#include "data/split.h"
#include "eval/metrics.h"
#include "models/candidates.h"
#include "models/forest.h"
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

static int in_sorted(const int32_t *a, int64_t n, int32_t v) { return mr_sorted_has_i32(a, n, v); }

/* occurrences of v in the ascending a[0..n) */
static int64_t count_sorted(const int32_t *a, int64_t n, int32_t v)
{
    return mr_lower_bound_i32(a, n, v + 1) - mr_lower_bound_i32(a, n, v);
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
    int64_t i = mr_lower_bound_i32(r->user_idx, r->n_users, u);
    return i < r->n_users && r->user_idx[i] == u ? i : -1;
}

/* x_u . y_i with eight partial sums (one serial chain of 64 multiply-adds
 * was a fifth of the candidate features' time). */
static float dotf(const float *a, const float *b, int f)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;
    int k = 0;
    for (; k + 8 <= f; k += 8)
        for (int j = 0; j < 8; j++) s[j] += a[k + j] * b[k + j];
    for (; k < f; k++) t += a[k] * b[k];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) + t;
}

/* The user's last n (at most 16) distinct listens in the history, the
 * latest first; returns how many. */
static int last_listens(const mr_rank_world *w, int32_t u, int n, int32_t out[16])
{
    int found = 0;
    for (int64_t r = w->uend[u] - 1; r >= w->ubeg[u] && found < n && found < 16; r--) {
        int32_t it = w->ev->item_idx[r], dup = 0;
        for (int k = 0; k < found; k++) dup |= out[k] == it;
        if (!dup) out[found++] = it;
    }
    return found;
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
        int32_t last[16];
        int found = last_listens(w, u, o->last_n, last);
        for (int l = 0; l < found; l++) {
            int32_t it = last[l];
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
    enum { AHEAD = 6 }; /* candidates prefetched ahead: at scale 1 the item arrays are far bigger than the cache */
    for (int64_t j = 0; j < n; j++) {
        if (j + AHEAD < n) {
            int32_t nx = items[j + AHEAD];
            if (xu)
                for (int c = 0; c < o->factors; c += 16) __builtin_prefetch(o->item_factors + (int64_t)nx * o->factors + c);
            __builtin_prefetch(w->listeners + nx), __builtin_prefetch(w->pop_rank + nx), __builtin_prefetch(w->group_id + nx);
            __builtin_prefetch(w->genre_pop + nx), __builtin_prefetch(w->artist_pop + nx), __builtin_prefetch(w->first_day + nx);
            __builtin_prefetch(w->ig_off + nx), __builtin_prefetch(w->ia_off + nx);
        }
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

static int grow(void **p, size_t elem, int64_t n)
{
    void *q = mr_realloc(*p, elem * (size_t)(n + 1));
    if (!q) return MR_ENOMEM;
    *p = q;
    return 0;
}

int mr_rank_candidates(const mr_rank_world *w, const mr_cand_opts *o, const int32_t *users, int32_t n,
                       mr_cand_block *out)
{
    int64_t per = (int64_t)o->als_n + o->pop_n + (int64_t)o->last_n * (o->sim_idx ? o->sim_n : 0);
    /* each user writes into its own slot range [k * per, k * per + cnt[k]),
     * compacted afterwards in user order */
    if (out->cap_rows < (int64_t)n * per) {
        if (grow((void **)&out->item, sizeof(int32_t), (int64_t)n * per) ||
            grow((void **)&out->user, sizeof(int32_t), (int64_t)n * per) ||
            grow((void **)&out->x, sizeof(float) * MR_RANK_NFEAT, (int64_t)n * per))
            return MR_ENOMEM;
        out->cap_rows = (int64_t)n * per;
    }
    if (out->cap_users < n + 1) {
        if (grow((void **)&out->uoff, sizeof(int64_t), (int64_t)n + 1)) return MR_ENOMEM;
        out->cap_users = (int64_t)n + 1;
    }
    int32_t *items = out->item;
    float *x = out->x;
    int64_t *cnt = out->uoff; /* counts first, offsets after compaction */
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
            cnt[k] = 0;
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
            }
            cnt[k] = user_rows(w, o, &s, u, ai, as, na, items + k * per, x + k * per * MR_RANK_NFEAT, per);
        }
        free(s.slot), free(s.stamp), free(s.gstamp), free(s.gcount);
        mr_vec_i32_free(&s.artists);
    }
    if (failed) return mr_err(MR_ENOMEM, "out of memory for candidate scratch space (%d items)", w->n_items);
    /* compact in user order */
    int64_t wpos = 0;
    for (int32_t k = 0; k < n; k++) {
        int64_t c = cnt[k];
        out->uoff[k] = wpos;
        if (wpos != k * per) {
            memmove(items + wpos, items + k * per, sizeof(int32_t) * (size_t)c);
            memmove(x + wpos * MR_RANK_NFEAT, x + k * per * MR_RANK_NFEAT, sizeof(float) * (size_t)c * MR_RANK_NFEAT);
        }
        for (int64_t j = 0; j < c; j++) out->user[wpos + j] = users[k];
        wpos += c;
    }
    out->uoff[n] = wpos;
    out->n_rows = wpos;
    out->n_users = n;
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

static int ndcg10(const dataset *d, const float *score, const mr_csr *labels, double *out);

static int set_params(BoosterHandle b, const char *objective, const mr_rank_opts *o)
{
    char buf[64];
    struct {
        const char *k, *v;
    } params[] = {{"objective", objective}, {"tree_method", "hist"}, {"max_bin", "256"},
                  {"subsample", "1"},        {"min_child_weight", "1"}, {"verbosity", "0"}};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (XGBoosterSetParam(b, params[i].k, params[i].v)) return xgb_err("setting a parameter");
    snprintf(buf, sizeof buf, "%g", o->eta);
    if (XGBoosterSetParam(b, "eta", buf)) return xgb_err("setting eta");
    snprintf(buf, sizeof buf, "%d", o->max_depth);
    if (XGBoosterSetParam(b, "max_depth", buf)) return xgb_err("setting max_depth");
    /* Training runs on one thread. XGBoost's hist updater opens thousands of
     * short OpenMP regions per round; between them libgomp's default (active)
     * wait keeps the idle thread spinning, which on 2 cores shared with
     * anything else starves the working thread (docs/ranker.md has the
     * measurements). One thread also makes the model independent of
     * --threads. Prediction uses every thread (set after training). */
    if (XGBoosterSetParam(b, "nthread", "1")) return xgb_err("setting nthread");
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(o->seed & 0x7fffffff));
    if (XGBoosterSetParam(b, "seed", buf)) return xgb_err("setting seed");
    if (XGBoosterSetStrFeatureInfo(b, "feature_name", (const char **)mr_rank_feature_names, MR_RANK_NFEAT))
        return xgb_err("naming features");
    return 0;
}

enum { EVAL_EVERY = 10 };

/* Trains up to o->rounds rounds, scoring the held-out users every
 * EVAL_EVERY rounds (and after the last) by NDCG@10; stops once that has
 * not improved for o->patience rounds and keeps the rounds up to the best
 * (XGBoosterSlice). The held-out matrix is in the booster's prediction
 * cache, so each check costs only the trees added since the last one.
 * Fewer trees also make inference cheaper: it costs rows x trees. */
static int train_booster(const dataset *d, const dataset *va, const mr_csr *labels, const char *objective,
                         const mr_rank_opts *o, BoosterHandle *out, double *best_ndcg, int *best_rounds)
{
    DMatrixHandle dm[2] = {NULL, NULL};
    BoosterHandle b = NULL;
    int rc = make_dmatrix(d->x.v, (int64_t)d->y.n, d->y.v, strcmp(objective, "rank:ndcg") == 0 ? d->group.v : NULL,
                          (int64_t)d->group.n, &dm[0]);
    if (!rc) rc = make_dmatrix(va->x.v, (int64_t)va->y.n, NULL, NULL, 0, &dm[1]);
    if (!rc && XGBoosterCreate(dm, 2, &b)) rc = xgb_err("creating a booster");
    if (!rc) rc = set_params(b, objective, o);
    double best = -1;
    int best_it = 0, it = 0;
    char curve[4096];
    int cl = snprintf(curve, sizeof curve, "{");
    for (it = 0; !rc && it < o->rounds; it++) {
        if (XGBoosterUpdateOneIter(b, it, dm[0])) {
            rc = xgb_err("training");
            break;
        }
        if ((it + 1) % EVAL_EVERY && it + 1 != o->rounds) continue;
        bst_ulong len = 0;
        const float *res = NULL;
        double nd = 0;
        if (XGBoosterPredict(b, dm[1], 0, 0, 0, &len, &res)) rc = xgb_err("scoring the held-out users");
        else if (len != va->y.n) rc = mr_err(MR_EFORMAT, "XGBoost returned %llu held-out scores for %zu rows", (unsigned long long)len, va->y.n);
        if (!rc) rc = ndcg10(va, res, labels, &nd);
        if (rc) break;
        if (cl < (int)sizeof curve - 40)
            cl += snprintf(curve + cl, sizeof curve - (size_t)cl, "%s\"%d\": %.5f", cl > 1 ? ", " : "", it + 1, nd);
        if (nd > best) best = nd, best_it = it + 1;
        if (o->patience > 0 && it + 1 - best_it >= o->patience) {
            it++;
            break;
        }
    }
    if (cl < (int)sizeof curve - 2) snprintf(curve + cl, sizeof curve - (size_t)cl, "}");
    if (!rc && best_it < it) {
        BoosterHandle s = NULL;
        if (XGBoosterSlice(b, 0, best_it, 1, &s)) rc = xgb_err("keeping the best rounds");
        else {
            XGBoosterFree(b);
            b = s;
            if (XGBoosterSetStrFeatureInfo(b, "feature_name", (const char **)mr_rank_feature_names, MR_RANK_NFEAT))
                rc = xgb_err("naming features");
        }
    }
    if (!rc) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", o->threads);
        if (XGBoosterSetParam(b, "nthread", buf)) rc = xgb_err("setting nthread for prediction");
    }
    if (!rc)
        MR_LOG(MR_LOG_INFO, "boosting", MR_S("objective", objective), MR_I("rounds_trained", it), MR_I("rounds_kept", best_it),
               MR_F("held_out_ndcg10", best), MR_J("ndcg10_by_rounds", curve));
    if (dm[0]) XGDMatrixFree(dm[0]);
    if (dm[1]) XGDMatrixFree(dm[1]);
    if (rc && b) XGBoosterFree(b);
    *out = rc ? NULL : b;
    *best_ndcg = best;
    *best_rounds = best_it;
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

typedef struct {
    const float *score;
    const int32_t *item;
} sort_ctx;

static int cmp_row(const void *a, const void *b, void *ctx)
{
    const sort_ctx *c = ctx;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (c->score[x] != c->score[y]) return c->score[x] < c->score[y] ? 1 : -1;
    return (c->item[x] > c->item[y]) - (c->item[x] < c->item[y]);
}

/* Sorts one user's rows by score (desc, ties by item) into order[]. */
static void sort_rows(const float *score, const int32_t *item, int64_t n, int64_t *order)
{
    for (int64_t i = 0; i < n; i++) order[i] = i;
    sort_ctx c = {score, item};
    qsort_r(order, (size_t)n, sizeof(int64_t), cmp_row, &c);
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
        int32_t u = d->users.v[r0];
        rbeg[k] = r0;
        rend[k] = r0 + d->group.v[k];
        lbeg[k] = labels->indptr[u];
        lend[k] = labels->indptr[u + 1];
        r0 += d->group.v[k];
    }
    if (!rc) {
#pragma omp parallel for schedule(dynamic, 256)
        for (int64_t k = 0; k < nu; k++) {
            int64_t a = rbeg[k], cnt = rend[k] - rbeg[k];
            sort_rows(score + a, d->items.v + a, cnt, order + a);
            for (int64_t j = 0; j < cnt; j++) ranked[a + j] = d->items.v[a + order[a + j]];
        }
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

/* Phase timers: wall seconds and the process's CPU seconds (all threads);
 * on a shared machine the CPU time is the steadier figure. */
typedef struct {
    double wall, cpu;
} tick;

static tick tick_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (tick){mr_now(), (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec};
}

static void tick_add(tick *acc, tick a, tick b)
{
    acc->wall += b.wall - a.wall;
    acc->cpu += b.cpu - a.cpu;
}

static void log_span(const char *name, tick span, int64_t users, int64_t rows)
{
    MR_LOG(MR_LOG_INFO, "phase", MR_S("name", name), MR_F("seconds", span.wall), MR_F("cpu_seconds", span.cpu),
           MR_I("users", users), MR_I("rows", rows));
}

static void log_phase(const char *name, tick t0, int64_t users, int64_t rows)
{
    tick t1 = tick_now(), d = {0};
    tick_add(&d, t0, t1);
    log_span(name, d, users, rows);
}

/* The fit-part history of the users the fit-part ALS is fit on: every
 * sampled label user (their factors are the ALS feature) and a seeded
 * sample of the other users up to o->fit_users (0 = all); the others' rows
 * are left empty. The item factors then come from fewer listens, the
 * price of an ALS fit that does not grow with the whole user base. */
static int fit_matrix(const mr_rank_opts *o, const mr_csr *hist, const int32_t *label_users, int64_t n_label,
                      mr_csr *out, int64_t *n_fit_users)
{
    int64_t nu = hist->n_rows, with = 0;
    for (int64_t u = 0; u < nu; u++) with += hist->indptr[u + 1] > hist->indptr[u];
    *n_fit_users = with;
    if (o->fit_users <= 0 || with <= o->fit_users) {
        *out = *hist; /* shallow: the caller must not free it */
        return 1;
    }
    unsigned char *keep = mr_calloc((size_t)nu + 1, 1);
    int32_t *others = mr_malloc(sizeof(int32_t) * (size_t)(nu + 1));
    if (!keep || !others) {
        free(keep), free(others);
        return MR_ENOMEM;
    }
    int64_t kept = 0, n_others = 0;
    for (int64_t k = 0; k < n_label; k++) keep[label_users[k]] = 1, kept++;
    for (int64_t u = 0; u < nu; u++)
        if (!keep[u] && hist->indptr[u + 1] > hist->indptr[u]) others[n_others++] = (int32_t)u;
    uint64_t rng = mix64(o->seed ^ 0x66697475ULL);
    for (int64_t i = 0; i < n_others && kept < o->fit_users; i++, kept++) {
        rng = mix64(rng + 1);
        int64_t j = i + (int64_t)(rng % (uint64_t)(n_others - i));
        int32_t t = others[i];
        others[i] = others[j];
        others[j] = t;
        keep[others[i]] = 1;
    }
    free(others);
    *out = (mr_csr){.n_rows = nu, .n_cols = hist->n_cols};
    out->indptr = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1));
    int64_t nnz = 0;
    for (int64_t u = 0; u < nu; u++)
        if (keep[u]) nnz += hist->indptr[u + 1] - hist->indptr[u];
    out->indices = mr_malloc(sizeof(int32_t) * (size_t)(nnz + 1));
    out->data = hist->data ? mr_malloc(sizeof(float) * (size_t)(nnz + 1)) : NULL;
    if (!out->indptr || !out->indices || (hist->data && !out->data)) {
        free(keep);
        mr_csr_free(out);
        return MR_ENOMEM;
    }
    out->indptr[0] = 0;
    for (int64_t u = 0; u < nu; u++) {
        int64_t a = hist->indptr[u], e = keep[u] ? hist->indptr[u + 1] : a, p = out->indptr[u];
        memcpy(out->indices + p, hist->indices + a, sizeof(int32_t) * (size_t)(e - a));
        if (hist->data) memcpy(out->data + p, hist->data + a, sizeof(float) * (size_t)(e - a));
        out->indptr[u + 1] = p + (e - a);
    }
    out->nnz = nnz;
    free(keep);
    *n_fit_users = kept;
    return 0;
}

/* From this many tracks on, the fit-part similar items of the last listens
 * are searched approximately (models/candidates.h, mr_cand_similar_ivf). */
enum { IVF_MIN_ITEMS = 300000, IVF_NPROBE = 32 };

/* Builds train and validation sets on the label window and fits the model. */
static int fit_on_label_window(const mr_rank_opts *o, const mr_events *ev, int32_t n_users, const mr_items *items,
                               int32_t split_day, BoosterHandle *best, char *objective, size_t objective_len,
                               double nd[3], mr_forest *forest, int *use_forest)
{
    int32_t label_start = split_day - o->label_days;
    char d0[16], d1[16];
    mr_day_format(label_start, d0);
    mr_day_format(split_day, d1);
    mr_rank_world w;
    mr_csr labels = {0}, iu = {0}, fit = {0};
    int fit_shared = 0;
    mr_als_model m = {0};
    mr_recs als = {0};
    dataset tr = {0}, va = {0};
    mr_cand_block cb = {0};
    int32_t *sim_idx = NULL, *users = NULL, *last = NULL;
    float *sim_sc = NULL, *pred = NULL;
    BoosterHandle bb = NULL, br = NULL;
    tick t0 = tick_now();
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
    log_phase("label window: fit-part history, labels", t0, n_label_users, labels.nnz);

    /* fit-part ALS */
    t0 = tick_now();
    int64_t n_fit_users = 0;
    rc = fit_matrix(o, &w.hist, users, n_label_users, &fit, &n_fit_users);
    if (rc == 1) {
        fit_shared = 1;
        rc = 0;
    }
    mr_als_opts ao = o->als;
    if (o->fit_iterations > 0) ao.iterations = o->fit_iterations;
    if (rc || (rc = mr_csr_transpose(&fit, &iu)) || (rc = mr_als_validate(&fit, &ao)) ||
        (rc = mr_als_init(&m, n_users, items->n, ao.factors, o->seed)) || (rc = mr_als_fit(&fit, &iu, &ao, &m, NULL, NULL)))
        goto out;
    mr_csr_free(&iu);
    MR_LOG(MR_LOG_INFO, "fit-part ALS", MR_I("users", n_fit_users), MR_I("events", fit.nnz), MR_I("iterations", ao.iterations),
           MR_I("factors", m.factors));
    log_phase("fit-part ALS", t0, n_fit_users, fit.nnz);
    if (!fit_shared) mr_csr_free(&fit);
    memset(&fit, 0, sizeof fit);

    /* ALS candidates of the sampled users (one top-k pass over the items) */
    t0 = tick_now();
    mr_cand_als_opts cao = {.user_factors = m.user_factors, .item_factors = m.item_factors, .n_items = items->n,
                            .f = m.factors, .hist = &w.hist, .k = o->als_n, .prune = 1};
    if (o->als_n > 0 && (rc = mr_cand_als_recs(&cao, users, n_label_users, &als))) goto out;
    log_phase("fit-part ALS candidates", t0, als.n_users, als.n_users ? als.off[als.n_users] : 0);

    /* similar items of the sampled users' last distinct listens only: the
     * full item x item index is quadratic in the items */
    t0 = tick_now();
    int64_t n_last = 0;
    if (o->last_n > 0 && o->sim_n > 0) {
        unsigned char *need = mr_calloc((size_t)items->n + 1, 1);
        last = mr_malloc(sizeof(int32_t) * (size_t)(n_label_users * o->last_n + 1));
        sim_idx = mr_malloc(sizeof(int32_t) * (size_t)items->n * o->sim_n + 1);
        sim_sc = mr_malloc(sizeof(float) * (size_t)items->n * o->sim_n + 1);
        if (!need || !last || !sim_idx || !sim_sc) {
            free(need);
            rc = MR_ENOMEM;
            goto out;
        }
        for (int64_t k = 0; k < n_label_users; k++) {
            int32_t u = users[k];
            int32_t seen[16];
            int found = last_listens(&w, u, o->last_n, seen);
            for (int j = 0; j < found; j++)
                if (!need[seen[j]]) need[seen[j]] = 1, last[n_last++] = seen[j];
        }
        free(need);
        qsort(last, (size_t)n_last, sizeof(int32_t), cmp_i32);
        int32_t *qi = mr_malloc(sizeof(int32_t) * (size_t)(n_last * o->sim_n + 1));
        float *qs = mr_malloc(sizeof(float) * (size_t)(n_last * o->sim_n + 1));
        if (!qi || !qs) rc = MR_ENOMEM;
        double recall = NAN;
        int nlist = 0;
        if (!rc && items->n >= IVF_MIN_ITEMS) {
            /* approximate: exact search would cost n_last x n_items pairs
             * (~1e11 at scale 1, minutes); recall against exact is logged */
            nlist = (int)sqrt((double)items->n);
            rc = mr_cand_similar_ivf(m.item_factors, items->n, m.factors, last, n_last, o->sim_n, nlist, IVF_NPROBE, o->seed,
                                     qi, qs, &recall);
        } else if (!rc) {
            rc = mr_cand_similar(m.item_factors, items->n, m.factors, last, n_last, o->sim_n, qi, qs);
        }
        MR_LOG(MR_LOG_INFO, "fit-part similar items", MR_I("queries", n_last), MR_S("method", nlist ? "ivf" : "exact"),
               MR_I("nlist", nlist), MR_I("nprobe", nlist ? IVF_NPROBE : 0), MR_F("recall", recall));
        if (!rc) {
            for (int64_t i = 0; i < (int64_t)items->n * o->sim_n; i++) sim_idx[i] = -1, sim_sc[i] = -INFINITY;
            for (int64_t q = 0; q < n_last; q++) {
                memcpy(sim_idx + (int64_t)last[q] * o->sim_n, qi + q * o->sim_n, sizeof(int32_t) * (size_t)o->sim_n);
                memcpy(sim_sc + (int64_t)last[q] * o->sim_n, qs + q * o->sim_n, sizeof(float) * (size_t)o->sim_n);
            }
        }
        free(qi), free(qs);
        if (rc) goto out;
    }
    log_phase("fit-part similar items of the last listens", t0, n_label_users, n_last);

    mr_cand_opts co = {.als_n = o->als_n, .pop_n = o->pop_n, .last_n = o->last_n, .user_factors = m.user_factors,
                       .item_factors = m.item_factors, .factors = m.factors, .als = o->als_n > 0 ? &als : NULL,
                       .sim_idx = sim_idx, .sim_score = sim_sc, .sim_n = o->sim_n};
    t0 = tick_now();
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
        if ((rc = mr_rank_candidates(&w, &co, tu, nt, &cb))) break;
        n_cand += cb.n_rows;
        for (int64_t r = 0; r < cb.n_rows; r++)
            n_pos_cand += in_sorted(labels.indices + labels.indptr[cb.user[r]],
                                    labels.indptr[cb.user[r] + 1] - labels.indptr[cb.user[r]], cb.item[r]);
        if ((rc = dataset_add(&tr, &cb, &labels, o->neg_per_pos, o->seed))) break;
        if ((rc = mr_rank_candidates(&w, &co, vu, nv, &cb))) break;
        rc = dataset_add(&va, &cb, &labels, 0, o->seed);
        n_valid_users += nv;
    }
    mr_cand_block_free(&cb);
    if (rc) goto out;
    int64_t pos = 0;
    for (size_t i = 0; i < tr.y.n; i++) pos += tr.y.v[i] > 0.5f;
    MR_LOG(MR_LOG_INFO, "training set", MR_I("train_users", (int64_t)tr.group.n), MR_I("rows", (int64_t)tr.y.n),
           MR_I("positives", pos), MR_I("candidates", n_cand), MR_F("candidate_recall_share", n_cand ? (double)n_pos_cand / n_cand : 0),
           MR_I("valid_users", (int64_t)va.group.n), MR_I("valid_rows", (int64_t)va.y.n));
    log_phase("training candidates and features", t0, n_label_users, (int64_t)(tr.y.n + va.y.n));
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
    int rounds_bin = 0, rounds_rank = 0;
    nd[0] = nd[1] = NAN;
    if (want_bin) {
        t0 = tick_now();
        if ((rc = train_booster(&tr, &va, &labels, "binary:logistic", o, &bb, &nd[0], &rounds_bin))) goto out;
        log_phase("train binary:logistic", t0, (int64_t)tr.group.n, (int64_t)tr.y.n);
    }
    if (want_rank) {
        t0 = tick_now();
        if ((rc = train_booster(&tr, &va, &labels, "rank:ndcg", o, &br, &nd[1], &rounds_rank))) goto out;
        log_phase("train rank:ndcg", t0, (int64_t)tr.group.n, (int64_t)tr.y.n);
    }
    MR_LOG(MR_LOG_INFO, "held-out NDCG@10", MR_F("binary_logistic", nd[0]), MR_F("rank_ndcg", nd[1]),
           MR_F("als_order", nd[2]), MR_I("users", (int64_t)va.group.n), MR_I("rounds_binary_logistic", rounds_bin),
           MR_I("rounds_rank_ndcg", rounds_rank));
    int pick_rank = want_rank && (!want_bin || nd[1] > nd[0]);
    *best = pick_rank ? br : bb;
    if (pick_rank && bb) XGBoosterFree(bb);
    if (!pick_rank && br) XGBoosterFree(br);
    bb = br = NULL;
    snprintf(objective, objective_len, "%s", pick_rank ? "rank:ndcg" : "binary:logistic");
    /* the flat forest scores inference; it must give XGBoost's scores on
     * the held-out rows, else XGBoost's own predictor is used */
    *use_forest = 0;
    {
        bst_ulong len = 0;
        const char *buf = NULL;
        float *fx = mr_malloc(sizeof(float) * (va.y.n + 1));
        if (!fx) {
            rc = MR_ENOMEM;
            goto out;
        }
        if (XGBoosterSaveModelToBuffer(*best, "{\"format\": \"json\"}", &len, &buf)) rc = xgb_err("saving the model");
        else if ((rc = predict(*best, va.x.v, (int64_t)va.y.n, pred)) == 0) {
            int frc = mr_forest_from_json(buf, (size_t)len, MR_RANK_NFEAT, forest);
            double maxd = INFINITY;
            if (frc == 0) {
                tick tf = tick_now();
                mr_forest_predict(forest, va.x.v, (int64_t)va.y.n, fx);
                tick tf1 = tick_now();
                maxd = 0;
                for (size_t i = 0; i < va.y.n; i++) maxd = fmax(maxd, fabs((double)fx[i] - pred[i]));
                *use_forest = maxd <= 1e-6;
                MR_LOG(MR_LOG_INFO, "flat forest check", MR_I("rows", (int64_t)va.y.n), MR_F("max_abs_diff", maxd),
                       MR_F("forest_seconds", tf1.wall - tf.wall), MR_S("used", *use_forest ? "yes" : "no"));
            }
            if (!*use_forest) {
                MR_LOG(MR_LOG_WARN, "scoring with XGBoost's predictor: the flat forest does not reproduce it",
                       MR_S("why", frc ? mr_errmsg() : "scores differ"), MR_F("max_abs_diff", maxd));
                mr_forest_free(forest);
            }
        }
        free(fx);
        if (rc) goto out;
    }
    if (o->dump_dir) {
        char *px = mr_path_join(o->dump_dir, "features.npy"), *ps = mr_path_join(o->dump_dir, "scores.npy");
        rc = px && ps ? 0 : MR_ENOMEM;
        /* the scores musrec's recommendations use */
        if (!rc && *use_forest) mr_forest_predict(forest, va.x.v, (int64_t)va.y.n, pred);
        else if (!rc) rc = predict(*best, va.x.v, (int64_t)va.y.n, pred);
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
    free(pred), free(users), free(sim_idx), free(sim_sc), free(last);
    if (!fit_shared) mr_csr_free(&fit);
    dataset_free(&tr);
    dataset_free(&va);
    mr_recs_free(&als);
    mr_als_free(&m);
    mr_csr_free(&iu);
    mr_csr_free(&labels);
    mr_rank_world_free(&w);
    return rc;
}

/* Scores every user of step 6's ALS lists and keeps the top N. Users go
 * through in blocks: one block's candidates and features exist at a time
 * (the buffers are reused), so memory does not grow with the users. */
static int infer(const mr_rank_opts *o, BoosterHandle b, const mr_forest *forest, const mr_events *ev, int32_t n_users, const mr_items *items,
                 int32_t split_day, mr_recs *out)
{
    char *als_path = wp(o->workdir, "results/personal_als.parquet"), *model_path = wp(o->workdir, "models/als_model.bin");
    char *sim_path = wp(o->workdir, "results/similar_index.bin");
    mr_recs als = {0};
    mr_als_model m = {0};
    mr_als_meta meta;
    mr_similar_index six = {0};
    mr_rank_world w;
    mr_cand_block cb = {0};
    int32_t *sim_idx = NULL;
    float *sim_sc = NULL, *pred = NULL;
    int64_t *order = NULL;
    int rc = als_path && model_path && sim_path ? 0 : MR_ENOMEM;
    tick t0 = tick_now(), t_cand = {0}, t_pred = {0}, t_top = {0};
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
    log_phase("inference: read step 6 lists, ALS model, similar index", t0, als.n_users, als.n_users ? als.off[als.n_users] : 0);
    t0 = tick_now();
    if ((rc = mr_rank_world_build(ev, split_day, n_users, items, &w))) goto out;
    log_phase("inference: full-train history and item statistics", t0, n_users, w.hist.nnz);
    mr_cand_opts co = {.als_n = o->als_n, .pop_n = o->pop_n, .last_n = o->last_n, .user_factors = m.user_factors,
                       .item_factors = m.item_factors, .factors = m.factors, .als = &als, .sim_idx = sim_idx,
                       .sim_score = sim_sc, .sim_n = sim_n};
    int64_t nu = als.n_users, rows = 0;
    out->user_idx = mr_malloc(sizeof(int32_t) * (size_t)(nu + 1));
    out->off = mr_malloc(sizeof(int64_t) * (size_t)(nu + 1));
    out->item_idx = mr_malloc(sizeof(int32_t) * (size_t)(nu * o->top_n + 1));
    out->score = mr_malloc(sizeof(float) * (size_t)(nu * o->top_n + 1));
    if (!out->user_idx || !out->off || !out->item_idx || !out->score) {
        rc = MR_ENOMEM;
        goto out;
    }
    int64_t *kept = NULL; /* per block user: rows kept */
    enum { BLOCK = 8192 };
    kept = mr_malloc(sizeof(int64_t) * (BLOCK + 1));
    if (!kept) {
        rc = MR_ENOMEM;
        goto out;
    }
    int64_t wpos = 0, cap = 0;
    for (int64_t b0 = 0; !rc && b0 < nu; b0 += BLOCK) {
        int32_t nb = (int32_t)(nu - b0 < BLOCK ? nu - b0 : BLOCK);
        tick t1 = tick_now();
        if ((rc = mr_rank_candidates(&w, &co, als.user_idx + b0, nb, &cb))) break;
        tick t2 = tick_now();
        tick_add(&t_cand, t1, t2);
        if (cb.n_rows > cap) {
            float *p = mr_realloc(pred, sizeof(float) * (size_t)(cb.n_rows + 1));
            int64_t *ord = mr_realloc(order, sizeof(int64_t) * (size_t)(cb.n_rows + 1));
            if (p) pred = p;
            if (ord) order = ord;
            if (!p || !ord) {
                rc = MR_ENOMEM;
                break;
            }
            cap = cb.n_rows;
        }
        if (forest) mr_forest_predict(forest, cb.x, cb.n_rows, pred);
        else if ((rc = predict(b, cb.x, cb.n_rows, pred))) break;
        tick t3 = tick_now();
        tick_add(&t_pred, t2, t3);
        rows += cb.n_rows;
        /* each user's top N: sorted in parallel into order[], copied in user order */
#pragma omp parallel for schedule(dynamic, 256)
        for (int32_t k = 0; k < nb; k++) {
            int64_t a = cb.uoff[k], e = cb.uoff[k + 1];
            sort_rows(pred + a, cb.item + a, e - a, order + a);
            kept[k] = e - a < o->top_n ? e - a : o->top_n;
        }
        for (int32_t k = 0; k < nb; k++) {
            int64_t a = cb.uoff[k];
            out->user_idx[b0 + k] = als.user_idx[b0 + k];
            out->off[b0 + k] = wpos;
            for (int64_t j = 0; j < kept[k]; j++) {
                out->item_idx[wpos] = cb.item[a + order[a + j]];
                out->score[wpos++] = pred[a + order[a + j]];
            }
        }
        tick_add(&t_top, t3, tick_now());
    }
    free(kept);
    if (rc) goto out;
    out->off[nu] = wpos;
    out->n_users = nu;
    log_span("inference: candidates and features", t_cand, nu, rows);
    log_span(forest ? "inference: scoring (flat forest)" : "inference: scoring (XGBoost predictor)", t_pred, nu, rows);
    log_span("inference: top N per user", t_top, nu, wpos);
out:
    free(als_path), free(model_path), free(sim_path), free(sim_idx), free(sim_sc), free(pred), free(order);
    mr_cand_block_free(&cb);
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
    mr_forest forest = {0};
    int use_forest = 0;
    cJSON *imp = NULL;
    int64_t *uid = NULL, *tid = NULL, nuid = 0, ntid = 0;
    int32_t *uid32 = NULL;
    int32_t split_day = 0;
    char objective[32] = "";
    double nd[3] = {NAN, NAN, NAN};
    int rc = split_path && train_path && items_path && users_path && model_path && feat_path && out_path ? 0 : MR_ENOMEM;
    tick t0 = tick_now();
    if (!rc) rc = read_split_day(split_path, &split_day);
    if (!rc) rc = mr_events_read(train_path, 0, &ev);
    if (!rc) rc = mr_items_read(items_path, &items);
    if (!rc) rc = mr_users_read(users_path, &users);
    if (rc) goto out;
    if (ev.n == 0) {
        rc = mr_err(MR_EINVAL, "%s has no events", train_path);
        goto out;
    }
    log_phase("read train events, items, users", t0, users.n, ev.n);
    t0 = tick_now();
    rc = fit_on_label_window(o, &ev, users.n, &items, split_day, &best, objective, sizeof objective, nd, &forest, &use_forest);
    if (rc) goto out;
    if ((rc = save_model(best, model_path)) ||
        (rc = save_features(best, feat_path, objective, nd[0], nd[1], nd[2], &imp)))
        goto out;
    char *imp_text = cJSON_PrintUnformatted(imp);
    MR_LOG(MR_LOG_INFO, "ranker saved", MR_S("objective", objective), MR_S("path", model_path),
           MR_J("importance_gain", imp_text), MR_F("seconds", mr_now() - t0.wall));
    free(imp_text);
    t0 = tick_now();
    if ((rc = infer(o, best, use_forest ? &forest : NULL, &ev, users.n, &items, split_day, &recs))) goto out;
    log_phase("inference (all of it)", t0, recs.n_users, recs.off[recs.n_users]);
    mr_events_free(&ev); /* not needed for writing: its memory goes back first */
    t0 = tick_now();
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
    log_phase("write recommendations.parquet", t0, recs.n_users, recs.off[recs.n_users]);
out:
    if (best) XGBoosterFree(best);
    mr_forest_free(&forest);
    cJSON_Delete(imp);
    mr_events_free(&ev);
    mr_items_free(&items);
    mr_users_free(&users);
    mr_recs_free(&recs);
    free(uid), free(tid), free(uid32);
    free(split_path), free(train_path), free(items_path), free(users_path), free(model_path), free(feat_path), free(out_path);
    return rc;
}
