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

int mr_q8_have_avx2(void)
{
#ifdef MR_Q8_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int mr_q8_have_avxvnni(void)
{
#ifdef MR_Q8_X86
    __builtin_cpu_init();
    return mr_q8_have_avx2() && __builtin_cpu_supports("avxvnni") != 0;
#else
    return 0;
#endif
}

int mr_q8_best_kernel(void)
{
    return mr_q8_have_vnni()      ? MR_Q8_VNNI
           : mr_q8_have_avxvnni() ? MR_Q8_AVXVNNI
           : mr_q8_have_avx2()    ? MR_Q8_AVX2
                                  : MR_Q8_PORTABLE;
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

int mr_q8_items_build(const float *V, int64_t n, int f, const int32_t *ids, int kern, mr_q8_items *it)
{
    memset(it, 0, sizeof *it);
    it->n = n;
    it->f = f;
    it->nch = (f + 3) / 4;
    it->kern = kern;
    it->npad = (n + MR_Q8_TILE - 1) / MR_Q8_TILE * MR_Q8_TILE;
    if (it->npad == 0) it->npad = MR_Q8_TILE;
    int nch = it->nch, wide = kern == MR_Q8_AVX2;
    if (wide) it->codes16 = mr_calloc((size_t)it->npad * nch * 4, sizeof(int16_t)); /* padding items: code 0 */
    else it->codes = mr_malloc((size_t)it->npad * nch * 4);
    it->s = mr_calloc((size_t)it->npad, sizeof(float));
    it->nrm = mr_calloc((size_t)it->npad, sizeof(float));
    it->err = mr_calloc((size_t)it->npad, sizeof(float));
    if ((wide ? !it->codes16 : !it->codes) || !it->s || !it->nrm || !it->err) {
        mr_q8_items_free(it);
        return MR_ENOMEM;
    }
    if (!wide) memset(it->codes, 128, (size_t)it->npad * nch * 4); /* padding items: code 0 */
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
            if (wide) {
                /* group of 8 items: pair p of the 8 at 16 p, item i % 8 at 2 (i % 8) */
                int16_t *g = it->codes16 + (size_t)(i / 8) * nch * 32 + (size_t)(i % 8) * 2;
                for (int p = 0; p < 2 * nch; p++) {
                    g[(size_t)p * 16] = c[2 * p];
                    g[(size_t)p * 16 + 1] = c[2 * p + 1];
                }
            } else {
                uint8_t *g = it->codes + (size_t)(i / 16) * nch * 64 + (size_t)(i % 16) * 4;
                for (int ch = 0; ch < nch; ch++)
                    for (int b = 0; b < 4; b++) g[(size_t)ch * 64 + b] = (uint8_t)(c[ch * 4 + b] + 128);
            }
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
    free(it->codes), free(it->codes16), free(it->s), free(it->nrm), free(it->err);
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
    q->codes16 = mr_malloc(sizeof(int16_t) * (size_t)cap * q->nch * 4);
    q->corr = mr_malloc(sizeof(int32_t) * cap);
    q->s = mr_malloc(sizeof(float) * cap);
    q->err = mr_malloc(sizeof(float) * cap);
    q->nh = mr_malloc(sizeof(float) * cap);
    if (!q->codes || !q->codes16 || !q->corr || !q->s || !q->err || !q->nh) {
        mr_q8_queries_free(q);
        return MR_ENOMEM;
    }
    return 0;
}

void mr_q8_queries_free(mr_q8_queries *q)
{
    free(q->codes), free(q->codes16), free(q->corr), free(q->s), free(q->err), free(q->nh);
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
        int16_t *c16 = q->codes16 + (size_t)r * w;
        for (int a = 0; a < w; a++) sum += c16[a] = c[a];
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
    memcpy(q->codes16 + (size_t)dst * w, q->codes16 + (size_t)src * w, w * sizeof(int16_t));
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
            int32_t acc = 0;
            if (it->codes16) { /* the AVX2 layout (tests) */
                const int16_t *g = it->codes16 + (size_t)(i / 8) * nch * 32 + (size_t)(i % 8) * 2;
                for (int p = 0; p < 2 * nch; p++)
                    acc += g[(size_t)p * 16] * qc[2 * p] + g[(size_t)p * 16 + 1] * qc[2 * p + 1];
            } else {
                const uint8_t *g = it->codes + (size_t)(i / 16) * nch * 64 + (size_t)(i % 16) * 4;
                acc = -q->corr[r];
                for (int ch = 0; ch < nch; ch++)
                    for (int b = 0; b < 4; b++) acc += (int32_t)g[(size_t)ch * 64 + b] * qc[ch * 4 + b];
            }
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

/* One AVX2 step: MR_Q8_QT (6) queries x 16 items (2 groups of 8) in 12 ymm
 * accumulators, plus 2 item vectors and a broadcast: 15 of the 16
 * registers. Per pair of factors: 2 loads of item codes, 6 broadcasts of
 * two int16 query codes, 12 vpmaddwd (8 lanes x 2 exact products each)
 * and 12 vpaddd. A 64-item tile is 4 steps over the same 6 queries. */
#define A2_ROW(a) __m256i a##0 = _mm256_setzero_si256(), a##1 = a##0
/* acc += vpmaddwd(x, b) through inline asm, for the reason of Q8_VPDPBUSD
 * (with intrinsics GCC 12 spills 8 of the 12 accumulators every step):
 * 12 accumulators, 2 item vectors, the broadcast and one scratch are
 * exactly the 16 ymm registers. */
#define A2_MADD(acc, x, b)                                                                                           \
    do {                                                                                                             \
        __m256i t_;                                                                                                  \
        __asm__("vpmaddwd %2, %3, %1\n\tvpaddd %1, %0, %0" : "+x"(acc), "=&x"(t_) : "x"(x), "x"(b));                 \
    } while (0)
#define A2_DP(a)                                                                                                     \
    do {                                                                                                             \
        int32_t b2;                                                                                                  \
        memcpy(&b2, qc + (size_t)(a) * w + 2 * p, 4);                                                                \
        __m256i b = _mm256_set1_epi32(b2);                                                                           \
        A2_MADD(a##0, x0, b);                                                                                        \
        A2_MADD(a##1, x1, b);                                                                                        \
    } while (0)
/* the VNNI epilogue's operations, in its order, 8 lanes at a time */
#define A2_OUT1(acc, h, qs, qe, qn, out)                                                                             \
    _mm256_storeu_ps((out) + 8 * (h),                                                                                \
                     _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(sv + 8 * (h))), qs,       \
                                     _mm256_fmadd_ps(qe, _mm256_loadu_ps(nv + 8 * (h)),                               \
                                                     _mm256_mul_ps(qn, _mm256_loadu_ps(ev + 8 * (h))))))
#define A2_OUT(a)                                                                                                    \
    do {                                                                                                             \
        __m256 qs = _mm256_set1_ps(q->s[r + a]), qe = _mm256_set1_ps(q->err[r + a]);                                \
        __m256 qn = _mm256_set1_ps(q->nh[r + a]);                                                                    \
        float *out = U + (int64_t)(r + a) * ldu + (int64_t)t * MR_Q8_TILE + 16 * st;                                \
        A2_OUT1(a##0, 0, qs, qe, qn, out);                                                                           \
        A2_OUT1(a##1, 1, qs, qe, qn, out);                                                                           \
    } while (0)

/* AVX-VNNI (the VEX form of vpdpbusd, 8 lanes: Intel Alder Lake and later
 * without AVX-512) on the VNNI layout: a group of 16 items is two ymm
 * loads per 4-byte chunk; 6 queries x 16 items in 12 accumulators, 12
 * vpdpbusd per chunk (four products per lane each, like the 512-bit
 * kernel), then the same epilogue as the AVX2 kernel. */
#define V2_ROW(a) __m256i a##0 = _mm256_set1_epi32(-q->corr[r + a]), a##1 = a##0
#define V2_VPDPBUSD(acc, x, b) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(b))
#define V2_DP(a)                                                                                                     \
    do {                                                                                                             \
        int32_t b4;                                                                                                  \
        memcpy(&b4, qc + (size_t)(a) * w + ch * 4, 4);                                                               \
        __m256i b = _mm256_set1_epi32(b4);                                                                           \
        V2_VPDPBUSD(a##0, x0, b);                                                                                    \
        V2_VPDPBUSD(a##1, x1, b);                                                                                    \
    } while (0)

__attribute__((target("avx2,fma,avxvnni"))) static void block_avxvnni(const mr_q8_queries *q, int mpad,
                                                                     const mr_q8_items *it, int64_t i0, int ntile,
                                                                     float *U, int ldu)
{
    const int nch = it->nch, w = nch * 4;
    const size_t gstride = (size_t)nch * 64; /* bytes per group of 16 items */
    for (int t = 0; t < ntile; t++) {
        const int64_t ib = i0 + (int64_t)t * MR_Q8_TILE;
        const uint8_t *tc = it->codes + (size_t)(ib / 16) * gstride;
        for (int r = 0; r < mpad; r += MR_Q8_QT) {
            const int8_t *qc = q->codes + (size_t)r * w;
            for (int st = 0; st < MR_Q8_TILE / 16; st++) {
                const uint8_t *g = tc + (size_t)st * gstride;
                const float *sv = it->s + ib + 16 * st, *nv = it->nrm + ib + 16 * st, *ev = it->err + ib + 16 * st;
                enum { A = 0, B = 1, C = 2, D = 3, E = 4, F = 5 };
                V2_ROW(A);
                V2_ROW(B);
                V2_ROW(C);
                V2_ROW(D);
                V2_ROW(E);
                V2_ROW(F);
                int ch = 0;
                do { /* nch >= 1 */
                    __m256i x0 = _mm256_loadu_si256((const __m256i *)(g + (size_t)ch * 64));
                    __m256i x1 = _mm256_loadu_si256((const __m256i *)(g + (size_t)ch * 64 + 32));
                    V2_DP(A);
                    V2_DP(B);
                    V2_DP(C);
                    V2_DP(D);
                    V2_DP(E);
                    V2_DP(F);
                } while (++ch < nch);
                A2_OUT(A);
                A2_OUT(B);
                A2_OUT(C);
                A2_OUT(D);
                A2_OUT(E);
                A2_OUT(F);
            }
        }
    }
}

__attribute__((target("avx2,fma"))) static void block_avx2(const mr_q8_queries *q, int mpad, const mr_q8_items *it,
                                                           int64_t i0, int ntile, float *U, int ldu)
{
    const int np = 2 * it->nch, w = 4 * it->nch;
    const size_t gstride = (size_t)np * 16; /* int16 per group of 8 items */
    /* queries in slices whose int16 codes (qb w 2 bytes) and one tile of
     * items (64 w 2 bytes) stay in a 32 KB L1 together: at f = 64, 96
     * queries (12 KB) and 8 KB */
    int qb = (int)(16384 / ((size_t)w * 2)) / MR_Q8_QT * MR_Q8_QT;
    if (qb < MR_Q8_QT) qb = MR_Q8_QT;
    for (int r0 = 0; r0 < mpad; r0 += qb) {
        for (int t = 0; t < ntile; t++) {
            const int64_t ib = i0 + (int64_t)t * MR_Q8_TILE;
            const int16_t *tc = it->codes16 + (size_t)(ib / 8) * gstride;
            for (int r = r0; r < mpad && r < r0 + qb; r += MR_Q8_QT) {
                const int16_t *qc = q->codes16 + (size_t)r * w;
                for (int st = 0; st < MR_Q8_TILE / 16; st++) {
                    const int16_t *g = tc + (size_t)(2 * st) * gstride;
                    const float *sv = it->s + ib + 16 * st, *nv = it->nrm + ib + 16 * st, *ev = it->err + ib + 16 * st;
                    enum { A = 0, B = 1, C = 2, D = 3, E = 4, F = 5 };
                    A2_ROW(A);
                    A2_ROW(B);
                    A2_ROW(C);
                    A2_ROW(D);
                    A2_ROW(E);
                    A2_ROW(F);
                    for (int p = 0; p < np; p++) {
                        __m256i x0 = _mm256_loadu_si256((const __m256i *)(g + (size_t)p * 16));
                        __m256i x1 = _mm256_loadu_si256((const __m256i *)(g + gstride + (size_t)p * 16));
                        A2_DP(A);
                        A2_DP(B);
                        A2_DP(C);
                        A2_DP(D);
                        A2_DP(E);
                        A2_DP(F);
                    }
                    A2_OUT(A);
                    A2_OUT(B);
                    A2_OUT(C);
                    A2_OUT(D);
                    A2_OUT(E);
                    A2_OUT(F);
                }
            }
        }
    }
}
#endif

void mr_q8_block(const mr_q8_queries *q, int m, const mr_q8_items *it, int64_t i0, int mi, float *U, int ldu)
{
    int mpad = (m + MR_Q8_QT - 1) / MR_Q8_QT * MR_Q8_QT;
    int ntile = (mi + MR_Q8_TILE - 1) / MR_Q8_TILE;
#ifdef MR_Q8_X86
    if (it->kern == MR_Q8_VNNI) {
        block_vnni(q, mpad, it, i0, ntile, U, ldu);
        return;
    }
    if (it->kern == MR_Q8_AVX2) {
        block_avx2(q, mpad, it, i0, ntile, U, ldu);
        return;
    }
    if (it->kern == MR_Q8_AVXVNNI) {
        block_avxvnni(q, mpad, it, i0, ntile, U, ldu);
        return;
    }
#endif
    block_portable(q, mpad, it, i0, ntile, U, ldu);
}
