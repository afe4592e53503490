/* bench/topk_model: the top-k engine on real ALS factors, path by path.
 *
 *   topk_model USER_F.npy ITEM_F.npy TRAIN.npz|- [USERS ITEMS_FOR_SIMILAR K]
 *
 * Recommend-all (top K, default 100, train items excluded) for the first
 * USERS users (default all) with the fp32 sgemm path (full scan, and norm
 * pruning) and the int8 path; similar-all (top 10 by cosine) over the first
 * ITEMS_FOR_SIMILAR items (default all) with both paths. Prints seconds,
 * pairs per second, the share of pairs the int8 path rescored, and checks
 * that the int8 lists equal the fp32 ones up to float rounding (the int8
 * scores are the exact ones; fp32 is sgemm-rounded). Extrapolate a subset
 * to all users linearly (the work is users x items). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/threads.h"
#include "models/similar.h"
#include "models/topk.h"
#include "store/npy.h"

static const char *path_name(int p)
{
    return p == MR_TOPK_INT8 ? "int8 VNNI" : p == MR_TOPK_INT8_PORTABLE ? "int8 portable" : "fp32";
}

/* rows whose lists differ in more than float rounding can explain */
static int64_t compare(const int32_t *ai, const float *as, const int32_t *bi, const float *bs, int64_t rows, int k)
{
    int64_t bad = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < k; j++) {
            int64_t x = r * k + j;
            if (ai[x] == bi[x]) continue;
            if (fabsf(as[x] - bs[x]) <= 1e-5f * (1 + fabsf(as[x]))) continue; /* near tie swapped */
            bad++;
            break;
        }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: topk_model USER_F.npy ITEM_F.npy TRAIN.npz [USERS ITEMS_FOR_SIMILAR K]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* OpenMP threads (OMP_NUM_THREADS or all cores) and one OpenBLAS thread
       inside them, as musrec runs */
    mr_threads_set(0);
    float *X, *Y;
    int64_t nu, fu, ni, fi;
    mr_csr ui;
    /* TRAIN "-": no exclusions (skips loading a big train matrix) */
    int no_train = !strcmp(argv[3], "-");
    if (mr_npy_read_f32(argv[1], &X, &nu, &fu) || mr_npy_read_f32(argv[2], &Y, &ni, &fi) ||
        (!no_train && mr_npz_read_csr(argv[3], &ui))) {
        fprintf(stderr, "%s\n", mr_errmsg());
        return 1;
    }
    int f = (int)fu;
    if (no_train) {
        ui = (mr_csr){.n_rows = nu, .n_cols = ni, .indptr = calloc(nu + 1, sizeof(int64_t))};
    }
    /* REPLICATE=R: R noisy copies of the item factors (scale-1 item counts
     * from a scale-0.1 model); the train matrix then excludes nothing past
     * the first copy */
    const char *rep = getenv("REPLICATE");
    if (rep && atoi(rep) > 1) {
        int R = atoi(rep);
        float *Y2 = malloc(sizeof(float) * ni * R * f);
        uint64_t st = 99;
        for (int64_t j = 0; j < ni * R * f; j++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            float noise = 1.0f + 0.2f * ((float)(st >> 40) / 16777216.0f - 0.5f);
            Y2[j] = Y[j % (ni * f)] * (j < ni * f ? 1.0f : noise);
        }
        free(Y);
        Y = Y2;
        ni *= R;
        ui.n_cols = ni;
    }
    int64_t nq = argc > 4 && atoll(argv[4]) > 0 ? atoll(argv[4]) : nu;
    int64_t ns = argc > 5 && atoll(argv[5]) > 0 ? atoll(argv[5]) : ni;
    int k = argc > 6 ? atoi(argv[6]) : 100;
    if (nq > nu) nq = nu;
    if (ns > ni) ns = ni;
    printf("factors: %lld users x %lld items x %d; recommend-all on %lld users, top %d\n", (long long)nu,
           (long long)ni, f, (long long)nq, k);
    int32_t *idx[2];
    float *sc[2];
    for (int p = 0; p < 2; p++) {
        idx[p] = malloc(sizeof(int32_t) * nq * k);
        sc[p] = malloc(sizeof(float) * nq * k);
    }
    struct {
        int mode, prune;
    } runs[4] = {{MR_TOPK_FP32, 0}, {MR_TOPK_FP32, 1}, {MR_TOPK_INT8, 0}, {MR_TOPK_INT8, 1}};
    const char *only = getenv("TOPK_ONLY"); /* "int8": skip the fp32 runs (profiling) */
    for (int r = 0; r < 4; r++) {
        if (only && !strcmp(only, "int8") && runs[r].mode == MR_TOPK_FP32) continue;
        mr_topk_opts o = {.k = k, .exclude = &ui, .prune = runs[r].prune, .mode = runs[r].mode};
        int slot = runs[r].mode == MR_TOPK_FP32 ? 0 : 1;
        double t0 = mr_now();
        if (mr_topk(X, nq, Y, ni, f, &o, idx[slot], sc[slot])) {
            fprintf(stderr, "%s\n", mr_errmsg());
            return 1;
        }
        double s = mr_now() - t0;
        printf("recommend %-13s %-10s %8.2f s  %.3f G pairs/s  scored %.1f%%", path_name(o.path),
               runs[r].prune ? "prune" : "full", s, (double)nq * ni / s / 1e9, 100.0 * o.scored / ((double)nq * ni));
        if (o.path != MR_TOPK_FP32)
            printf("  rescored %.4f%% (%.0f per user)", 100.0 * o.rescored / ((double)nq * ni),
                   (double)o.rescored / nq);
        printf("\n");
    }
    printf("recommend: users whose int8 list differs from fp32 beyond rounding: %lld of %lld\n",
           (long long)compare(idx[0], sc[0], idx[1], sc[1], nq, k), (long long)nq);
    for (int p = 0; p < 2; p++) free(idx[p]), free(sc[p]);

    const int n = 10;
    for (int p = 0; p < 2; p++) {
        idx[p] = malloc(sizeof(int32_t) * ns * n);
        sc[p] = malloc(sizeof(float) * ns * n);
    }
    for (int p = 0; p < 2; p++) {
        if (only && !strcmp(only, "int8") && p == 0) continue;
        mr_topk_opts o = {.mode = p ? MR_TOPK_INT8 : MR_TOPK_FP32};
        double t0 = mr_now();
        if (mr_similar_compute_opts(Y, ns, f, n, &o, idx[p], sc[p])) {
            fprintf(stderr, "%s\n", mr_errmsg());
            return 1;
        }
        double s = mr_now() - t0;
        printf("similar   %-13s %-10s %8.2f s  %.3f G pairs/s", path_name(o.path), "symmetric", s,
               (double)ns * ns / s / 1e9);
        if (o.path != MR_TOPK_FP32) printf("  rescored %.4f%% of pairs", 100.0 * o.rescored / ((double)ns * ns));
        printf("\n");
    }
    printf("similar: items whose int8 list differs from fp32 beyond rounding: %lld of %lld\n",
           (long long)compare(idx[0], sc[0], idx[1], sc[1], ns, n), (long long)ns);
    printf("peak RSS: %.2f GB\n", mr_peak_rss() / 1e9);
    return 0;
}
