/* ALS candidate lists (candidates.h).
 *
 * With an explicit user list the users' factors and history rows are
 * gathered into a compact query matrix and exclusion CSR (the ranker asks
 * for a few thousand users at a time). With every user (users == NULL) the
 * factor matrix and history are used as they are, no copy: users without
 * history cost one wasted top-k row each and are dropped when compacting,
 * which is cheaper than gathering the other rows (the whole history CSR
 * at scale 1).
 */
#include "models/candidates.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/vec.h"
#include "models/topk.h"

int mr_cand_als_recs(mr_cand_als_opts *o, const int32_t *users, int64_t n, mr_recs *out)
{
    memset(out, 0, sizeof *out);
    const mr_csr *h = o->hist;
    if (o->k < 1 || o->f < 1 || (h->n_cols != o->n_items))
        return mr_err(MR_EINVAL, "ALS candidates: k %d, factors %d, history of %lld columns for %lld items", o->k, o->f,
                      (long long)h->n_cols, (long long)o->n_items);
    int64_t nq = users ? n : h->n_rows, k = o->k;
    for (int64_t q = 1; users && q < n; q++)
        if (users[q] <= users[q - 1]) return mr_err(MR_EINVAL, "ALS candidates: user list not ascending at %lld", (long long)q);
    for (int64_t q = 0; users && q < n; q++)
        if (users[q] < 0 || users[q] >= h->n_rows)
            return mr_err(MR_EINVAL, "ALS candidates: user %d out of 0..%lld", users[q], (long long)h->n_rows - 1);
    const float *Q = o->user_factors;
    mr_csr ex = *h;
    float *Qg = NULL;
    int32_t *qu = NULL; /* query -> user */
    int64_t *gptr = NULL;
    int32_t *gidx = NULL;
    int rc = 0;
    if (users) {
        /* only users with history: the others get no list */
        int64_t m = 0, tot = 0;
        qu = mr_malloc(sizeof(int32_t) * (size_t)(n + 1));
        if (!qu) return MR_ENOMEM;
        for (int64_t q = 0; q < n; q++) {
            int64_t len = h->indptr[users[q] + 1] - h->indptr[users[q]];
            if (len > 0) qu[m++] = users[q], tot += len;
        }
        nq = m;
        Qg = mr_malloc(sizeof(float) * (size_t)(m * o->f + 1));
        gptr = mr_malloc(sizeof(int64_t) * (size_t)(m + 1));
        gidx = mr_malloc(sizeof(int32_t) * (size_t)(tot + 1));
        if (!Qg || !gptr || !gidx) {
            rc = MR_ENOMEM;
            goto out;
        }
        gptr[0] = 0;
        for (int64_t q = 0; q < m; q++) {
            int64_t a = h->indptr[qu[q]], b = h->indptr[qu[q] + 1];
            memcpy(gidx + gptr[q], h->indices + a, sizeof(int32_t) * (size_t)(b - a));
            gptr[q + 1] = gptr[q] + (b - a);
            memcpy(Qg + q * o->f, o->user_factors + (int64_t)qu[q] * o->f, sizeof(float) * (size_t)o->f);
        }
        ex = (mr_csr){.n_rows = m, .n_cols = h->n_cols, .nnz = tot, .indptr = gptr, .indices = gidx};
        Q = Qg;
    }
    int64_t with_hist = 0;
    for (int64_t q = 0; q < nq; q++) with_hist += ex.indptr[q + 1] > ex.indptr[q];
    int32_t *idx = mr_malloc(sizeof(int32_t) * (size_t)(nq * k + 1));
    float *sc = mr_malloc(sizeof(float) * (size_t)(nq * k + 1));
    out->user_idx = mr_malloc(sizeof(int32_t) * (size_t)(with_hist + 1));
    out->off = mr_malloc(sizeof(int64_t) * (size_t)(with_hist + 1));
    if (!idx || !sc || !out->user_idx || !out->off) {
        free(idx), free(sc);
        rc = MR_ENOMEM;
        goto out;
    }
    mr_topk_opts to = {.k = o->k, .exclude = &ex, .prune = o->prune};
    if (nq > 0 && (rc = mr_topk(Q, nq, o->item_factors, o->n_items, o->f, &to, idx, sc))) {
        free(idx), free(sc);
        goto out;
    }
    o->scored = to.scored;
    /* compact in place: users with history only, no -1 padding */
    int64_t w = 0, u = 0;
    for (int64_t q = 0; q < nq; q++) {
        if (ex.indptr[q + 1] == ex.indptr[q]) continue;
        out->user_idx[u] = users ? qu[q] : (int32_t)q;
        out->off[u++] = w;
        for (int64_t j = 0; j < k; j++) {
            int32_t it = idx[q * k + j];
            if (it < 0) break;
            idx[w] = it;
            sc[w++] = sc[q * k + j];
        }
    }
    out->off[u] = w;
    out->n_users = u;
    out->item_idx = mr_realloc(idx, sizeof(int32_t) * (size_t)(w + 1));
    out->score = mr_realloc(sc, sizeof(float) * (size_t)(w + 1));
    if (!out->item_idx) out->item_idx = idx;
    if (!out->score) out->score = sc;
out:
    free(Qg), free(qu), free(gptr), free(gidx);
    if (rc) mr_recs_free(out);
    return rc;
}

static void normalise(const float *v, int f, float *out)
{
    double n2 = 0;
    for (int a = 0; a < f; a++) n2 += (double)v[a] * v[a];
    float inv = n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0.0f;
    for (int a = 0; a < f; a++) out[a] = v[a] * inv;
}

int mr_cand_similar(const float *item_factors, int64_t n_items, int f, const int32_t *items, int64_t n, int k,
                    int32_t *idx, float *score)
{
    if (k < 1 || f < 1) return mr_err(MR_EINVAL, "similar items: k %d and factors %d must be at least 1", k, f);
    for (int64_t q = 0; q < n; q++)
        if (items[q] < 0 || items[q] >= n_items)
            return mr_err(MR_EINVAL, "similar items: item %d out of 0..%lld", items[q], (long long)n_items - 1);
    if (n == 0) return 0;
    float *nv = mr_malloc(sizeof(float) * (size_t)(n_items * f + 1)), *nq = mr_malloc(sizeof(float) * (size_t)(n * f + 1));
    int64_t *ptr = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
    int32_t *self = mr_malloc(sizeof(int32_t) * (size_t)(n + 1));
    int rc = 0;
    if (!nv || !nq || !ptr || !self) rc = MR_ENOMEM;
    if (!rc) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n_items; i++) normalise(item_factors + i * f, f, nv + i * f);
        for (int64_t q = 0; q < n; q++) {
            memcpy(nq + q * f, nv + (int64_t)items[q] * f, sizeof(float) * (size_t)f);
            ptr[q] = q;
            self[q] = items[q];
        }
        ptr[n] = n;
        /* the item itself is the one excluded entry of its row */
        mr_csr ex = {.n_rows = n, .n_cols = n_items, .nnz = n, .indptr = ptr, .indices = self};
        mr_topk_opts to = {.k = k, .exclude = &ex};
        rc = mr_topk(nq, n, nv, n_items, f, &to, idx, score);
    }
    free(nv), free(nq), free(ptr), free(self);
    return rc;
}
