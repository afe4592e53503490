/* Step 4, split: a chronological train/test split of events.parquet and the
 * users x items interaction matrices of both parts.
 *
 * Train is every event before the split day, test the rest (on or after
 * it). Both matrices have the full shape (all users x all items of
 * preprocess), so codes mean the same thing everywhere. Files written under
 * the preprocessed directory: train_events.parquet, test_events.parquet,
 * train_matrix.npz, test_matrix.npz (scipy CSR, float32), split_info.json.
 */
#ifndef MR_SPLIT_H
#define MR_SPLIT_H

#include <stdint.h>

#include "data/tables.h"
#include "store/npy.h"

typedef enum {
    MR_VALUE_ONE,   /* 1.0 per (user, item) */
    MR_VALUE_COUNT, /* number of events of the pair */
    MR_VALUE_DECAY, /* sum over the pair's events of 2^-(age / half_life), age in days
                       before the last day of the part */
} mr_value_kind;

typedef struct {
    const char *dir;        /* data/preprocessed */
    int32_t split_day;      /* days since 1970-01-01 */
    double test_quantile;   /* in (0, 1): split at this quantile of event days instead; else < 0 */
    mr_value_kind value;
    double half_life_days;
} mr_split_opts;

typedef struct {
    int32_t split_day, first_day, last_day;
    int64_t n_users, n_items;
    int64_t train_events, test_events;
    int64_t train_users, test_users, both_users, cold_test_users;
    int64_t train_items, test_items, items_only_in_test;
    int64_t train_nnz, test_nnz;
} mr_split_info;

int mr_split(const mr_split_opts *o, mr_split_info *info);

/* The day at quantile q of the events' days (the lower one: the day of the
 * floor(q * (n - 1))-th event in day order). */
int32_t mr_split_quantile_day(const mr_events *ev, double q);

/* CSR (n_users x n_items) of the events with day in [from, to): rows sorted,
 * a repeated (user, item) pair is one entry whose value follows `value`. */
int mr_split_matrix(const mr_events *ev, int64_t n_users, int64_t n_items, int32_t from, int32_t to,
                    mr_value_kind value, double half_life_days, mr_csr *out);

#endif
