/* ALS, the top-k engine and similar items: unit tests.
 * Independent checks: the loss is recomputed by the definition (all u, i
 * pairs, in double); the exact solver's solution is checked against the
 * normal equations; top-k against a one-dot-at-a-time brute force. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "data/recs.h"
#include "models/als.h"
#include "models/similar.h"
#include "models/topk.h"
#include "mr_test.h"

#include <omp.h>

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) / 9007199254740992.0; }

/* A random users x items CSR with sorted rows; density d; values 1..5.
 * Rows listed in `empty` get no entries. */
static void random_csr(mr_csr *m, int64_t nu, int64_t ni, double d, uint64_t seed)
{
    uint64_t s = seed | 1;
    m->n_rows = nu;
    m->n_cols = ni;
    m->indptr = calloc(nu + 1, sizeof(int64_t));
    m->indices = malloc(sizeof(int32_t) * (nu * ni + 1));
    m->data = malloc(sizeof(float) * (nu * ni + 1));
    int64_t nnz = 0;
    for (int64_t u = 0; u < nu; u++) {
        for (int64_t i = 0; i < ni; i++)
            if (rng_unit(&s) < d) {
                m->indices[nnz] = (int32_t)i;
                m->data[nnz++] = (float)(1 + rng_next(&s) % 5);
            }
        m->indptr[u + 1] = nnz;
    }
    m->nnz = nnz;
}

static void free_csr(mr_csr *m)
{
    free(m->indptr);
    free(m->indices);
    free(m->data);
    memset(m, 0, sizeof *m);
}

static void transpose(const mr_csr *a, mr_csr *t)
{
    t->n_rows = a->n_cols;
    t->n_cols = a->n_rows;
    t->nnz = a->nnz;
    t->indptr = calloc(t->n_rows + 1, sizeof(int64_t));
    t->indices = malloc(sizeof(int32_t) * (a->nnz + 1));
    t->data = malloc(sizeof(float) * (a->nnz + 1));
    for (int64_t j = 0; j < a->nnz; j++) t->indptr[a->indices[j] + 1]++;
    for (int64_t r = 0; r < t->n_rows; r++) t->indptr[r + 1] += t->indptr[r];
    int64_t *pos = malloc(sizeof(int64_t) * (t->n_rows + 1));
    memcpy(pos, t->indptr, sizeof(int64_t) * (t->n_rows + 1));
    for (int64_t u = 0; u < a->n_rows; u++)
        for (int64_t j = a->indptr[u]; j < a->indptr[u + 1]; j++) {
            int64_t p = pos[a->indices[j]]++;
            t->indices[p] = (int32_t)u;
            t->data[p] = a->data[j];
        }
    free(pos);
}

/* The loss by its definition: every (u, i) pair. */
static double loss_by_definition(const mr_csr *ui, const mr_als_model *m, double alpha, double lambda)
{
    int f = m->factors;
    double L = 0;
    for (int64_t u = 0; u < m->n_users; u++) {
        int64_t j = ui->indptr[u];
        for (int64_t i = 0; i < m->n_items; i++) {
            double s = 0;
            for (int a = 0; a < f; a++) s += (double)m->user_factors[u * f + a] * m->item_factors[i * f + a];
            double c = 1, p = 0;
            if (j < ui->indptr[u + 1] && ui->indices[j] == i) {
                c = 1 + alpha * ui->data[j++];
                p = 1;
            }
            L += c * (p - s) * (p - s);
        }
    }
    double n = 0;
    for (int64_t j = 0; j < m->n_users * f; j++) n += (double)m->user_factors[j] * m->user_factors[j];
    for (int64_t j = 0; j < m->n_items * f; j++) n += (double)m->item_factors[j] * m->item_factors[j];
    return L + lambda * n;
}

static int all_finite(const float *x, int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(x[j])) return 0;
    return 1;
}

TEST(als_loss_matches_definition)
{
    mr_csr ui, iu;
    random_csr(&ui, 30, 20, 0.2, 7);
    transpose(&ui, &iu);
    mr_als_opts o;
    mr_als_opts_default(&o);
    o.factors = 5;
    o.iterations = 2;
    o.alpha = 2.5;
    mr_als_model m;
    REQUIRE_OK(mr_als_init(&m, 30, 20, 5, 1));
    REQUIRE_OK(mr_als_fit(&ui, &iu, &o, &m, NULL, NULL));
    double a = mr_als_loss(&ui, &m, &o), b = loss_by_definition(&ui, &m, o.alpha, o.regularization);
    CHECK_NEAR(a, b, 1e-9 * fabs(b));
    mr_als_free(&m);
    free_csr(&ui);
    free_csr(&iu);
}

/* The loss mr_als_fit reports per iteration (computed inside the item
 * half-step) is the loss by definition of the factors after that iteration,
 * for both solvers, including rows that are empty. */
typedef struct {
    double loss[4];
    int n;
} loss_log;

static void record_loss(void *ud, int it, double secs, double loss)
{
    (void)secs;
    loss_log *l = ud;
    if (it >= 1 && it <= 4) l->loss[it - 1] = loss;
    l->n = it;
}

TEST(als_fit_reports_the_loss_by_definition)
{
    for (int solver = 0; solver < 2; solver++) {
        mr_csr ui, iu;
        random_csr(&ui, 40, 25, 0.2, 17 + solver);
        /* an empty user row */
        int64_t gone = ui.indptr[4] - ui.indptr[3];
        for (int64_t j = ui.indptr[4]; j < ui.nnz; j++) {
            ui.indices[j - gone] = ui.indices[j];
            ui.data[j - gone] = ui.data[j];
        }
        for (int64_t r = 4; r <= ui.n_rows; r++) ui.indptr[r] -= gone;
        ui.nnz -= gone;
        transpose(&ui, &iu);
        mr_als_opts o;
        mr_als_opts_default(&o);
        o.factors = 6;
        o.alpha = 4;
        o.solver = solver ? MR_ALS_CHOLESKY : MR_ALS_CG;
        o.compute_loss = 1;
        mr_als_model m, m2;
        REQUIRE_OK(mr_als_init(&m, 40, 25, 6, 9));
        REQUIRE_OK(mr_als_init(&m2, 40, 25, 6, 9));
        for (int it = 1; it <= 3; it++) {
            o.iterations = it;
            loss_log l = {0};
            memcpy(m.user_factors, m2.user_factors, sizeof(float) * 40 * 6);
            memcpy(m.item_factors, m2.item_factors, sizeof(float) * 25 * 6);
            REQUIRE_OK(mr_als_fit(&ui, &iu, &o, &m, record_loss, &l));
            CHECK(l.n == it);
            double want = loss_by_definition(&ui, &m, o.alpha, o.regularization);
            CHECK_NEAR(l.loss[it - 1], want, 1e-5 * fabs(want));
        }
        mr_als_free(&m);
        mr_als_free(&m2);
        free_csr(&ui);
        free_csr(&iu);
    }
}

/* The exact solver minimises over X given Y, so each half-step cannot
 * increase the loss (up to rounding: float factors, relative 1e-6). */
TEST(als_cholesky_loss_never_increases)
{
    mr_csr ui, iu;
    random_csr(&ui, 60, 40, 0.15, 11);
    transpose(&ui, &iu);
    mr_als_opts o;
    mr_als_opts_default(&o);
    o.factors = 8;
    o.solver = MR_ALS_CHOLESKY;
    o.alpha = 3;
    mr_als_model m;
    REQUIRE_OK(mr_als_init(&m, 60, 40, 8, 3));
    double prev = mr_als_loss(&ui, &m, &o);
    for (int it = 0; it < 10; it++) {
        REQUIRE_OK(mr_als_half_step(&ui, m.item_factors, 40, m.user_factors, &o));
        double l1 = mr_als_loss(&ui, &m, &o);
        CHECK(l1 <= prev * (1 + 1e-6));
        REQUIRE_OK(mr_als_half_step(&iu, m.user_factors, 60, m.item_factors, &o));
        double l2 = mr_als_loss(&ui, &m, &o);
        CHECK(l2 <= l1 * (1 + 1e-6));
        prev = l2;
    }
    mr_als_free(&m);
    free_csr(&ui);
    free_csr(&iu);
}

/* The Cholesky solution satisfies the normal equations (residual checked in
 * double, independently of how the solver built them); CG with f steps
 * converges to it. */
TEST(als_half_step_solves_normal_equations)
{
    mr_csr ui;
    random_csr(&ui, 25, 30, 0.3, 5);
    const int f = 6;
    mr_als_opts o;
    mr_als_opts_default(&o);
    o.factors = f;
    o.alpha = 1.5;
    o.regularization = 0.1;
    mr_als_model m;
    REQUIRE_OK(mr_als_init(&m, 25, 30, f, 9));
    /* make Y less degenerate than the tiny initial values */
    uint64_t s = 99;
    for (int64_t j = 0; j < 30 * f; j++) m.item_factors[j] = (float)(rng_unit(&s) - 0.3);
    float *X0 = malloc(sizeof(float) * 25 * f), *Xc = malloc(sizeof(float) * 25 * f);
    memcpy(X0, m.user_factors, sizeof(float) * 25 * f);
    o.solver = MR_ALS_CHOLESKY;
    REQUIRE_OK(mr_als_half_step(&ui, m.item_factors, 30, m.user_factors, &o));
    memcpy(Xc, m.user_factors, sizeof(float) * 25 * f);
    const float *Y = m.item_factors;
    double worst = 0;
    for (int u = 0; u < 25; u++) {
        double A[36], b[6];
        for (int a = 0; a < f; a++) {
            b[a] = 0;
            for (int c = 0; c < f; c++) {
                double g = a == c ? o.regularization : 0;
                for (int i = 0; i < 30; i++) g += (double)Y[i * f + a] * Y[i * f + c];
                A[a * f + c] = g;
            }
        }
        for (int64_t j = ui.indptr[u]; j < ui.indptr[u + 1]; j++) {
            const float *y = Y + ui.indices[j] * f;
            double c = 1 + o.alpha * ui.data[j];
            for (int a = 0; a < f; a++) {
                b[a] += c * y[a];
                for (int cc = 0; cc < f; cc++) A[a * f + cc] += (c - 1) * y[a] * y[cc];
            }
        }
        double bn = 0;
        for (int a = 0; a < f; a++) {
            double r = b[a];
            for (int c = 0; c < f; c++) r -= A[a * f + c] * Xc[u * f + c];
            worst = fmax(worst, fabs(r));
            bn = fmax(bn, fabs(b[a]));
        }
        worst /= bn > 0 ? bn : 1;
    }
    CHECK(worst < 1e-5);
    /* CG: enough steps from the same start reaches the same solution */
    memcpy(m.user_factors, X0, sizeof(float) * 25 * f);
    o.solver = MR_ALS_CG;
    o.cg_steps = 50;
    REQUIRE_OK(mr_als_half_step(&ui, m.item_factors, 30, m.user_factors, &o));
    double md = 0, mx = 0;
    for (int j = 0; j < 25 * f; j++) {
        md = fmax(md, fabs(m.user_factors[j] - Xc[j]));
        mx = fmax(mx, fabs(Xc[j]));
    }
    CHECK(md <= 1e-4 * mx);
    free(X0);
    free(Xc);
    mr_als_free(&m);
    free_csr(&ui);
}

/* Empty rows, one item, huge values: the factors stay finite. */
TEST(als_finite_on_edge_inputs)
{
    mr_csr ui, iu;
    random_csr(&ui, 20, 10, 0.3, 21);
    /* empty user rows 0..4 */
    int64_t drop = ui.indptr[5];
    memmove(ui.indices, ui.indices + drop, sizeof(int32_t) * (ui.nnz - drop));
    memmove(ui.data, ui.data + drop, sizeof(float) * (ui.nnz - drop));
    for (int u = 0; u <= 20; u++) ui.indptr[u] = u < 5 ? 0 : ui.indptr[u] - drop;
    ui.nnz -= drop;
    ui.data[0] = 1e9f; /* a huge play count */
    ui.data[1] = 0;    /* and an explicit zero */
    transpose(&ui, &iu);
    for (int solver = 0; solver < 2; solver++) {
        mr_als_opts o;
        mr_als_opts_default(&o);
        o.factors = 4;
        o.iterations = 5;
        o.solver = solver;
        o.alpha = 40;
        mr_als_model m;
        REQUIRE_OK(mr_als_init(&m, 20, 10, 4, 2));
        REQUIRE_OK(mr_als_fit(&ui, &iu, &o, &m, NULL, NULL));
        CHECK(all_finite(m.user_factors, 20 * 4));
        CHECK(all_finite(m.item_factors, 10 * 4));
        /* users without items get (near) zero factors: nothing to explain */
        for (int j = 0; j < 5 * 4; j++) CHECK(fabsf(m.user_factors[j]) < 1e-3f);
        mr_als_free(&m);
    }
    free_csr(&iu);
    /* a single item, a single user */
    mr_csr one = {.n_rows = 1, .n_cols = 1, .nnz = 1};
    int64_t ip[2] = {0, 1};
    int32_t ix[1] = {0};
    float dv[1] = {3};
    one.indptr = ip, one.indices = ix, one.data = dv;
    mr_als_opts o;
    mr_als_opts_default(&o);
    o.factors = 1;
    o.solver = MR_ALS_CHOLESKY;
    mr_als_model m;
    REQUIRE_OK(mr_als_init(&m, 1, 1, 1, 2));
    REQUIRE_OK(mr_als_fit(&one, &one, &o, &m, NULL, NULL));
    CHECK(all_finite(m.user_factors, 1) && all_finite(m.item_factors, 1));
    /* the model should predict close to 1 for the one observed pair */
    CHECK(fabsf(m.user_factors[0] * m.item_factors[0] - 1) < 0.2f);
    mr_als_free(&m);
    free_csr(&ui);
}

TEST(als_bad_input)
{
    mr_als_opts o;
    mr_als_opts_default(&o);
    int64_t ip0[3] = {0, 0, 0};
    mr_csr empty = {.n_rows = 2, .n_cols = 3, .nnz = 0, .indptr = ip0};
    CHECK_ERR(mr_als_validate(&empty, &o), "empty");
    int64_t ip[3] = {0, 1, 2};
    int32_t ix[2] = {0, 2};
    float dv[2] = {1, NAN};
    mr_csr m = {.n_rows = 2, .n_cols = 3, .nnz = 2, .indptr = ip, .indices = ix, .data = dv};
    o.factors = 2;
    CHECK_ERR(mr_als_validate(&m, &o), "value nan at entry 1");
    dv[1] = -1;
    CHECK_ERR(mr_als_validate(&m, &o), "must be finite and >= 0");
    dv[1] = 2e12f;
    CHECK_ERR(mr_als_validate(&m, &o), "confidence");
    dv[1] = 1;
    o.factors = 4;
    CHECK_ERR(mr_als_validate(&m, &o), "must not exceed the number of items (3)");
    o.factors = 2;
    CHECK_OK(mr_als_validate(&m, &o));
    o.regularization = 0;
    CHECK_ERR(mr_als_validate(&m, &o), "regularization");
    o.regularization = 0.1;
    ix[1] = 3;
    CHECK_ERR(mr_als_validate(&m, &o), "out of range");
}

TEST(als_model_file_roundtrip_and_damage)
{
    mr_als_model m, r;
    REQUIRE_OK(mr_als_init(&m, 7, 5, 3, 4));
    mr_als_meta meta = {.iterations = 15, .regularization = 0.05, .alpha = 2, .cg_steps = 3, .seed = 4,
                        .users_size = 123, .items_size = -1};
    snprintf(meta.users_path, sizeof meta.users_path, "data/preprocessed/users.parquet");
    snprintf(meta.items_path, sizeof meta.items_path, "data/preprocessed/items.parquet");
    char *path = mr_path_join(mr_test_tmpdir(), "als_model.bin");
    REQUIRE_OK(mr_als_save(path, &m, &meta));
    mr_als_meta back;
    REQUIRE_OK(mr_als_load(path, &r, &back));
    CHECK_INT(r.n_users, 7);
    CHECK_INT(r.n_items, 5);
    CHECK_INT(r.factors, 3);
    CHECK(memcmp(r.user_factors, m.user_factors, sizeof(float) * 21) == 0);
    CHECK(memcmp(r.item_factors, m.item_factors, sizeof(float) * 15) == 0);
    CHECK_STR(back.users_path, "data/preprocessed/users.parquet");
    CHECK_INT(back.users_size, 123);
    CHECK_NEAR(back.alpha, 2, 0);
    mr_als_free(&r);

    char *data;
    size_t len;
    REQUIRE_OK(mr_read_file(path, &data, &len));
    /* truncated */
    REQUIRE_OK(mr_write_file_atomic(path, data, len - 4));
    CHECK_ERR(mr_als_load(path, &r, NULL), "truncated");
    REQUIRE_OK(mr_write_file_atomic(path, data, 100));
    CHECK_ERR(mr_als_load(path, &r, NULL), "shorter than its 1024-byte header");
    /* another version */
    data[6] = 2;
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_als_load(path, &r, NULL), "version 2");
    data[6] = 1;
    /* a flipped bit in the factors */
    data[len - 3] ^= 0x10;
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_als_load(path, &r, NULL), "checksum");
    data[0] = 'X';
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_als_load(path, &r, NULL), "not an ALS model");
    free(data);
    free(path);
    mr_als_free(&m);
}

/* Loading only the item side (the service): the same item factors, no user
 * factors, and the checksum still covers the user factors. The model is
 * larger than one 4 MiB read slice and its user block is not a multiple of
 * 8 bytes, so the sliced checksum must equal the one mr_als_save computed
 * over whole arrays. */
TEST(als_model_load_items_only)
{
    mr_als_model m, r;
    const int64_t nu = 350001, ni = 20003;
    const int f = 3;
    REQUIRE_OK(mr_als_init(&m, nu, ni, f, 9));
    mr_als_meta meta = {.iterations = 2, .regularization = 0.5, .alpha = 3, .cg_steps = 3, .seed = 9,
                        .users_size = -1, .items_size = -1};
    char *path = mr_path_join(mr_test_tmpdir(), "als_items_only.bin");
    REQUIRE_OK(mr_als_save(path, &m, &meta));
    mr_als_meta back;
    REQUIRE_OK(mr_als_load_opts(path, &r, &back, MR_ALS_LOAD_ITEMS_ONLY));
    CHECK(r.user_factors == NULL);
    CHECK_INT(r.n_users, nu);
    CHECK_INT(r.n_items, ni);
    CHECK_INT(r.factors, f);
    CHECK(memcmp(r.item_factors, m.item_factors, sizeof(float) * (size_t)(ni * f)) == 0);
    CHECK_NEAR(back.regularization, 0.5, 0);
    CHECK_NEAR(back.alpha, 3, 0);
    mr_als_free(&r);
    REQUIRE_OK(mr_als_load(path, &r, NULL));
    CHECK(memcmp(r.user_factors, m.user_factors, sizeof(float) * (size_t)(nu * f)) == 0);
    CHECK(memcmp(r.item_factors, m.item_factors, sizeof(float) * (size_t)(ni * f)) == 0);
    mr_als_free(&r);

    char *data;
    size_t len;
    REQUIRE_OK(mr_read_file(path, &data, &len));
    /* a flipped bit in a user factor the items-only load does not keep */
    size_t at = 1024 + 4 * (size_t)(nu * f) - 2;
    data[at] ^= 0x04;
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_als_load_opts(path, &r, NULL, MR_ALS_LOAD_ITEMS_ONLY), "checksum");
    CHECK(r.item_factors == NULL && r.user_factors == NULL);
    data[at] ^= 0x04;
    /* a flipped bit in the last item factor */
    data[len - 1] ^= 0x01;
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_als_load_opts(path, &r, NULL, MR_ALS_LOAD_ITEMS_ONLY), "checksum");
    REQUIRE_OK(mr_write_file_atomic(path, data, len - 8));
    CHECK_ERR(mr_als_load_opts(path, &r, NULL, MR_ALS_LOAD_ITEMS_ONLY), "truncated");
    CHECK_ERR(mr_als_load_opts("/nonexistent/als.bin", &r, NULL, MR_ALS_LOAD_ITEMS_ONLY), "/nonexistent/als.bin");
    free(data);
    free(path);
    mr_als_free(&m);
}

/* The seed fixes the model regardless of the thread count. */
TEST(als_deterministic_across_threads)
{
    mr_csr ui, iu;
    random_csr(&ui, 300, 120, 0.05, 31);
    transpose(&ui, &iu);
    mr_als_opts o;
    mr_als_opts_default(&o);
    o.factors = 16;
    o.iterations = 3;
    mr_als_model a, b;
    REQUIRE_OK(mr_als_init(&a, 300, 120, 16, 8));
    REQUIRE_OK(mr_als_init(&b, 300, 120, 16, 8));
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK_OK(mr_als_fit(&ui, &iu, &o, &a, NULL, NULL));
    omp_set_num_threads(3);
    CHECK_OK(mr_als_fit(&ui, &iu, &o, &b, NULL, NULL));
    omp_set_num_threads(saved);
    CHECK(memcmp(a.user_factors, b.user_factors, sizeof(float) * 300 * 16) == 0);
    CHECK(memcmp(a.item_factors, b.item_factors, sizeof(float) * 120 * 16) == 0);
    mr_als_model c;
    REQUIRE_OK(mr_als_init(&c, 300, 120, 16, 9));
    CHECK(memcmp(a.item_factors, c.item_factors, sizeof(float) * 16) != 0);
    mr_als_free(&c);
    free_csr(&ui);
    free_csr(&iu);
    mr_als_free(&a);
    mr_als_free(&b);
}

/* ---- top-k ---- */

static void check_topk_case(int64_t nq, int64_t ni, int f, int k, int with_exclude, int self, uint64_t seed)
{
    uint64_t s = seed;
    float *Q = malloc(sizeof(float) * nq * f), *V = malloc(sizeof(float) * ni * f);
    for (int64_t j = 0; j < nq * f; j++) Q[j] = (float)(rng_unit(&s) - 0.5);
    /* heavy-tailed item norms, as ALS produces, so pruning has work to do */
    for (int64_t i = 0; i < ni; i++) {
        double scale = 1.0 / (1.0 + (double)(rng_next(&s) % 1000) / 10.0);
        for (int a = 0; a < f; a++) V[i * f + a] = (float)((rng_unit(&s) - 0.45) * scale);
    }
    if (self) memcpy(Q, V, sizeof(float) * (nq < ni ? nq : ni) * f);
    /* duplicate items make exact ties: the lower index must win */
    if (ni > 10) memcpy(V + 7 * f, V + 3 * f, sizeof(float) * f);
    mr_csr ex;
    if (with_exclude) random_csr(&ex, nq, ni, 0.2, seed + 1);
    int32_t *bi = malloc(sizeof(int32_t) * nq * k), *ti = malloc(sizeof(int32_t) * nq * k);
    float *bs = malloc(sizeof(float) * nq * k), *ts = malloc(sizeof(float) * nq * k);
    mr_topk_opts o = {.k = k, .exclude = with_exclude ? &ex : NULL, .exclude_self = self};
    REQUIRE_OK(mr_topk_brute(Q, nq, V, ni, f, &o, bi, bs));
    for (int prune = 0; prune < 2; prune++) {
        o.prune = prune;
        REQUIRE_OK(mr_topk(Q, nq, V, ni, f, &o, ti, ts));
        int bad = 0;
        for (int64_t j = 0; j < nq * k && bad < 5; j++) {
            /* scores equal within float rounding; indices equal unless two
             * scores are within rounding of each other */
            int ok_s = (bs[j] == ts[j]) || fabsf(bs[j] - ts[j]) <= 1e-5f * (1 + fabsf(bs[j]));
            int near_tie = (j % k > 0 && fabsf(bs[j] - bs[j - 1]) <= 1e-5f) ||
                           (j % k < k - 1 && fabsf(bs[j] - bs[j + 1]) <= 1e-5f);
            if (!ok_s || (bi[j] != ti[j] && !near_tie)) {
                mr_test_fail(__FILE__, __LINE__, "prune=%d query %lld rank %lld: brute %d %.7g, engine %d %.7g",
                             prune, (long long)(j / k), (long long)(j % k), bi[j], bs[j], ti[j], ts[j]);
                bad++;
            }
        }
        if (with_exclude)
            for (int64_t q = 0; q < nq; q++)
                for (int r = 0; r < k; r++)
                    for (int64_t e = ex.indptr[q]; e < ex.indptr[q + 1]; e++)
                        if (ti[q * k + r] == ex.indices[e]) CHECK(!"an excluded item was returned");
        if (self)
            for (int64_t q = 0; q < nq; q++)
                for (int r = 0; r < k; r++) CHECK(ti[q * k + r] != q);
        if (prune) CHECK(o.scored <= nq * ni);
    }
    if (with_exclude) free_csr(&ex);
    free(Q), free(V), free(bi), free(ti), free(bs), free(ts);
}

TEST(topk_matches_brute_force)
{
    check_topk_case(300, 2500, 16, 10, 0, 0, 1);
    check_topk_case(513, 3000, 8, 25, 1, 0, 2);  /* more than one query and item block, exclusions */
    check_topk_case(100, 100, 5, 7, 0, 1, 3);    /* similar items: the query itself excluded */
    check_topk_case(3, 5, 4, 10, 1, 0, 4);       /* fewer eligible items than k: padded */
    check_topk_case(1, 1, 3, 1, 0, 1, 5);        /* nothing eligible at all */
}

/* all-against-all through the symmetry equals the brute force */
TEST(topk_self_matches_brute_force)
{
    int64_t sizes[3] = {1, 700, 1500};
    for (int c = 0; c < 3; c++) {
        int64_t n = sizes[c];
        int f = 6, k = c == 0 ? 3 : 9;
        uint64_t s = 40 + c;
        float *V = malloc(sizeof(float) * n * f);
        for (int64_t j = 0; j < n * f; j++) V[j] = (float)(rng_unit(&s) - 0.5);
        for (int64_t i = 0; i < n; i++) { /* unit rows: scores are cosines, a twin is the best match */
            double q = 0;
            for (int a = 0; a < f; a++) q += (double)V[i * f + a] * V[i * f + a];
            for (int a = 0; a < f; a++) V[i * f + a] = (float)(V[i * f + a] / sqrt(q));
        }
        if (n > 600) memcpy(V + 530 * f, V + 20 * f, sizeof(float) * f); /* an exact tie across blocks */
        int32_t *bi = malloc(sizeof(int32_t) * n * k), *ti = malloc(sizeof(int32_t) * n * k);
        float *bs = malloc(sizeof(float) * n * k), *ts = malloc(sizeof(float) * n * k);
        mr_topk_opts o = {.k = k, .exclude_self = 1};
        REQUIRE_OK(mr_topk_brute(V, n, V, n, f, &o, bi, bs));
        mr_topk_opts so = {.k = k, .mode = MR_TOPK_FP32};
        REQUIRE_OK(mr_topk_self(V, n, f, &so, ti, ts));
        int bad = 0;
        for (int64_t j = 0; j < n * k && bad < 5; j++) {
            int near_tie = (j % k > 0 && fabsf(bs[j] - bs[j - 1]) <= 1e-5f) ||
                           (j % k < k - 1 && fabsf(bs[j] - bs[j + 1]) <= 1e-5f);
            int ok_s = (isinf(bs[j]) && isinf(ts[j])) || fabsf(bs[j] - ts[j]) <= 1e-5f;
            if (!ok_s || (bi[j] != ti[j] && !near_tie)) {
                mr_test_fail(__FILE__, __LINE__, "n=%lld item %lld rank %lld: brute %d %.7g, self %d %.7g",
                             (long long)n, (long long)(j / k), (long long)(j % k), bi[j], bs[j], ti[j], ts[j]);
                bad++;
            }
        }
        if (n > 600) {
            /* item 20's twin is 530 (cosine 1): its best neighbour, and vice versa */
            CHECK_INT(ti[20 * k], 530);
            CHECK_INT(ti[530 * k], 20);
        }
        free(V), free(bi), free(ti), free(bs), free(ts);
    }
}

TEST(topk_padding_and_ties)
{
    float Q[2] = {1, 0};
    float V[8] = {1, 0, 2, 0, 1, 0, -1, 0}; /* scores 1, 2, 1, -1 */
    int32_t idx[6];
    float sc[6];
    mr_topk_opts o = {.k = 6};
    REQUIRE_OK(mr_topk(Q, 1, V, 4, 2, &o, idx, sc));
    int32_t want[6] = {1, 0, 2, 3, -1, -1};
    for (int j = 0; j < 6; j++) CHECK_INT(idx[j], want[j]);
    CHECK(isinf(sc[5]) && sc[5] < 0);
    CHECK_NEAR(sc[0], 2, 0);
    o.k = 0;
    CHECK_ERR(mr_topk(Q, 1, V, 4, 2, &o, idx, sc), "k must be at least 1");
}

/* ---- similar items ---- */

TEST(similar_index_roundtrip_and_damage)
{
    const int64_t ni = 300;
    const int f = 7, n = 5;
    uint64_t s = 77;
    float *V = malloc(sizeof(float) * ni * f);
    for (int64_t j = 0; j < ni * f; j++) V[j] = (float)(rng_unit(&s) - 0.5) * (float)(1 + j % 13);
    for (int a = 0; a < f; a++) V[10 * f + a] = 0; /* an item with no signal */
    int32_t *idx = malloc(sizeof(int32_t) * ni * n);
    float *sc = malloc(sizeof(float) * ni * n);
    REQUIRE_OK(mr_similar_compute(V, ni, f, n, idx, sc));
    /* cosine by definition, in double, for a few items */
    for (int64_t i = 0; i < ni; i += 37) {
        double best = -2;
        int64_t arg = -1;
        for (int64_t j = 0; j < ni; j++) {
            if (j == i) continue;
            double d = 0, a2 = 0, b2 = 0;
            for (int a = 0; a < f; a++) {
                d += (double)V[i * f + a] * V[j * f + a];
                a2 += (double)V[i * f + a] * V[i * f + a];
                b2 += (double)V[j * f + a] * V[j * f + a];
            }
            double c = a2 > 0 && b2 > 0 ? d / sqrt(a2 * b2) : 0;
            if (c > best + 1e-12) best = c, arg = j;
        }
        CHECK_NEAR(sc[i * n], best, 1e-5);
        if (fabs(sc[i * n] - sc[i * n + 1]) > 1e-5) CHECK_INT(idx[i * n], arg);
        for (int r = 0; r < n; r++) CHECK(idx[i * n + r] != i);
        for (int r = 1; r < n; r++) CHECK(sc[i * n + r] <= sc[i * n + r - 1]);
    }
    CHECK_NEAR(sc[10 * n], 0, 0); /* the zero item is similar to nothing */

    char *path = mr_path_join(mr_test_tmpdir(), "similar_index.bin");
    REQUIRE_OK(mr_similar_write_index(path, ni, n, f, idx, sc));
    mr_similar_index ix;
    REQUIRE_OK(mr_similar_map(path, 1, &ix));
    CHECK_INT(ix.n_items, ni);
    CHECK_INT(ix.n, n);
    CHECK_INT(ix.factors, f);
    for (int64_t i = 0; i < ni; i++)
        for (int r = 0; r < n; r++) {
            CHECK(mr_similar_items(&ix, i)[r] == idx[i * n + r]);
            CHECK(mr_similar_scores(&ix, i)[r] == sc[i * n + r]);
        }
    mr_similar_unmap(&ix);

    char *data;
    size_t len;
    REQUIRE_OK(mr_read_file(path, &data, &len));
    CHECK_INT(len, 64 + ni * n * 8);
    REQUIRE_OK(mr_write_file_atomic(path, data, len - 8));
    CHECK_ERR(mr_similar_map(path, 0, &ix), "truncated");
    data[8] = 9;
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_similar_map(path, 0, &ix), "version 9");
    data[8] = 1;
    data[len - 1] ^= 1; /* a score bit: only the checksum sees it */
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_OK(mr_similar_map(path, 0, &ix));
    mr_similar_unmap(&ix);
    CHECK_ERR(mr_similar_map(path, 1, &ix), "checksum");
    data[len - 1] ^= 1;
    int32_t bad = (int32_t)ni;
    memcpy(data + 64, &bad, 4); /* a neighbour index out of range */
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    CHECK_ERR(mr_similar_map(path, 0, &ix), "out of range");
    free(data);
    free(path);
    free(V), free(idx), free(sc);
}

/* ---- recommendation lists on parquet ---- */

TEST(recs_roundtrip_and_order_check)
{
    /* 3 users (user_idx 0, 2, 5), list lengths 3, 0, 2 */
    int32_t uidx[3] = {0, 2, 5};
    int64_t off[4] = {0, 3, 3, 5};
    int32_t items[5] = {4, 1, 2, 0, 3};
    float score[5] = {0.9f, 0.5f, 0.25f, 2.0f, -1.0f};
    mr_recs r = {.n_users = 3, .user_idx = uidx, .off = off, .item_idx = items, .score = score};
    int32_t user_id[6] = {100, 101, 102, 103, 104, 105};
    int64_t track_id[5] = {10, 11, 12, 13, 5000000000LL};
    char *path = mr_path_join(mr_test_tmpdir(), "recs.parquet");
    REQUIRE_OK(mr_recs_write(path, &r, user_id, track_id));
    mr_recs b;
    REQUIRE_OK(mr_recs_read(path, &b));
    /* the user without a list has no rows, so it does not come back */
    REQUIRE(b.n_users == 2);
    CHECK_INT(b.user_idx[0], 0);
    CHECK_INT(b.user_idx[1], 5);
    CHECK_INT(b.off[1], 3);
    CHECK_INT(b.off[2], 5);
    for (int j = 0; j < 5; j++) {
        CHECK_INT(b.item_idx[j], items[j]);
        CHECK(b.score[j] == score[j]);
    }
    mr_recs_free(&b);
    int64_t *ids = NULL, n = 0;
    REQUIRE_OK(mr_read_id_column(path, "track_id", 5, &ids, &n));
    CHECK_INT(n, 5);
    /* rows: user 0 rank 1 -> item 4 -> track_id[4] (beyond int32), then items 1, 2, 0, 3 */
    CHECK(ids[0] == 5000000000LL);
    CHECK_INT(ids[1], 11);
    CHECK_INT(ids[4], 13);
    free(ids);
    REQUIRE_OK(mr_read_id_column(path, "user_id", -1, &ids, &n));
    CHECK_INT(ids[0], 100);
    CHECK_INT(ids[3], 105);
    free(ids);
    CHECK_ERR(mr_read_id_column(path, "track_id", 7, &ids, &n), "has 5 rows but the model has 7");
    CHECK_ERR(mr_read_id_column(path, "nope", -1, &ids, &n), "nope");
    /* out of order: user 5 before user 0 */
    int32_t uidx2[3] = {5, 2, 0};
    r.user_idx = uidx2;
    REQUIRE_OK(mr_recs_write(path, &r, user_id, track_id));
    CHECK_ERR(mr_recs_read(path, &b), "not sorted by user_idx");
    free(path);
}

/* The approximate search probing every cluster is exact; probing few
 * clusters still finds most neighbours of clustered data, and the recall
 * measure says 1 for the exact answer. */
TEST(similar_approx_and_recall)
{
    const int64_t ni = 2000;
    const int f = 8, n = 5;
    uint64_t s = 5;
    float *V = malloc(sizeof(float) * ni * f), *centers = malloc(sizeof(float) * 20 * f);
    for (int j = 0; j < 20 * f; j++) centers[j] = (float)(rng_unit(&s) - 0.5);
    for (int64_t i = 0; i < ni; i++)
        for (int a = 0; a < f; a++) V[i * f + a] = centers[(i % 20) * f + a] + 0.15f * (float)(rng_unit(&s) - 0.5);
    int32_t *ei = malloc(sizeof(int32_t) * ni * n), *ai = malloc(sizeof(int32_t) * ni * n);
    float *es = malloc(sizeof(float) * ni * n), *as = malloc(sizeof(float) * ni * n);
    REQUIRE_OK(mr_similar_compute(V, ni, f, n, ei, es));
    CHECK_NEAR(mr_similar_recall(V, ni, f, n, ei, 300), 1.0, 1e-12);
    REQUIRE_OK(mr_similar_compute_approx(V, ni, f, n, 30, 30, ai, as));
    int64_t diff = 0;
    for (int64_t j = 0; j < ni * n; j++) diff += fabsf(as[j] - es[j]) > 1e-5f;
    CHECK_INT(diff, 0);
    REQUIRE_OK(mr_similar_compute_approx(V, ni, f, n, 30, 3, ai, as));
    double r = mr_similar_recall(V, ni, f, n, ai, 300);
    CHECK(r > 0.8 && r <= 1.0);
    for (int64_t i = 0; i < ni; i++)
        for (int j = 0; j < n; j++) CHECK(ai[i * n + j] != i && ai[i * n + j] < ni);
    /* a query whose probed clusters hold fewer than n other items is padded */
    REQUIRE_OK(mr_similar_compute_approx(V, 4, f, n, 4, 1, ai, as));
    CHECK_INT(ai[0], -1);
    CHECK(isinf(as[0]));
    free(V), free(centers), free(ei), free(ai), free(es), free(as);
}
