/* `musrec preprocess`: step 3 (data/preprocess.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/preprocess.h"

int mr_cmd_preprocess(mr_ctx *ctx, int argc, char **argv)
{
    int64_t performers = 0;
    double generic_chance = 0, cover_chance = 0;
    const char *raw = NULL, *out = NULL;
    const mr_arg args[] = {
        {"raw-dir", MR_ARG_STR, &raw, NULL, "data/raw", "directory of the raw parquet files (under the workdir)"},
        {"out-dir", MR_ARG_STR, &out, NULL, "data/preprocessed", "output directory (under the workdir)"},
        {"group-generic-performers", MR_ARG_INT, &performers, "PREP_GROUP_GENERIC_PERFORMERS", NULL,
         "a title carried by this many performers sharing no artist is generic (\"Intro\")"},
        {"group-generic-chance", MR_ARG_F64, &generic_chance, "PREP_GROUP_GENERIC_CHANCE", NULL,
         "...as is one expected to recur this often by coincidence"},
        {"group-cover-chance", MR_ARG_F64, &cover_chance, "PREP_GROUP_COVER_CHANCE", NULL,
         "performers sharing no artist are one song when coincidence is expected less often than this"},
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
    if (performers < 2 || !(generic_chance > 0) || !(cover_chance >= 0)) {
        fprintf(stderr, "musrec preprocess: --group-generic-performers must be >= 2, --group-generic-chance > 0 "
                        "and --group-cover-chance >= 0\n");
        return 2;
    }
    mr_step st;
    if (mr_step_begin(ctx, &st, "preprocess")) return 1;
    mr_prep_opts o = {mr_ctx_path(ctx, raw), mr_ctx_path(ctx, out), {(int)performers, generic_chance, cover_chance}};
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
