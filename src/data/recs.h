/* Recommendation lists: top-N items per user, the common currency of the
 * models (popularity, ALS, ranker), the evaluation and the service.
 *
 * In memory: users in ascending user_idx; user k has entries
 * off[k] .. off[k+1] in rank order (best first) of item_idx[] and score[].
 * On disk (results/personal_als.parquet, results/recommendations.parquet):
 *   user_id INT32, user_idx INT32, track_id INT64, item_idx INT32,
 *   score FLOAT, rank INT32 (1-based)
 * sorted by user_idx then rank. Readers need only user_idx, item_idx, score
 * and rank; raw ids are there for people and pandas.
 */
#ifndef MR_RECS_H
#define MR_RECS_H

#include <stdint.h>

typedef struct {
    int64_t n_users;      /* users with a list */
    int32_t *user_idx;    /* n_users, ascending */
    int64_t *off;         /* n_users + 1 */
    int32_t *item_idx;    /* off[n_users] */
    float *score;
} mr_recs;

/* Writes recs; user_id/track_id map codes to raw ids (indexed by code). */
int mr_recs_write(const char *path, const mr_recs *r, const int32_t *user_id,
                  const int64_t *track_id);
/* Reads a recommendations file; rows must be sorted by user_idx then rank
 * (an error names the first row that is not). */
int mr_recs_read(const char *path, mr_recs *r);
void mr_recs_free(mr_recs *r);

/* Reads one flat integer column (raw ids: users.parquet user_id,
 * items.parquet track_id) of a whole file into a malloc'd int64 array.
 * expect_rows >= 0 must match the file's row count (an error names both). */
int mr_read_id_column(const char *path, const char *column, int64_t expect_rows, int64_t **ids,
                      int64_t *n);

#endif
