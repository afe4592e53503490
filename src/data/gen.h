/* Synthetic Yandex Music data: the real schema and shape at any scale.
 *
 * `musrec gen` writes data/raw/{tracks,catalog_names,interactions}.parquet
 * (and data/raw/_truth/track_groups.parquet) exactly as pyarrow wrote the
 * real files (see docs/DATASET.md), from a small generative model that is
 * described in docs/generator.md: a catalog of artists, albums and songs
 * with versions, and users with lasting tastes who listen in sessions.
 *
 * Two layers:
 *   - the world (mr_gen_world): the whole catalog plus every user's event
 *     count, built once in memory (about 370 MB at scale 1);
 *   - events, generated block by block of user ids: block b depends only on
 *     (seed, b) and the world, so blocks can be generated on any thread in
 *     any order and the files are byte-identical at every thread count.
 * mr_gen_run() drives both and streams events through the parquet writer;
 * tests use the layers directly to check statistics in memory.
 */
#ifndef MR_GEN_H
#define MR_GEN_H

#include <stdint.h>

typedef struct {
    double scale;           /* 1.0 = the real sizes (1M tracks, 1.37M users, 222.6M events) */
    uint64_t seed;
    const char *out_dir;    /* where the files go (data/raw of the workdir) */
    int force;              /* overwrite existing files */
    int64_t row_group_rows; /* interactions row group size; 0 = 1,048,576 like pyarrow */
    int progress;           /* show a progress bar (if stderr is a terminal) */
} mr_gen_opts;

typedef struct {
    int64_t n_tracks, n_albums, n_artists, n_genres, n_catalog_rows;
    int64_t n_users, n_events, n_groups;
    int64_t bytes; /* total size of the files written */
    double seconds;
} mr_gen_stats;

/* Number of users in one block of the event generator. */
#define MR_GEN_BLOCK_USERS 1024

/* Days are counted from 2022-01-01 (day 0) to 2022-12-31 (day 364). */
#define MR_GEN_DAY0 18993 /* 2022-01-01 in days since 1970-01-01 */
#define MR_GEN_DAYS 365

/* The catalog as it is written: track i is the i-th row of tracks.parquet
 * (ascending track_id). Lists are CSR: row i owns [off[i], off[i+1]). */
typedef struct {
    int32_t n_tracks, n_albums, n_artists, n_genres;
    int64_t *track_id;
    int64_t *album_off, *album_ids;
    int64_t *artist_off, *artist_ids;
    int64_t *genre_off, *genre_ids;
    int64_t *true_group; /* track_id of the group's original recording */
    /* catalog_names rows: albums, artists, genres, tracks, each by id */
    int64_t n_names;
    int64_t *name_id;
    uint8_t *name_type;  /* index into mr_gen_type_names */
    int64_t *name_off;   /* n_names + 1 */
    char *name_bytes;
    /* users: n_users ids in ascending order (ids 0..max with a few gaps) */
    int32_t n_users;
    int32_t *user_id;
    int32_t *user_events;  /* events of each user (exact) */
    int64_t n_events;      /* their sum */
} mr_gen_catalog;

extern const char *const mr_gen_type_names[4]; /* "album", "artist", "genre", "track" */

typedef struct mr_gen_world mr_gen_world;

/* Builds the catalog and user profiles for scale and seed. */
int mr_gen_world_new(mr_gen_world **out, double scale, uint64_t seed);
void mr_gen_world_free(mr_gen_world *w);
const mr_gen_catalog *mr_gen_world_catalog(const mr_gen_world *w);
int64_t mr_gen_num_blocks(const mr_gen_world *w);

/* One block of events, sorted by (user_id, track_seq). track is the
 * track_id (the real file stores it as INT32). */
typedef struct {
    int64_t n, cap;
    int32_t *user_id, *track_id, *track_seq, *day; /* day 0..364 */
} mr_gen_events;

/* Generates the events of block b (users with ids in [b*1024, (b+1)*1024))
 * into ev (reusing its buffers). Thread-safe for distinct ev. */
int mr_gen_block(const mr_gen_world *w, int64_t b, mr_gen_events *ev);
void mr_gen_events_free(mr_gen_events *ev);

/* Bytes the files of one run take on disk, with a margin. */
int64_t mr_gen_estimate_bytes(double scale);

/* Builds the world, generates every block and writes the four files into
 * o->out_dir: all four go to a staging directory first and are renamed into
 * place only when every one is complete, so a failure leaves the old files
 * (or none) and never a mix of old and new or a partial file. */
int mr_gen_run(const mr_gen_opts *o, mr_gen_stats *st);

#endif
