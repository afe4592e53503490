/* bench/als_synth: ALS fit, recommend-all and similar-all on a synthetic
 * power-law matrix of a given size, for when no generated data set is at
 * hand (bench/als.sh uses the real pipeline when it can).
 *
 *   als_synth USERS ITEMS NNZ [FACTORS ITERATIONS THREADS FULLSCAN]
 *
 * FULLSCAN=1 also times recommend-all without pruning.
 *
 * Row lengths are log-normal (median ~ mean/2.9, as in the real data: mean
 * 156, median 54); item popularity follows a power law with a heavy head.
 * Prints one line per phase: seconds, and peak RSS at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/threads.h"
#include "models/als.h"
#include "models/similar.h"
#include "models/topk.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static double unit(uint64_t *s) { return (double)(rng(s) >> 11) / 9007199254740992.0; }

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void transpose(const mr_csr *a, mr_csr *t)
{
    t->n_rows = a->n_cols, t->n_cols = a->n_rows, t->nnz = a->nnz;
    t->indptr = calloc(t->n_rows + 1, sizeof(int64_t));
    t->indices = malloc(sizeof(int32_t) * a->nnz);
    t->data = malloc(sizeof(float) * a->nnz);
    for (int64_t j = 0; j < a->nnz; j++) t->indptr[a->indices[j] + 1]++;
    for (int64_t r = 0; r < t->n_rows; r++) t->indptr[r + 1] += t->indptr[r];
    int64_t *pos = malloc(sizeof(int64_t) * t->n_rows);
    memcpy(pos, t->indptr, sizeof(int64_t) * t->n_rows);
    for (int64_t u = 0; u < a->n_rows; u++)
        for (int64_t j = a->indptr[u]; j < a->indptr[u + 1]; j++) {
            int64_t p = pos[a->indices[j]]++;
            t->indices[p] = (int32_t)u;
            t->data[p] = a->data[j];
        }
    free(pos);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: als_synth USERS ITEMS NNZ [FACTORS ITERATIONS THREADS]\n");
        return 2;
    }
    int64_t nu = atoll(argv[1]), ni = atoll(argv[2]), want = atoll(argv[3]);
    int f = argc > 4 ? atoi(argv[4]) : 64, iters = argc > 5 ? atoi(argv[5]) : 15;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int threads = mr_threads_set(argc > 6 ? atoi(argv[6]) : 0);
    double t0 = mr_now();
    uint64_t s = 12345;
    mr_csr ui = {.n_rows = nu, .n_cols = ni};
    ui.indptr = calloc(nu + 1, sizeof(int64_t));
    double mean = (double)want / nu, sigma = 1.46, mu = log(mean) - sigma * sigma / 2;
    int64_t cap = want + want / 4 + 1024, nnz = 0;
    ui.indices = malloc(sizeof(int32_t) * cap);
    ui.data = malloc(sizeof(float) * cap);
    for (int64_t u = 0; u < nu; u++) {
        double g = sqrt(-2 * log(unit(&s) + 1e-300)) * cos(2 * M_PI * unit(&s));
        int64_t len = (int64_t)exp(mu + sigma * g) + 1;
        if (len > ni / 2) len = ni / 2;
        if (nnz + len > cap) len = cap - nnz;
        int32_t *row = ui.indices + nnz;
        for (int64_t j = 0; j < len; j++) row[j] = (int32_t)(ni * pow(unit(&s), 2.2));
        qsort(row, (size_t)len, sizeof(int32_t), cmp_i32);
        int64_t m = 0;
        for (int64_t j = 0; j < len; j++)
            if (m == 0 || row[j] != row[m - 1]) row[m++] = row[j];
        for (int64_t j = 0; j < m; j++) ui.data[nnz + j] = 1.0f;
        nnz += m;
        ui.indptr[u + 1] = nnz;
    }
    ui.nnz = nnz;
    mr_csr iu;
    transpose(&ui, &iu);
    printf("synthetic matrix: %lld users x %lld items, %lld non-zeros (%.1f s to build), %d threads\n",
           (long long)nu, (long long)ni, (long long)nnz, mr_now() - t0, threads);

    mr_als_opts o;
    mr_als_opts_default(&o);
    o.factors = f;
    o.iterations = iters;
    mr_als_model m;
    if (mr_als_init(&m, nu, ni, f, 42)) return 1;
    t0 = mr_now();
    if (mr_als_fit(&ui, &iu, &o, &m, NULL, NULL)) {
        fprintf(stderr, "%s\n", mr_errmsg());
        return 1;
    }
    double fit = mr_now() - t0;
    printf("peak RSS after fit: %.2f GB\n", mr_peak_rss() / 1e9);
    printf("fit: %.1f s (%d iterations, %.2f s each)\n", fit, iters, fit / (iters ? iters : 1));

    int k = 100;
    int64_t nq = nu;
    int32_t *idx = malloc(sizeof(int32_t) * nq * k);
    float *sc = malloc(sizeof(float) * nq * k);
    int fullscan = argc > 7 ? atoi(argv[7]) : 1;
    for (int prune = 1; prune >= (fullscan ? 0 : 1); prune--) {
        mr_topk_opts to = {.k = k, .exclude = &ui, .prune = prune};
        t0 = mr_now();
        if (mr_topk(m.user_factors, nq, m.item_factors, ni, f, &to, idx, sc)) return 1;
        double secs = mr_now() - t0;
        printf("recommend-all top-%d (%s): %.1f s, %.1f%% of scores computed, %.2f G user-item pairs/s\n", k,
               prune ? "norm pruning" : "full scan", secs, 100.0 * to.scored / ((double)nq * ni),
               (double)nq * ni / secs / 1e9);
    }
    free(idx), free(sc);
    idx = malloc(sizeof(int32_t) * ni * 10);
    sc = malloc(sizeof(float) * ni * 10);
    t0 = mr_now();
    if (mr_similar_compute(m.item_factors, ni, f, 10, idx, sc)) return 1;
    printf("similar-all top-10 (exact, symmetric scan): %.1f s\n", mr_now() - t0);
    int32_t *aidx = malloc(sizeof(int32_t) * ni * 10);
    float *asc = malloc(sizeof(float) * ni * 10);
    int nlist = (int)ceil(sqrt((double)ni));
    t0 = mr_now();
    if (mr_similar_compute_approx(m.item_factors, ni, f, 10, nlist, 16, aidx, asc)) return 1;
    double asecs = mr_now() - t0;
    printf("similar-all top-10 (approx, %d clusters, 16 probed): %.1f s, recall vs exact %.4f (1000 items)\n", nlist,
           asecs, mr_similar_recall(m.item_factors, ni, f, 10, aidx, 1000));
    printf("peak RSS: %.2f GB\n", mr_peak_rss() / 1e9);
    return 0;
}
