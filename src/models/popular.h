/* The popularity baseline: tracks ranked by how many train users listened.
 *
 * listeners(i) = the number of distinct train users who listened to item i.
 * With a half-life h (days), each of those users counts with weight
 * 2^(-age/h) instead of 1, where age = (last train day) - (day of the user's
 * first listen of i): the recency-weighted popularity. The ranking is by
 * listeners, descending, ties broken by track_id ascending, so it is the
 * same on every run and at any thread count.
 *
 * Files (results/ of the workdir), sorted by rank:
 *   top_popular.parquet               the top N items
 *   popularity_track_scores.parquet   every item of items.parquet
 * columns: rank INT32 (1-based), track_id INT64, item_idx INT32,
 *          listeners INT64 (a count) or DOUBLE (when recency-weighted),
 *          score FLOAT = listeners / max listeners
 * Footer metadata: musrec.half_life_days ("0" = not weighted) and
 * musrec.reference_day (the last train day, days since 1970-01-01).
 *
 * The popularity recommendations of a user are the ranking minus the items
 * the user listened to in train (mr_popular_recommend).
 */
#ifndef MR_POPULAR_H
#define MR_POPULAR_H

#include <stdint.h>

typedef struct {
    int32_t n_items;
    int64_t *track_id;   /* by item_idx */
    double *listeners;   /* by item_idx */
    int32_t *order;      /* item_idx by rank, best first (n_items) */
    double half_life;    /* days; 0 = a plain count */
    int32_t ref_day;     /* last train day */
    int64_t train_users; /* distinct users with a train event */
} mr_popularity;

/* Counts listeners from train events (sorted by user_idx, as
 * train_events.parquet is; an unsorted input is an error naming the row).
 * track_id maps item_idx -> raw id for the n_items items. half_life <= 0
 * means a plain count. Errors: no events, an item_idx outside [0, n_items). */
int mr_popular_fit(const int32_t *user_idx, const int32_t *item_idx, const int32_t *day, int64_t n_events,
                   int32_t n_items, const int64_t *track_id, double half_life, mr_popularity *p);

/* The columns of an events file (data/tables.h layout) that the popularity
 * and evaluation steps need, as int32: user_idx, item_idx, and optionally
 * the day (started_at as DATE, or a TIMESTAMP converted to days) and the
 * raw user_id. Reads only those columns, row groups in parallel. */
typedef struct {
    int64_t n;
    int32_t *user_idx, *item_idx;
    int32_t *day;     /* NULL unless asked for */
    int32_t *user_id; /* NULL unless asked for */
} mr_event_cols;

int mr_event_cols_read(const char *path, int want_day, int want_user_id, mr_event_cols *ev);
void mr_event_cols_free(mr_event_cols *ev);

/* Reads train_events.parquet and items.parquet (track_id, item_idx) and
 * fits; errors name the file. */
int mr_popular_build(const char *train_path, const char *items_path, double half_life, mr_popularity *p);

/* Writes the first top_n items of the ranking (all when top_n <= 0 or
 * larger than n_items) in the file format above. */
int mr_popular_write(const char *path, const mr_popularity *p, int64_t top_n);

/* Reads item_idx of a file written by mr_popular_write, in rank order
 * (checks that rank runs 1, 2, 3, ...). */
int mr_popular_read_order(const char *path, int32_t **item_idx, int64_t *n);

/* Fills out[0 .. k) with the first items of order[0 .. n_order) not in
 * history (sorted item_idx of the user's train items); returns how many
 * (fewer than k only when the ranking runs out). */
int64_t mr_popular_recommend(const int32_t *order, int64_t n_order, const int32_t *history, int64_t n_history,
                             int64_t k, int32_t *out);

void mr_popular_free(mr_popularity *p);

#endif
