/* Implicit-feedback ALS: see als.h for the model and docs/als.md for the
 * derivation and file format.
 *
 * Where the time goes: one half-step costs (1 + cg_steps) passes over the
 * non-zeros, each pass 2f multiply-adds per non-zero (y.p, then p += a y on
 * the same row while it is in L1), plus one f x f matrix-vector product per
 * row per pass. The per-row kernels are compiled for AVX-512, AVX2 and plain
 * x86-64 (target_clones) because the build itself targets generic x86-64;
 * the loader picks the best one for the CPU. Scalar reductions that may
 * grow with the confidences (r.r, p.Ap) are summed in double so that large
 * play counts cannot overflow float.
 */
#include "models/als.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/vec.h"
#include "base/fs.h"
#include "base/log.h"

/* The confidence 1 + alpha r must stay far from float overflow: CG forms
 * products of a confidence with squared factor norms. 1e12 is a million
 * times more than any real play count. */
#define MR_ALS_MAX_CONFIDENCE 1e12

/* rows of a half-step given to one OpenMP task; rows are heavy-tailed */
#define MR_ALS_CHUNK 64

void mr_als_opts_default(mr_als_opts *o)
{
    memset(o, 0, sizeof *o);
    o->factors = 64;
    o->iterations = 15;
    o->regularization = 0.05;
    o->alpha = 1.0;
    o->cg_steps = 3;
    o->solver = MR_ALS_CG;
    o->seed = 42;
}

int mr_als_solver_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "cg") == 0) return MR_ALS_CG;
    if (strcmp(s, "cholesky") == 0) return MR_ALS_CHOLESKY;
    return -1;
}

const char *mr_als_solver_name(mr_als_solver s) { return s == MR_ALS_CHOLESKY ? "cholesky" : "cg"; }

static int validate_opts(const mr_als_opts *o)
{
    if (o->factors < 1 || o->factors > 1024)
        return mr_err(MR_EINVAL, "ALS factors must be between 1 and 1024, got %d", o->factors);
    if (o->iterations < 0 || o->iterations > 100000)
        return mr_err(MR_EINVAL, "ALS iterations must be between 0 and 100000, got %d", o->iterations);
    if (!(o->regularization > 0) || !isfinite(o->regularization))
        return mr_err(MR_EINVAL, "ALS regularization must be a positive number, got %g", o->regularization);
    if (!(o->alpha >= 0) || !isfinite(o->alpha))
        return mr_err(MR_EINVAL, "ALS alpha must be a non-negative number, got %g", o->alpha);
    if (o->solver != MR_ALS_CG && o->solver != MR_ALS_CHOLESKY)
        return mr_err(MR_EINVAL, "unknown ALS solver %d", (int)o->solver);
    if (o->solver == MR_ALS_CG && (o->cg_steps < 1 || o->cg_steps > 1000))
        return mr_err(MR_EINVAL, "ALS cg-steps must be between 1 and 1000, got %d", o->cg_steps);
    return 0;
}

int mr_als_validate(const mr_csr *ui, const mr_als_opts *o)
{
    int rc = validate_opts(o);
    if (rc) return rc;
    if (ui->n_rows <= 0 || ui->n_cols <= 0 || ui->nnz <= 0)
        return mr_err(MR_EINVAL, "the interaction matrix is empty (%lld users x %lld items, %lld non-zeros)",
                      (long long)ui->n_rows, (long long)ui->n_cols, (long long)ui->nnz);
    if (ui->n_cols > INT32_MAX || ui->n_rows > INT32_MAX)
        return mr_err(MR_EINVAL, "the interaction matrix is too large (%lld x %lld)", (long long)ui->n_rows,
                      (long long)ui->n_cols);
    if (o->factors > ui->n_cols)
        return mr_err(MR_EINVAL, "ALS factors (%d) must not exceed the number of items (%lld)", o->factors,
                      (long long)ui->n_cols);
    if (ui->indptr[0] != 0 || ui->indptr[ui->n_rows] != ui->nnz)
        return mr_err(MR_EFORMAT, "the interaction matrix has inconsistent row offsets");
    for (int64_t r = 0; r < ui->n_rows; r++)
        if (ui->indptr[r + 1] < ui->indptr[r])
            return mr_err(MR_EFORMAT, "the interaction matrix has decreasing row offsets at row %lld", (long long)r);
    for (int64_t j = 0; j < ui->nnz; j++) {
        float v = ui->data[j];
        int32_t c = ui->indices[j];
        if (c < 0 || c >= ui->n_cols)
            return mr_err(MR_EFORMAT, "the interaction matrix has column index %d out of range at entry %lld", c,
                          (long long)j);
        if (!isfinite(v) || v < 0)
            return mr_err(MR_EINVAL, "the interaction matrix has value %g at entry %lld; values must be finite and >= 0",
                          (double)v, (long long)j);
        if (1.0 + o->alpha * v > MR_ALS_MAX_CONFIDENCE)
            return mr_err(MR_EINVAL,
                          "the interaction matrix has value %g at entry %lld: confidence 1 + alpha*value exceeds %g",
                          (double)v, (long long)j, MR_ALS_MAX_CONFIDENCE);
    }
    return 0;
}

/* ---- initialisation ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void init_rows(float *F, int64_t n, int f, uint64_t seed, uint64_t side)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; r++) {
        uint64_t s = seed ^ (side * 0xd1b54a32d192ed03ULL);
        s ^= splitmix64(&(uint64_t){(uint64_t)r + 1}) ;
        for (int j = 0; j < f; j++) F[r * f + j] = (float)(splitmix64(&s) >> 40) * (1.0f / 16777216.0f) * 0.01f;
    }
}

int mr_als_init(mr_als_model *m, int64_t n_users, int64_t n_items, int factors, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    if (n_users <= 0 || n_items <= 0 || factors <= 0)
        return mr_err(MR_EINVAL, "ALS model needs users, items and factors, got %lld x %lld x %d", (long long)n_users,
                      (long long)n_items, factors);
    m->n_users = n_users;
    m->n_items = n_items;
    m->factors = factors;
    /* huge-page arrays (store/npy.h): at scale 1 they are 600 MB that
     * would otherwise fault in 4 KB at a time */
    m->user_factors = mr_malloc_huge((size_t)n_users * factors * sizeof(float));
    m->item_factors = mr_malloc_huge((size_t)n_items * factors * sizeof(float));
    if (!m->user_factors || !m->item_factors) {
        mr_als_free(m);
        return MR_ENOMEM;
    }
    init_rows(m->user_factors, n_users, factors, seed, 1);
    init_rows(m->item_factors, n_items, factors, seed, 2);
    return 0;
}

void mr_als_free(mr_als_model *m)
{
    free(m->user_factors);
    free(m->item_factors);
    memset(m, 0, sizeof *m);
}

/* ---- the half-step ---- */

/* G = Y^T Y + lambda I, full f x f (float). */
static void gram(const float *Y, int64_t n, int f, double lambda, float *G)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, f, (int)n, 1.0f, Y, f, 0.0f, G, f);
    for (int a = 0; a < f; a++) {
        for (int b = 0; b < a; b++) G[a * f + b] = G[b * f + a];
        G[a * f + a] += (float)lambda;
    }
}

/* t[j] = Yu[j] . v for the n gathered rows (independent dot products, so
 * they overlap in the pipeline). */
static inline void rows_dot(const float *restrict Yu, int64_t n, int f, const float *restrict v, float *restrict t)
{
    for (int64_t j = 0; j < n; j++) {
        const float *y = Yu + j * f;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int a = 0; a < f; a++) s += y[a] * v[a];
        t[j] = s;
    }
}

/* acc += sum_j w[j] Yu[j], four rows at a time so that the chain of
 * dependent additions into acc is a quarter as long. */
static inline void rows_axpy(const float *restrict Yu, int64_t n, int f, const float *restrict w, float *restrict acc)
{
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *y0 = Yu + j * f, *y1 = y0 + f, *y2 = y1 + f, *y3 = y2 + f;
        float w0 = w[j], w1 = w[j + 1], w2 = w[j + 2], w3 = w[j + 3];
#pragma omp simd
        for (int a = 0; a < f; a++) acc[a] += (w0 * y0[a] + w1 * y1[a]) + (w2 * y2[a] + w3 * y3[a]);
    }
    for (; j < n; j++) {
        const float *y = Yu + j * f;
        float wj = w[j];
#pragma omp simd
        for (int a = 0; a < f; a++) acc[a] += wj * y[a];
    }
}

/* out = s * G v for symmetric G (accumulating columns vectorises). */
static inline void symv(const float *restrict G, int f, const float *restrict v, float s, float *restrict out)
{
    for (int a = 0; a < f; a++) out[a] = 0;
    for (int b = 0; b < f; b++) {
        float vb = s * v[b];
        const float *g = G + (int64_t)b * f;
#pragma omp simd
        for (int a = 0; a < f; a++) out[a] += vb * g[a];
    }
}

/* Conjugate gradient for one row, warm-started from x:
 *   A = G + sum_j cm1_j y_j y_j^T,  b = sum_j (1 + cm1_j) y_j,  cm1_j = alpha v_j
 * r = b - A x; p = r; then `steps` CG steps (implicit's recurrence). The
 * row's item factors are first gathered into Yu (n x f, contiguous), so the
 * 1 + steps passes over them stream from cache instead of chasing indices
 * through the whole factor matrix each time. */
__attribute__((target_clones("avx512f", "avx2,fma", "default"))) static void
cg_row(const float *restrict G, const float *restrict Y, const int32_t *restrict idx, const float *restrict val,
       int64_t n, float alpha, int f, int steps, float *restrict x, float *restrict scratch,
       float *restrict Yu, float *restrict cm1, float *restrict t, double *restrict loss)
{
    float *restrict r = scratch, *restrict p = scratch + f, *restrict Ap = scratch + 2 * f;
    for (int64_t j = 0; j < n; j++) {
        if (j + 8 < n) __builtin_prefetch(Y + (int64_t)idx[j + 8] * f);
        memcpy(Yu + j * f, Y + (int64_t)idx[j] * f, sizeof(float) * f);
        cm1[j] = alpha * val[j];
    }
    symv(G, f, x, -1.0f, r);
    rows_dot(Yu, n, f, x, t);
    for (int64_t j = 0; j < n; j++) t[j] = (1.0f + cm1[j]) - cm1[j] * t[j];
    rows_axpy(Yu, n, f, t, r);
    double rsold = 0;
    for (int a = 0; a < f; a++) {
        p[a] = r[a];
        rsold += (double)r[a] * r[a];
    }
    if (rsold < 1e-20) steps = 0; /* already solved */
    for (int it = 0; it < steps; it++) {
        symv(G, f, p, 1.0f, Ap);
        rows_dot(Yu, n, f, p, t);
        for (int64_t j = 0; j < n; j++) t[j] *= cm1[j];
        rows_axpy(Yu, n, f, t, Ap);
        double pAp = 0;
        for (int a = 0; a < f; a++) pAp += (double)p[a] * Ap[a];
        if (!(pAp > 0) || !isfinite(pAp)) break;
        float step = (float)(rsold / pAp);
        double rsnew = 0;
        for (int a = 0; a < f; a++) {
            x[a] += step * p[a];
            r[a] -= step * Ap[a];
            rsnew += (double)r[a] * r[a];
        }
        if (rsnew < 1e-20) break;
        float beta = (float)(rsnew / rsold);
        for (int a = 0; a < f; a++) p[a] = r[a] + beta * p[a];
        rsold = rsnew;
    }
    if (loss) {
        /* the row's observed terms of the loss, c (1 - s)^2 - s^2, while its
         * gathered factors are still in cache (see mr_als_fit) */
        rows_dot(Yu, n, f, x, t);
        double acc = 0;
        for (int64_t j = 0; j < n; j++) {
            double sc = t[j], c = 1.0 + cm1[j];
            acc += c * (1 - sc) * (1 - sc) - sc * sc;
        }
        *loss = acc;
    }
}

/* The same observed terms for the exact solver, one dot product at a time. */
static double row_observed_loss(const float *Y, const int32_t *idx, const float *val, int64_t n, double alpha,
                                int f, const float *x)
{
    double acc = 0;
    for (int64_t j = 0; j < n; j++) {
        const float *y = Y + (int64_t)idx[j] * f;
        double sc = 0;
        for (int a = 0; a < f; a++) sc += (double)x[a] * y[a];
        double c = 1.0 + alpha * val[j];
        acc += c * (1 - sc) * (1 - sc) - sc * sc;
    }
    return acc;
}

/* Exact solution of the same system, in double: A = L L^T. Returns 0, or -1
 * if A is not positive definite (cannot happen for lambda > 0 unless the
 * input overflowed; the caller reports it). */
__attribute__((target_clones("avx512f", "avx2,fma", "default"))) static int
cholesky_row(const double *restrict Gd, const float *restrict Y, const int32_t *restrict idx,
             const float *restrict val, int64_t n, double alpha, int f, float *restrict x, double *restrict A,
             double *restrict b, double *restrict yd)
{
    memcpy(A, Gd, sizeof(double) * f * f);
    for (int a = 0; a < f; a++) b[a] = 0;
    for (int64_t j = 0; j < n; j++) {
        const float *y = Y + (int64_t)idx[j] * f;
        double cm1 = alpha * val[j];
        for (int a = 0; a < f; a++) {
            yd[a] = y[a];
            b[a] += (1.0 + cm1) * yd[a];
        }
        /* lower triangle: A[a][0..a] += cm1 y_a y */
        for (int a = 0; a < f; a++) {
            double wa = cm1 * yd[a];
            double *Aa = A + (int64_t)a * f;
            for (int c = 0; c <= a; c++) Aa[c] += wa * yd[c];
        }
    }
    /* in-place Cholesky of the lower triangle */
    for (int j = 0; j < f; j++) {
        double *Aj = A + (int64_t)j * f;
        double d = Aj[j];
        for (int c = 0; c < j; c++) d -= Aj[c] * Aj[c];
        if (!(d > 0) || !isfinite(d)) return -1;
        d = sqrt(d);
        Aj[j] = d;
        for (int i = j + 1; i < f; i++) {
            double *Ai = A + (int64_t)i * f;
            double s = Ai[j];
            for (int c = 0; c < j; c++) s -= Ai[c] * Aj[c];
            Ai[j] = s / d;
        }
    }
    /* L z = b, then L^T x = z */
    for (int i = 0; i < f; i++) {
        const double *Ai = A + (int64_t)i * f;
        double s = b[i];
        for (int c = 0; c < i; c++) s -= Ai[c] * b[c];
        b[i] = s / Ai[i];
    }
    for (int i = f - 1; i >= 0; i--) {
        double s = b[i];
        for (int c = i + 1; c < f; c++) s -= A[(int64_t)c * f + i] * b[c];
        b[i] = s / A[(int64_t)i * f + i];
    }
    for (int a = 0; a < f; a++) x[a] = (float)b[a];
    return 0;
}

/* One half-step; with row_loss, also the observed terms of the loss per row
 * of the new X (summed by the caller in row order: deterministic). */
static int half_step(const mr_csr *rows, const float *Y, int64_t n_y, float *X, const mr_als_opts *o,
                     double *row_loss)
{
    int rc = validate_opts(o);
    if (rc) return rc;
    if (rows->n_cols != n_y)
        return mr_err(MR_EINVAL, "ALS half-step: matrix has %lld columns but there are %lld factor rows",
                      (long long)rows->n_cols, (long long)n_y);
    const int f = o->factors;
    float *G = mr_malloc(sizeof(float) * f * f);
    double *Gd = o->solver == MR_ALS_CHOLESKY ? mr_malloc(sizeof(double) * f * f) : NULL;
    if (!G || (o->solver == MR_ALS_CHOLESKY && !Gd)) {
        free(G);
        free(Gd);
        return MR_ENOMEM;
    }
    gram(Y, n_y, f, o->regularization, G);
    if (Gd) {
        /* The exact solver wants G in double too: sum in double over items,
         * in fixed blocks so the result does not depend on threads. */
        memset(Gd, 0, sizeof(double) * f * f);
        for (int64_t i = 0; i < n_y; i++) {
            const float *y = Y + i * f;
            for (int a = 0; a < f; a++) {
                double ya = y[a];
                for (int c = 0; c <= a; c++) Gd[a * f + c] += ya * y[c];
            }
        }
        for (int a = 0; a < f; a++) Gd[a * f + a] += o->regularization;
    }
    const int64_t n = rows->n_rows;
    int64_t maxlen = 1;
    for (int64_t u = 0; u < n; u++)
        if (rows->indptr[u + 1] - rows->indptr[u] > maxlen) maxlen = rows->indptr[u + 1] - rows->indptr[u];
    int failed = 0;
    int64_t bad_row = -1;
#pragma omp parallel
    {
        /* r, p, Ap; the gathered rows Yu; cm1; t */
        float *scratch = mr_malloc(sizeof(float) * (3 * f + (size_t)maxlen * (f + 2)));
        double *dscratch = Gd ? mr_malloc(sizeof(double) * (f * f + 2 * f)) : NULL;
        int ok = scratch && (!Gd || dscratch);
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, MR_ALS_CHUNK)
        for (int64_t u = 0; u < n; u++) {
            if (!ok) continue;
            int64_t s = rows->indptr[u], e = rows->indptr[u + 1];
            float *x = X + u * f;
            if (o->solver == MR_ALS_CG) {
                float *Yu = scratch + 3 * f;
                cg_row(G, Y, rows->indices + s, rows->data + s, e - s, (float)o->alpha, f, o->cg_steps, x,
                       scratch, Yu, Yu + maxlen * f, Yu + maxlen * (f + 1), row_loss ? row_loss + u : NULL);
            } else if (cholesky_row(Gd, Y, rows->indices + s, rows->data + s, e - s, o->alpha, f, x, dscratch,
                                    dscratch + f * f, dscratch + f * f + f) != 0) {
#pragma omp critical(mr_als_bad)
                if (bad_row < 0 || u < bad_row) bad_row = u;
            } else if (row_loss) {
                row_loss[u] = row_observed_loss(Y, rows->indices + s, rows->data + s, e - s, o->alpha, f, x);
            }
        }
        free(scratch);
        free(dscratch);
    }
    free(G);
    free(Gd);
    if (failed) return mr_err(MR_ENOMEM, "out of memory for ALS scratch space");
    if (bad_row >= 0)
        return mr_err(MR_EINVAL, "ALS: the normal equations of row %lld are not positive definite (overflow?)",
                      (long long)bad_row);
    /* A non-finite factor would poison every later step: catch it here. */
    int64_t nonfinite = -1;
#pragma omp parallel for schedule(static) reduction(max : nonfinite)
    for (int64_t u = 0; u < n; u++)
        for (int a = 0; a < f; a++)
            if (!isfinite(X[u * f + a])) nonfinite = u > nonfinite ? u : nonfinite;
    if (nonfinite >= 0)
        return mr_err(MR_EINVAL, "ALS produced a non-finite factor in row %lld; lower alpha or the values",
                      (long long)nonfinite);
    return 0;
}

int mr_als_half_step(const mr_csr *rows, const float *Y, int64_t n_y, float *X, const mr_als_opts *o)
{
    return half_step(rows, Y, n_y, X, o, NULL);
}

/* ---- loss ---- */

/* Adds F^T F (n x f, float) into the f x f double matrix S, in fixed-size
 * row blocks converted to double, so the sum is deterministic and accurate. */
static int add_gram_double(const float *F, int64_t n, int f, double *S)
{
    const int64_t B = 4096;
    double *buf = mr_malloc(sizeof(double) * B * f);
    if (!buf) return MR_ENOMEM;
    for (int64_t r0 = 0; r0 < n; r0 += B) {
        int64_t m = n - r0 < B ? n - r0 : B;
        for (int64_t i = 0; i < m * f; i++) buf[i] = F[r0 * f + i];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, f, (int)m, 1.0, buf, f, 1.0, S, f);
    }
    free(buf);
    return 0;
}

/* The terms of the loss that need no pass over the non-zeros: sum over all
 * pairs of s^2 (as if every pair were unobserved) = trace(YtY XtX), and the
 * regularization. */
static double loss_dense_part(const mr_als_model *m, const mr_als_opts *o)
{
    const int f = m->factors;
    double *YtY = mr_calloc((size_t)f * f, sizeof(double));
    double *XtX = mr_calloc((size_t)f * f, sizeof(double));
    if (!YtY || !XtX || add_gram_double(m->item_factors, m->n_items, f, YtY) ||
        add_gram_double(m->user_factors, m->n_users, f, XtX)) {
        free(YtY);
        free(XtX);
        return NAN;
    }
    /* sum_u x_u^T YtY x_u = trace(YtY XtX) = sum over the upper triangles,
     * off-diagonal entries twice; |X|^2 = trace(XtX). */
    double quad = 0, xnorm = 0, ynorm = 0;
    for (int a = 0; a < f; a++) {
        quad += YtY[a * f + a] * XtX[a * f + a];
        for (int b = a + 1; b < f; b++) quad += 2 * YtY[a * f + b] * XtX[a * f + b];
        xnorm += XtX[a * f + a];
        ynorm += YtY[a * f + a];
    }
    free(YtY);
    free(XtX);
    return quad + o->regularization * (xnorm + ynorm);
}

double mr_als_loss(const mr_csr *ui, const mr_als_model *m, const mr_als_opts *o)
{
    const int f = m->factors;
    double dense = loss_dense_part(m, o);
    if (isnan(dense)) return NAN;
    /* observed pairs: c (1 - s)^2 replaces the s^2 counted in quad */
    const int64_t CH = 4096, nch = (ui->n_rows + CH - 1) / CH;
    double *part = mr_calloc((size_t)nch, sizeof(double));
    if (!part) return NAN;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        double acc = 0;
        int64_t u1 = (ch + 1) * CH < ui->n_rows ? (ch + 1) * CH : ui->n_rows;
        for (int64_t u = ch * CH; u < u1; u++) {
            const float *x = m->user_factors + u * f;
            for (int64_t j = ui->indptr[u]; j < ui->indptr[u + 1]; j++) {
                const float *y = m->item_factors + (int64_t)ui->indices[j] * f;
                double s = 0;
                for (int a = 0; a < f; a++) s += (double)x[a] * y[a];
                double c = 1.0 + o->alpha * ui->data[j];
                acc += c * (1 - s) * (1 - s) - s * s;
            }
        }
        part[ch] = acc;
    }
    double obs = 0;
    for (int64_t ch = 0; ch < nch; ch++) obs += part[ch];
    free(part);
    return dense + obs;
}

/* ---- fit ---- */

int mr_als_fit(const mr_csr *ui, const mr_csr *iu, const mr_als_opts *o, mr_als_model *m,
               mr_als_progress_fn progress, void *ud)
{
    int rc = mr_als_validate(ui, o);
    if (rc) return rc;
    if (iu->n_rows != ui->n_cols || iu->n_cols != ui->n_rows || iu->nnz != ui->nnz)
        return mr_err(MR_EINVAL, "ALS: the item-side matrix (%lld x %lld) is not the transpose of the user side",
                      (long long)iu->n_rows, (long long)iu->n_cols);
    if (m->n_users != ui->n_rows || m->n_items != ui->n_cols || m->factors != o->factors)
        return mr_err(MR_EINVAL, "ALS: model sizes (%lld x %lld x %d) do not match the matrix (%lld x %lld x %d)",
                      (long long)m->n_users, (long long)m->n_items, m->factors, (long long)ui->n_rows,
                      (long long)ui->n_cols, o->factors);
    /* The loss after an iteration is taken inside its item half-step: the
     * user factors are final by then, and each item's observed terms are
     * computed from the rows CG has just gathered into cache, instead of a
     * separate pass over every non-zero (which cost as much as the
     * iteration itself at full size). */
    double *item_loss = o->compute_loss ? mr_malloc(sizeof(double) * (size_t)(m->n_items ? m->n_items : 1)) : NULL;
    if (o->compute_loss && !item_loss) return MR_ENOMEM;
    for (int it = 0; it < o->iterations && !rc; it++) {
        double t0 = mr_now();
        rc = half_step(ui, m->item_factors, m->n_items, m->user_factors, o, NULL);
        if (!rc) rc = half_step(iu, m->user_factors, m->n_users, m->item_factors, o, item_loss);
        if (rc) {
            rc = mr_err_wrap(rc, "ALS iteration %d: ", it + 1);
            break;
        }
        double secs = mr_now() - t0, loss = NAN;
        if (item_loss) {
            loss = loss_dense_part(m, o);
            for (int64_t i = 0; i < m->n_items; i++) loss += item_loss[i];
        }
        if (progress) progress(ud, it + 1, secs, loss);
    }
    free(item_loss);
    return rc;
}

/* ---- model file ---- */

/* Header layout (little-endian), MR_ALS_HEADER_SIZE bytes, zero padded:
 *   0  char[6]  magic "MRALS\0"
 *   6  u16      version
 *   8  u32      header size (1024)
 *  12  i32      factors
 *  16  i64      n_users
 *  24  i64      n_items
 *  32  i32      iterations
 *  36  i32      cg_steps
 *  40  f64      regularization
 *  48  f64      alpha
 *  56  i32      solver (0 cg, 1 cholesky)
 *  60  u32      reserved (0)
 *  64  u64      seed
 *  72  i64      users_size   (bytes of the users id map when trained; -1 unknown)
 *  80  i64      items_size
 *  88  char[256] users_path (relative to the work directory, NUL padded)
 * 344  char[256] items_path
 * 600  u64      checksum: mr_hash64 (base/vec.h) of header bytes [0, 600) and of the factors
 * then n_users*factors float32, n_items*factors float32. */
enum { OFF_CHECKSUM = 600 };


static uint64_t model_checksum(const unsigned char *hdr, const mr_als_model *m)
{
    uint64_t h = mr_hash64(0x6d7273616c73ULL, hdr, OFF_CHECKSUM);
    h = mr_hash64(h, m->user_factors, (size_t)m->n_users * m->factors * sizeof(float));
    h = mr_hash64(h, m->item_factors, (size_t)m->n_items * m->factors * sizeof(float));
    return h;
}

#define PUT(off, T, v)                                                                       \
    do {                                                                                     \
        T v_ = (v);                                                                          \
        memcpy(hdr + (off), &v_, sizeof v_);                                                 \
    } while (0)
#define GET(off, T) (*(T *)memcpy(&(T){0}, hdr + (off), sizeof(T)))

int mr_als_save(const char *path, const mr_als_model *m, const mr_als_meta *meta)
{
    unsigned char hdr[MR_ALS_HEADER_SIZE];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, MR_ALS_MAGIC, 6);
    PUT(6, uint16_t, MR_ALS_VERSION);
    PUT(8, uint32_t, MR_ALS_HEADER_SIZE);
    PUT(12, int32_t, m->factors);
    PUT(16, int64_t, m->n_users);
    PUT(24, int64_t, m->n_items);
    PUT(32, int32_t, meta->iterations);
    PUT(36, int32_t, meta->cg_steps);
    PUT(40, double, meta->regularization);
    PUT(48, double, meta->alpha);
    PUT(56, int32_t, meta->solver);
    PUT(64, uint64_t, meta->seed);
    PUT(72, int64_t, meta->users_size);
    PUT(80, int64_t, meta->items_size);
    snprintf((char *)hdr + 88, 256, "%s", meta->users_path);
    snprintf((char *)hdr + 344, 256, "%s", meta->items_path);
    PUT(OFF_CHECKSUM, uint64_t, model_checksum(hdr, m));

    mr_afile a;
    int rc = mr_afile_open(&a, path);
    if (rc) return rc;
    size_t nu = (size_t)m->n_users * m->factors, ni = (size_t)m->n_items * m->factors;
    if (fwrite(hdr, 1, sizeof hdr, a.f) != sizeof hdr || fwrite(m->user_factors, sizeof(float), nu, a.f) != nu ||
        fwrite(m->item_factors, sizeof(float), ni, a.f) != ni) {
        mr_afile_abort(&a);
        return mr_err(MR_EIO, "cannot write %s", path);
    }
    return mr_afile_commit(&a);
}

/* Reads len bytes at off into dst (or, dst NULL, through buf of BUF_LEN
 * bytes) and extends the checksum *h over them, a slice at a time so that
 * each slice is hashed while it is still in cache. mr_hash64 over slices
 * whose lengths are multiples of 8 equals the hash of the whole. */
enum { LOAD_SLICE = 4 << 20 };
static int read_hashed(int fd, const char *path, int64_t off, size_t len, void *dst, unsigned char *buf, uint64_t *h)
{
    size_t done = 0;
    while (done < len) {
        size_t k = len - done < LOAD_SLICE ? len - done : LOAD_SLICE;
        unsigned char *p = dst ? (unsigned char *)dst + done : buf;
        size_t got = 0;
        while (got < k) {
            ssize_t r = pread(fd, p + got, k - got, (off_t)(off + (int64_t)(done + got)));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return mr_err(MR_EIO, "cannot read the factors of %s: %s", path, r < 0 ? strerror(errno) : "short file");
            got += (size_t)r;
        }
        *h = mr_hash64(*h, p, k);
        done += k;
    }
    return 0;
}

int mr_als_load(const char *path, mr_als_model *m, mr_als_meta *meta) { return mr_als_load_opts(path, m, meta, 0); }

int mr_als_load_opts(const char *path, mr_als_model *m, mr_als_meta *meta, int flags)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mr_err(MR_ENOTFOUND, "cannot open ALS model %s (run `musrec als` first)", path);
    unsigned char hdr[MR_ALS_HEADER_SIZE];
    unsigned char *buf = NULL;
    int rc = 0;
    struct stat st;
    int64_t flen = fstat(fd, &st) == 0 ? (int64_t)st.st_size : -1;
    ssize_t hn = pread(fd, hdr, sizeof hdr, 0);
    if (hn != (ssize_t)sizeof hdr) {
        rc = mr_err(MR_EFORMAT, "%s is not an ALS model: shorter than its %d-byte header", path, MR_ALS_HEADER_SIZE);
        goto out;
    }
    if (memcmp(hdr, MR_ALS_MAGIC, 6) != 0) {
        rc = mr_err(MR_EFORMAT, "%s is not an ALS model (bad magic)", path);
        goto out;
    }
    uint16_t version = GET(6, uint16_t);
    if (version != MR_ALS_VERSION || GET(8, uint32_t) != MR_ALS_HEADER_SIZE) {
        rc = mr_err(MR_EUNSUPPORTED, "%s is an ALS model of version %u; this musrec reads version %d (retrain with `musrec als`)",
                    path, version, MR_ALS_VERSION);
        goto out;
    }
    int32_t fac = GET(12, int32_t);
    int64_t nu = GET(16, int64_t), ni = GET(24, int64_t);
    if (fac < 1 || fac > 1024 || nu < 1 || ni < 1 || nu > INT32_MAX || ni > INT32_MAX) {
        rc = mr_err(MR_EFORMAT, "%s: implausible sizes in the header (%lld users, %lld items, %d factors)", path,
                    (long long)nu, (long long)ni, fac);
        goto out;
    }
    int64_t want = MR_ALS_HEADER_SIZE + (nu + ni) * fac * (int64_t)sizeof(float);
    if (flen != want) {
        rc = mr_err(MR_EFORMAT, "%s is %s: %lld bytes, expected %lld for %lld users x %lld items x %d factors", path,
                    flen < want ? "truncated" : "too long", (long long)flen, (long long)want, (long long)nu,
                    (long long)ni, fac);
        goto out;
    }
    m->n_users = nu;
    m->n_items = ni;
    m->factors = fac;
    size_t ub = (size_t)nu * fac * sizeof(float), ib = (size_t)ni * fac * sizeof(float);
    int users = !(flags & MR_ALS_LOAD_ITEMS_ONLY);
    if (users && !(m->user_factors = mr_malloc_huge(ub))) rc = MR_ENOMEM;
    if (!rc && !(m->item_factors = mr_malloc_huge(ib))) rc = MR_ENOMEM;
    if (!rc && !users && !(buf = mr_malloc(LOAD_SLICE))) rc = MR_ENOMEM;
    if (rc) goto out;
    /* the checksum covers the user factors too: without them they are
     * streamed through buf, hashed and dropped */
    uint64_t h = mr_hash64(0x6d7273616c73ULL, hdr, OFF_CHECKSUM);
    if ((rc = read_hashed(fd, path, MR_ALS_HEADER_SIZE, ub, m->user_factors, buf, &h)) ||
        (rc = read_hashed(fd, path, MR_ALS_HEADER_SIZE + (int64_t)ub, ib, m->item_factors, NULL, &h)))
        goto out;
    if (h != GET(OFF_CHECKSUM, uint64_t)) {
        rc = mr_err(MR_EFORMAT, "%s is corrupt: checksum mismatch", path);
        goto out;
    }
    if (meta) {
        memset(meta, 0, sizeof *meta);
        meta->iterations = GET(32, int32_t);
        meta->cg_steps = GET(36, int32_t);
        meta->regularization = GET(40, double);
        meta->alpha = GET(48, double);
        meta->solver = GET(56, int32_t);
        meta->seed = GET(64, uint64_t);
        meta->users_size = GET(72, int64_t);
        meta->items_size = GET(80, int64_t);
        memcpy(meta->users_path, hdr + 88, 255);
        memcpy(meta->items_path, hdr + 344, 255);
    }
out:
    free(buf);
    close(fd);
    if (rc) mr_als_free(m);
    return rc;
}
