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
    o->rescored = to.rescored;
    o->path = to.path;
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

/* Spherical k-means over the unit rows of X (n x f): `rounds` times, each
 * row goes to the centroid of highest cosine (k = 1), then each centroid
 * moves to the normalised sum of its rows (an empty cluster keeps its
 * centroid). cen holds the initial centroids and gets the result. */
static int kmeans_rounds(const float *X, int64_t n, int f, int nlist, int rounds, float *cen, int32_t *assign,
                         float *asc, double *acc)
{
    for (int round = 0; round < rounds; round++) {
        mr_topk_opts o = {.k = 1};
        int rc = mr_topk(X, n, cen, nlist, f, &o, assign, asc);
        if (rc) return rc;
        memset(acc, 0, sizeof(double) * (size_t)nlist * f);
        for (int64_t i = 0; i < n; i++) {
            int32_t c = assign[i] < 0 ? 0 : assign[i];
            for (int a = 0; a < f; a++) acc[(size_t)c * f + a] += X[i * f + a];
        }
        for (int c = 0; c < nlist; c++) {
            double n2 = 0;
            for (int a = 0; a < f; a++) n2 += acc[(size_t)c * f + a] * acc[(size_t)c * f + a];
            if (n2 <= 0) continue; /* an empty cluster keeps its centroid */
            for (int a = 0; a < f; a++) cen[(size_t)c * f + a] = (float)(acc[(size_t)c * f + a] / sqrt(n2));
        }
    }
    return 0;
}

static int kmeans(const float *nv, int64_t n_items, int f, int nlist, uint64_t seed, float *cen, int32_t *assign)
{
    /* centroids from a seeded sample (k-means rounds on every item would
     * cost more than the search they serve), then one assignment of all */
    int64_t ns = (int64_t)nlist * 64 < n_items ? (int64_t)nlist * 64 : n_items;
    float *sv = mr_malloc(sizeof(float) * (size_t)(ns * f + 1)), *asc = mr_malloc(sizeof(float) * (size_t)(n_items + 1));
    double *acc = mr_malloc(sizeof(double) * (size_t)nlist * f + 1);
    int rc = 0;
    if (!sv || !asc || !acc) rc = MR_ENOMEM;
    for (int64_t j = 0; !rc && j < ns; j++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t i = ns == n_items ? j : (int64_t)((seed >> 11) % (uint64_t)n_items);
        memcpy(sv + j * f, nv + i * f, sizeof(float) * (size_t)f);
    }
    for (int c = 0; !rc && c < nlist; c++) memcpy(cen + (int64_t)c * f, sv + (ns * c / nlist) * f, sizeof(float) * (size_t)f);
    if (!rc) rc = kmeans_rounds(sv, ns, f, nlist, 6, cen, assign, asc, acc);
    if (!rc) {
        mr_topk_opts o = {.k = 1};
        rc = mr_topk(nv, n_items, cen, nlist, f, &o, assign, asc);
    }
    free(sv), free(asc), free(acc);
    return rc;
}

int mr_cand_similar_ivf(const float *item_factors, int64_t n_items, int f, const int32_t *items, int64_t n, int k,
                        int nlist, int nprobe, uint64_t seed, int32_t *idx, float *score, double *recall)
{
    if (recall) *recall = NAN;
    if (k < 1 || f < 1 || nlist < 1 || nprobe < 1)
        return mr_err(MR_EINVAL, "similar items: k %d, factors %d, nlist %d and nprobe %d must be at least 1", k, f, nlist, nprobe);
    for (int64_t q = 0; q < n; q++)
        if (items[q] < 0 || items[q] >= n_items)
            return mr_err(MR_EINVAL, "similar items: item %d out of 0..%lld", items[q], (long long)n_items - 1);
    if (n == 0) return 0;
    if (nlist > n_items) nlist = (int)n_items;
    if (nprobe > nlist) nprobe = nlist;
    float *nv = mr_malloc(sizeof(float) * (size_t)(n_items * f + 1)), *cen = mr_malloc(sizeof(float) * (size_t)nlist * f + 1);
    float *psc = mr_malloc(sizeof(float) * (size_t)nlist * nprobe + 1);
    int32_t *assign = mr_malloc(sizeof(int32_t) * (size_t)(n_items + 1)), *members = mr_malloc(sizeof(int32_t) * (size_t)(n_items + 1));
    int32_t *probe = mr_malloc(sizeof(int32_t) * (size_t)nlist * nprobe + 1);
    int64_t *start = mr_calloc((size_t)nlist + 2, sizeof(int64_t)), *qstart = mr_calloc((size_t)nlist + 2, sizeof(int64_t));
    int64_t *qord = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
    int rc = 0;
    if (!nv || !cen || !psc || !assign || !members || !probe || !start || !qstart || !qord) {
        rc = MR_ENOMEM;
        goto out;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_items; i++) normalise(item_factors + i * f, f, nv + i * f);
    if ((rc = kmeans(nv, n_items, f, nlist, seed, cen, assign))) goto out;
    {
        mr_topk_opts po = {.k = nprobe};
        if ((rc = mr_topk(cen, nlist, cen, nlist, f, &po, probe, psc))) goto out;
    }
    /* inverted lists, and the queries grouped by their item's cluster */
    for (int64_t i = 0; i < n_items; i++) start[(assign[i] < 0 ? 0 : assign[i]) + 1]++;
    for (int c = 0; c < nlist; c++) start[c + 1] += start[c];
    for (int64_t q = 0; q < n; q++) qstart[(assign[items[q]] < 0 ? 0 : assign[items[q]]) + 1]++;
    for (int c = 0; c < nlist; c++) qstart[c + 1] += qstart[c];
    {
        int64_t *pos = mr_malloc(sizeof(int64_t) * (size_t)nlist + 1), *qpos = mr_malloc(sizeof(int64_t) * (size_t)nlist + 1);
        if (!pos || !qpos) {
            free(pos), free(qpos);
            rc = MR_ENOMEM;
            goto out;
        }
        memcpy(pos, start, sizeof(int64_t) * (size_t)nlist);
        memcpy(qpos, qstart, sizeof(int64_t) * (size_t)nlist);
        for (int64_t i = 0; i < n_items; i++) members[pos[assign[i] < 0 ? 0 : assign[i]]++] = (int32_t)i;
        for (int64_t q = 0; q < n; q++) qord[qpos[assign[items[q]] < 0 ? 0 : assign[items[q]]]++] = q;
        free(pos), free(qpos);
    }
    int failed = 0;
#pragma omp parallel
    {
        float *Q = NULL, *V = NULL, *ts = NULL;
        int32_t *vid = NULL, *ti = NULL;
        int64_t qcap = 0, vcap = 0;
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nlist; c++) {
            int64_t mq = qstart[c + 1] - qstart[c], mv = 0;
            if (failed || mq == 0) continue;
            for (int p = 0; p < nprobe; p++) {
                int32_t pc = probe[(int64_t)c * nprobe + p];
                if (pc >= 0) mv += start[pc + 1] - start[pc];
            }
            if (mq > qcap) {
                free(Q), free(ts), free(ti);
                qcap = mq;
                Q = mr_malloc(sizeof(float) * (size_t)(qcap * f));
                ts = mr_malloc(sizeof(float) * (size_t)(qcap * (k + 1)));
                ti = mr_malloc(sizeof(int32_t) * (size_t)(qcap * (k + 1)));
            }
            if (mv > vcap) {
                free(V), free(vid);
                vcap = mv;
                V = mr_malloc(sizeof(float) * (size_t)(vcap * f + 1));
                vid = mr_malloc(sizeof(int32_t) * (size_t)(vcap + 1));
            }
            if (!Q || !ts || !ti || !V || !vid) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t j = 0; j < mq; j++) memcpy(Q + j * f, nv + (int64_t)items[qord[qstart[c] + j]] * f, sizeof(float) * (size_t)f);
            int64_t w = 0;
            for (int p = 0; p < nprobe; p++) {
                int32_t pc = probe[(int64_t)c * nprobe + p];
                if (pc < 0) continue;
                for (int64_t j = start[pc]; j < start[pc + 1]; j++, w++) {
                    vid[w] = members[j];
                    memcpy(V + w * f, nv + (int64_t)members[j] * f, sizeof(float) * (size_t)f);
                }
            }
            /* k + 1 so that dropping the query's own item still leaves k */
            mr_topk_opts o = {.k = k + 1};
            if (mr_topk(Q, mq, V, mv, f, &o, ti, ts)) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t j = 0; j < mq; j++) {
                int64_t q = qord[qstart[c] + j];
                int r = 0;
                for (int e = 0; e < k + 1 && r < k; e++) {
                    int32_t t = ti[j * (k + 1) + e];
                    if (t < 0) break;
                    if (vid[t] == items[q]) continue;
                    idx[q * k + r] = vid[t];
                    score[q * k + r++] = ts[j * (k + 1) + e];
                }
                for (; r < k; r++) idx[q * k + r] = -1, score[q * k + r] = -INFINITY;
            }
        }
        free(Q), free(V), free(ts), free(vid), free(ti);
    }
    if (failed) {
        rc = mr_err(MR_ENOMEM, "out of memory for the approximate similar-items search");
        goto out;
    }
    if (recall) {
        /* against the exact answer on a spread sample of the queries */
        int64_t m = n < 200 ? n : 200, hit = 0, tot = 0;
        int32_t *sq = mr_malloc(sizeof(int32_t) * (size_t)m), *ei = mr_malloc(sizeof(int32_t) * (size_t)(m * k));
        float *es = mr_malloc(sizeof(float) * (size_t)(m * k));
        if (sq && ei && es) {
            for (int64_t j = 0; j < m; j++) sq[j] = items[n * j / m];
            if (mr_cand_similar(item_factors, n_items, f, sq, m, k, ei, es) == 0) {
                for (int64_t j = 0; j < m; j++) {
                    int64_t q = n * j / m;
                    for (int a = 0; a < k; a++) {
                        if (ei[j * k + a] < 0) continue;
                        tot++;
                        for (int b = 0; b < k; b++) hit += idx[q * k + b] == ei[j * k + a];
                    }
                }
                *recall = tot ? (double)hit / (double)tot : 1.0;
            }
        }
        free(sq), free(ei), free(es);
    }
out:
    free(nv), free(cen), free(psc), free(assign), free(members), free(probe), free(start), free(qstart), free(qord);
    return rc;
}
