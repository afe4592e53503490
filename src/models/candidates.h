/* ALS candidate lists: the top k unheard items of a set of users by x_u . y_i.
 *
 * One function serves every caller that turns ALS factors into per-user
 * lists: step 6 (`musrec als`: every user with history, written to
 * results/personal_als.parquet) and the ranker (step 8: the users of one
 * block of its label window, from its own fit-part ALS). Both need the same
 * thing: gather the users' factors and history rows, run the exact top-k
 * engine (models/topk.h) with the history excluded, and keep compact lists
 * (users without history and the -1 padding of users with fewer than k
 * unheard items dropped).
 */
#ifndef MR_CANDIDATES_H
#define MR_CANDIDATES_H

#include <stdint.h>

#include "data/recs.h"
#include "store/npy.h"

typedef struct {
    const float *user_factors; /* n_users x f (the rows of hist) */
    const float *item_factors; /* n_items x f */
    int64_t n_items;
    int f;
    const mr_csr *hist; /* users x items, sorted rows: excluded, and who has history */
    int k;              /* items per user */
    int prune;          /* mr_topk_opts.prune: worth it for many users */
    /* out, from the top-k engine (mr_topk_opts): scores or int8 bounds
       computed, pairs rescored exactly, the path taken */
    int64_t scored, rescored;
    int path;
} mr_cand_als_opts;

/* The ALS top k of users[0..n) (ascending user indices, each < hist->n_rows),
 * or of every row of hist when users is NULL. Users without history are
 * left out of out, as are the -1 slots of users with fewer than k unheard
 * items. out->user_idx is ascending. */
int mr_cand_als_recs(mr_cand_als_opts *o, const int32_t *users, int64_t n, mr_recs *out);

/* Similar items of a few items: for items[0..n) their k most similar items
 * by cosine of the item factors, the item itself excluded; the same
 * definition as mr_similar_compute (models/similar.h) for those rows only,
 * so a caller that needs the neighbours of a subset does not pay for all
 * n_items^2 pairs. idx/score: n x k, best first, -1 / -inf padding. */
int mr_cand_similar(const float *item_factors, int64_t n_items, int f, const int32_t *items, int64_t n, int k,
                    int32_t *idx, float *score);

/* The same, approximately, for a large catalogue: an inverted file over
 * nlist spherical k-means clusters of the normalised item factors
 * (centroids fit on a sample of at most 64 x nlist items, then every item
 * assigned); the queries of a cluster are compared only with the items of
 * the nprobe clusters nearest to its centroid. Work: about
 * n x nprobe x n_items / nlist pairs instead of n x n_items. *recall (if not
 * NULL) gets the share of the exact top k found, measured on up to 200
 * queries spread over the list (ties may count as misses). */
int mr_cand_similar_ivf(const float *item_factors, int64_t n_items, int f, const int32_t *items, int64_t n, int k,
                        int nlist, int nprobe, uint64_t seed, int32_t *idx, float *score, double *recall);

#endif
