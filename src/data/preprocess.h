/* Step 3, preprocess: the three raw files to the pipeline's clean tables.
 *
 * Reads <raw>/tracks.parquet, catalog_names.parquet and interactions.parquet,
 * writes <out>/items.parquet, tracks_catalog_clean.parquet, events.parquet and
 * users.parquet (layouts in tables.h). Every row dropped is counted in the
 * stats and logged; see docs/preprocess.md for the rules.
 */
#ifndef MR_PREPROCESS_H
#define MR_PREPROCESS_H

#include <stdint.h>

#include "data/groups.h"

typedef struct {
    const char *raw_dir;
    const char *out_dir;
    mr_group_opts groups;
} mr_prep_opts;

typedef struct {
    /* tracks.parquet */
    int64_t tracks_in, tracks_duplicate, items;
    int64_t no_artist, no_genre, no_album, no_name, dangling_genre_tracks, dangling_genre_links;
    int64_t artist_links_without_name;
    /* catalog_names.parquet */
    int64_t catalog_in, catalog_duplicate, catalog_out, catalog_empty_name;
    /* interactions.parquet */
    int64_t events_in, events_null, events_unknown_track, events_duplicate, events;
    int64_t users;
    int32_t day_min, day_max;
    int events_were_sorted;
    /* track groups */
    mr_group_stats groups;
    int scored;              /* a truth file was found */
    double group_precision, group_recall;
    int64_t truth_missing;   /* items absent from the truth file */
} mr_prep_stats;

int mr_preprocess(const mr_prep_opts *o, mr_prep_stats *st);

#endif
