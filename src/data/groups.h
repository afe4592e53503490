/* track_group_id: one id for a song and all its versions.
 *
 * A track's base title is its folded name (data/names.h) without version
 * markers: bracketed parts that name a version ("(Remix)", "[Live at X]",
 * "(feat. X)", "(с X)", nested ones too), a " - " tail that does ("- 2011
 * Remaster", "- Radio Edit"), and a trailing "feat./ft./featuring/при уч."
 * credit; punctuation is dropped.
 *
 * Tracks with the same base title are then joined when the evidence says
 * they are one song. Two numbers describe a title:
 *   performers: how many groups of tracks sharing no artist carry it;
 *   chance:     how many other tracks would carry it by coincidence, from a
 *               unigram model of title words over the whole catalog:
 *               N(titles of that many words) x prod(word frequencies).
 * A title is generic ("Intro", "Love") when many performers carry it or
 * chance is high; otherwise it is distinctive. Then:
 *   - same performer, distinctive title: one song (re-releases, remixes,
 *     live and acoustic versions, feat. variants);
 *   - same performer, generic title: each unmarked track is its own song
 *     (an "Intro" on every album); a marked version ("Intro (Live)") joins
 *     the performer's most played unmarked one;
 *   - other performers: joined when chance is below the cover threshold (a
 *     coincidence is then less likely than a cover); otherwise only tracks
 *     marked as covers join the most played unmarked track of the title,
 *     and only when it dominates: played more than MR_GROUP_COVER_DOMINANCE
 *     times as much as any other performer's track of that title (a
 *     "Stay (Cover)" covers the famous "Stay" when one is famous; among
 *     many equally obscure ones it cannot be told which).
 * Tracks with an empty base title are never joined. Group ids are dense,
 * numbered in the order of each group's first track.
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
    int generic_performers; /* a title carried by this many performers is generic */
    double generic_chance;  /* ...as is one whose chance collisions reach this */
    double cover_chance;    /* other performers join when chance is below this */
} mr_group_opts;

#define MR_GROUP_OPTS_DEFAULT {3, 0.5, 0.02}

/* A track marked as a cover of a title several performers carry joins the
 * most played of them only when it is played more than this many times as
 * much as every other performer's (the famous "Stay", not one of many). */
#define MR_GROUP_COVER_DOMINANCE 2.0

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
    int64_t generic_titles;   /* shared titles found generic */
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
