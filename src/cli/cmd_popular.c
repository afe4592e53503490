/* `musrec popular`: step 5, the popularity baseline (models/popular.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "models/popular.h"

int mr_cmd_popular(mr_ctx *ctx, int argc, char **argv)
{
    int64_t top_n = 100;
    double half_life = 0;
    const mr_arg args[] = {
        {"top-n", MR_ARG_INT, &top_n, "POPULAR_TOP_N", NULL, "items in results/top_popular.parquet"},
        {"half-life", MR_ARG_F64, &half_life, "POPULAR_HALF_LIFE", NULL,
         "recency weighting: a listener counts 2^(-age/DAYS), age in days before the last train day; 0 = off"},
        {0},
    };
    int arc = mr_args_parse(ctx, "popular", "[--top-n N] [--half-life DAYS]",
                            "Ranks tracks by the number of distinct train users who listened to them\n"
                            "(ties by track_id) from data/preprocessed/train_events.parquet and writes\n"
                            "results/top_popular.parquet (the top N) and\n"
                            "results/popularity_track_scores.parquet (every track): rank, track_id,\n"
                            "item_idx, listeners (INT64, or DOUBLE when recency-weighted), score =\n"
                            "listeners / max.",
                            args, argc, argv, NULL, NULL);
    if (arc) return arc == MR_ARGS_HELP ? 0 : 2;
    if (top_n < 1) {
        fprintf(stderr, "musrec popular: --top-n must be at least 1, got %lld\n", (long long)top_n);
        return 2;
    }
    if (!(half_life >= 0) || half_life > 1e6) {
        fprintf(stderr, "musrec popular: --half-life must be 0 (off) or a positive number of days, got %g\n",
                half_life);
        return 2;
    }

    mr_step step;
    if (mr_step_begin(ctx, &step, "popular")) return 1;
    char *train = mr_ctx_path(ctx, "data/preprocessed/train_events.parquet");
    char *items = mr_ctx_path(ctx, "data/preprocessed/items.parquet");
    char *top = mr_ctx_path(ctx, "results/top_popular.parquet");
    char *all = mr_ctx_path(ctx, "results/popularity_track_scores.parquet");
    mr_popularity pop = {0};
    int rc = train && items && top && all ? 0 : MR_ENOMEM;
    if (!rc) {
        mr_step_file(&step, "input", train);
        mr_step_file(&step, "input", items);
        rc = mr_popular_build(train, items, half_life, &pop);
    }
    if (!rc) rc = mr_popular_write(top, &pop, top_n);
    if (!rc) rc = mr_popular_write(all, &pop, 0);
    if (!rc) {
        mr_step_file(&step, "output", top);
        mr_step_file(&step, "output", all);
        int32_t best = pop.order[0];
        int64_t with = 0;
        for (int32_t i = 0; i < pop.n_items; i++) with += pop.listeners[i] > 0;
        MR_LOG(MR_LOG_INFO, "popularity ranked", MR_I("items", pop.n_items), MR_I("items_with_listeners", with),
               MR_I("train_users", pop.train_users), MR_I("top_n", top_n < pop.n_items ? top_n : pop.n_items),
               MR_F("half_life_days", pop.half_life), MR_I("top_track_id", pop.track_id[best]),
               MR_F("top_listeners", pop.listeners[best]));
    }
    mr_popular_free(&pop);
    free(train), free(items), free(top), free(all);
    return mr_step_end(ctx, &step, rc);
}
