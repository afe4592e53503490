#include "serve/blend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "models/topk.h"
#include "serve/foldin.h"

const char *const mr_src_name[] = {"offline", "online", "popular", "foldin", "similar"};

void mr_blend_scratch_free(mr_blend_scratch *w)
{
    free(w->a);
    free(w->b);
    free(w->cand);
    free(w->set);
    free(w->excl);
    free(w->work);
    free(w->x);
    free(w->distinct);
    free(w->ones);
    free(w->tk_item);
    free(w->tk_score);
    memset(w, 0, sizeof *w);
}

/* Grows *p to hold n elements of size sz; the old contents are not kept. */
static int grow(void *pp, size_t *cap, size_t n, size_t sz)
{
    void **p = pp;
    if (n <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q) return mr_err(MR_ENOMEM, "out of memory for %zu scratch entries", c);
    *p = q;
    *cap = c;
    return 0;
}

/* ---- a small set of item_idx: open addressing, cleared per use ---- */

typedef struct {
    int32_t *t;
    uint32_t mask;
} iset;

static int iset_init(mr_blend_scratch *w, iset *s, size_t expected)
{
    uint32_t cap = 64;
    while (cap < 2 * expected + 2) cap *= 2;
    if (cap > w->set_cap) {
        int32_t *t = realloc(w->set, (size_t)cap * sizeof *t);
        if (!t) return mr_err(MR_ENOMEM, "out of memory for a %u-entry item set", cap);
        w->set = t;
        w->set_cap = cap;
    }
    memset(w->set, 0xff, (size_t)cap * sizeof *w->set);
    s->t = w->set;
    s->mask = cap - 1;
    return 0;
}

static inline uint32_t ihash(int32_t x) { return (uint32_t)x * 2654435761u; }

/* Adds x; returns 1 if it was new, 0 if already there. */
static inline int iset_add(iset *s, int32_t x)
{
    uint32_t i = ihash(x) & s->mask;
    while (s->t[i] >= 0) {
        if (s->t[i] == x) return 0;
        i = (i + 1) & s->mask;
    }
    s->t[i] = x;
    return 1;
}

static inline int iset_has(const iset *s, int32_t x)
{
    uint32_t i = ihash(x) & s->mask;
    while (s->t[i] >= 0) {
        if (s->t[i] == x) return 1;
        i = (i + 1) & s->mask;
    }
    return 0;
}

int mr_blend_interleave(const mr_scored *a, int na, const mr_scored *b, int nb, int k,
                        mr_scored *out, int32_t *set, uint32_t set_cap)
{
    iset seen = {set, set_cap - 1};
    memset(set, 0xff, (size_t)set_cap * sizeof *set);
    int n = 0, i = 0, j = 0, turn = 0;
    while (n < k && (i < na || j < nb)) {
        const mr_scored *x = NULL;
        if ((turn == 0 && i < na) || j >= nb) {
            while (i < na && !x) {
                if (iset_add(&seen, a[i].item)) x = &a[i];
                i++;
            }
        } else {
            while (j < nb && !x) {
                if (iset_add(&seen, b[j].item)) x = &b[j];
                j++;
            }
        }
        turn ^= 1;
        if (x) out[n++] = *x;
    }
    return n;
}

/* The user's history as a set, plus the train-history test. */
static int listened(const mr_blend_user *bu, const iset *hist, int32_t item)
{
    return iset_has(hist, item) || (bu->u >= 0 && mr_snap_listened(bu->s, bu->u, item));
}

static int history_set(const mr_blend_user *bu, iset *hist, size_t extra)
{
    int rc = iset_init(bu->w, hist, (size_t)bu->n_hist + extra);
    if (rc) return rc;
    for (int i = 0; i < bu->n_hist; i++) iset_add(hist, bu->hist[i]);
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int foldin(const mr_blend_user *bu, int k, mr_scored *out)
{
    const mr_snap *s = bu->s;
    mr_blend_scratch *w = bu->w;
    int f = s->n_factors, rc;
    int64_t n_train = bu->u >= 0 && s->hist_off ? s->hist_off[bu->u + 1] - s->hist_off[bu->u] : 0;
    size_t n_excl_max = (size_t)n_train + (size_t)bu->n_hist;
    if ((rc = grow(&w->work, &w->work_cap, (size_t)f * f + f, sizeof *w->work)) ||
        (rc = grow(&w->x, &w->x_cap, (size_t)f, sizeof *w->x)) ||
        (rc = grow(&w->distinct, &w->distinct_cap, (size_t)bu->n_hist, sizeof *w->distinct)) ||
        (rc = grow(&w->ones, &w->ones_cap, (size_t)bu->n_hist, sizeof *w->ones)) ||
        (rc = grow(&w->excl, &w->excl_cap, n_excl_max ? n_excl_max : 1, sizeof *w->excl)) ||
        (rc = grow(&w->tk_item, &w->tk_item_cap, (size_t)k, sizeof *w->tk_item)) ||
        (rc = grow(&w->tk_score, &w->tk_score_cap, (size_t)k, sizeof *w->tk_score)))
        return rc;
    /* distinct listened items, each with strength 1: the training matrix
     * holds one entry per (user, track) pair, so repeats count once here too */
    int nd = 0;
    for (int i = 0; i < bu->n_hist; i++) {
        int dup = 0;
        for (int j = 0; j < nd && !dup; j++) dup = w->distinct[j] == bu->hist[i];
        if (!dup) {
            w->distinct[nd] = bu->hist[i];
            w->ones[nd] = 1.0f;
            nd++;
        }
    }
    if ((rc = mr_foldin_solve(s->item_factors, f, s->gram, s->als_reg, s->als_alpha, w->distinct,
                              w->ones, nd, w->x, w->work)))
        return rc;
    /* never recommend what they listened to, online or in train: one sorted
     * exclusion row for the shared top-k engine */
    size_t ne = 0;
    for (int64_t j = 0; j < n_train; j++) w->excl[ne++] = s->hist_item[s->hist_off[bu->u] + j];
    for (int i = 0; i < nd; i++) w->excl[ne++] = w->distinct[i];
    qsort(w->excl, ne, sizeof *w->excl, cmp_i32);
    size_t nu = 0;
    for (size_t i = 0; i < ne; i++)
        if (nu == 0 || w->excl[nu - 1] != w->excl[i]) w->excl[nu++] = w->excl[i];
    int64_t indptr[2] = {0, (int64_t)nu};
    mr_csr row = {.n_rows = 1, .n_cols = s->n_items, .nnz = (int64_t)nu, .indptr = indptr, .indices = w->excl};
    mr_topk_opts to = {.k = k, .exclude = &row};
    if ((rc = mr_topk(w->x, 1, s->item_factors, s->n_items, f, &to, w->tk_item, w->tk_score))) return rc;
    int m = 0;
    for (int i = 0; i < k && w->tk_item[i] >= 0; i++)
        out[m++] = (mr_scored){w->tk_item[i], w->tk_score[i], MR_SRC_FOLDIN};
    return m;
}

int mr_blend_offline(const mr_blend_user *bu, int k, mr_scored *out)
{
    const mr_snap *s = bu->s;
    iset hist;
    int rc = history_set(bu, &hist, 0);
    if (rc) return rc;
    const int32_t *items;
    const float *scores;
    int64_t n = bu->u >= 0 ? mr_snap_offline(s, bu->u, &items, &scores) : 0;
    int m = 0;
    if (n > 0) {
        for (int64_t i = 0; i < n && m < k; i++) {
            if (listened(bu, &hist, items[i])) continue;
            iset_add(&hist, items[i]); /* repeats in the list are skipped too */
            out[m++] = (mr_scored){items[i], scores[i], MR_SRC_OFFLINE};
        }
        return m;
    }
    if (bu->n_hist >= MR_FOLDIN_MIN_EVENTS && s->item_factors && s->gram) return foldin(bu, k, out);
    for (int32_t i = 0; i < s->n_popular && m < k; i++) {
        if (listened(bu, &hist, s->pop_item[i])) continue;
        iset_add(&hist, s->pop_item[i]);
        out[m++] = (mr_scored){s->pop_item[i], s->pop_score[i], MR_SRC_POPULAR};
    }
    return m;
}

static int by_item_then_score(const void *pa, const void *pb)
{
    const mr_scored *a = pa, *b = pb;
    if (a->item != b->item) return a->item < b->item ? -1 : 1;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return 0;
}

static int by_score(const void *pa, const void *pb)
{
    const mr_scored *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->item < b->item ? -1 : a->item > b->item;
}

int mr_blend_online(const mr_blend_user *bu, int k, mr_scored *out)
{
    const mr_snap *s = bu->s;
    mr_blend_scratch *w = bu->w;
    int32_t seeds[MR_ONLINE_SEEDS];
    int ns = 0;
    for (int i = 0; i < bu->n_hist && ns < MR_ONLINE_SEEDS; i++) {
        int dup = 0;
        for (int j = 0; j < ns; j++) dup |= seeds[j] == bu->hist[i];
        if (!dup) seeds[ns++] = bu->hist[i];
    }
    if (ns == 0) return 0;
    size_t total = 0;
    for (int i = 0; i < ns; i++) {
        const int32_t *it;
        const float *sc;
        total += (size_t)mr_snap_similar(s, seeds[i], &it, &sc);
    }
    int rc = grow(&w->cand, &w->cand_cap, total ? total : 1, sizeof *w->cand);
    if (rc) return rc;
    iset hist;
    if ((rc = history_set(bu, &hist, 0))) return rc;
    size_t nc = 0;
    for (int i = 0; i < ns; i++) {
        const int32_t *it;
        const float *sc;
        int64_t n = mr_snap_similar(s, seeds[i], &it, &sc);
        for (int64_t j = 0; j < n; j++)
            if (!listened(bu, &hist, it[j])) w->cand[nc++] = (mr_scored){it[j], sc[j], MR_SRC_ONLINE};
    }
    /* one entry per item, with its best score, then best first */
    qsort(w->cand, nc, sizeof *w->cand, by_item_then_score);
    size_t nu = 0;
    for (size_t i = 0; i < nc; i++)
        if (nu == 0 || w->cand[nu - 1].item != w->cand[i].item) w->cand[nu++] = w->cand[i];
    qsort(w->cand, nu, sizeof *w->cand, by_score);
    int m = nu < (size_t)k ? (int)nu : k;
    memcpy(out, w->cand, (size_t)m * sizeof *out);
    return m;
}

int mr_blend_recs(const mr_blend_user *bu, int k, mr_scored *out)
{
    mr_blend_scratch *w = bu->w;
    int rc;
    if ((rc = grow(&w->a, &w->a_cap, (size_t)k, sizeof *w->a)) ||
        (rc = grow(&w->b, &w->b_cap, (size_t)k, sizeof *w->b)))
        return rc;
    int na = mr_blend_offline(bu, k, w->a);
    if (na < 0) return na;
    int nb = mr_blend_online(bu, k, w->b);
    if (nb < 0) return nb;
    iset seen;
    if ((rc = iset_init(w, &seen, (size_t)k))) return rc;
    return mr_blend_interleave(w->a, na, w->b, nb, k, out, seen.t, seen.mask + 1);
}
