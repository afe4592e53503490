/* The one top-k engine: for each query vector q the k items v with the
 * largest dot product q . v. It serves recommend-all (queries = user
 * factors, the user's listened items excluded), similar items (queries =
 * normalised item factors, the item itself excluded) and the HTTP service
 * (one query).
 *
 * Exact. Scores come from blocked sgemm (a block of queries x a block of
 * items, sized to stay in L2) and go through a bounded min-heap per query;
 * a block row is first checked with a vector compare against the heap's
 * minimum, so most scores cost one compare. Excluded items are looked up
 * (binary search in the sorted CSR row) only for scores that would enter
 * the heap, which is far rarer than a full merge over the row.
 *
 * With `prune`, items are visited in order of decreasing norm and a query
 * stops as soon as |q| |v_next| (inflated by the float rounding bound) is
 * below its k-th score: still exact, and much less work when item norms
 * are heavy-tailed, as ALS item norms are (they grow with popularity).
 *
 * Ties are broken by the lower item index, so results do not depend on
 * block sizes, pruning or the thread count.
 */
#ifndef MR_TOPK_H
#define MR_TOPK_H

#include <stdint.h>

#include "store/npy.h"

typedef struct {
    int k;
    const mr_csr *exclude; /* row q lists items never returned for query q; NULL: none */
    int exclude_self;      /* query q never returns item q (queries are the items) */
    int prune;             /* norm-ordered exact pruning; it sorts the items by norm on
                              every call, so leave it off for a handful of queries
                              (the service) and on for all users */
    /* out: how many query-item scores were computed (for measuring pruning) */
    int64_t scored;
} mr_topk_opts;

/* Q: nq x f, V: ni x f, row-major float32. out_idx/out_score: nq x k, best
 * first; a row with fewer than k eligible items ends with idx -1 and score
 * -INFINITY. Parallel over query blocks (OpenMP). */
int mr_topk(const float *Q, int64_t nq, const float *V, int64_t ni, int f, mr_topk_opts *o, int32_t *out_idx,
            float *out_score);

/* Every item against every item (Q = V), itself excluded: the same result
 * as mr_topk with exclude_self, from half the sgemm work (the score matrix
 * is symmetric). Keeps k heap entries per item per thread. */
int mr_topk_self(const float *V, int64_t n, int f, int k, int32_t *out_idx, float *out_score);

/* Reference implementation for tests: scores every pair one dot product at a
 * time, in double, same exclusions and tie rule. */
int mr_topk_brute(const float *Q, int64_t nq, const float *V, int64_t ni, int f, const mr_topk_opts *o,
                  int32_t *out_idx, float *out_score);

#endif
