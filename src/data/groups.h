/* track_group_id: one id for a song and all its versions.
 *
 * A track's base title is its folded name (data/names.h) without version
 * markers: bracketed parts that name a version ("(Remix)", "[Live at X]",
 * "(feat. X)", "(с X)", nested ones too), a " - " tail that does ("- 2011
 * Remaster", "- Radio Edit"), and a trailing "feat./ft./featuring/при уч."
 * credit; punctuation is dropped. Tracks with the same base title are then
 * joined when the evidence says they are one song:
 *   - they share an artist (remixes, live and acoustic versions, feat.
 *     variants of the same artist's song), or
 *   - one is marked as a cover, and is joined to the most listened-to
 *     performer of that title, or
 *   - the title is distinctive (long enough, and performed by only a few
 *     unrelated artists), so other performers are covers of it.
 * Short common titles ("Intro", "Love") performed by many unrelated artists
 * stay apart: those are different songs. Tracks with an empty base title
 * are never joined. Group ids are dense, numbered in the order of each
 * group's first track.
 */
#ifndef MR_GROUPS_H
#define MR_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/* Version markers found in a title (bits). */
enum {
    MR_VER_REMIX = 1,
    MR_VER_LIVE = 2,
    MR_VER_ACOUSTIC = 4,
    MR_VER_COVER = 8,
    MR_VER_FEAT = 16,
    MR_VER_OTHER = 32, /* remaster, edit, instrumental, version, ... */
};

/* The base title of name (n bytes, UTF-8) as a matching key; out needs
 * MR_NAME_FOLD_CAP(n) bytes. *markers (may be NULL) gets MR_VER_* bits.
 * Returns the key's length (0 for a name with no letters or digits). */
size_t mr_title_base(const char *name, size_t n, char *out, int *markers);

typedef struct {
    int min_key_chars;   /* a title this long (letters and digits) may join other artists */
    int max_performers;  /* ...if at most this many unrelated artists perform it */
} mr_group_opts;

#define MR_GROUP_OPTS_DEFAULT {12, 3}

typedef struct {
    int32_t n; /* tracks */
    const int64_t *name_off; /* n + 1 offsets into name_bytes */
    const char *name_bytes;
    const int64_t *artist_off; /* n + 1 offsets into artist_ids */
    const int64_t *artist_ids;
    const int64_t *listens;    /* per track, or NULL: picks the original of a cover */
} mr_group_input;

typedef struct {
    int32_t n_groups;
    int32_t n_multi;          /* groups of two or more tracks */
    int64_t tracks_in_multi;  /* tracks in those groups */
    int64_t with_markers;     /* tracks whose title carries a version marker */
    int64_t empty_titles;     /* tracks with an empty base title */
    int64_t joined_by_artist, joined_as_cover, joined_by_title;
} mr_group_stats;

int mr_track_groups(const mr_group_input *in, const mr_group_opts *opts, int32_t *group_id, mr_group_stats *st);

/* Pairwise precision and recall of a clustering against the truth, from pair
 * counts per cluster intersection: TP = sum over (pred, truth) cells of
 * C(size, 2); precision = TP / sum C(|pred cluster|, 2), recall = TP / sum
 * C(|truth cluster|, 2) (1 when the denominator is 0). */
int mr_group_score(int64_t n, const int32_t *pred, const int64_t *truth, double *precision, double *recall,
                   int64_t *tp, int64_t *pred_pairs, int64_t *truth_pairs);

#endif
