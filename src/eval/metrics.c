/* Ranking metrics (definitions in metrics.h).
 *
 * One pass over each user's list up to the largest K serves every K: the
 * running counts (hits, first hit, Σ Precision@i·rel_i, DCG, novelty) are
 * recorded whenever the position reaches a K of the list, and once more for
 * the K's beyond the end of a short list. Membership of an item in R_u is a
 * binary search in the user's sorted R_u (small and cache-resident); the
 * duplicate check and coverage use per-item arrays (a per-thread "last seen
 * by user" stamp, a shared "first recommended at position" minimum updated
 * with compare-and-swap, whose result does not depend on the order).
 *
 * Sums are formed per block of MR_METRICS_BLOCK consecutive users, in user
 * order, then added block by block in order, so the totals are bit-identical
 * at any thread count. When several users are bad, the error reported is the
 * one of the first bad user, also at any thread count.
 */
#include "eval/metrics.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/vec.h"

/* Per-block, per-K running sums. */
enum { S_PREC, S_REC, S_MAP, S_NDCG, S_HIT, S_MRR, S_NOV, S_SLOTS, S_N };

#define K_MAX 100000

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int mr_metrics_parse_k(const char *s, int32_t **ks, int *n_k)
{
    *ks = NULL;
    *n_k = 0;
    if (!s || !*s) return mr_err(MR_EINVAL, "the K list is empty; expected e.g. 5,10,50,100");
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *v = mr_malloc(cap * sizeof *v);
    if (!v) return MR_ENOMEM;
    int n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ') p++;
        char *end;
        long long x = strtoll(p, &end, 10);
        const char *q = end;
        while (*q == ' ') q++;
        if (end == p || (*q != ',' && *q)) {
            free(v);
            return mr_err(MR_EINVAL, "bad K list '%s': expected comma-separated integers like 5,10,50,100", s);
        }
        if (x < 1 || x > K_MAX) {
            free(v);
            return mr_err(MR_EINVAL, "bad K list '%s': K must be between 1 and %d, got %lld", s, K_MAX, x);
        }
        v[n++] = (int32_t)x;
        if (!*q) break;
        p = q + 1;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_i32);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || v[m - 1] != v[i]) v[m++] = v[i];
    *ks = v;
    *n_k = m;
    return 0;
}

static long long label(const mr_metrics_input *in, int64_t u)
{
    return in->user_label ? (long long)in->user_label[u] : (long long)u;
}

static void list_range(const mr_lists *l, int64_t u, int64_t *b, int64_t *e)
{
    *b = l->beg[u];
    *e = l->end ? l->end[u] : l->beg[u + 1];
}

/* Checks one user's lists. stamp[item] == u marks items already seen in L_u. */
static int check_user(const mr_metrics_input *in, int64_t u, int64_t *stamp)
{
    int64_t rb, re, lb, le;
    list_range(&in->rel, u, &rb, &re);
    list_range(&in->rec, u, &lb, &le);
    if (re <= rb) return mr_err(MR_EINVAL, "user %lld has no relevant (test) items", label(in, u));
    if (le < lb)
        return mr_err(MR_EINVAL, "user %lld: recommendation list has a negative length", label(in, u));
    const int32_t *r = in->rel.items + rb;
    for (int64_t i = 0; i < re - rb; i++) {
        if (r[i] < 0 || r[i] >= in->n_items)
            return mr_err(MR_EINVAL, "user %lld: test item %d is outside the %d known items", label(in, u),
                          r[i], in->n_items);
        if (i > 0 && r[i] <= r[i - 1])
            return mr_err(MR_EINVAL, "user %lld: test items are not sorted and distinct (%d after %d)",
                          label(in, u), r[i], r[i - 1]);
    }
    const int32_t *l = in->rec.items + lb;
    for (int64_t i = 0; i < le - lb; i++) {
        int32_t x = l[i];
        if (x < 0 || x >= in->n_items)
            return mr_err(MR_EINVAL, "user %lld: recommended item %d (rank %lld) is outside the %d known items",
                          label(in, u), x, (long long)i + 1, in->n_items);
        if (stamp[x] == u) {
            int64_t first = 0;
            while (l[first] != x) first++;
            return mr_err(MR_EINVAL, "user %lld: item %d appears twice in the recommendation list (ranks %lld and %lld)",
                          label(in, u), x, (long long)first + 1, (long long)i + 1);
        }
        stamp[x] = u;
    }
    return 0;
}

static void atomic_min_i32(int32_t *p, int32_t v)
{
    int32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

int mr_metrics_compute(const mr_metrics_input *in, const int32_t *ks_in, int n_k, mr_metrics *out)
{
    if (n_k < 1) return mr_err(MR_EINVAL, "no K to evaluate at");
    if (in->n_users < 0 || in->n_items < 0) return mr_err(MR_EINVAL, "negative user or item count");
    for (int j = 0; j < n_k; j++) {
        if (ks_in[j] < 1 || ks_in[j] > K_MAX)
            return mr_err(MR_EINVAL, "K must be between 1 and %d, got %d", K_MAX, ks_in[j]);
        for (int i = 0; i < j; i++)
            if (ks_in[i] == ks_in[j]) return mr_err(MR_EINVAL, "K = %d is given twice", ks_in[j]);
    }
    /* Work on the K's in ascending order; order[j] says where ks[j] goes. */
    int32_t ks[n_k];
    int order[n_k];
    for (int j = 0; j < n_k; j++) order[j] = j;
    for (int a = 1; a < n_k; a++)
        for (int b = a; b > 0 && ks_in[order[b]] < ks_in[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    for (int j = 0; j < n_k; j++) ks[j] = ks_in[order[j]];
    const int32_t kmax = ks[n_k - 1];

    int64_t n = in->n_users;
    int64_t n_blocks = (n + MR_METRICS_BLOCK - 1) / MR_METRICS_BLOCK;
    double *disc = mr_malloc(((size_t)kmax + 1) * sizeof *disc);  /* disc[i] = 1/log2(i+2) */
    double *idcg = mr_malloc(((size_t)kmax + 1) * sizeof *idcg);  /* idcg[m] = Σ_{i<m} disc[i] */
    double *selfinfo = mr_calloc((size_t)in->n_items + 1, sizeof *selfinfo);
    int32_t *first_pos = mr_malloc(((size_t)in->n_items + 1) * sizeof *first_pos);
    double *bsum = mr_calloc((size_t)(n_blocks + 1) * (size_t)n_k * S_N, sizeof *bsum);
    if (!disc || !idcg || !selfinfo || !first_pos || !bsum) {
        free(disc), free(idcg), free(selfinfo), free(first_pos), free(bsum);
        return MR_ENOMEM;
    }
    idcg[0] = 0;
    for (int32_t i = 0; i < kmax; i++) {
        disc[i] = 1.0 / log2((double)i + 2.0);
        idcg[i + 1] = idcg[i] + disc[i];
    }
    if (in->listeners && in->train_users > 0)
        for (int32_t i = 0; i < in->n_items; i++) {
            int64_t l = in->listeners[i] > 0 ? in->listeners[i] : 1;
            selfinfo[i] = -log2((double)l / (double)in->train_users);
        }
    for (int32_t i = 0; i < in->n_items; i++) first_pos[i] = INT32_MAX;

    int rc = 0;
    int64_t bad_user = INT64_MAX;
    char bad_msg[512] = "";

#pragma omp parallel
    {
        int64_t *stamp = mr_malloc(((size_t)in->n_items + 1) * sizeof *stamp);
        if (!stamp) {
#pragma omp critical(mr_metrics_err)
            if (!rc) {
                rc = MR_ENOMEM;
                bad_user = -1;
                snprintf(bad_msg, sizeof bad_msg, "%s", mr_errmsg());
            }
        } else
            for (int32_t i = 0; i < in->n_items; i++) stamp[i] = -1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; b++) {
            if (!stamp || __atomic_load_n(&bad_user, __ATOMIC_RELAXED) < b * MR_METRICS_BLOCK) continue;
            double *s = bsum + (size_t)b * (size_t)n_k * S_N;
            int64_t u_end = (b + 1) * MR_METRICS_BLOCK < n ? (b + 1) * MR_METRICS_BLOCK : n;
            for (int64_t u = b * MR_METRICS_BLOCK; u < u_end; u++) {
                int urc = check_user(in, u, stamp);
                if (urc) {
#pragma omp critical(mr_metrics_err)
                    if (u < bad_user) {
                        rc = urc;
                        bad_user = u;
                        snprintf(bad_msg, sizeof bad_msg, "%s", mr_errmsg());
                    }
                    break;
                }
                int64_t rb, re, lb, le;
                list_range(&in->rel, u, &rb, &re);
                list_range(&in->rec, u, &lb, &le);
                const int32_t *r = in->rel.items + rb, *l = in->rec.items + lb;
                int64_t nr = re - rb, len = le - lb;
                int64_t lim = len < kmax ? len : kmax;
                int64_t hits = 0, first = 0;
                double ap = 0, dcg = 0, nov = 0;
                int j = 0;
                for (int64_t i = 0; i <= lim; i++) {
                    /* record every K equal to the position reached (i items
                     * seen), and at the end of the list every K beyond it */
                    while (j < n_k && (ks[j] == i || (i == lim && ks[j] > i))) {
                        double k = ks[j];
                        int64_t m = nr < ks[j] ? nr : ks[j];
                        double *sj = s + (size_t)j * S_N;
                        sj[S_PREC] += (double)hits / k;
                        sj[S_REC] += (double)hits / (double)nr;
                        sj[S_MAP] += ap / (double)m;
                        sj[S_NDCG] += dcg / idcg[m];
                        sj[S_HIT] += hits > 0;
                        sj[S_MRR] += first ? 1.0 / (double)first : 0.0;
                        sj[S_NOV] += nov;
                        sj[S_SLOTS] += (double)(i < ks[j] ? i : ks[j]);
                        j++;
                    }
                    if (i == lim) break;
                    int32_t x = l[i];
                    atomic_min_i32(&first_pos[x], (int32_t)i + 1);
                    nov += selfinfo[x];
                    if (mr_sorted_has_i32(r, nr, x)) {
                        hits++;
                        if (!first) first = i + 1;
                        ap += (double)hits / (double)(i + 1);
                        dcg += disc[i];
                    }
                }
            }
        }
        free(stamp);
    }

    if (rc) {
        mr_err_set_msg(bad_msg);
        free(disc), free(idcg), free(selfinfo), free(first_pos), free(bsum);
        return rc;
    }

    /* coverage: items first recommended at a position ≤ K */
    int64_t *at = mr_calloc((size_t)kmax + 2, sizeof *at);
    if (!at) {
        free(disc), free(idcg), free(selfinfo), free(first_pos), free(bsum);
        return MR_ENOMEM;
    }
    for (int32_t i = 0; i < in->n_items; i++)
        if (first_pos[i] <= kmax) at[first_pos[i]]++;
    for (int32_t p = 1; p <= kmax; p++) at[p] += at[p - 1];

    for (int j = 0; j < n_k; j++) {
        double t[S_N] = {0};
        for (int64_t b = 0; b < n_blocks; b++)
            for (int q = 0; q < S_N; q++) t[q] += bsum[((size_t)b * (size_t)n_k + (size_t)j) * S_N + (size_t)q];
        mr_metrics *o = &out[order[j]];
        double nu = n > 0 ? (double)n : 1.0;
        o->k = ks[j];
        o->users = n;
        o->slots = (int64_t)t[S_SLOTS];
        o->precision = t[S_PREC] / nu;
        o->recall = t[S_REC] / nu;
        o->map = t[S_MAP] / nu;
        o->ndcg = t[S_NDCG] / nu;
        o->hit_rate = t[S_HIT] / nu;
        o->mrr = t[S_MRR] / nu;
        o->novelty = t[S_SLOTS] > 0 ? t[S_NOV] / t[S_SLOTS] : 0.0;
        o->coverage = in->n_items > 0 ? (double)at[ks[j]] / (double)in->n_items : 0.0;
    }
    free(at);
    free(disc), free(idcg), free(selfinfo), free(first_pos), free(bsum);
    return 0;
}
