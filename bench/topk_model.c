/* bench/topk_model: the top-k engine on real ALS factors, path by path.
 *
 *   topk_model USER_F.npy ITEM_F.npy TRAIN.npz|- [USERS ITEMS_FOR_SIMILAR K]
 *
 * Recommend-all (top K, default 100, train items excluded) for the first
 * USERS users (default all) with the fp32 sgemm path (full scan, and norm
 * pruning) and the int8 path on each kernel this CPU runs (AVX2, AVX-VNNI,
 * AVX-512 VNNI);
 * similar-all (top 10 by cosine) over the first ITEMS_FOR_SIMILAR items
 * (default all) with the same paths. Prints seconds, pairs per second, the
 * share of pairs the int8 path rescored, and checks that the int8 lists
 * equal the fp32 ones up to float rounding (the int8 scores are the exact
 * ones; fp32 is sgemm-rounded) and the int8 kernels' lists equal each
 * other bit for bit. Extrapolate a subset to all users linearly (the work
 * is users x items).
 *
 * TOPK_PATHS=fp32,int8-avx2,int8-avxvnni,int8-vnni (any subset, in that order) picks
 * the paths; TOPK_SKIP=recommend, similar or full (the recommend full
 * scans) skips those parts (comma-separated); TOPK_ONLY=int8
 * (older spelling) drops fp32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/threads.h"
#include "models/similar.h"
#include "models/topk.h"
#include "models/topk_q8.h"
#include "store/npy.h"

static const char *path_name(int p) { return mr_topk_path_name(p); }

/* the paths to run: fp32, then each int8 kernel the CPU runs, as TOPK_PATHS allows */
static int pick_paths(int *paths)
{
    const char *want = getenv("TOPK_PATHS"), *only = getenv("TOPK_ONLY");
    int n = 0;
    if (want ? strstr(want, "fp32") != NULL : !(only && !strcmp(only, "int8"))) paths[n++] = MR_TOPK_FP32;
    if (mr_q8_have_avx2() && (!want || strstr(want, "int8-avx2"))) paths[n++] = MR_TOPK_INT8_AVX2;
    if (mr_q8_have_avxvnni() && (!want || strstr(want, "int8-avxvnni"))) paths[n++] = MR_TOPK_INT8_AVXVNNI;
    if (mr_q8_have_vnni() && (!want || strstr(want, "int8-vnni"))) paths[n++] = MR_TOPK_INT8;
    return n;
}

/* whether two exact lists are the same bits */
static int same(const int32_t *ai, const float *as, const int32_t *bi, const float *bs, int64_t n)
{
    return !memcmp(ai, bi, sizeof(int32_t) * n) && !memcmp(as, bs, sizeof(float) * n);
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
    int paths[4], np = pick_paths(paths);
    const char *skip = getenv("TOPK_SKIP");
    /* slot 0: fp32 (if run); then the int8 kernels */
    int32_t *idx[4] = {0};
    float *sc[4] = {0};
    int slot_path[4] = {0};
    if (!(skip && strstr(skip, "recommend"))) {
        for (int p = 0; p < np; p++) {
            idx[p] = malloc(sizeof(int32_t) * nq * k);
            sc[p] = malloc(sizeof(float) * nq * k);
        }
        for (int p = 0; p < np; p++)
            for (int prune = 0; prune < 2; prune++) {
                if (!prune && skip && strstr(skip, "full")) continue;
                mr_topk_opts o = {.k = k, .exclude = &ui, .prune = prune, .mode = paths[p]};
                double t0 = mr_now();
                if (mr_topk(X, nq, Y, ni, f, &o, idx[p], sc[p])) {
                    fprintf(stderr, "%s\n", mr_errmsg());
                    return 1;
                }
                double s = mr_now() - t0;
                slot_path[p] = o.path;
                printf("recommend %-13s %-10s %8.2f s  %.3f G pairs/s  scored %.1f%%", path_name(o.path),
                       prune ? "prune" : "full", s, (double)nq * ni / s / 1e9, 100.0 * o.scored / ((double)nq * ni));
                if (o.path != MR_TOPK_FP32)
                    printf("  rescored %.4f%% (%.0f per user)", 100.0 * o.rescored / ((double)nq * ni),
                           (double)o.rescored / nq);
                printf("\n");
            }
        for (int p = 1; p < np; p++) {
            if (slot_path[0] == MR_TOPK_FP32)
                printf("recommend: users whose %s list differs from fp32 beyond rounding: %lld of %lld\n",
                       path_name(slot_path[p]), (long long)compare(idx[0], sc[0], idx[p], sc[p], nq, k),
                       (long long)nq);
            if (p > 1 || slot_path[0] != MR_TOPK_FP32)
                printf("recommend: %s and %s lists bit for bit equal: %s\n", path_name(slot_path[p - 1]),
                       path_name(slot_path[p]), same(idx[p - 1], sc[p - 1], idx[p], sc[p], nq * k) ? "yes" : "NO");
        }
        for (int p = 0; p < np; p++) free(idx[p]), free(sc[p]);
    }

    const int n = 10;
    if (!(skip && strstr(skip, "similar"))) {
        for (int p = 0; p < np; p++) {
            idx[p] = malloc(sizeof(int32_t) * ns * n);
            sc[p] = malloc(sizeof(float) * ns * n);
        }
        for (int p = 0; p < np; p++) {
            mr_topk_opts o = {.mode = paths[p]};
            double t0 = mr_now();
            if (mr_similar_compute_opts(Y, ns, f, n, &o, idx[p], sc[p])) {
                fprintf(stderr, "%s\n", mr_errmsg());
                return 1;
            }
            double s = mr_now() - t0;
            slot_path[p] = o.path;
            printf("similar   %-13s %-10s %8.2f s  %.3f G pairs/s", path_name(o.path), "symmetric", s,
                   (double)ns * ns / s / 1e9);
            if (o.path != MR_TOPK_FP32) printf("  rescored %.4f%% of pairs", 100.0 * o.rescored / ((double)ns * ns));
            printf("\n");
        }
        for (int p = 1; p < np; p++) {
            if (slot_path[0] == MR_TOPK_FP32)
                printf("similar: items whose %s list differs from fp32 beyond rounding: %lld of %lld\n",
                       path_name(slot_path[p]), (long long)compare(idx[0], sc[0], idx[p], sc[p], ns, n),
                       (long long)ns);
            if (p > 1 || slot_path[0] != MR_TOPK_FP32)
                printf("similar: %s and %s lists bit for bit equal: %s\n", path_name(slot_path[p - 1]),
                       path_name(slot_path[p]), same(idx[p - 1], sc[p - 1], idx[p], sc[p], ns * n) ? "yes" : "NO");
        }
        for (int p = 0; p < np; p++) free(idx[p]), free(sc[p]);
    }
    printf("peak RSS: %.2f GB\n", mr_peak_rss() / 1e9);
    return 0;
}
