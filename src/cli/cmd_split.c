/* `musrec split`: step 4 (data/split.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/pqcol.h"
#include "data/split.h"

int mr_cmd_split(mr_ctx *ctx, int argc, char **argv)
{
    const char *date = NULL, *value = NULL, *dir = NULL;
    double quantile = -1, half_life = 0;
    const mr_arg args[] = {
        {"split-date", MR_ARG_STR, &date, "SPLIT_DATE", NULL, "first day of the test part (YYYY-MM-DD)"},
        {"test-quantile", MR_ARG_F64, &quantile, NULL, NULL,
         "split at this quantile of event days instead (0.9: about the last 10% of events are test)"},
        {"value", MR_ARG_STR, &value, "SPLIT_MATRIX_VALUE", NULL,
         "matrix values: one (1.0 per pair), count (events per pair) or decay"},
        {"half-life", MR_ARG_F64, &half_life, "SPLIT_HALF_LIFE_DAYS", NULL,
         "days for the weight of an event to halve with --value decay"},
        {"dir", MR_ARG_STR, &dir, NULL, "data/preprocessed", "directory of events.parquet and the outputs (under the workdir)"},
        {0},
    };
    int rc = mr_args_parse(ctx, "split", "[options]",
                           "Splits events.parquet by time: train is every event before the split date, test\n"
                           "the rest. Writes train_events.parquet, test_events.parquet, train_matrix.npz and\n"
                           "test_matrix.npz (scipy CSR, float32, all users x all items) and split_info.json.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    mr_split_opts o = {0};
    o.test_quantile = -1;
    if (quantile != -1) {
        if (!(quantile > 0 && quantile < 1)) {
            fprintf(stderr, "musrec split: --test-quantile must be between 0 and 1 (exclusive), got %g\n", quantile);
            return 2;
        }
        o.test_quantile = quantile;
    } else if (mr_day_parse(date, &o.split_day)) {
        fprintf(stderr, "musrec split: --split-date: %s\n", mr_errmsg());
        return 2;
    }
    if (!strcmp(value, "one")) o.value = MR_VALUE_ONE;
    else if (!strcmp(value, "count")) o.value = MR_VALUE_COUNT;
    else if (!strcmp(value, "decay")) o.value = MR_VALUE_DECAY;
    else {
        fprintf(stderr, "musrec split: --value must be one, count or decay, got '%s'\n", value);
        return 2;
    }
    o.half_life_days = half_life;
    if (o.value == MR_VALUE_DECAY && !(half_life > 0)) {
        fprintf(stderr, "musrec split: --half-life must be a positive number of days, got %g\n", half_life);
        return 2;
    }
    mr_step st;
    if (mr_step_begin(ctx, &st, "split")) return 1;
    o.dir = mr_ctx_path(ctx, dir);
    mr_split_info info;
    rc = o.dir ? mr_split(&o, &info) : MR_ENOMEM;
    free((char *)o.dir);
    return mr_step_end(ctx, &st, rc);
}
