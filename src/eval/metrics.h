/* Ranking metrics: the numbers that decide which model wins.
 *
 * For an evaluated user u, R_u is the set of distinct items u listened to in
 * test (sorted item_idx, no duplicates, not empty) and L_u the model's list,
 * best first (items of u's train history already filtered out by the model;
 * a duplicate item in L_u is an error naming the user). rel_i = 1 when the
 * i-th item of L_u is in R_u. At each cut-off K, averaged over the evaluated
 * users:
 *   Precision@K = |L_u[1..K] ∩ R_u| / K
 *   Recall@K    = |L_u[1..K] ∩ R_u| / |R_u|
 *   HitRate@K   = 1 if L_u[1..K] ∩ R_u is not empty, else 0
 *   MRR@K       = 1 / (rank of the first hit), 0 if there is none in 1..K
 *   MAP@K       = (1 / min(K, |R_u|)) · Σ_{i=1..K} Precision@i · rel_i
 *   NDCG@K      = Σ_{i=1..K} rel_i / log2(i+1)  /  Σ_{i=1..min(K,|R_u|)} 1 / log2(i+1)
 * A list shorter than K is scored on what there is: the missing positions
 * are misses, and the denominators stay K and min(K, |R_u|).
 * Model-level, over the same users:
 *   coverage@K  = |∪_u L_u[1..K]| / n_items
 *   novelty@K   = mean over every recommended slot (u, i ≤ K) of
 *                 −log2(max(listeners(item), 1) / train_users)
 *                 (0 when no user has any recommendation)
 *
 * Results do not depend on the thread count: users are summed in fixed
 * blocks of MR_METRICS_BLOCK users, each block in user order, and the block
 * sums in block order, whatever thread computed which block.
 */
#ifndef MR_METRICS_H
#define MR_METRICS_H

#include <stdint.h>

/* Users per block of the deterministic reduction (see above). */
#define MR_METRICS_BLOCK 1024

/* Per-user item lists: user u has items[beg[u] .. end[u]). beg/end index a
 * shared items array, so callers can point into existing CSR rows or
 * recommendation files without copying. end == NULL means end[u] = beg[u+1]
 * (plain CSR offsets, beg then has n_users + 1 entries). */
typedef struct {
    const int32_t *items;
    const int64_t *beg, *end;
} mr_lists;

typedef struct {
    int64_t n_users;
    mr_lists rel;               /* R_u: sorted, distinct, non-empty */
    mr_lists rec;               /* L_u: ranked, distinct; may be empty */
    int32_t n_items;            /* item codes are in [0, n_items) */
    const int32_t *user_label;  /* raw user ids for messages (NULL: position) */
    /* novelty: listeners per item (n_items entries) and the number of train
     * users; listeners == NULL or train_users <= 0 reports novelty as 0 */
    const int64_t *listeners;
    int64_t train_users;
} mr_metrics_input;

typedef struct {
    int32_t k;
    int64_t users;     /* users averaged over */
    int64_t slots;     /* recommended (user, position ≤ k) pairs */
    double precision, recall, map, ndcg, hit_rate, mrr, coverage, novelty;
} mr_metrics;

/* Computes every metric at each of ks[0 .. n_k) (each ≥ 1, any order,
 * distinct) into out[0 .. n_k). Errors: K < 1 or repeated, an empty,
 * unsorted or out-of-range R_u, an out-of-range or repeated item in L_u
 * (named with its user). */
int mr_metrics_compute(const mr_metrics_input *in, const int32_t *ks, int n_k, mr_metrics *out);

/* Parses a comma-separated K list ("5,10,50,100") into a sorted, distinct
 * malloc'd array. Errors name the bad element (K must be 1 .. 100000). */
int mr_metrics_parse_k(const char *s, int32_t **ks, int *n_k);

#endif
