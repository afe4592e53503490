/* `musrec gen`: synthetic raw data of the real schema and shape (data/gen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/gen.h"

int mr_cmd_gen(mr_ctx *ctx, int argc, char **argv)
{
    double scale = 0;
    int64_t rg_rows = 0;
    const char *out = NULL;
    int force = 0;
    const mr_arg args[] = {
        {"scale", MR_ARG_F64, &scale, "GEN_SCALE", NULL,
         "size relative to the real data: 1 = 1M tracks, 1.37M users, 222.6M events (0.001 to 10)"},
        {"out", MR_ARG_STR, &out, "GEN_OUT", NULL,
         "output directory, as given (relative to the current directory); empty = data/raw of the workdir"},
        {"force", MR_ARG_FLAG, &force, NULL, "false", "overwrite existing files"},
        {"row-group-rows", MR_ARG_INT, &rg_rows, "GEN_ROW_GROUP_ROWS", NULL, "rows per row group of interactions.parquet"},
        {0},
    };
    int rc = mr_args_parse(ctx, "gen", "[--scale S] [--seed N] [--out DIR] [--force]",
                           "Writes a synthetic data set with the schema and shape of the Yandex Music files:\n"
                           "tracks.parquet, catalog_names.parquet, interactions.parquet, and\n"
                           "_truth/track_groups.parquet (which tracks are versions of one song). The same\n"
                           "--seed gives byte-identical files at any --threads. See docs/generator.md.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    if (!(scale >= 0.001 && scale <= 10)) {
        fprintf(stderr, "musrec gen: --scale must be a number between 0.001 and 10 (1 = the real data size), got %g\n",
                scale);
        return 2;
    }
    if (rg_rows < 1000 || rg_rows > 64LL * 1024 * 1024) {
        fprintf(stderr, "musrec gen: --row-group-rows must be between 1000 and 67108864, got %lld\n", (long long)rg_rows);
        return 2;
    }
    mr_step st;
    if (mr_step_begin(ctx, &st, "gen")) return 1;
    char *dir = out && *out ? mr_strdup(out) : mr_ctx_path(ctx, "data/raw");
    mr_gen_opts o = {.scale = scale, .seed = ctx->seed, .out_dir = dir, .force = force,
                     .row_group_rows = rg_rows, .progress = !ctx->quiet && isatty(2)};
    mr_gen_stats s;
    rc = dir ? mr_gen_run(&o, &s) : MR_ENOMEM;
    if (!rc) {
        MR_LOG(MR_LOG_INFO, "done", MR_S("out", dir), MR_F("scale", scale), MR_I("tracks", s.n_tracks),
               MR_I("albums", s.n_albums), MR_I("artists", s.n_artists), MR_I("catalog_rows", s.n_catalog_rows),
               MR_I("users", s.n_users), MR_I("events", s.n_events), MR_I("song_groups", s.n_groups),
               MR_I("bytes", s.bytes), MR_F("seconds", s.seconds));
        const char *files[] = {"tracks.parquet", "catalog_names.parquet", "interactions.parquet",
                               "_truth/track_groups.parquet"};
        for (int i = 0; i < 4; i++) {
            char *p = mr_path_join(dir, files[i]);
            if (p) mr_step_file(&st, "output", p);
            free(p);
        }
    }
    free(dir);
    return mr_step_end(ctx, &st, rc);
}
