/* The evaluation step: every model's recommendations scored against the
 * test period with the metrics of eval/metrics.h.
 *
 * Users: the test users (distinct user_idx of test_events.parquet) who also
 * have train events ("warm") are evaluated for every model; --sample-users N
 * takes a seeded random sample of N of them instead. Test users without
 * train events ("cold") can only get the popularity list; they are counted
 * and scored for popularity alone, reported apart as model
 * "popularity_cold" (all of them, also when warm users are sampled).
 *
 * Models (a missing file is skipped with a message):
 *   popularity  results/popularity_track_scores.parquet (the full ranking
 *               written by `musrec popular`, so that every user still has
 *               max(K) items after removing their train items), else
 *               results/top_popular.parquet; the list of a user is the
 *               ranking minus the user's train items
 *   als         results/personal_als.parquet     (data/recs.h format)
 *   ranked      results/recommendations.parquet  (data/recs.h format)
 * A warm user without a list in a model's file gets an empty list (scored
 * 0, counted as users_without_recs); recommendations for a user_idx or
 * item_idx outside the data are an error, as are duplicates in a list.
 * Recommended items that are in the user's train history are counted
 * (train_items_recommended) and warned about; they stay in the list.
 *
 * Outputs (results/): evaluation_<model>.json per model (metrics at every
 * K, users, a fingerprint of the input files, when and how long) and
 * models_comparison.parquet with one row per model and K:
 *   model STRING, k INT32, users INT64, precision, recall, map, ndcg,
 *   hit_rate, mrr, coverage, novelty DOUBLE
 */
#ifndef MR_EVALUATE_H
#define MR_EVALUATE_H

#include <stdint.h>
#include <stdio.h>

#include "eval/metrics.h"

typedef struct {
    const char *workdir;
    const int32_t *ks; /* ascending, distinct */
    int n_k;
    int64_t sample_users; /* 0 = every warm test user */
    uint64_t seed;
    FILE *table;          /* where the comparison table is printed (NULL: nowhere) */
} mr_eval_opts;

/* Runs the whole step; returns 0 or an error (mr_errmsg()). */
int mr_eval_run(const mr_eval_opts *o);

/* One model's result, as in models_comparison.parquet. */
typedef struct {
    char model[32];
    int n_k;
    mr_metrics m[64];
} mr_eval_row;

/* Prints the comparison table of n models. */
void mr_eval_print_table(FILE *f, const mr_eval_row *rows, int n);

#endif
