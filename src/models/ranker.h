/* Two-stage ranking: candidates from cheap models, re-ranked by gradient-
 * boosted trees (XGBoost) over features the ALS score cannot see.
 *
 * Training never looks at the future. Train events are cut at
 *   label_start = split_day - label_days
 * into a fit part (day < label_start) and a label part (label_start <= day
 * < split_day). ALS, popularity and every feature come from the fit part;
 * a candidate's label is 1 when the user listened to it in the label part.
 * Test events are never read. At inference the same code runs with the
 * history = all of train (day < split_day), ALS candidates from step 6
 * (results/personal_als.parquet) and similar items from step 7.
 *
 * Candidates of a user: the ALS top N, the popularity top P, and the items
 * most similar to the user's last L distinct listens; the user's history
 * is excluded from all three. Features (docs/ranker.md): see
 * mr_rank_feature_names.
 */
#ifndef MR_RANKER_H
#define MR_RANKER_H

#include <stdint.h>

#include "data/recs.h"
#include "data/tables.h"
#include "models/als.h"
#include "store/npy.h"

enum { MR_RANK_NFEAT = 18 };
extern const char *const mr_rank_feature_names[MR_RANK_NFEAT];

/* What the features know: the history (events with day < ref_day). */
typedef struct {
    int32_t n_users, n_items, ref_day;
    const mr_events *ev;        /* sorted by user, then day */
    int64_t *ubeg, *uend;       /* user u's history is ev rows [ubeg[u], uend[u]) */
    mr_csr hist;                /* users x items, sorted rows (exclusion, ALS fit) */
    int64_t *listeners;         /* per item: distinct history users */
    int32_t *pop_order;         /* items by listeners desc, track_id asc */
    int32_t *pop_rank;          /* per item, 1-based */
    int32_t *first_day;         /* per item: first history day, INT32_MAX if none */
    int32_t *group_id, *group_size;
    float *genre_pop, *artist_pop; /* per item: max share of history listens over its genres / artists */
    int64_t *ig_off, *ia_off;   /* item -> dense genre / artist indices */
    int32_t *ig, *ia;
    int32_t n_genres, n_artists;
} mr_rank_world;

int mr_rank_world_build(const mr_events *ev, int32_t ref_day, int32_t n_users, const mr_items *items,
                        mr_rank_world *w);
void mr_rank_world_free(mr_rank_world *w);

typedef struct {
    int als_n;        /* ALS candidates (100) */
    int pop_n;        /* popularity candidates (50) */
    int last_n;       /* last distinct listens whose similar items are candidates (3) */
    /* ALS: factors for the score of every candidate; the top-N lists of
     * the users asked for in `als` (models/candidates.h makes them), NULL
     * for no ALS candidates */
    const float *user_factors, *item_factors;
    int factors;
    const mr_recs *als;
    const int32_t *sim_idx;   /* per item sim_n neighbours (-1 = none) */
    const float *sim_score;
    int sim_n;
} mr_cand_opts;

/* Candidate rows with features for a set of users, grouped by user in the
 * order given: user k owns rows [uoff[k], uoff[k+1]). */
typedef struct {
    int64_t n_rows;
    int32_t n_users;
    int32_t *user, *item;
    float *x;       /* n_rows x MR_RANK_NFEAT */
    int64_t *uoff;  /* n_users + 1 */
    int64_t cap_rows, cap_users; /* allocated: a block passed again is reused */
} mr_cand_block;

/* out must be zeroed before its first use; its buffers are reused (grown
 * when needed) by later calls, freed by mr_cand_block_free. */
int mr_rank_candidates(const mr_rank_world *w, const mr_cand_opts *o, const int32_t *users, int32_t n,
                       mr_cand_block *out);
void mr_cand_block_free(mr_cand_block *b);

typedef struct {
    const char *workdir;
    int label_days;        /* 14 */
    int als_n, pop_n, last_n, sim_n;
    int neg_per_pos;       /* 4 */
    int64_t max_train_users; /* users sampled for training (label part) */
    int64_t fit_users;     /* users the fit-part ALS is fit on: the sampled label users and a seeded
                              sample of the others up to this many (0 = every user) */
    int fit_iterations;    /* fit-part ALS iterations (0 = als.iterations) */
    double valid_frac;     /* held-out users for model choice */
    int rounds, max_depth; /* rounds: the most boosting rounds */
    int patience;          /* stop when held-out NDCG@10 has not improved for this many rounds (0 = never) */
    double eta;
    int top_n;             /* recommendations per user (100) */
    const char *objective; /* "auto" (pick by NDCG@10), "binary:logistic", "rank:ndcg" */
    mr_als_opts als;       /* for the fit-part ALS */
    uint64_t seed;
    int threads;
    const char *dump_dir;  /* testing: write validation features and scores as .npy */
} mr_rank_opts;

/* The whole step: fit on the label window, choose the objective, save
 * models/ranker.json and models/ranker_features.json, write
 * results/recommendations.parquet. */
int mr_rank_step(const mr_rank_opts *o);

#endif
