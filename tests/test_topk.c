/* The int8 path of the top-k engine (topk.h, topk_q8.h): it must return
 * exactly what mr_topk_brute returns, bit for bit, on the VNNI kernel, the
 * AVX2 kernel and the portable one (each where the CPU runs it), on random
 * and adversarial inputs; its bound must hold against a long double dot
 * product; the VNNI and AVX2 kernels must give the bounds of a scalar
 * reference bit for bit; the brute force itself is checked against long
 * double. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "models/similar.h"
#include "models/topk.h"
#include "models/topk_q8.h"
#include "mr_test.h"

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static double unit(uint64_t *s) { return (double)(rnd(s) >> 11) / 9007199254740992.0; }
static double gauss(uint64_t *s) { return sqrt(-2 * log(unit(s) + 1e-300)) * cos(6.283185307179586 * unit(s)); }

/* A random CSR (sorted rows) of density d; rows listed in `full` exclude everything. */
static void make_csr(mr_csr *m, int64_t nr, int64_t nc, double d, uint64_t seed, int64_t full)
{
    uint64_t s = seed | 1;
    m->n_rows = nr;
    m->n_cols = nc;
    m->indptr = calloc(nr + 1, sizeof(int64_t));
    m->indices = malloc(sizeof(int32_t) * (nr * nc + 1));
    m->data = malloc(sizeof(float) * (nr * nc + 1));
    int64_t nnz = 0;
    for (int64_t r = 0; r < nr; r++) {
        for (int64_t c = 0; c < nc; c++)
            if (r == full || unit(&s) < d) {
                m->indices[nnz] = (int32_t)c;
                m->data[nnz++] = 1;
            }
        m->indptr[r + 1] = nnz;
    }
    m->nnz = nnz;
}

static void free_csr(mr_csr *m)
{
    free(m->indptr), free(m->indices), free(m->data);
    memset(m, 0, sizeof *m);
}

/* the paths that must equal the brute force bit for bit (at most 4) */
static int int8_modes(int *modes)
{
    int n = 0;
    modes[n++] = MR_TOPK_INT8_PORTABLE;
    if (mr_q8_have_avx2()) modes[n++] = MR_TOPK_INT8_AVX2;
    if (mr_q8_have_avxvnni()) modes[n++] = MR_TOPK_INT8_AVXVNNI;
    if (mr_q8_have_vnni()) modes[n++] = MR_TOPK_INT8;
    return n;
}

/* the kernels this CPU runs (at most 4) */
static int q8_kernels(int *kerns)
{
    int n = 0;
    kerns[n++] = MR_Q8_PORTABLE;
    if (mr_q8_have_avx2()) kerns[n++] = MR_Q8_AVX2;
    if (mr_q8_have_avxvnni()) kerns[n++] = MR_Q8_AVXVNNI;
    if (mr_q8_have_vnni()) kerns[n++] = MR_Q8_VNNI;
    return n;
}

/* Compares bit for bit; reports the first few differences. */
static int same_bits(const char *what, int mode, const int32_t *bi, const float *bs, const int32_t *ti,
                     const float *ts, int64_t rows, int k)
{
    int bad = 0;
    for (int64_t j = 0; j < rows * k && bad < 5; j++)
        if (bi[j] != ti[j] || memcmp(&bs[j], &ts[j], sizeof(float)) != 0) {
            mr_test_fail(__FILE__, __LINE__, "%s mode %d row %lld rank %lld: brute %d %.9g, engine %d %.9g", what, mode,
                         (long long)(j / k), (long long)(j % k), bi[j], bs[j], ti[j], ts[j]);
            bad++;
        }
    return bad == 0;
}

/* Factor generators for the cases below. */
enum { GAUSS, HEAVY, TIES, ZEROS, SCALES, HALFWAY };

static void fill(float *X, int64_t n, int f, int kind, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++) {
        float *x = X + i * f;
        for (int a = 0; a < f; a++) x[a] = (float)gauss(s);
        switch (kind) {
        case HEAVY: { /* ALS-like: norms spread over three decades */
            double sc = pow(10, -3 * unit(s));
            for (int a = 0; a < f; a++) x[a] = (float)(x[a] * sc + 0.3 * sc);
            break;
        }
        case TIES: /* few distinct rows: many exact ties */
            if (i >= 4) memcpy(x, X + (i % 4) * f, sizeof(float) * f);
            break;
        case ZEROS:
            if (i % 3 == 0) memset(x, 0, sizeof(float) * f);
            break;
        case SCALES: { /* tiny, huge, subnormal and out-of-range rows */
            static const double sc[] = {1, 0x1p-60, 0x1p-45, 0x1p-39, 0x1p-20, 0x1p20, 0x1p39, 0x1p45, 0x1p55, 1e-42};
            double m = sc[i % 10];
            for (int a = 0; a < f; a++) x[a] = (float)(x[a] * m);
            break;
        }
        case HALFWAY: { /* every value halfway between two int8 steps: the worst rounding */
            float mx = 0;
            for (int a = 0; a < f; a++) mx = fmaxf(mx, fabsf(x[a]));
            float step = mx / 127;
            for (int a = 0; a < f; a++) x[a] = (floorf(x[a] / step) + 0.5f) * step;
            x[0] = mx;
            break;
        }
        }
    }
}

static void run_case(int64_t nq, int64_t ni, int f, int k, int qkind, int ikind, double excl, int64_t full_row,
                     uint64_t seed)
{
    uint64_t s = seed;
    float *Q = malloc(sizeof(float) * (nq * f + 1)), *V = malloc(sizeof(float) * (ni * f + 1));
    fill(Q, nq, f, qkind, &s);
    fill(V, ni, f, ikind, &s);
    /* some queries equal some items: scores of exact ties with the item itself */
    for (int64_t q = 0; q < nq && q < ni; q += 7) memcpy(Q + q * f, V + (q * 3 % ni) * f, sizeof(float) * f);
    mr_csr ex = {0};
    if (excl > 0 || full_row >= 0) make_csr(&ex, nq, ni, excl, seed + 11, full_row);
    int32_t *bi = malloc(sizeof(int32_t) * nq * k), *ti = malloc(sizeof(int32_t) * nq * k);
    float *bs = malloc(sizeof(float) * nq * k), *ts = malloc(sizeof(float) * nq * k);
    mr_topk_opts o = {.k = k, .exclude = ex.indptr ? &ex : NULL};
    REQUIRE_OK(mr_topk_brute(Q, nq, V, ni, f, &o, bi, bs));
    int modes[4], nm = int8_modes(modes);
    for (int m = 0; m < nm; m++)
        for (int prune = 0; prune < 2; prune++) {
            o.mode = modes[m];
            o.prune = prune;
            memset(ti, 0x55, sizeof(int32_t) * nq * k);
            REQUIRE_OK(mr_topk(Q, nq, V, ni, f, &o, ti, ts));
            CHECK_INT(o.path, modes[m]);
            char what[96];
            snprintf(what, sizeof what, "%lldx%lldx%d k=%d kinds %d/%d prune %d", (long long)nq, (long long)ni, f, k,
                     qkind, ikind, prune);
            if (!same_bits(what, modes[m], bi, bs, ti, ts, nq, k)) goto out;
            CHECK(o.rescored <= o.scored && o.scored <= nq * ni);
        }
out:
    if (ex.indptr) free_csr(&ex);
    free(Q), free(V), free(bi), free(ti), free(bs), free(ts);
}

TEST(topk_int8_equals_brute_bitwise)
{
    run_case(300, 2500, 16, 10, GAUSS, GAUSS, 0.1, -1, 1);    /* blocks of neither size divide */
    run_case(700, 1100, 64, 100, HEAVY, HEAVY, 0.05, 3, 2);   /* two query blocks, two item blocks, a row excluding all */
    run_case(37, 301, 5, 7, GAUSS, TIES, 0.2, -1, 3);         /* f not a multiple of 4; exact ties */
    run_case(50, 200, 7, 12, ZEROS, ZEROS, 0, -1, 4);         /* zero queries and items: all scores 0 */
    run_case(60, 400, 9, 9, SCALES, SCALES, 0.1, -1, 5);      /* norms from 1e-45 to 2^55 */
    run_case(45, 333, 64, 20, HALFWAY, HALFWAY, 0, -1, 6);    /* worst-case rounding */
    run_case(13, 5, 3, 10, GAUSS, GAUSS, 0.3, 2, 7);          /* k > eligible items: -1 padding */
    run_case(1, 1, 1, 1, GAUSS, GAUSS, 0, -1, 8);             /* one of everything */
    run_case(9, 70, 1, 4, HEAVY, GAUSS, 0, -1, 9);            /* f = 1 */
    run_case(20, 150, 130, 5, GAUSS, HEAVY, 0.02, -1, 10);    /* f > 128: more chunks */
    /* adversarial rows across several item blocks */
    run_case(40, 3000, 9, 9, SCALES, SCALES, 0.05, 1, 11);
    run_case(31, 2200, 6, 15, ZEROS, TIES, 0.1, -1, 12);
    run_case(25, 2100, 64, 30, HALFWAY, HEAVY, 0, -1, 13);
}

/* Above MR_Q8_MAX_F factors the int32 dot product could overflow: fp32. */
TEST(topk_int8_large_f_falls_back)
{
    int f = MR_Q8_MAX_F + 1;
    float *Q = calloc((size_t)f * 2, sizeof(float)), *V = calloc((size_t)f * 3, sizeof(float));
    for (int a = 0; a < f; a++) Q[a] = V[a] = V[2 * f + a] = 1, V[f + a] = -1;
    int32_t idx[4];
    float sc[4];
    mr_topk_opts o = {.k = 2, .mode = MR_TOPK_INT8};
    REQUIRE_OK(mr_topk(Q, 2, V, 3, f, &o, idx, sc));
    CHECK_INT(o.path, MR_TOPK_FP32);
    CHECK_INT(idx[0], 0);
    CHECK_INT(idx[1], 2);
    free(Q), free(V);
}

/* Pruning really prunes on ALS-like norms, and the answer does not move. */
TEST(topk_int8_prune_and_counts)
{
    int64_t nq = 200, ni = 5000;
    int f = 16, k = 10;
    uint64_t s = 21;
    float *Q = malloc(sizeof(float) * nq * f), *V = malloc(sizeof(float) * ni * f);
    fill(Q, nq, f, GAUSS, &s);
    for (int64_t i = 0; i < ni; i++) { /* a few items with large norms, aligned with everyone */
        double sc = i % 97 == 0 ? 10 : 0.01;
        for (int a = 0; a < f; a++) V[i * f + a] = (float)(sc * (gauss(&s) * 0.2 + (a == 0 ? 1 : 0)));
    }
    for (int64_t q = 0; q < nq; q++) Q[q * f] = fabsf(Q[q * f]) + 2;
    int32_t *ai = malloc(sizeof(int32_t) * nq * k), *bi = malloc(sizeof(int32_t) * nq * k);
    float *as = malloc(sizeof(float) * nq * k), *bs = malloc(sizeof(float) * nq * k);
    mr_topk_opts o = {.k = k, .mode = MR_TOPK_INT8};
    REQUIRE_OK(mr_topk(Q, nq, V, ni, f, &o, ai, as));
    CHECK(o.scored == nq * ni);
    CHECK(o.rescored >= nq * k);       /* at least the first k of every query */
    CHECK(o.rescored < nq * ni / 20); /* and far from everything */
    o.prune = 1;
    REQUIRE_OK(mr_topk(Q, nq, V, ni, f, &o, bi, bs));
    CHECK(o.scored < nq * ni / 2);
    CHECK(memcmp(ai, bi, sizeof(int32_t) * nq * k) == 0 && memcmp(as, bs, sizeof(float) * nq * k) == 0);
    free(Q), free(V), free(ai), free(bi), free(as), free(bs);
}

TEST(topk_self_int8_equals_brute_bitwise)
{
    int64_t sizes[4] = {1, 2, 700, 1100};
    for (int c = 0; c < 4; c++) {
        int64_t n = sizes[c];
        int f = c == 3 ? 64 : 6, k = c == 0 ? 3 : c == 1 ? 4 : 9;
        uint64_t s = 60 + c;
        float *V = malloc(sizeof(float) * n * f);
        fill(V, n, f, GAUSS, &s);
        for (int64_t i = 0; i < n; i++) {
            double q = 0;
            for (int a = 0; a < f; a++) q += (double)V[i * f + a] * V[i * f + a];
            for (int a = 0; a < f; a++) V[i * f + a] = (float)(V[i * f + a] / sqrt(q));
        }
        if (n > 600) {
            memcpy(V + 530 * f, V + 20 * f, sizeof(float) * f); /* twins across blocks */
            memcpy(V + 531 * f, V + 20 * f, sizeof(float) * f);
            memset(V + 40 * f, 0, sizeof(float) * f); /* a zero row */
        }
        int32_t *bi = malloc(sizeof(int32_t) * n * k), *ti = malloc(sizeof(int32_t) * n * k);
        float *bs = malloc(sizeof(float) * n * k), *ts = malloc(sizeof(float) * n * k);
        mr_topk_opts bo = {.k = k, .exclude_self = 1};
        REQUIRE_OK(mr_topk_brute(V, n, V, n, f, &bo, bi, bs));
        int modes[4], nm = int8_modes(modes);
        for (int m = 0; m < nm; m++) {
            mr_topk_opts o = {.k = k, .mode = modes[m]};
            REQUIRE_OK(mr_topk_self(V, n, f, &o, ti, ts));
            CHECK_INT(o.path, modes[m]);
            same_bits("self", modes[m], bi, bs, ti, ts, n, k);
        }
        if (n > 600) {
            CHECK_INT(ti[20 * k], 530);
            CHECK_INT(ti[20 * k + 1], 531);
            CHECK_INT(ti[531 * k], 20);
        }
        free(V), free(bi), free(ti), free(bs), free(ts);
    }
}

/* similar items through the int8 path equal the brute force on the
 * normalised factors */
TEST(similar_int8_equals_brute)
{
    int64_t n = 900;
    int f = 12, k = 5;
    uint64_t s = 5;
    float *V = malloc(sizeof(float) * n * f), *N = malloc(sizeof(float) * n * f);
    fill(V, n, f, HEAVY, &s);
    for (int64_t i = 0; i < n; i++) { /* the normalisation similar.c does */
        double q = 0;
        for (int a = 0; a < f; a++) q += (double)V[i * f + a] * V[i * f + a];
        float inv = q > 0 ? (float)(1.0 / sqrt(q)) : 0.0f;
        for (int a = 0; a < f; a++) N[i * f + a] = V[i * f + a] * inv;
    }
    int32_t *bi = malloc(sizeof(int32_t) * n * k), *ti = malloc(sizeof(int32_t) * n * k);
    float *bs = malloc(sizeof(float) * n * k), *ts = malloc(sizeof(float) * n * k);
    mr_topk_opts bo = {.k = k, .exclude_self = 1};
    REQUIRE_OK(mr_topk_brute(N, n, N, n, f, &bo, bi, bs));
    int modes[4], nm = int8_modes(modes);
    for (int m = 0; m < nm; m++) {
        mr_topk_opts o = {.mode = modes[m]};
        memset(ti, 0x55, sizeof(int32_t) * n * k);
        REQUIRE_OK(mr_similar_compute_opts(V, n, f, k, &o, ti, ts));
        CHECK_INT(o.path, modes[m]);
        same_bits("similar", o.path, bi, bs, ti, ts, n, k);
        CHECK(o.rescored > 0 && o.rescored < n * n / 4);
    }
    free(V), free(N), free(bi), free(ti), free(bs), free(ts);
}

/* The bound itself, against a long double dot product, for every kernel
 * and every kind of row. */
TEST(topk_int8_bound_holds)
{
    const int f = 19, m = 31, n = 200;
    uint64_t s = 77;
    int kinds[5] = {GAUSS, HEAVY, ZEROS, SCALES, HALFWAY};
    float *Q = malloc(sizeof(float) * m * f), *V = malloc(sizeof(float) * n * f);
    float *U = malloc(sizeof(float) * 36 * 256);
    for (int kq = 0; kq < 5; kq++)
        for (int kv = 0; kv < 5; kv++) {
            fill(Q, m, f, kinds[kq], &s);
            fill(V, n, f, kinds[kv], &s);
            mr_q8_queries qq;
            REQUIRE_OK(mr_q8_queries_alloc(&qq, m, f));
            REQUIRE(mr_q8_queries_set(&qq, Q, m) == 0);
            int kerns[4], nk = q8_kernels(kerns);
            for (int kk = 0; kk < nk; kk++) {
                int bad = 0, vn = kerns[kk];
                mr_q8_items it;
                REQUIRE_OK(mr_q8_items_build(V, n, f, NULL, vn, &it));
                mr_q8_block(&qq, m, &it, 0, n, U, 256);
                mr_q8_items_free(&it);
                for (int r = 0; r < m && bad < 3; r++)
                    for (int j = 0; j < n && bad < 3; j++) {
                        long double d = 0, nn = 0;
                        for (int a = 0; a < f; a++) {
                            d += (long double)Q[r * f + a] * V[j * f + a];
                            nn += (long double)Q[r * f + a] * Q[r * f + a];
                        }
                        float u = U[r * 256 + j];
                        /* an upper bound up to float underflow (2^-149 per
                           rounding), which the threshold's 2^-120 covers */
                        if (!isnan(u) && !((long double)u + 0x1p-140L >= d)) {
                            mr_test_fail(__FILE__, __LINE__, "kinds %d/%d kernel %d: U(%d,%d) = %.9g < q.v = %.12Lg", kq,
                                         kv, vn, r, j, u, d);
                            bad++;
                        }
                        /* and useful: within 5% of |q||v| for unit-scale rows */
                        if (kq <= 1 && kv <= 1 && !(u - d <= 0.05L * sqrtl(nn) * 10)) {
                            mr_test_fail(__FILE__, __LINE__, "kinds %d/%d: U(%d,%d) = %.9g is loose (q.v = %.9Lg)", kq,
                                         kv, r, j, u, d);
                            bad++;
                        }
                    }
            }
            mr_q8_queries_free(&qq);
        }
    free(Q), free(V), free(U);
}

/* a * b rounded to float, kept out of any FMA contraction */
static float mul_rounded(float a, float b)
{
    volatile float p = a * b;
    return p;
}

/* The VNNI, AVX-VNNI and AVX2 kernels against a scalar reference of the bound, bit
 * for bit: the integer dot product of the codes (read from the portable
 * layout, in 64-bit) and the epilogue's float operations (fmaf), on every
 * kind of row, with a block that starts past the first tile, ends inside a
 * tile and holds a number of queries that is not a multiple of MR_Q8_QT
 * (and, at f = 130, more than one of the AVX2 kernel's query slices), and
 * with f values that exercise every chunk shape. A wrong product,
 * lane, layout, padding or epilogue order changes some bit. */
TEST(topk_int8_kernels_equal_reference_bitwise)
{
    /* m: at f = 130 the AVX2 kernel takes queries in slices of 60 */
    const int fs[5] = {1, 6, 19, 64, 130}, m = 67, n = 333, ldu = 320;
    int kinds[6] = {GAUSS, HEAVY, ZEROS, SCALES, HALFWAY, TIES};
    uint64_t s = 91;
    float *U = malloc(sizeof(float) * 72 * ldu);
    int kerns[4], nk = q8_kernels(kerns), checked = 0;
    for (int fi = 0; fi < 5; fi++)
        for (int kind = 0; kind < 6; kind++) {
            int f = fs[fi];
            float *Q = malloc(sizeof(float) * m * f), *V = malloc(sizeof(float) * n * f);
            fill(Q, m, f, kinds[kind], &s);
            fill(V, n, f, kinds[(kind + 1) % 6], &s);
            /* extreme codes: +-127 in every lane of some rows */
            for (int a = 0; a < f; a++) Q[a] = V[a] = (a & 1) ? -1.0f : 1.0f, V[f + a] = -1.0f;
            mr_q8_queries qq;
            mr_q8_items ref;
            REQUIRE_OK(mr_q8_queries_alloc(&qq, m, f));
            REQUIRE(mr_q8_queries_set(&qq, Q, m) == 0);
            REQUIRE_OK(mr_q8_items_build(V, n, f, NULL, MR_Q8_PORTABLE, &ref));
            for (int kk = 0; kk < nk; kk++) {
                if (kerns[kk] == MR_Q8_PORTABLE) continue;
                mr_q8_items it;
                REQUIRE_OK(mr_q8_items_build(V, n, f, NULL, kerns[kk], &it));
                const int64_t i0 = MR_Q8_TILE;
                const int mi = n - MR_Q8_TILE;
                memset(U, 0xff, sizeof(float) * 72 * ldu);
                mr_q8_block(&qq, m, &it, i0, mi, U, ldu);
                int bad = 0;
                for (int r = 0; r < m && bad < 3; r++)
                    for (int j = 0; j < mi && bad < 3; j++) {
                        int64_t i = i0 + j;
                        const uint8_t *g = ref.codes + (size_t)(i / 16) * ref.nch * 64 + (size_t)(i % 16) * 4;
                        int64_t acc = 0;
                        for (int a = 0; a < 4 * ref.nch; a++)
                            acc += (int64_t)((int)g[(size_t)(a / 4) * 64 + a % 4] - 128) * qq.codes[r * 4 * qq.nch + a];
                        float want = fmaf(mul_rounded((float)acc, ref.s[i]), qq.s[r],
                                          fmaf(qq.err[r], ref.nrm[i], mul_rounded(qq.nh[r], ref.err[i])));
                        float got = U[r * ldu + j];
                        if (memcmp(&want, &got, sizeof want) != 0) {
                            mr_test_fail(__FILE__, __LINE__, "f %d kinds %d kernel %d: U(%d,%lld) = %a, reference %a",
                                         f, kind, kerns[kk], r, (long long)i, got, want);
                            bad++;
                        }
                    }
                checked++;
                mr_q8_items_free(&it);
            }
            mr_q8_items_free(&ref);
            mr_q8_queries_free(&qq);
            free(Q), free(V);
        }
    if (!mr_q8_have_avx2()) printf("  (no AVX2 here: only the portable kernel ran)\n");
    CHECK(checked == 30 * (nk - 1));
    free(U);
}

/* MUSREC_TOPK picks the path when the mode is auto; the path names the
 * kernel that ran. */
TEST(topk_env_picks_kernel)
{
    const char *old = getenv("MUSREC_TOPK");
    char *saved = old ? strdup(old) : NULL;
    float Q[4 * 3] = {1, 2, 3, -1, 0, 2, 0, 0, 1, 5, 5, 5}, V[3 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    int32_t idx[8];
    float sc[8];
    struct {
        const char *env;
        int want;
    } c[6] = {{"fp32", MR_TOPK_FP32},
              {"int8", mr_q8_have_vnni()      ? MR_TOPK_INT8
                       : mr_q8_have_avxvnni() ? MR_TOPK_INT8_AVXVNNI
                       : mr_q8_have_avx2()    ? MR_TOPK_INT8_AVX2
                                              : MR_TOPK_INT8_PORTABLE},
              {"int8-avx2", mr_q8_have_avx2() ? MR_TOPK_INT8_AVX2 : MR_TOPK_INT8_PORTABLE},
              {"avx2", mr_q8_have_avx2() ? MR_TOPK_INT8_AVX2 : MR_TOPK_INT8_PORTABLE},
              {"int8-avxvnni", mr_q8_have_avxvnni() ? MR_TOPK_INT8_AVXVNNI
                               : mr_q8_have_avx2()  ? MR_TOPK_INT8_AVX2
                                                    : MR_TOPK_INT8_PORTABLE},
              {"portable", MR_TOPK_INT8_PORTABLE}};
    for (int t = 0; t < 6; t++) {
        setenv("MUSREC_TOPK", c[t].env, 1);
        mr_topk_opts o = {.k = 2};
        REQUIRE_OK(mr_topk(Q, 4, V, 3, 3, &o, idx, sc));
        CHECK_INT(o.path, c[t].want);
        CHECK_INT(idx[0], 2); /* q0 = (1, 2, 3): item 2 then 1 */
        CHECK_INT(idx[1], 1);
        CHECK_INT(idx[6], 0); /* q3 = (5, 5, 5): a three-way tie, lowest index first */
        CHECK_INT(idx[7], 1);
    }
    /* auto without the variable: int8 for a bulk call on VNNI or AVX-VNNI; on
       AVX2 only for a full scan (with pruning fp32 is faster there); few
       queries: fp32 */
    unsetenv("MUSREC_TOPK");
    {
        const int nq = 2048, f = 4, ni = 10;
        float *BQ = malloc(sizeof(float) * nq * f), *BV = malloc(sizeof(float) * ni * f);
        int32_t *bi = malloc(sizeof(int32_t) * nq * 3);
        float *bs = malloc(sizeof(float) * nq * 3);
        uint64_t st = 5;
        fill(BQ, nq, f, GAUSS, &st);
        fill(BV, ni, f, GAUSS, &st);
        int vn = mr_q8_have_vnni(), a2 = mr_q8_have_avx2();
        int nv = mr_q8_have_avxvnni() ? MR_TOPK_INT8_AVXVNNI : MR_TOPK_INT8_AVX2; /* no AVX-512 */
        for (int prune = 0; prune < 2; prune++) {
            mr_topk_opts o = {.k = 3, .prune = prune};
            REQUIRE_OK(mr_topk(BQ, nq, BV, ni, f, &o, bi, bs));
            int want = vn                                 ? MR_TOPK_INT8
                       : nv == MR_TOPK_INT8_AVXVNNI       ? nv /* AVX-VNNI: int8 also when pruning */
                       : a2 && !prune                     ? nv
                                                          : MR_TOPK_FP32;
            CHECK_INT(o.path, want);
            REQUIRE_OK(mr_topk(BQ, nq - 1, BV, ni, f, &o, bi, bs));
            CHECK_INT(o.path, MR_TOPK_FP32);
        }
        mr_topk_opts o = {.k = 3};
        REQUIRE_OK(mr_topk_self(BQ, nq, f, &o, bi, bs));
        CHECK_INT(o.path, vn ? MR_TOPK_INT8 : a2 ? nv : MR_TOPK_FP32);
        free(BQ), free(BV), free(bi), free(bs);
    }
    CHECK(!strcmp(mr_topk_path_name(MR_TOPK_INT8_AVX2), "int8-avx2"));
    CHECK(!strcmp(mr_topk_path_name(MR_TOPK_INT8_AVXVNNI), "int8-avxvnni"));
    CHECK(!strcmp(mr_topk_path_name(MR_TOPK_INT8), "int8-vnni"));
    if (saved) setenv("MUSREC_TOPK", saved, 1);
    else unsetenv("MUSREC_TOPK");
    free(saved);
}

/* The reference: every score of the brute force is the long double dot
 * product rounded to float, to within the double summation's error (one
 * float ulp at most here). */
TEST(topk_brute_scores_are_exact)
{
    const int f = 64, nq = 20, ni = 300;
    uint64_t s = 3;
    float *Q = malloc(sizeof(float) * nq * f), *V = malloc(sizeof(float) * ni * f);
    fill(Q, nq, f, HEAVY, &s);
    fill(V, ni, f, GAUSS, &s);
    int32_t idx[20 * 300];
    float sc[20 * 300];
    mr_topk_opts o = {.k = ni};
    REQUIRE_OK(mr_topk_brute(Q, nq, V, ni, f, &o, idx, sc));
    for (int q = 0; q < nq; q++)
        for (int r = 0; r < ni; r++) {
            int i = idx[q * ni + r];
            long double d = 0;
            for (int a = 0; a < f; a++) d += (long double)Q[q * f + a] * V[i * f + a];
            float want = (float)d, got = sc[q * ni + r];
            if (got != want && got != nextafterf(want, INFINITY) && got != nextafterf(want, -INFINITY)) {
                mr_test_fail(__FILE__, __LINE__, "query %d item %d: %.9g, long double %.9g", q, i, got, want);
                q = nq;
                break;
            }
        }
    free(Q), free(V);
}

TEST(topk_int8_rejects_non_finite)
{
    float Q[2 * 3] = {1, 2, 3, 4, 5, 6}, V[3 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    int32_t idx[4];
    float sc[4];
    mr_topk_opts o = {.k = 2, .mode = MR_TOPK_INT8};
    Q[4] = NAN;
    CHECK_ERR(mr_topk(Q, 2, V, 3, 3, &o, idx, sc), "query row 1 has a non-finite value");
    Q[4] = 5;
    V[7] = INFINITY;
    CHECK_ERR(mr_topk(Q, 2, V, 3, 3, &o, idx, sc), "item row 2 has a non-finite value");
    mr_topk_opts so = {.k = 1, .mode = MR_TOPK_INT8};
    CHECK_ERR(mr_topk_self(V, 3, 3, &so, idx, sc), "item row 2 has a non-finite value");
    o.mode = MR_TOPK_INT8_AVX2;
    V[7] = NAN;
    CHECK_ERR(mr_topk(Q, 2, V, 3, 3, &o, idx, sc), "item row 2 has a non-finite value");
    so.mode = MR_TOPK_INT8_AVX2;
    CHECK_ERR(mr_topk_self(V, 3, 3, &so, idx, sc), "item row 2 has a non-finite value");
    o.mode = 9;
    CHECK_ERR(mr_topk(Q, 2, V, 3, 3, &o, idx, sc), "unknown mode");
}
