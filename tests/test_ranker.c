/* The ranker's candidate helpers (models/candidates.h) against independent
 * references: ALS lists against a brute-force double-precision scan of
 * every (user, item) pair with the history excluded; similar items of a
 * subset against a brute-force cosine scan. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "models/candidates.h"
#include "models/ranker.h"
#include "mr_test.h"

static double unit(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1.0p-53;
}

/* best k items of q by score (desc, ties by lower item), excluding ex[] */
static void brute(const float *q, const float *V, int64_t ni, int f, int k, const int32_t *ex, int64_t nex,
                  int normalise, int32_t *idx, double *sc)
{
    for (int j = 0; j < k; j++) idx[j] = -1, sc[j] = -INFINITY;
    double qn = 0;
    for (int a = 0; a < f; a++) qn += (double)q[a] * q[a];
    for (int64_t i = 0; i < ni; i++) {
        int skip = 0;
        for (int64_t e = 0; e < nex; e++) skip |= ex[e] == i;
        if (skip) continue;
        double d = 0, vn = 0;
        for (int a = 0; a < f; a++) d += (double)q[a] * V[i * f + a], vn += (double)V[i * f + a] * V[i * f + a];
        if (normalise) d = qn > 0 && vn > 0 ? d / sqrt(qn * vn) : 0;
        int p = k;
        while (p > 0 && (d > sc[p - 1] || idx[p - 1] < 0)) p--;
        if (p >= k) continue;
        memmove(idx + p + 1, idx + p, sizeof(int32_t) * (size_t)(k - p - 1));
        memmove(sc + p + 1, sc + p, sizeof(double) * (size_t)(k - p - 1));
        idx[p] = (int32_t)i, sc[p] = d;
    }
}

TEST(cand_als_recs_match_brute_force)
{
    enum { NU = 60, NI = 500, F = 8, K = 12 };
    uint64_t s = 7;
    float *U = malloc(sizeof(float) * NU * F), *V = malloc(sizeof(float) * NI * F);
    for (int j = 0; j < NU * F; j++) U[j] = (float)(unit(&s) - 0.3);
    for (int j = 0; j < NI * F; j++) V[j] = (float)(unit(&s) - 0.3);
    /* history: user u has u % 7 items (users 0, 7, ... have none), one of them among the user's best */
    mr_csr h = {.n_rows = NU, .n_cols = NI};
    h.indptr = malloc(sizeof(int64_t) * (NU + 1));
    h.indices = malloc(sizeof(int32_t) * NU * 7);
    h.indptr[0] = 0;
    for (int u = 0; u < NU; u++) {
        int n = u % 7;
        int32_t best[1];
        double bs[1];
        brute(U + u * F, V, NI, F, 1, NULL, 0, 0, best, bs);
        for (int j = 0; j < n; j++) h.indices[h.indptr[u] + j] = j == 0 ? best[0] : (int32_t)(unit(&s) * NI);
        /* sort and dedupe by hand */
        int32_t *r = h.indices + h.indptr[u];
        for (int a = 1; a < n; a++)
            for (int b = a; b > 0 && r[b - 1] > r[b]; b--) {
                int32_t t = r[b];
                r[b] = r[b - 1];
                r[b - 1] = t;
            }
        int m = 0;
        for (int a = 0; a < n; a++)
            if (m == 0 || r[m - 1] != r[a]) r[m++] = r[a];
        h.indptr[u + 1] = h.indptr[u] + m;
    }
    h.nnz = h.indptr[NU];
    int32_t users[5] = {3, 7, 8, 30, 59}; /* 7 has no history: no list */
    for (int pass = 0; pass < 2; pass++) {
        mr_cand_als_opts o = {.user_factors = U, .item_factors = V, .n_items = NI, .f = F, .hist = &h, .k = K, .prune = pass};
        mr_recs r;
        REQUIRE_OK(mr_cand_als_recs(&o, pass ? users : NULL, pass ? 5 : 0, &r));
        int64_t expect_users = 0;
        for (int u = 0; u < NU; u++) expect_users += (!pass && u % 7) || (pass && u % 7 && (u == 3 || u == 8 || u == 30 || u == 59));
        CHECK_INT(r.n_users, expect_users);
        for (int64_t k = 0; k < r.n_users; k++) {
            int32_t u = r.user_idx[k], bi[K];
            double bs[K];
            CHECK(u % 7 != 0);
            if (k) CHECK(r.user_idx[k] > r.user_idx[k - 1]);
            brute(U + u * F, V, NI, F, K, h.indices + h.indptr[u], h.indptr[u + 1] - h.indptr[u], 0, bi, bs);
            CHECK_INT(r.off[k + 1] - r.off[k], K);
            for (int j = 0; j < K && r.off[k] + j < r.off[k + 1]; j++) {
                CHECK_INT(r.item_idx[r.off[k] + j], bi[j]);
                CHECK(fabs(r.score[r.off[k] + j] - bs[j]) < 1e-5);
            }
        }
        mr_recs_free(&r);
    }
    /* bad input: unsorted users, out of range */
    int32_t bad1[2] = {5, 3}, bad2[1] = {NU};
    mr_cand_als_opts o = {.user_factors = U, .item_factors = V, .n_items = NI, .f = F, .hist = &h, .k = K};
    mr_recs r;
    CHECK(mr_cand_als_recs(&o, bad1, 2, &r) == MR_EINVAL);
    CHECK(mr_cand_als_recs(&o, bad2, 1, &r) == MR_EINVAL);
    free(U), free(V), mr_csr_free(&h);
}

TEST(cand_similar_matches_brute_force)
{
    enum { NI = 700, F = 6, K = 9 };
    uint64_t s = 11;
    float *V = malloc(sizeof(float) * NI * F);
    for (int j = 0; j < NI * F; j++) V[j] = (float)(unit(&s) - 0.5) * (float)(1 + j / F % 5);
    memset(V + 100 * F, 0, sizeof(float) * F); /* a zero item: cosine 0 with everything */
    memcpy(V + 400 * F, V + 12 * F, sizeof(float) * F);
    for (int a = 0; a < F; a++) V[400 * F + a] *= 3; /* 400 is 12 scaled: cosine 1 */
    int32_t items[4] = {12, 100, 399, 699}, idx[4 * K];
    float sc[4 * K];
    REQUIRE_OK(mr_cand_similar(V, NI, F, items, 4, K, idx, sc));
    for (int q = 0; q < 4; q++) {
        int32_t bi[K];
        double bs[K];
        brute(V + (int64_t)items[q] * F, V, NI, F, K, items + q, 1, 1, bi, bs);
        for (int j = 0; j < K; j++) {
            CHECK(fabs(sc[q * K + j] - bs[j]) < 1e-5);
            /* the zero item scores 0 against all: ties go to the lower item */
            CHECK_INT(idx[q * K + j], bi[j]);
            CHECK(idx[q * K + j] != items[q]);
        }
    }
    CHECK_INT(idx[0], 400);
    int32_t bad[1] = {NI};
    CHECK(mr_cand_similar(V, NI, F, bad, 1, K, idx, sc) == MR_EINVAL);
    free(V);
}

/* The flat forest against XGBoost's own predictor: a model trained here on
 * random data (both objectives, missing values included), every row scored
 * by both. The vector path runs on full 64-row blocks without NaN, the
 * scalar path on the rest; both must give XGBoost's floats. */
#include <xgboost/c_api.h>

#include "models/forest.h"

static void forest_case(const char *objective, int depth, int with_nan)
{
    enum { N = 3000, NF = 7 };
    uint64_t s = 99 + (uint64_t)depth;
    float *x = malloc(sizeof(float) * N * NF), *y = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) {
        double z = 0;
        for (int a = 0; a < NF; a++) {
            x[i * NF + a] = (float)(unit(&s) * 10 - 3);
            z += (a % 2 ? 1 : -0.5) * x[i * NF + a];
        }
        if (with_nan && i % 13 == 0) x[i * NF + i % NF] = NAN;
        y[i] = z + unit(&s) * 4 > 3;
    }
    DMatrixHandle dm;
    BoosterHandle b;
    REQUIRE(XGDMatrixCreateFromMat(x, N, NF, NAN, &dm) == 0);
    REQUIRE(XGDMatrixSetFloatInfo(dm, "label", y, N) == 0);
    if (strncmp(objective, "rank:", 5) == 0) {
        unsigned g[30];
        for (int k = 0; k < 30; k++) g[k] = N / 30;
        REQUIRE(XGDMatrixSetUIntInfo(dm, "group", g, 30) == 0);
    }
    char d[8];
    snprintf(d, sizeof d, "%d", depth);
    REQUIRE(XGBoosterCreate(&dm, 1, &b) == 0);
    XGBoosterSetParam(b, "objective", objective);
    XGBoosterSetParam(b, "tree_method", "hist");
    XGBoosterSetParam(b, "max_depth", d);
    XGBoosterSetParam(b, "nthread", "1");
    XGBoosterSetParam(b, "verbosity", "0");
    for (int it = 0; it < 25; it++) REQUIRE(XGBoosterUpdateOneIter(b, it, dm) == 0);
    bst_ulong len = 0, dim = 0;
    const char *js = NULL;
    const bst_ulong *shape = NULL;
    const float *res = NULL;
    REQUIRE(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &js) == 0);
    mr_forest f;
    REQUIRE_OK(mr_forest_from_json(js, (size_t)len, NF, &f));
    CHECK_INT(f.n_trees, 25);
    REQUIRE(XGBoosterPredict(b, dm, 0, 0, 0, &len, &res) == 0);
    REQUIRE(len == N);
    float *p1 = malloc(sizeof(float) * N), *p2 = malloc(sizeof(float) * N);
    mr_forest_predict(&f, x, N, p1);
    mr_forest_predict_scalar(&f, x, N, p2);
    int bad = 0;
    for (int i = 0; i < N && bad < 5; i++)
        if (p1[i] != res[i] || p2[i] != res[i]) {
            mr_test_fail(__FILE__, __LINE__, "%s depth %d row %d: xgboost %.9g, forest %.9g, scalar %.9g", objective, depth, i,
                         res[i], p1[i], p2[i]);
            bad++;
        }
    (void)shape, (void)dim;
    /* a model this code cannot represent is an error, not a wrong score */
    mr_forest g;
    CHECK(mr_forest_from_json(js, (size_t)len, 3, &g) == MR_EFORMAT); /* splits on features >= 3 */
    CHECK(mr_forest_from_json("{\"learner\": {}}", 15, NF, &g) == MR_EFORMAT);
    mr_forest_free(&f);
    XGBoosterFree(b);
    XGDMatrixFree(dm);
    free(x), free(y), free(p1), free(p2);
}

TEST(forest_matches_xgboost)
{
    forest_case("binary:logistic", 6, 0);
    forest_case("binary:logistic", 3, 1);
    forest_case("rank:ndcg", 6, 1);
    forest_case("rank:ndcg", 9, 0);
}

TEST(cand_similar_ivf)
{
    enum { NI = 4000, F = 8, K = 10, NQ = 300 };
    uint64_t s = 5;
    float *V = malloc(sizeof(float) * NI * F);
    for (int j = 0; j < NI * F; j++) V[j] = (float)(unit(&s) - 0.5);
    int32_t q[NQ], ei[NQ * K], ai[NQ * K];
    float es[NQ * K], as[NQ * K];
    for (int j = 0; j < NQ; j++) q[j] = (int32_t)(j * 13 % NI);
    REQUIRE_OK(mr_cand_similar(V, NI, F, q, NQ, K, ei, es));
    /* every cluster probed: the exact answer */
    double recall = 0;
    REQUIRE_OK(mr_cand_similar_ivf(V, NI, F, q, NQ, K, 20, 20, 1, ai, as, &recall));
    int bad = 0;
    for (int j = 0; j < NQ * K && bad < 5; j++)
        if (ai[j] != ei[j] || fabsf(as[j] - es[j]) > 1e-6f) {
            mr_test_fail(__FILE__, __LINE__, "query %d rank %d: exact %d %g, ivf %d %g", j / K, j % K, ei[j], es[j], ai[j], as[j]);
            bad++;
        }
    CHECK(recall == 1.0);
    /* a few clusters probed: what it finds is right, and recall is measured */
    REQUIRE_OK(mr_cand_similar_ivf(V, NI, F, q, NQ, K, 64, 8, 1, ai, as, &recall));
    CHECK(recall > 0.3 && recall < 1.0);
    for (int j = 0; j < NQ; j++)
        for (int r = 0; r < K; r++) {
            int32_t it = ai[j * K + r];
            CHECK(it != q[j]);
            if (it < 0) continue;
            double d = 0, a = 0, b = 0;
            for (int x = 0; x < F; x++) d += (double)V[q[j] * F + x] * V[it * F + x], a += (double)V[q[j] * F + x] * V[q[j] * F + x], b += (double)V[it * F + x] * V[it * F + x];
            CHECK(fabs(d / sqrt(a * b) - as[j * K + r]) < 1e-5);
            if (r) CHECK(as[j * K + r] <= as[j * K + r - 1]);
        }
    free(V);
}
