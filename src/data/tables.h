/* The pipeline's own tables, as they live in memory and on disk.
 *
 * Every step after preprocess works on dense codes: user_idx in
 * [0, n_users) and item_idx in [0, n_items), assigned in ascending order of
 * the raw user_id and track_id. Raw ids are kept beside the codes in files,
 * so results can be read without a join.
 *
 * Files (all under data/preprocessed/ of the workdir; columns in this order):
 *   events.parquet, train_events.parquet, test_events.parquet
 *     user_id INT32, user_idx INT32, track_id INT64, item_idx INT32,
 *     track_seq INT32 annotated INT(16), started_at DATE
 *     sorted by (user_idx, started_at, track_seq)
 *   items.parquet (one row per item, in item_idx order)
 *     track_id INT64, item_idx INT32, track_group_id INT32, track_name STRING,
 *     artist_ids LIST<INT64>, album_ids LIST<INT64>, genre_ids LIST<INT64>,
 *     artist_names LIST<STRING>, genre_names LIST<STRING>, flags INT32
 *     (MR_ITEM_* bits)
 *   users.parquet (one row per user, in user_idx order)
 *     user_id INT32, user_idx INT32, n_events INT32, first_day DATE, last_day DATE
 *   tracks_catalog_clean.parquet
 *     id INT64, type STRING, name STRING, name_clean STRING
 */
#ifndef MR_TABLES_H
#define MR_TABLES_H

#include <stdint.h>

enum {
    MR_ITEM_NO_ARTIST = 1,
    MR_ITEM_NO_GENRE = 2,
    MR_ITEM_NO_ALBUM = 4,
    MR_ITEM_NO_NAME = 8,
    MR_ITEM_DANGLING_GENRE = 16, /* had genre ids missing from the catalog (dropped) */
};

typedef struct {
    int64_t n;
    int32_t *user_idx, *item_idx;
    int32_t *day;        /* days since 1970-01-01 */
    int16_t *track_seq;
    int32_t *user_id;    /* raw ids: NULL unless asked for */
    int64_t *track_id;
} mr_events;

/* Reads an events file (any of the three). with_raw_ids also fills user_id
 * and track_id. */
int mr_events_read(const char *path, int with_raw_ids, mr_events *ev);
/* Writes ev (which must have raw ids) atomically. */
int mr_events_write(const char *path, const mr_events *ev);
void mr_events_free(mr_events *ev);
/* Writes the rows of ev whose day is in [day_from, day_to), in order. Raw
 * ids come from ev->user_id / ev->track_id when present, else from the
 * lookups user_ids[user_idx] and track_ids[item_idx] (so a caller need not
 * hold raw ids per event). */
int mr_events_write_days(const char *path, const mr_events *ev, int32_t day_from, int32_t day_to,
                         const int32_t *user_ids, const int64_t *track_ids, int64_t *n_written);

typedef struct {
    int32_t n;
    int64_t *track_id;
    int32_t *group_id;
    int32_t *flags;
    int64_t *name_off;        /* n + 1 offsets into name_bytes */
    char *name_bytes;
    int64_t *artist_off;      /* n + 1 offsets into artist_ids / artist_name_off */
    int64_t *artist_ids;
    int64_t *artist_name_off; /* (artist_off[n] + 1) offsets into artist_name_bytes */
    char *artist_name_bytes;
    int64_t *genre_off;       /* n + 1 offsets into genre_ids / genre_name_off */
    int64_t *genre_ids;
    int64_t *genre_name_off;
    char *genre_name_bytes;
    int64_t *album_off;       /* n + 1 offsets into album_ids */
    int64_t *album_ids;
} mr_items;

int mr_items_read(const char *path, mr_items *it);
void mr_items_free(mr_items *it);

typedef struct {
    int32_t n;
    int32_t *user_id;
    int32_t *n_events;
    int32_t *first_day, *last_day;
} mr_users;

int mr_users_read(const char *path, mr_users *u);
void mr_users_free(mr_users *u);

#endif
