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
    int64_t scored;     /* out: query-item scores computed */
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

#endif
