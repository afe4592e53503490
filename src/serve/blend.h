/* What to recommend to one user: the offline part, the online part and the
 * blend of the two.
 *
 *   offline  the user's list from the last batch run (the ranker's, else
 *            ALS's); for a user without one, fold-in recommendations when
 *            they have at least MR_FOLDIN_MIN_EVENTS online events and the
 *            ALS factors are loaded; otherwise the top popular tracks.
 *   online   tracks similar to the user's last MR_ONLINE_SEEDS distinct
 *            listens (newest first) in the event store, merged by score
 *            (an item similar to two seeds keeps its best score).
 *   blend    offline[0], online[0], offline[1], online[1], ... ; when one
 *            side runs out the other continues; cut to k.
 * Every part skips tracks the user already listened to (train history and
 * the event store) and repeats none.
 *
 * All of this is pure computation over a snapshot and a history; scratch
 * memory comes from a per-thread mr_blend_scratch so that a warm server
 * allocates nothing per request.
 */
#ifndef MR_BLEND_H
#define MR_BLEND_H

#include <stdint.h>

#include "serve/snapshot.h"

#define MR_FOLDIN_MIN_EVENTS 3
#define MR_ONLINE_SEEDS 3

typedef enum { MR_SRC_OFFLINE, MR_SRC_ONLINE, MR_SRC_POPULAR, MR_SRC_FOLDIN, MR_SRC_SIMILAR } mr_src;
extern const char *const mr_src_name[];

typedef struct {
    int32_t item;
    float score;
    int32_t src; /* mr_src */
} mr_scored;

typedef struct {
    mr_scored *a, *b, *cand;
    size_t a_cap, b_cap, cand_cap;
    int32_t *set;
    uint32_t set_cap;
    int32_t *excl;       /* fold-in: sorted listened items */
    size_t excl_cap;
    double *work;        /* f*f + f */
    size_t work_cap;
    float *x;
    size_t x_cap;
    int32_t *distinct;
    float *ones;
    size_t distinct_cap, ones_cap;
    int32_t *tk_item;    /* top-k output */
    float *tk_score;
    size_t tk_item_cap, tk_score_cap;
} mr_blend_scratch;

void mr_blend_scratch_free(mr_blend_scratch *w);

typedef struct {
    const mr_snap *s;
    int32_t u;            /* user_idx, -1 for a user the pipeline never saw */
    const int32_t *hist;  /* online history as item_idx, newest first (may repeat) */
    int n_hist;
    mr_blend_scratch *w;
} mr_blend_user;

/* Each writes at most k items to out (room for k) and returns the count, or
 * a negative MR_E* code (out of memory, or a fold-in failure). */
int mr_blend_offline(const mr_blend_user *bu, int k, mr_scored *out);
int mr_blend_online(const mr_blend_user *bu, int k, mr_scored *out);
int mr_blend_recs(const mr_blend_user *bu, int k, mr_scored *out);

/* The interleaving alone: a[0], b[0], a[1], b[1], ...; items already taken
 * are skipped (the skipped entry does not cost its side a turn); when one
 * list is exhausted the other continues; at most k. Returns the count.
 * set_cap (a power of two, >= 2k) ints of scratch at set. */
int mr_blend_interleave(const mr_scored *a, int na, const mr_scored *b, int nb, int k,
                        mr_scored *out, int32_t *set, uint32_t set_cap);

#endif
