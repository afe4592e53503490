/* Top-k by dot product: blocked sgemm + a bounded heap per query (topk.h). */
#include "models/topk.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "models/topk_q8.h"

/* A block of queries x a block of items: 256 x 1024 floats = 1 MB of
 * scores, about one L2 cache; the query block (64 KB at f = 64) stays
 * resident while item blocks stream through. */
#define BQ 256
#define BI 1024

/* The exact score of the int8 path and of mr_topk_brute: float products
 * are exact in double, summed in double in a fixed order (eight lanes, a
 * fixed tree), rounded once to float. Any compiler, SIMD width or FMA
 * contraction gives the same bits (no product is ever rounded, and C does
 * not reassociate the sums), and the sum is symmetric in x and y. */
static inline float exact_dot(const float *x, const float *y, int f)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int a = 0;
    for (; a + 8 <= f; a += 8)
        for (int l = 0; l < 8; l++) s[l] += (double)x[a + l] * y[a + l];
    for (int l = 0; a < f; a++, l++) s[l] += (double)x[a] * y[a];
    return (float)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
}

/* ---- bounded min-heap of (score, idx); the root is the worst kept entry.
 * "a worse than b": lower score, or equal score and higher index. */
static inline int worse(float sa, int32_t ia, float sb, int32_t ib) { return sa < sb || (sa == sb && ia > ib); }

typedef struct {
    float *s;
    int32_t *i;
    int n, k;
} heap;

static void heap_sift_down(heap *h, int pos)
{
    for (;;) {
        int l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < h->n && worse(h->s[l], h->i[l], h->s[m], h->i[m])) m = l;
        if (r < h->n && worse(h->s[r], h->i[r], h->s[m], h->i[m])) m = r;
        if (m == pos) return;
        float ts = h->s[m];
        int32_t ti = h->i[m];
        h->s[m] = h->s[pos];
        h->i[m] = h->i[pos];
        h->s[pos] = ts;
        h->i[pos] = ti;
        pos = m;
    }
}

static void heap_push(heap *h, float s, int32_t i)
{
    if (h->n < h->k) {
        int pos = h->n++;
        while (pos > 0) {
            int par = (pos - 1) / 2;
            if (!worse(s, i, h->s[par], h->i[par])) break;
            h->s[pos] = h->s[par];
            h->i[pos] = h->i[par];
            pos = par;
        }
        h->s[pos] = s;
        h->i[pos] = i;
        return;
    }
    if (!worse(h->s[0], h->i[0], s, i)) return;
    h->s[0] = s;
    h->i[0] = i;
    heap_sift_down(h, 0);
}

/* Scores below this cannot enter the heap. */
static inline float heap_threshold(const heap *h) { return h->n < h->k ? -INFINITY : h->s[0]; }

/* For the int8 path: a candidate whose upper bound U is below this cannot
 * enter the heap. It is the threshold lowered by 2^-20 of itself plus
 * 2^-120: together with the slack inside U (topk_q8.h) that guarantees the
 * exact score, rounded to float, is strictly below the threshold, so even
 * an exact tie is rescored. Not finite (heap not full, or an infinite
 * k-th score): everything is a candidate. */
static inline float heap_threshold_q8(const heap *h)
{
    if (h->n < h->k) return -INFINITY;
    float t = h->s[0];
    if (!(fabsf(t) < INFINITY)) return -INFINITY;
    return t - (fabsf(t) * 0x1p-20f + 0x1p-120f);
}

/* Writes the heap best-first into idx/score (k slots, padded) and empties it. */
static void heap_drain(heap *h, int32_t *idx, float *score)
{
    int n = h->n;
    for (int j = n; j < h->k; j++) {
        idx[j] = -1;
        score[j] = -INFINITY;
    }
    while (h->n > 0) {
        int last = --h->n;
        idx[last] = h->i[0];
        score[last] = h->s[0];
        h->s[0] = h->s[last];
        h->i[0] = h->i[last];
        heap_sift_down(h, 0);
    }
}

static int is_excluded(const mr_topk_opts *o, int64_t q, int32_t item)
{
    if (o->exclude_self && item == q) return 1;
    if (!o->exclude) return 0;
    const int32_t *c = o->exclude->indices;
    int64_t lo = o->exclude->indptr[q], hi = o->exclude->indptr[q + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo < o->exclude->indptr[q + 1] && c[lo] == item;
}

/* Feeds one row of scores (items map[0..n) or base+j when map is NULL) into
 * the heap. Chunks of 16 are first compared against the threshold with one
 * vector compare; the heap is touched only for real candidates. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
scan_row(heap *h, const float *restrict s, int n, int32_t base, const int32_t *restrict map,
         const mr_topk_opts *o, int64_t q)
{
    float thr = heap_threshold(h);
    int j = 0;
    for (; j < n; j += 16) {
        int m = n - j < 16 ? n - j : 16, hits = 0;
        if (m == 16) {
            for (int t = 0; t < 16; t++) hits += s[j + t] >= thr;
        } else {
            for (int t = 0; t < m; t++) hits += s[j + t] >= thr;
        }
        if (!hits) continue;
        for (int t = 0; t < m; t++) {
            float v = s[j + t];
            if (!(v >= thr)) continue;
            int32_t item = map ? map[j + t] : base + j + t;
            if (h->n == h->k && !worse(h->s[0], h->i[0], v, item)) continue;
            if (is_excluded(o, q, item)) continue;
            heap_push(h, v, item);
            thr = heap_threshold(h);
        }
    }
}

/* The int8 path's scan of one row of upper bounds (item map[j], whose
 * factors are rows + j f): bounds are compared with the lowered threshold
 * (a NaN bound counts as a candidate); a candidate is rescored exactly and
 * then goes through the same admission test, exclusion check and heap as
 * in scan_row. Returns how many were rescored. */
static inline int64_t rescore_q8(heap *h, float *thr, int32_t item, const float *row, const float *q, int f,
                                 const mr_topk_opts *o, int64_t qi)
{
    float v = exact_dot(q, row, f);
    if (h->n == h->k && !worse(h->s[0], h->i[0], v, item)) return 1;
    if (is_excluded(o, qi, item)) return 1;
    heap_push(h, v, item);
    *thr = heap_threshold_q8(h);
    return 1;
}

#if defined(__x86_64__)
/* 64 bounds per step, four mask compares: almost every step finds nothing. */
__attribute__((target("avx512f"))) static int64_t scan_row_q8_avx512(heap *h, const float *restrict U, int n,
                                                                     const int32_t *map, const float *rows,
                                                                     const float *q, int f, const mr_topk_opts *o,
                                                                     int64_t qi)
{
    float thr = heap_threshold_q8(h);
    int64_t rescored = 0;
    int j = 0;
    for (; j + 64 <= n; j += 64) {
        __m512 t = _mm512_set1_ps(thr);
        uint64_t m = (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(U + j), t, _CMP_NLT_UQ) |
                     (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(U + j + 16), t, _CMP_NLT_UQ) << 16 |
                     (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(U + j + 32), t, _CMP_NLT_UQ) << 32 |
                     (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(U + j + 48), t, _CMP_NLT_UQ) << 48;
        while (m) {
            int b = __builtin_ctzll(m);
            m &= m - 1;
            if (U[j + b] < thr) continue; /* the threshold rose since the compare */
            rescored += rescore_q8(h, &thr, map[j + b], rows + (int64_t)(j + b) * f, q, f, o, qi);
        }
    }
    for (; j < n; j++)
        if (!(U[j] < thr)) rescored += rescore_q8(h, &thr, map[j], rows + (int64_t)j * f, q, f, o, qi);
    return rescored;
}

/* The same with AVX2: 32 bounds per step, four compares and movemasks. */
__attribute__((target("avx2"))) static int64_t scan_row_q8_avx2(heap *h, const float *restrict U, int n,
                                                                 const int32_t *map, const float *rows, const float *q,
                                                                 int f, const mr_topk_opts *o, int64_t qi)
{
    float thr = heap_threshold_q8(h);
    int64_t rescored = 0;
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 t = _mm256_set1_ps(thr);
        uint32_t m = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(U + j), t, _CMP_NLT_UQ)) |
                     (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(U + j + 8), t, _CMP_NLT_UQ)) << 8 |
                     (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(U + j + 16), t, _CMP_NLT_UQ)) << 16 |
                     (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(U + j + 24), t, _CMP_NLT_UQ)) << 24;
        while (m) {
            int b = __builtin_ctz(m);
            m &= m - 1;
            if (U[j + b] < thr) continue; /* the threshold rose since the compare */
            rescored += rescore_q8(h, &thr, map[j + b], rows + (int64_t)(j + b) * f, q, f, o, qi);
        }
    }
    for (; j < n; j++)
        if (!(U[j] < thr)) rescored += rescore_q8(h, &thr, map[j], rows + (int64_t)j * f, q, f, o, qi);
    return rescored;
}
#endif

/* kern: MR_Q8_VNNI (the CPU has AVX-512), MR_Q8_AVX2 or MR_Q8_AVXVNNI (it
 * has AVX2), or MR_Q8_PORTABLE. */
static int64_t scan_row_q8(heap *h, const float *restrict U, int n, const int32_t *map, const float *rows,
                           const float *q, int f, const mr_topk_opts *o, int64_t qi, int kern)
{
#if defined(__x86_64__)
    if (kern == MR_Q8_VNNI) return scan_row_q8_avx512(h, U, n, map, rows, q, f, o, qi);
    if (kern == MR_Q8_AVX2 || kern == MR_Q8_AVXVNNI) return scan_row_q8_avx2(h, U, n, map, rows, q, f, o, qi);
#endif
    (void)kern;
    float thr = heap_threshold_q8(h);
    int64_t rescored = 0;
    for (int j = 0; j < n; j++)
        if (!(U[j] < thr)) rescored += rescore_q8(h, &thr, map[j], rows + (int64_t)j * f, q, f, o, qi);
    return rescored;
}

static int check_args(int64_t nq, int64_t ni, int f, const mr_topk_opts *o)
{
    if (nq < 0 || ni < 0 || f < 1) return mr_err(MR_EINVAL, "top-k: bad sizes %lld x %lld x %d", (long long)nq, (long long)ni, f);
    if (o->mode < MR_TOPK_AUTO || o->mode > MR_TOPK_INT8_AVXVNNI)
        return mr_err(MR_EINVAL, "top-k: unknown mode %d", o->mode);
    if (o->k < 1) return mr_err(MR_EINVAL, "top-k: k must be at least 1, got %d", o->k);
    if (ni > INT32_MAX) return mr_err(MR_EINVAL, "top-k: too many items (%lld)", (long long)ni);
    if (o->exclude && o->exclude->n_rows < nq)
        return mr_err(MR_EINVAL, "top-k: the exclusion matrix has %lld rows for %lld queries",
                      (long long)o->exclude->n_rows, (long long)nq);
    return 0;
}

/* ---- plain blocked scan over all items ---- */

static int topk_full(const float *Q, int64_t nq, const float *V, int64_t ni, int f, mr_topk_opts *o,
                     int32_t *out_idx, float *out_score)
{
    const int k = o->k;
    const int64_t nblocks = (nq + BQ - 1) / BQ;
    int failed = 0;
#pragma omp parallel if (nblocks > 1)
    {
        float *S = mr_malloc(sizeof(float) * BQ * BI);
        float *hs = mr_malloc(sizeof(float) * BQ * k);
        int32_t *hi = mr_malloc(sizeof(int32_t) * BQ * k);
        int ok = S && hs && hi;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        heap H[BQ];
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < nblocks; b++) {
            if (!ok) continue;
            int64_t q0 = b * BQ;
            int mq = (int)(nq - q0 < BQ ? nq - q0 : BQ);
            for (int r = 0; r < mq; r++) H[r] = (heap){hs + (int64_t)r * k, hi + (int64_t)r * k, 0, k};
            for (int64_t i0 = 0; i0 < ni; i0 += BI) {
                int mi = (int)(ni - i0 < BI ? ni - i0 : BI);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mq, mi, f, 1.0f, Q + q0 * f, f, V + i0 * f, f,
                            0.0f, S, mi);
                for (int r = 0; r < mq; r++) scan_row(&H[r], S + (int64_t)r * mi, mi, (int32_t)i0, NULL, o, q0 + r);
            }
            for (int r = 0; r < mq; r++) heap_drain(&H[r], out_idx + (q0 + r) * k, out_score + (q0 + r) * k);
        }
        free(S);
        free(hs);
        free(hi);
    }
    if (failed) return mr_err(MR_ENOMEM, "out of memory for top-k buffers");
    o->scored = nq * ni;
    return 0;
}

/* ---- norm-ordered exact pruning ---- */

typedef struct {
    float norm;
    int32_t idx;
} norm_idx;

static int by_norm_desc(const void *a, const void *b)
{
    const norm_idx *x = a, *y = b;
    if (x->norm != y->norm) return x->norm > y->norm ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static double row_norm(const float *v, int f)
{
    double s = 0;
    for (int a = 0; a < f; a++) s += (double)v[a] * v[a];
    return sqrt(s);
}

/* A copy of V's rows in order of decreasing norm: Vs (ni x f), perm[p] =
 * the item at place p, vnorm[p] = its norm. */
static int sort_by_norm(const float *V, int64_t ni, int f, float **Vs_out, int32_t **perm_out, float **vnorm_out)
{
    size_t n = (size_t)(ni ? ni : 1);
    norm_idx *order = mr_malloc(sizeof(norm_idx) * n);
    float *Vs = mr_malloc(sizeof(float) * n * f);
    int32_t *perm = mr_malloc(sizeof(int32_t) * n);
    float *vnorm = mr_malloc(sizeof(float) * n);
    if (!order || !Vs || !perm || !vnorm) {
        free(order), free(Vs), free(perm), free(vnorm);
        return MR_ENOMEM;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < ni; i++) order[i] = (norm_idx){(float)row_norm(V + i * f, f), (int32_t)i};
    qsort(order, (size_t)ni, sizeof *order, by_norm_desc);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < ni; p++) {
        perm[p] = order[p].idx;
        vnorm[p] = order[p].norm;
        memcpy(Vs + p * f, V + (int64_t)order[p].idx * f, sizeof(float) * f);
    }
    free(order);
    *Vs_out = Vs;
    *perm_out = perm;
    *vnorm_out = vnorm;
    return 0;
}

static int topk_pruned(const float *Q, int64_t nq, const float *V, int64_t ni, int f, mr_topk_opts *o,
                       int32_t *out_idx, float *out_score)
{
    const int k = o->k;
    float *Vs, *vnorm;
    int32_t *perm;
    if (sort_by_norm(V, ni, f, &Vs, &perm, &vnorm)) return MR_ENOMEM;
    /* |q.v| <= |q| |v| exactly; a float dot product of length f can exceed
     * it by at most about f * eps relative (plus the norms' own rounding). */
    const double slack = 1.0 + 4.0 * f * FLT_EPSILON;
    const int64_t nblocks = (nq + BQ - 1) / BQ;
    int failed = 0;
    int64_t scored = 0;
#pragma omp parallel reduction(+ : scored) if (nblocks > 1)
    {
        float *S = mr_malloc(sizeof(float) * BQ * BI);
        float *hs = mr_malloc(sizeof(float) * BQ * k);
        int32_t *hi = mr_malloc(sizeof(int32_t) * BQ * k);
        float *Qa = mr_malloc(sizeof(float) * BQ * f);
        int ok = S && hs && hi && Qa;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        heap H[BQ];
        int act[BQ];
        double qn[BQ];
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < nblocks; b++) {
            if (!ok) continue;
            int64_t q0 = b * BQ;
            int mq = (int)(nq - q0 < BQ ? nq - q0 : BQ), na = mq;
            for (int r = 0; r < mq; r++) {
                H[r] = (heap){hs + (int64_t)r * k, hi + (int64_t)r * k, 0, k};
                act[r] = r;
                qn[r] = row_norm(Q + (q0 + r) * f, f) * slack;
                memcpy(Qa + (int64_t)r * f, Q + (q0 + r) * f, sizeof(float) * f);
            }
            for (int64_t i0 = 0; i0 < ni && na > 0; i0 += BI) {
                int mi = (int)(ni - i0 < BI ? ni - i0 : BI);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, mi, f, 1.0f, Qa, f, Vs + i0 * f, f, 0.0f,
                            S, mi);
                scored += (int64_t)na * mi;
                int nn = 0;
                double next = i0 + mi < ni ? vnorm[i0 + mi] : 0;
                for (int a = 0; a < na; a++) {
                    int r = act[a];
                    scan_row(&H[r], S + (int64_t)a * mi, mi, 0, perm + i0, o, q0 + r);
                    /* keep the query while the next block could still beat its k-th score */
                    if (i0 + mi < ni && !(H[r].n == k && qn[r] * next < H[r].s[0])) {
                        if (nn != a) memcpy(Qa + (int64_t)nn * f, Qa + (int64_t)a * f, sizeof(float) * f);
                        act[nn++] = r;
                    }
                }
                na = nn;
            }
            for (int r = 0; r < mq; r++) heap_drain(&H[r], out_idx + (q0 + r) * k, out_score + (q0 + r) * k);
        }
        free(S);
        free(hs);
        free(hi);
        free(Qa);
    }
    free(Vs);
    free(perm);
    free(vnorm);
    if (failed) return mr_err(MR_ENOMEM, "out of memory for top-k buffers");
    o->scored = scored;
    return 0;
}

/* ---- int8 candidates, exact rescoring (topk_q8.h) ---- */

#ifndef BQ8
#define BQ8 256
#endif
#ifndef BI8
#define BI8 1024
#endif
#define Q8_ROWS(m) (((m) + MR_Q8_QT - 1) / MR_Q8_QT * MR_Q8_QT)

/* Items are visited in order of decreasing norm (a permuted copy, so a
 * block's rows stay together for the rescoring): the best items of a query
 * tend to come first, its threshold rises early and few later items get
 * past the bound. With o->prune a query also stops once |q| |v_next| (the
 * Cauchy-Schwarz bound of every remaining item, with the same margins as
 * U) is below its lowered threshold. */
static int topk_q8(const float *Q, int64_t nq, const float *V, int64_t ni, int f, mr_topk_opts *o, int32_t *out_idx,
                   float *out_score, int kern)
{
    float *Vs, *vnorm;
    int32_t *perm;
    if (sort_by_norm(V, ni, f, &Vs, &perm, &vnorm)) return MR_ENOMEM;
    mr_q8_items it;
    int rc = mr_q8_items_build(Vs, ni, f, perm, kern, &it); /* errors name the item, not its place in the order */
    if (rc) {
        free(Vs), free(perm), free(vnorm);
        return rc;
    }
    const int k = o->k;
    const int64_t nblocks = (nq + BQ8 - 1) / BQ8;
    int failed = 0;
    int64_t rescored = 0, scored = 0, badq = -1;
#pragma omp parallel reduction(+ : rescored, scored) if (nblocks > 1)
    {
        /* the kernel fills rows up to a multiple of MR_Q8_QT */
        float *U = mr_malloc(sizeof(float) * Q8_ROWS(BQ8) * BI8);
        float *hs = mr_malloc(sizeof(float) * BQ8 * k);
        int32_t *hi = mr_malloc(sizeof(int32_t) * BQ8 * k);
        mr_q8_queries qq;
        int ok = mr_q8_queries_alloc(&qq, BQ8, f) == 0 && U && hs && hi;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        heap H[BQ8];
        int act[BQ8];
        double qb[BQ8];
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < nblocks; b++) {
            if (!ok) continue;
            int64_t q0 = b * BQ8;
            int mq = (int)(nq - q0 < BQ8 ? nq - q0 : BQ8), na = mq;
            int64_t bad = mr_q8_queries_set(&qq, Q + q0 * f, mq);
            if (bad < 0) {
#pragma omp critical(mr_topk_bad)
                if (badq < 0 || q0 - 1 - bad < badq) badq = q0 - 1 - bad;
                continue;
            }
            for (int r = 0; r < mq; r++) {
                H[r] = (heap){hs + (int64_t)r * k, hi + (int64_t)r * k, 0, k};
                act[r] = r;
                qb[r] = row_norm(Q + (q0 + r) * f, f) * (1 + 0x1p-10);
            }
            for (int64_t i0 = 0; i0 < ni && na > 0; i0 += BI8) {
                int mi = (int)(ni - i0 < BI8 ? ni - i0 : BI8);
                mr_q8_block(&qq, na, &it, i0, mi, U, BI8);
                scored += (int64_t)na * mi;
                double next = i0 + mi < ni ? vnorm[i0 + mi] * (1 + 0x1p-18) : 0;
                int nn = 0;
                for (int a = 0; a < na; a++) {
                    int r = act[a];
                    rescored += scan_row_q8(&H[r], U + (int64_t)a * BI8, mi, perm + i0, Vs + i0 * f,
                                            Q + (q0 + r) * f, f, o, q0 + r, kern);
                    int keep = i0 + mi < ni;
                    if (keep && o->prune && H[r].n == k && qb[r] * next < (double)heap_threshold_q8(&H[r])) keep = 0;
                    if (keep) {
                        if (nn != a) mr_q8_queries_move(&qq, nn, a);
                        act[nn++] = r;
                    }
                }
                na = nn;
            }
            for (int r = 0; r < mq; r++) heap_drain(&H[r], out_idx + (q0 + r) * k, out_score + (q0 + r) * k);
        }
        free(U);
        free(hs);
        free(hi);
        mr_q8_queries_free(&qq);
    }
    mr_q8_items_free(&it);
    free(Vs), free(perm), free(vnorm);
    if (failed) return mr_err(MR_ENOMEM, "out of memory for top-k buffers");
    if (badq >= 0) return mr_err(MR_EINVAL, "top-k: query row %lld has a non-finite value", (long long)badq);
    o->scored = scored;
    o->rescored = rescored;
    return 0;
}

/* Which path a call takes: o->mode, or for MR_TOPK_AUTO the environment
 * variable MUSREC_TOPK (fp32, int8, int8-avx2, int8-avxvnni, portable; for
 * tests and benchmarks), else int8 when there are enough queries to pay
 * for sorting, copying and quantising the items (about 4 s for 1M items on
 * the 2-core development machine, the fp32 cost of ~1500 queries) and the
 * CPU has AVX-512 VNNI or AVX-VNNI, or only AVX2 and the call is a full
 * scan (similar-all, or recommend without prune), else fp32. On the
 * scale-1 ALS factors the AVX2 kernel is 1.3-1.4x fp32 on full scans and
 * similar-all, but with norm pruning (2.4% of the pairs scored) the exact
 * rescoring of ~1,650 candidates per user costs about what it saves: fp32
 * measured 8-25% faster there (docs/als.md). The int8 path runs the best
 * kernel the CPU has (VNNI, else AVX-VNNI, else AVX2, else portable);
 * MR_TOPK_INT8_AVX2 and MR_TOPK_INT8_AVXVNNI ask for one (falling back to
 * the next one down). The returned path names the kernel. */
static int choose_path(const mr_topk_opts *o, int64_t nq, int f)
{
    int mode = o->mode;
    if (mode == MR_TOPK_AUTO) {
        const char *e = getenv("MUSREC_TOPK");
        if (e && !strcmp(e, "fp32")) mode = MR_TOPK_FP32;
        else if (e && !strcmp(e, "int8")) mode = MR_TOPK_INT8;
        else if (e && (!strcmp(e, "int8-avx2") || !strcmp(e, "avx2"))) mode = MR_TOPK_INT8_AVX2;
        else if (e && (!strcmp(e, "int8-avxvnni") || !strcmp(e, "avxvnni"))) mode = MR_TOPK_INT8_AVXVNNI;
        else if (e && (!strcmp(e, "portable") || !strcmp(e, "int8-portable"))) mode = MR_TOPK_INT8_PORTABLE;
        else {
            int kern = mr_q8_best_kernel();
            int fast = kern == MR_Q8_VNNI || kern == MR_Q8_AVXVNNI || (kern == MR_Q8_AVX2 && !o->prune);
            mode = nq >= 2048 && fast ? MR_TOPK_INT8 : MR_TOPK_FP32;
        }
    }
    if (mode == MR_TOPK_INT8) {
        int kern = mr_q8_best_kernel();
        mode = kern == MR_Q8_VNNI      ? MR_TOPK_INT8
               : kern == MR_Q8_AVXVNNI ? MR_TOPK_INT8_AVXVNNI
               : kern == MR_Q8_AVX2    ? MR_TOPK_INT8_AVX2
                                       : MR_TOPK_INT8_PORTABLE;
    }
    if (mode == MR_TOPK_INT8_AVXVNNI && !mr_q8_have_avxvnni()) mode = MR_TOPK_INT8_AVX2;
    if (mode == MR_TOPK_INT8_AVX2 && !mr_q8_have_avx2()) mode = MR_TOPK_INT8_PORTABLE;
    if (f > MR_Q8_MAX_F) mode = MR_TOPK_FP32; /* int32 dot products could overflow */
    return mode;
}

/* The int8 kernel of a path from choose_path. */
static int path_kernel(int path)
{
    return path == MR_TOPK_INT8           ? MR_Q8_VNNI
           : path == MR_TOPK_INT8_AVX2    ? MR_Q8_AVX2
           : path == MR_TOPK_INT8_AVXVNNI ? MR_Q8_AVXVNNI
                                          : MR_Q8_PORTABLE;
}

const char *mr_topk_path_name(int path)
{
    switch (path) {
    case MR_TOPK_FP32: return "fp32";
    case MR_TOPK_INT8: return "int8-vnni";
    case MR_TOPK_INT8_AVX2: return "int8-avx2";
    case MR_TOPK_INT8_AVXVNNI: return "int8-avxvnni";
    case MR_TOPK_INT8_PORTABLE: return "int8-portable";
    default: return "?";
    }
}

int mr_topk(const float *Q, int64_t nq, const float *V, int64_t ni, int f, mr_topk_opts *o, int32_t *out_idx,
            float *out_score)
{
    int rc = check_args(nq, ni, f, o);
    if (rc) return rc;
    if (nq == 0) return 0;
    if (ni == 0) {
        for (int64_t j = 0; j < nq * o->k; j++) {
            out_idx[j] = -1;
            out_score[j] = -INFINITY;
        }
        o->scored = 0;
        o->rescored = 0;
        o->path = MR_TOPK_FP32;
        return 0;
    }
    o->path = choose_path(o, nq, f);
    o->rescored = 0;
    if (o->path != MR_TOPK_FP32)
        return topk_q8(Q, nq, V, ni, f, o, out_idx, out_score, path_kernel(o->path));
    return o->prune ? topk_pruned(Q, nq, V, ni, f, o, out_idx, out_score)
                    : topk_full(Q, nq, V, ni, f, o, out_idx, out_score);
}

/* ---- all items against all items, using the symmetry of the scores ----
 *
 * score(i, j) = v_i . v_j = score(j, i), so only block pairs (I, J) with
 * I <= J are multiplied: half the sgemm work of a full scan. A block of
 * scores feeds the heaps of I's items through its rows and the heaps of J's
 * items through its columns. J's heaps may belong to any thread's row
 * block, so each thread keeps its own heaps for every item and they are
 * merged at the end; with the (score, index) total order the merged top k
 * is the same whoever saw which score. The column pass compares a row of
 * scores against the vector of J's thresholds, so it vectorises like the
 * row pass. */
#define BS 512

__attribute__((target_clones("avx512f", "avx2", "default"))) static void
scan_cols(float *restrict hs, int32_t *restrict hi, int32_t *restrict hn, float *restrict thr, int k,
          const float *restrict S, int mi, int mj, int32_t i0, int32_t j0)
{
    for (int r = 0; r < mi; r++) {
        const float *row = S + (int64_t)r * mj;
        for (int j = 0; j < mj; j += 16) {
            int m = mj - j < 16 ? mj - j : 16, hits = 0;
            if (m == 16) {
                for (int t = 0; t < 16; t++) hits += row[j + t] >= thr[j + t];
            } else {
                for (int t = 0; t < m; t++) hits += row[j + t] >= thr[j + t];
            }
            if (!hits) continue;
            for (int t = 0; t < m; t++) {
                float v = row[j + t];
                if (!(v >= thr[j + t])) continue;
                int64_t item = j0 + j + t;
                heap h = {hs + item * k, hi + item * k, hn[item], k};
                heap_push(&h, v, i0 + r);
                hn[item] = h.n;
                thr[j + t] = heap_threshold(&h);
            }
        }
    }
}

/* Rescores candidate cand for item's heap (the int8 column pass). */
static inline int64_t rescore_col_q8(float *hs, int32_t *hi, int32_t *hn, float *thr, int k, int64_t item,
                                     int32_t cand, const float *V, int f)
{
    float v = exact_dot(V + item * f, V + (int64_t)cand * f, f);
    heap h = {hs + item * k, hi + item * k, hn[item], k};
    if (h.n == k && !worse(h.s[0], h.i[0], v, cand)) return 1;
    heap_push(&h, v, cand);
    hn[item] = h.n;
    *thr = heap_threshold_q8(&h);
    return 1;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static int64_t scan_cols_q8_avx512(float *restrict hs, int32_t *restrict hi,
                                                                      int32_t *restrict hn, float *restrict thr, int k,
                                                                      const float *restrict U, int ldu, int mi, int mj,
                                                                      int32_t i0, int32_t j0, const float *V, int f)
{
    int64_t rescored = 0;
    for (int r = 0; r < mi; r++) {
        const float *row = U + (int64_t)r * ldu;
        int j = 0;
        for (; j + 64 <= mj; j += 64) {
            uint64_t m =
                (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(row + j), _mm512_loadu_ps(thr + j), _CMP_NLT_UQ) |
                (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(row + j + 16), _mm512_loadu_ps(thr + j + 16), _CMP_NLT_UQ)
                    << 16 |
                (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(row + j + 32), _mm512_loadu_ps(thr + j + 32), _CMP_NLT_UQ)
                    << 32 |
                (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(row + j + 48), _mm512_loadu_ps(thr + j + 48), _CMP_NLT_UQ)
                    << 48;
            while (m) {
                int c = j + __builtin_ctzll(m);
                m &= m - 1;
                rescored += rescore_col_q8(hs, hi, hn, &thr[c], k, j0 + c, i0 + r, V, f);
            }
        }
        for (; j < mj; j++)
            if (!(row[j] < thr[j])) rescored += rescore_col_q8(hs, hi, hn, &thr[j], k, j0 + j, i0 + r, V, f);
    }
    return rescored;
}

__attribute__((target("avx2"))) static int64_t scan_cols_q8_avx2(float *restrict hs, int32_t *restrict hi,
                                                                  int32_t *restrict hn, float *restrict thr, int k,
                                                                  const float *restrict U, int ldu, int mi, int mj,
                                                                  int32_t i0, int32_t j0, const float *V, int f)
{
    int64_t rescored = 0;
    for (int r = 0; r < mi; r++) {
        const float *row = U + (int64_t)r * ldu;
        int j = 0;
        for (; j + 32 <= mj; j += 32) {
#define COLMASK(v)                                                                                                   \
    ((uint32_t)_mm256_movemask_ps(                                                                                   \
         _mm256_cmp_ps(_mm256_loadu_ps(row + j + 8 * (v)), _mm256_loadu_ps(thr + j + 8 * (v)), _CMP_NLT_UQ))         \
     << (8 * (v)))
            uint32_t m = COLMASK(0) | COLMASK(1) | COLMASK(2) | COLMASK(3);
#undef COLMASK
            while (m) {
                int c = j + __builtin_ctz(m);
                m &= m - 1;
                rescored += rescore_col_q8(hs, hi, hn, &thr[c], k, j0 + c, i0 + r, V, f);
            }
        }
        for (; j < mj; j++)
            if (!(row[j] < thr[j])) rescored += rescore_col_q8(hs, hi, hn, &thr[j], k, j0 + j, i0 + r, V, f);
    }
    return rescored;
}
#endif

/* The int8 column pass: row r of the bound block (candidate i0 + r) against
 * the lowered thresholds of the columns' heaps (items j0 + c); candidates
 * are rescored exactly (exact_dot is symmetric, so the score is item
 * j0 + c's score for candidate i0 + r). */
static int64_t scan_cols_q8(float *restrict hs, int32_t *restrict hi, int32_t *restrict hn, float *restrict thr, int k,
                            const float *restrict U, int ldu, int mi, int mj, int32_t i0, int32_t j0, const float *V,
                            int f, int kern)
{
#if defined(__x86_64__)
    if (kern == MR_Q8_VNNI) return scan_cols_q8_avx512(hs, hi, hn, thr, k, U, ldu, mi, mj, i0, j0, V, f);
    if (kern == MR_Q8_AVX2 || kern == MR_Q8_AVXVNNI)
        return scan_cols_q8_avx2(hs, hi, hn, thr, k, U, ldu, mi, mj, i0, j0, V, f);
#endif
    (void)kern;
    int64_t rescored = 0;
    for (int r = 0; r < mi; r++) {
        const float *row = U + (int64_t)r * ldu;
        for (int j = 0; j < mj; j++)
            if (!(row[j] < thr[j])) rescored += rescore_col_q8(hs, hi, hn, &thr[j], k, j0 + j, i0 + r, V, f);
    }
    return rescored;
}

/* Merges the T per-thread heaps of every item into out_idx/out_score. */
static int merge_thread_heaps(const float *hs, const int32_t *hi, const int32_t *hn, int T, int64_t n, int k,
                              int32_t *out_idx, float *out_score)
{
    int failed = 0;
#pragma omp parallel
    {
        float *ms = mr_malloc(sizeof(float) * k);
        int32_t *mi = mr_malloc(sizeof(int32_t) * k);
#pragma omp for schedule(static)
        for (int64_t q = 0; q < n; q++) {
            if (!ms || !mi) continue;
            heap h = {ms, mi, 0, k};
            for (int t = 0; t < T; t++) {
                const float *ts = hs + ((size_t)t * n + q) * k;
                const int32_t *ti = hi + ((size_t)t * n + q) * k;
                for (int e = 0; e < hn[(size_t)t * n + q]; e++) heap_push(&h, ts[e], ti[e]);
            }
            heap_drain(&h, out_idx + q * k, out_score + q * k);
        }
        if (!ms || !mi) {
#pragma omp atomic write
            failed = 1;
        }
        free(ms);
        free(mi);
    }
    return failed;
}

/* Block size of the int8 self pass (a multiple of MR_Q8_TILE): the bound
 * block is BSQ^2 floats, written once and scanned twice. */
#ifndef BSQ
#define BSQ 512
#endif

static int self_q8(const float *V, int64_t n, int f, mr_topk_opts *o, int32_t *out_idx, float *out_score, int kern)
{
    const int k = o->k;
    mr_q8_items it;
    int rc = mr_q8_items_build(V, n, f, NULL, kern, &it);
    if (rc) return rc;
    const int64_t nb = (n + BSQ - 1) / BSQ;
    const int T = omp_get_max_threads();
    float *hs = mr_malloc(sizeof(float) * (size_t)T * n * k + 1);
    int32_t *hi = mr_malloc(sizeof(int32_t) * (size_t)T * n * k + 1);
    int32_t *hn = mr_calloc((size_t)T * n + 1, sizeof(int32_t));
    int32_t *iota = mr_malloc(sizeof(int32_t) * (size_t)n + 1);
    if (!hs || !hi || !hn || !iota) {
        free(hs), free(hi), free(hn), free(iota);
        mr_q8_items_free(&it);
        return MR_ENOMEM;
    }
    for (int64_t i = 0; i < n; i++) iota[i] = (int32_t)i;
    mr_topk_opts so = {.k = k, .exclude_self = 1};
    int failed = 0;
    int64_t rescored = 0;
#pragma omp parallel num_threads(T) reduction(+ : rescored)
    {
        int t = omp_get_thread_num();
        float *U = mr_malloc(sizeof(float) * Q8_ROWS(BSQ) * BSQ), *thr = mr_malloc(sizeof(float) * BSQ);
        float *ths = hs + (size_t)t * n * k;
        int32_t *thi = hi + (size_t)t * n * k, *thn = hn + (size_t)t * n;
        mr_q8_queries qq;
        int ok = mr_q8_queries_alloc(&qq, BSQ, f) == 0 && U && thr;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t bI = 0; bI < nb; bI++) {
            if (!ok) continue;
            int64_t i0 = bI * BSQ;
            int mi = (int)(n - i0 < BSQ ? n - i0 : BSQ);
            mr_q8_queries_set(&qq, V + i0 * f, mi); /* finite: the items were checked */
            for (int64_t bJ = bI; bJ < nb; bJ++) {
                int64_t j0 = bJ * BSQ;
                int mj = (int)(n - j0 < BSQ ? n - j0 : BSQ);
                mr_q8_block(&qq, mi, &it, j0, mj, U, BSQ);
                for (int r = 0; r < mi; r++) {
                    int64_t q = i0 + r;
                    heap h = {ths + q * k, thi + q * k, thn[q], k};
                    rescored += scan_row_q8(&h, U + (int64_t)r * BSQ, mj, iota + j0, V + j0 * f, V + q * f, f, &so, q,
                                            kern);
                    thn[q] = h.n;
                }
                if (bJ == bI) continue;
                for (int c = 0; c < mj; c++) {
                    int64_t item = j0 + c;
                    heap h = {ths + item * k, thi + item * k, thn[item], k};
                    thr[c] = heap_threshold_q8(&h);
                }
                rescored += scan_cols_q8(ths, thi, thn, thr, k, U, BSQ, mi, mj, (int32_t)i0, (int32_t)j0, V, f, kern);
            }
        }
        free(U);
        free(thr);
        mr_q8_queries_free(&qq);
    }
    mr_q8_items_free(&it);
    if (!failed) failed = merge_thread_heaps(hs, hi, hn, T, n, k, out_idx, out_score);
    free(hs), free(hi), free(hn), free(iota);
    if (failed) return mr_err(MR_ENOMEM, "out of memory for top-k buffers");
    o->scored = n * n;
    o->rescored = rescored;
    return 0;
}

int mr_topk_self(const float *V, int64_t n, int f, mr_topk_opts *opts, int32_t *out_idx, float *out_score)
{
    const int k = opts->k;
    mr_topk_opts o = {.k = k, .exclude_self = 1, .mode = opts->mode};
    int rc = check_args(n, n, f, &o);
    if (rc) return rc;
    opts->path = choose_path(&o, n, f);
    opts->rescored = 0;
    opts->scored = n * n;
    if (opts->path != MR_TOPK_FP32) return self_q8(V, n, f, opts, out_idx, out_score, path_kernel(opts->path));
    const int64_t nb = (n + BS - 1) / BS;
    const int T = omp_get_max_threads();
    float *hs = mr_malloc(sizeof(float) * (size_t)T * n * k + 1);
    int32_t *hi = mr_malloc(sizeof(int32_t) * (size_t)T * n * k + 1);
    int32_t *hn = mr_calloc((size_t)T * n + 1, sizeof(int32_t));
    if (!hs || !hi || !hn) {
        free(hs), free(hi), free(hn);
        return MR_ENOMEM;
    }
    int failed = 0;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        float *S = mr_malloc(sizeof(float) * BS * BS), *thr = mr_malloc(sizeof(float) * BS);
        float *ths = hs + (size_t)t * n * k;
        int32_t *thi = hi + (size_t)t * n * k, *thn = hn + (size_t)t * n;
        int ok = S && thr;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        /* row blocks in order of decreasing work (block bI has nb - bI pairs) */
#pragma omp for schedule(dynamic, 1)
        for (int64_t bI = 0; bI < nb; bI++) {
            if (!ok) continue;
            int64_t i0 = bI * BS;
            int mi = (int)(n - i0 < BS ? n - i0 : BS);
            for (int64_t bJ = bI; bJ < nb; bJ++) {
                int64_t j0 = bJ * BS;
                int mj = (int)(n - j0 < BS ? n - j0 : BS);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mi, mj, f, 1.0f, V + i0 * f, f, V + j0 * f, f,
                            0.0f, S, mj);
                for (int r = 0; r < mi; r++) {
                    int64_t q = i0 + r;
                    heap h = {ths + q * k, thi + q * k, thn[q], k};
                    scan_row(&h, S + (int64_t)r * mj, mj, (int32_t)j0, NULL, &o, q);
                    thn[q] = h.n;
                }
                if (bJ == bI) continue;
                for (int c = 0; c < mj; c++) {
                    int64_t item = j0 + c;
                    heap h = {ths + item * k, thi + item * k, thn[item], k};
                    thr[c] = heap_threshold(&h);
                }
                scan_cols(ths, thi, thn, thr, k, S, mi, mj, (int32_t)i0, (int32_t)j0);
            }
        }
        free(S);
        free(thr);
    }
    if (!failed) failed = merge_thread_heaps(hs, hi, hn, T, n, k, out_idx, out_score);
    free(hs), free(hi), free(hn);
    if (failed) return mr_err(MR_ENOMEM, "out of memory for top-k buffers");
    return 0;
}

int mr_topk_brute(const float *Q, int64_t nq, const float *V, int64_t ni, int f, const mr_topk_opts *o,
                  int32_t *out_idx, float *out_score)
{
    int rc = check_args(nq, ni, f, o);
    if (rc) return rc;
    float *hs = mr_malloc(sizeof(float) * o->k);
    int32_t *hi = mr_malloc(sizeof(int32_t) * o->k);
    if (!hs || !hi) {
        free(hs), free(hi);
        return MR_ENOMEM;
    }
    for (int64_t q = 0; q < nq; q++) {
        heap h = {hs, hi, 0, o->k};
        for (int64_t i = 0; i < ni; i++) {
            if (is_excluded(o, q, (int32_t)i)) continue;
            heap_push(&h, exact_dot(Q + q * f, V + i * f, f), (int32_t)i);
        }
        heap_drain(&h, out_idx + q * o->k, out_score + q * o->k);
    }
    free(hs);
    free(hi);
    return 0;
}
