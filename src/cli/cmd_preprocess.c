/* `musrec preprocess`: step 3 (data/preprocess.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/preprocess.h"

int mr_cmd_preprocess(mr_ctx *ctx, int argc, char **argv)
{
    int64_t min_chars = 0, max_perf = 0;
    const char *raw = NULL, *out = NULL;
    const mr_arg args[] = {
        {"raw-dir", MR_ARG_STR, &raw, NULL, "data/raw", "directory of the raw parquet files (under the workdir)"},
        {"out-dir", MR_ARG_STR, &out, NULL, "data/preprocessed", "output directory (under the workdir)"},
        {"group-min-title-chars", MR_ARG_INT, &min_chars, "PREP_GROUP_MIN_TITLE_CHARS", NULL,
         "a title with at least this many letters and digits may group performers who share no artist"},
        {"group-max-performers", MR_ARG_INT, &max_perf, "PREP_GROUP_MAX_PERFORMERS", NULL,
         "...when at most this many unrelated artists perform it"},
        {0},
    };
    int rc = mr_args_parse(ctx, "preprocess", "[options]",
                           "Cleans the raw tables: explodes track lists, cleans and deduplicates the catalog,\n"
                           "drops events of unknown tracks and dangling genre ids (counted in the log), groups\n"
                           "versions of one song (track_group_id), encodes users and tracks as dense codes, and\n"
                           "writes items, tracks_catalog_clean, events and users .parquet under data/preprocessed/.\n"
                           "With data/raw/_truth/track_groups.parquet present, the grouping is scored against it.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    if (min_chars < 0 || max_perf < 1) {
        fprintf(stderr, "musrec preprocess: --group-min-title-chars must be >= 0 and --group-max-performers >= 1\n");
        return 2;
    }
    mr_step st;
    if (mr_step_begin(ctx, &st, "preprocess")) return 1;
    mr_prep_opts o = {mr_ctx_path(ctx, raw), mr_ctx_path(ctx, out), {(int)min_chars, (int)max_perf}};
    mr_prep_stats s;
    if (!o.raw_dir || !o.out_dir) rc = MR_ENOMEM;
    else rc = mr_preprocess(&o, &s);
    if (!rc) {
        if (s.scored)
            fprintf(stderr, "musrec preprocess: track groups: pairwise precision %.4f, recall %.4f\n",
                    s.group_precision, s.group_recall);
        MR_LOG(MR_LOG_INFO, "done", MR_I("events", s.events), MR_I("users", s.users), MR_I("items", s.items),
               MR_I("track_groups", s.groups.n_groups));
    }
    free((char *)o.raw_dir);
    free((char *)o.out_dir);
    return mr_step_end(ctx, &st, rc);
}
