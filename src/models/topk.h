/* The one top-k engine: for each query vector q the k items v with the
 * largest dot product q . v. It serves recommend-all (queries = user
 * factors, the user's listened items excluded), similar items (queries =
 * normalised item factors, the item itself excluded) and the HTTP service
 * (one query).
 *
 * Two exact paths.
 *
 * int8 (bulk calls on a CPU with AVX-512 VNNI; with AVX2 only, bulk full
 * scans and similar-all): queries and items are quantised to int8 with a
 * scale per row (topk_q8.h), and a block of queries x items gets, per
 * pair, the int8 dot product (vpdpbusd: four times the multiply-adds per
 * instruction of float FMA; on AVX2 vpmaddwd on int16, twice) turned into a
 * rigorous upper bound U >= q . v from the rows' scales and quantisation
 * error norms (|q.v - q^.v^| <= |e_q||v| + |q^||e_v|). A pair is dropped
 * only when U is below the query's current k-th exact score (with a margin
 * that covers every float rounding); the others are rescored exactly. The
 * exact score is the float products summed in double in a fixed order and
 * rounded once to float (exact_dot in topk.c), the same as mr_topk_brute,
 * so the int8 path returns what the brute force returns, bit for bit,
 * ties included, whatever the CPU, kernel, block sizes or thread count. On
 * ALS factors about 10^-3 of the pairs are rescored (docs/als.md).
 *
 * fp32 (the service's single queries, CPUs without AVX2, pruned
 * recommend-all on CPUs without VNNI, or mode MR_TOPK_FP32): scores come
 * from blocked sgemm (a block of queries x a block of items, sized to stay
 * in L2) and go straight through the heaps;
 * they are float-accumulated, so they can differ from the exact score in
 * the last bits and near-ties can swap. With `prune`, items are visited
 * in order of decreasing norm and a query stops as soon as |q| |v_next|
 * (inflated by the float rounding bound) is below its k-th score.
 *
 * Both paths keep a bounded min-heap per query; a block row is first
 * checked with a vector compare against the heap's minimum, so most pairs
 * cost one compare. Excluded items are looked up (binary search in the
 * sorted CSR row) only for scores that would enter the heap. Ties are
 * broken by the lower item index.
 */
#ifndef MR_TOPK_H
#define MR_TOPK_H

#include <stdint.h>

#include "store/npy.h"

enum {
    MR_TOPK_AUTO = 0,      /* int8 for bulk calls on CPUs with AVX-512 VNNI or AVX2, else
                              fp32; the environment variable
                              MUSREC_TOPK=fp32|int8|int8-avx2|int8-avxvnni|portable overrides it (tests,
                              benchmarks) */
    MR_TOPK_FP32 = 1,      /* sgemm scores */
    MR_TOPK_INT8 = 2,      /* int8 bounds + exact rescoring with the best kernel: VNNI, else
                              AVX-VNNI, else AVX2, else portable; as a path: the VNNI kernel ran */
    MR_TOPK_INT8_PORTABLE = 3, /* the same with the portable (scalar) kernel: for tests */
    MR_TOPK_INT8_AVX2 = 4, /* the same with the AVX2 kernel (vpmaddwd; the portable one
                              without AVX2): what AVX2-only CPUs run, forceable here */
    MR_TOPK_INT8_AVXVNNI = 5 /* the same with the AVX-VNNI kernel (vpdpbusd on ymm; the AVX2
                                one without AVX-VNNI): Intel Alder Lake and later */
};

typedef struct {
    int k;
    const mr_csr *exclude; /* row q lists items never returned for query q; NULL: none */
    int exclude_self;      /* query q never returns item q (queries are the items) */
    int prune;             /* norm-ordered exact pruning; it sorts the items by norm on
                              every call, so leave it off for a handful of queries
                              (the service) and on for all users */
    int mode;              /* MR_TOPK_*; 0 = auto */
    /* out: how many query-item scores (or int8 bounds) were computed, how many
       pairs the int8 path rescored exactly, and the path taken (MR_TOPK_FP32,
       MR_TOPK_INT8 = the VNNI kernel, MR_TOPK_INT8_AVXVNNI, MR_TOPK_INT8_AVX2 or
       MR_TOPK_INT8_PORTABLE) */
    int64_t scored, rescored;
    int path;
} mr_topk_opts;

/* Q: nq x f, V: ni x f, row-major float32. out_idx/out_score: nq x k, best
 * first; a row with fewer than k eligible items ends with idx -1 and score
 * -INFINITY. Parallel over query blocks (OpenMP). A non-finite value in Q or
 * V is an error on the int8 path (the fp32 path does not look). */
int mr_topk(const float *Q, int64_t nq, const float *V, int64_t ni, int f, mr_topk_opts *o, int32_t *out_idx,
            float *out_score);

/* Every item against every item (Q = V), itself excluded: the same result
 * as mr_topk with exclude_self, from half the work (the score matrix, and
 * the int8 bound matrix, are symmetric). Uses o->k and o->mode (exclude,
 * exclude_self and prune are ignored); sets the out fields. Keeps k heap
 * entries per item per thread. Non-finite factors: an error on the int8
 * path. */
int mr_topk_self(const float *V, int64_t n, int f, mr_topk_opts *o, int32_t *out_idx, float *out_score);

/* The name of a path for logs: fp32, int8-vnni, int8-avxvnni, int8-avx2, int8-portable. */
const char *mr_topk_path_name(int path);

/* Reference implementation for tests: scores every pair one dot product at a
 * time with the exact score of the int8 path (float products summed in
 * double, rounded to float), same exclusions and tie rule. */
int mr_topk_brute(const float *Q, int64_t nq, const float *V, int64_t ni, int f, const mr_topk_opts *o,
                  int32_t *out_idx, float *out_score);

#endif
