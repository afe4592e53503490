/* int8 quantisation and the candidate-bound kernels (topk_q8.h). */
#include "models/topk_q8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MR_Q8_X86 1
#endif

int mr_q8_have_vnni(void)
{
#ifdef MR_Q8_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/* Rows whose norm is outside [2^-40, 2^40] are not quantised (see topk_q8.h). */
#define NORM_LO 0x1p-40
#define NORM_HI 0x1p40

/* Quantises one row of f floats into 4 nch codes (zero padded). Out: the
 * float scale and, in double, |x|, |e| and |x^|. -1 on a non-finite value. */
static int quantise_row(const float *x, int f, int nch, int8_t *codes, float *scale, double *N, double *E,
                        double *Nh)
{
    double n2 = 0, mx = 0;
    for (int a = 0; a < f; a++) {
        double v = x[a];
        if (!isfinite(v)) return -1;
        n2 += v * v;
        if (fabs(v) > mx) mx = fabs(v);
    }
    memset(codes, 0, (size_t)nch * 4);
    double nrm = sqrt(n2);
    *N = nrm;
    if (nrm == 0 || nrm < NORM_LO || nrm > NORM_HI) {
        /* not quantised: x^ = 0, the whole row is error */
        *scale = 0;
        *E = nrm;
        *Nh = 0;
        return 0;
    }
    float s = (float)(mx / 127.0);
    double inv = 1.0 / s, e2 = 0, h2 = 0;
    for (int a = 0; a < f; a++) {
        /* any rounding is fine (the error is measured, not assumed) */
        double t = x[a] * inv, c = (double)(int)(t + (t >= 0 ? 0.5 : -0.5));
        if (c > 127) c = 127;
        if (c < -127) c = -127;
        codes[a] = (int8_t)c;
        double h = (double)s * c; /* exact: a 24-bit by 8-bit product */
        double e = x[a] - h;
        e2 += e * e;
        h2 += h * h;
    }
    *scale = s;
    *E = sqrt(e2);
    *Nh = sqrt(h2);
    return 0;
}

/* The smallest float >= x * (1 + rel) for x >= 0 (to within one more ulp). */
static float up(double x, double rel) { return nextafterf((float)(x * (1 + rel)), INFINITY); }

int mr_q8_items_build(const float *V, int64_t n, int f, const int32_t *ids, mr_q8_items *it)
{
    memset(it, 0, sizeof *it);
    it->n = n;
    it->f = f;
    it->nch = (f + 3) / 4;
    it->npad = (n + MR_Q8_TILE - 1) / MR_Q8_TILE * MR_Q8_TILE;
    if (it->npad == 0) it->npad = MR_Q8_TILE;
    int nch = it->nch;
    it->codes = mr_malloc((size_t)it->npad * nch * 4);
    it->s = mr_calloc((size_t)it->npad, sizeof(float));
    it->nrm = mr_calloc((size_t)it->npad, sizeof(float));
    it->err = mr_calloc((size_t)it->npad, sizeof(float));
    if (!it->codes || !it->s || !it->nrm || !it->err) {
        mr_q8_items_free(it);
        return MR_ENOMEM;
    }
    memset(it->codes, 128, (size_t)it->npad * nch * 4); /* padding items: code 0 */
    int64_t bad = -1;
    int nomem = 0;
#pragma omp parallel
    {
        int8_t *c = mr_malloc((size_t)nch * 4);
        if (!c) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            double N, E, Nh;
            if (!c) continue;
            if (quantise_row(V + i * f, f, nch, c, &it->s[i], &N, &E, &Nh)) {
#pragma omp critical(mr_q8_bad)
                if (bad < 0 || i < bad) bad = i;
                continue;
            }
            (void)Nh;
            it->nrm[i] = up(N, 0x1p-20);
            it->err[i] = up(E, 0x1p-20);
            uint8_t *g = it->codes + (size_t)(i / 16) * nch * 64 + (size_t)(i % 16) * 4;
            for (int ch = 0; ch < nch; ch++)
                for (int b = 0; b < 4; b++) g[(size_t)ch * 64 + b] = (uint8_t)(c[ch * 4 + b] + 128);
        }
        free(c);
    }
    if (nomem || bad >= 0) {
        mr_q8_items_free(it);
        if (nomem) return MR_ENOMEM;
        return mr_err(MR_EINVAL, "top-k: item row %lld has a non-finite value", (long long)(ids ? ids[bad] : bad));
    }
    return 0;
}

void mr_q8_items_free(mr_q8_items *it)
{
    free(it->codes), free(it->s), free(it->nrm), free(it->err);
    memset(it, 0, sizeof *it);
}

int mr_q8_queries_alloc(mr_q8_queries *q, int cap, int f)
{
    memset(q, 0, sizeof *q);
    cap = (cap + MR_Q8_QT - 1) / MR_Q8_QT * MR_Q8_QT;
    q->cap = cap;
    q->f = f;
    q->nch = (f + 3) / 4;
    q->codes = mr_malloc((size_t)cap * q->nch * 4);
    q->corr = mr_malloc(sizeof(int32_t) * cap);
    q->s = mr_malloc(sizeof(float) * cap);
    q->err = mr_malloc(sizeof(float) * cap);
    q->nh = mr_malloc(sizeof(float) * cap);
    if (!q->codes || !q->corr || !q->s || !q->err || !q->nh) {
        mr_q8_queries_free(q);
        return MR_ENOMEM;
    }
    return 0;
}

void mr_q8_queries_free(mr_q8_queries *q)
{
    free(q->codes), free(q->corr), free(q->s), free(q->err), free(q->nh);
    memset(q, 0, sizeof *q);
}

int64_t mr_q8_queries_set(mr_q8_queries *q, const float *Q, int m)
{
    int f = q->f, w = q->nch * 4;
    int mpad = (m + MR_Q8_QT - 1) / MR_Q8_QT * MR_Q8_QT;
    for (int r = 0; r < mpad; r++) {
        int8_t *c = q->codes + (size_t)r * w;
        double N = 0, E = 0, Nh = 0;
        float s = 0;
        if (r >= m) memset(c, 0, (size_t)w);
        else if (quantise_row(Q + (int64_t)r * f, f, q->nch, c, &s, &N, &E, &Nh)) return -1 - (int64_t)r;
        int32_t sum = 0;
        for (int a = 0; a < w; a++) sum += c[a];
        q->corr[r] = 128 * sum;
        q->s[r] = s;
        /* the 2^-16 |q| term pays for the rounding of U and of the exact
         * score, and for the half ulp between the k-th score and the next
         * float below it (topk.c); with N_v >= the item norm it becomes
         * 2^-16 |q| |v| */
        q->err[r] = up(E * (1 + 0x1p-12) + N * 0x1p-16, 0);
        q->nh[r] = up(Nh, 0x1p-12);
    }
    return 0;
}

void mr_q8_queries_move(mr_q8_queries *q, int dst, int src)
{
    size_t w = (size_t)q->nch * 4;
    memcpy(q->codes + (size_t)dst * w, q->codes + (size_t)src * w, w);
    q->corr[dst] = q->corr[src];
    q->s[dst] = q->s[src];
    q->err[dst] = q->err[src];
    q->nh[dst] = q->nh[src];
}

/* ---- kernels ---- */

static void block_portable(const mr_q8_queries *q, int mpad, const mr_q8_items *it, int64_t i0, int ntile, float *U,
                           int ldu)
{
    const int nch = it->nch, w = nch * 4;
    for (int r = 0; r < mpad; r++) {
        const int8_t *qc = q->codes + (size_t)r * w;
        float qs = q->s[r], qe = q->err[r], qn = q->nh[r];
        for (int j = 0; j < ntile * MR_Q8_TILE; j++) {
            int64_t i = i0 + j;
            const uint8_t *g = it->codes + (size_t)(i / 16) * nch * 64 + (size_t)(i % 16) * 4;
            int32_t acc = -q->corr[r];
            for (int ch = 0; ch < nch; ch++)
                for (int b = 0; b < 4; b++) acc += (int32_t)g[(size_t)ch * 64 + b] * qc[ch * 4 + b];
            U[(int64_t)r * ldu + j] = (float)acc * it->s[i] * qs + (qe * it->nrm[i] + qn * it->err[i]);
        }
    }
}

#ifdef MR_Q8_X86
/* One tile: MR_Q8_QT (6) queries x 64 items (4 groups of 16) in 24 zmm
 * accumulators, written out by hand so they stay in registers: per 4-byte
 * chunk, 4 loads of item codes, 6 broadcasts of query bytes and 24
 * vpdpbusd. The epilogue turns each int32 dot product into the bound U. */
#define Q8_ROW(a)                                                                                                    \
    __m512i a##0 = _mm512_set1_epi32(-q->corr[r + a]), a##1 = a##0, a##2 = a##0, a##3 = a##0
/* vpdpbusd through inline asm: with the intrinsic, GCC 12 copies every
 * accumulator before each instruction and spills half of them (3x slower). */
#define Q8_VPDPBUSD(acc, x, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(b))
#define Q8_DP(a)                                                                                                     \
    do {                                                                                                             \
        int32_t b4;                                                                                                  \
        memcpy(&b4, qc + (size_t)(a) * w + ch * 4, 4);                                                               \
        __m512i b = _mm512_set1_epi32(b4);                                                                           \
        Q8_VPDPBUSD(a##0, x0, b);                                                                                       \
        Q8_VPDPBUSD(a##1, x1, b);                                                                                       \
        Q8_VPDPBUSD(a##2, x2, b);                                                                                       \
        Q8_VPDPBUSD(a##3, x3, b);                                                                                       \
    } while (0)
#define Q8_OUT1(acc, g, qs, qe, qn, out)                                                                             \
    _mm512_storeu_ps((out) + 16 * (g),                                                                               \
                     _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(sv + 16 * (g))), qs,      \
                                     _mm512_fmadd_ps(qe, _mm512_loadu_ps(nv + 16 * (g)),                              \
                                                     _mm512_mul_ps(qn, _mm512_loadu_ps(ev + 16 * (g))))))
#define Q8_OUT(a)                                                                                                    \
    do {                                                                                                             \
        __m512 qs = _mm512_set1_ps(q->s[r + a]), qe = _mm512_set1_ps(q->err[r + a]);                                \
        __m512 qn = _mm512_set1_ps(q->nh[r + a]);                                                                    \
        float *out = U + (int64_t)(r + a) * ldu + (int64_t)t * MR_Q8_TILE;                                          \
        Q8_OUT1(a##0, 0, qs, qe, qn, out);                                                                           \
        Q8_OUT1(a##1, 1, qs, qe, qn, out);                                                                           \
        Q8_OUT1(a##2, 2, qs, qe, qn, out);                                                                           \
        Q8_OUT1(a##3, 3, qs, qe, qn, out);                                                                           \
    } while (0)

#if MR_Q8_QT != 6
#error "block_vnni is written for MR_Q8_QT == 6"
#endif

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
block_vnni(const mr_q8_queries *q, int mpad, const mr_q8_items *it, int64_t i0, int ntile, float *U, int ldu)
{
    const int nch = it->nch, w = nch * 4;
    const size_t gstride = (size_t)nch * 64; /* bytes per group of 16 items */
    for (int t = 0; t < ntile; t++) {
        const int64_t ib = i0 + (int64_t)t * MR_Q8_TILE;
        const uint8_t *tc = it->codes + (size_t)(ib / 16) * gstride;
        const float *sv = it->s + ib, *nv = it->nrm + ib, *ev = it->err + ib;
        for (int r = 0; r < mpad; r += MR_Q8_QT) {
            enum { A = 0, B = 1, C = 2, D = 3, E = 4, F = 5 };
            Q8_ROW(A);
            Q8_ROW(B);
            Q8_ROW(C);
            Q8_ROW(D);
            Q8_ROW(E);
            Q8_ROW(F);
            const int8_t *qc = q->codes + (size_t)r * w;
            int ch = 0;
            do { /* nch >= 1 */
                __m512i x0 = _mm512_loadu_si512(tc + 0 * gstride + (size_t)ch * 64);
                __m512i x1 = _mm512_loadu_si512(tc + 1 * gstride + (size_t)ch * 64);
                __m512i x2 = _mm512_loadu_si512(tc + 2 * gstride + (size_t)ch * 64);
                __m512i x3 = _mm512_loadu_si512(tc + 3 * gstride + (size_t)ch * 64);
                Q8_DP(A);
                Q8_DP(B);
                Q8_DP(C);
                Q8_DP(D);
                Q8_DP(E);
                Q8_DP(F);
            } while (++ch < nch);
            Q8_OUT(A);
            Q8_OUT(B);
            Q8_OUT(C);
            Q8_OUT(D);
            Q8_OUT(E);
            Q8_OUT(F);
        }
    }
}
#endif

void mr_q8_block(const mr_q8_queries *q, int m, const mr_q8_items *it, int64_t i0, int mi, float *U, int ldu,
                 int vnni)
{
    int mpad = (m + MR_Q8_QT - 1) / MR_Q8_QT * MR_Q8_QT;
    int ntile = (mi + MR_Q8_TILE - 1) / MR_Q8_TILE;
#ifdef MR_Q8_X86
    if (vnni) {
        block_vnni(q, mpad, it, i0, ntile, U, ldu);
        return;
    }
#endif
    (void)vnni;
    block_portable(q, mpad, it, i0, ntile, U, ldu);
}
