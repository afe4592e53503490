/* One consistent set of artifacts the service answers from.
 *
 * A snapshot is loaded completely (every file read, every index built)
 * before it is published, and is never modified afterwards, so request
 * threads read it without locks. SIGHUP loads a new one beside the old and
 * swaps a pointer (serve/service.c); the old one is freed once no request
 * holds it.
 *
 * Everything is indexed by the dense codes of the pipeline (item_idx,
 * user_idx); raw ids go through two hash maps at the edge. Each part is
 * optional except the catalog: a workdir without a similar index serves
 * empty online lists, one without ALS factors does no fold-in, and so on;
 * /health says what was loaded.
 *
 * Tests build snapshots by hand: fill the arrays (malloc'd; the snapshot owns
 * them) and call mr_snap_finish() to build the id maps and derived data.
 */
#ifndef MR_SNAPSHOT_H
#define MR_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/vec.h"

typedef struct {
    /* catalog, by item_idx (from data/preprocessed/items.parquet) */
    int32_t n_items;
    int64_t *track_id;
    int64_t *name_off;         /* n_items + 1 into name_bytes */
    char *name_bytes;
    int64_t *artist_off;       /* n_items + 1 into artist_name_off */
    int64_t *artist_name_off;  /* artist_off[n_items] + 1 into artist_name_bytes */
    char *artist_name_bytes;

    /* users known to the pipeline: user_id by user_idx (users.parquet) */
    int32_t n_users;
    int32_t *user_id;

    /* offline lists (results/recommendations.parquet, else personal_als),
     * as mr_recs: lists for rec_users[i] are rec_off[i] .. rec_off[i+1] */
    int64_t n_rec_users;
    int32_t *rec_user;         /* ascending user_idx */
    int64_t *rec_off;
    int32_t *rec_item;
    float *rec_score;

    /* what each known user listened to in train: CSR rows by user_idx,
     * sorted item_idx (train_matrix.npz); NULL when absent */
    int64_t *hist_off;         /* n_users + 1 */
    int32_t *hist_item;

    /* top popular (results/top_popular.parquet), best first */
    int32_t n_popular;
    int32_t *pop_item;
    float *pop_score;

    /* similar items: item i's list is sim_off[i] .. sim_off[i+1] of
     * sim_item/sim_score, best first; or, when sim_off is NULL and
     * sim_width > 0, sim_width entries (padded with -1) at
     * sim_item + i*sim_stride and sim_score + i*sim_stride (the mapped
     * results/similar_index.bin interleaves them: stride 2*width) */
    int64_t *sim_off;
    int32_t sim_width, sim_stride;
    const int32_t *sim_item;
    const float *sim_score;
    void *sim_map;             /* owner of sim_item/sim_score when mapped */
    void (*sim_unmap)(void *);

    /* ALS item factors (n_items x n_factors, row-major) for fold-in */
    int32_t n_factors;
    float *item_factors;
    float als_reg, als_alpha;

    /* derived by mr_snap_finish */
    mr_imap track_index;       /* track_id -> item_idx */
    mr_imap user_index;        /* user_id -> user_idx */
    double *gram;              /* YᵀY, n_factors x n_factors, for fold-in */

    /* provenance, for /health and the logs */
    char offline_source[64];   /* "recommendations", "personal_als", "" */
    double loaded_at;          /* unix seconds */
    double load_secs;
} mr_snap;

/* Builds the id maps and YᵀY; validates every index the arrays hold (an
 * item_idx out of range is an error naming the array), so request code may
 * trust them. */
int mr_snap_finish(mr_snap *s);

/* Loads every artifact under workdir (see docs/serve.md for the files). */
int mr_snap_load(const char *workdir, mr_snap **out);

void mr_snap_free(mr_snap *s);

/* item_idx of a raw track id, or -1. */
static inline int32_t mr_snap_item(const mr_snap *s, int64_t track_id)
{
    int32_t v;
    return mr_imap_get(&s->track_index, track_id, &v) ? v : -1;
}

/* user_idx of a raw user id, or -1 (a user the pipeline never saw). */
static inline int32_t mr_snap_user(const mr_snap *s, int64_t user_id)
{
    int32_t v;
    return s->n_users > 0 && mr_imap_get(&s->user_index, user_id, &v) ? v : -1;
}

/* The offline list of user_idx u: returns its length, pointers in *items and
 * *scores; 0 if the user has none. */
int64_t mr_snap_offline(const mr_snap *s, int32_t u, const int32_t **items, const float **scores);

/* Similar items of item i (best first): returns the length. A fixed-width
 * record ends at its first -1 or out-of-range entry. */
int64_t mr_snap_similar(const mr_snap *s, int32_t i, const int32_t **items, const float **scores);

/* 1 if known user u listened to item i in train (binary search of the row). */
int mr_snap_listened(const mr_snap *s, int32_t u, int32_t i);

#endif
