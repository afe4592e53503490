/* `musrec evaluate`: step 9, every model scored on the test period
 * (eval/evaluate.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "cli/cli.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"

int mr_cmd_evaluate(mr_ctx *ctx, int argc, char **argv)
{
    const char *k_list = "5,10,50,100";
    int64_t sample = 0;
    const mr_arg args[] = {
        {"k", MR_ARG_STR, &k_list, "EVAL_K", NULL, "cut-offs K, comma-separated"},
        {"sample-users", MR_ARG_INT, &sample, "EVAL_SAMPLE_USERS", NULL,
         "evaluate a random sample of N warm test users (seeded by --seed); 0 = all"},
        {0},
    };
    int arc = mr_args_parse(ctx, "evaluate", "[--k 5,10,50,100] [--sample-users N]",
                            "Scores every model whose recommendations exist (popularity, als, ranked)\n"
                            "against data/preprocessed/test_events.parquet: precision, recall, MAP,\n"
                            "NDCG, hit rate and MRR at each K over the test users who are also in\n"
                            "train, coverage and novelty over the lists; test users without train\n"
                            "events are scored for popularity alone (popularity_cold). Writes\n"
                            "results/evaluation_<model>.json and results/models_comparison.parquet and\n"
                            "prints the comparison. Definitions: docs/evaluation.md.",
                            args, argc, argv, NULL, NULL);
    if (arc) return arc == MR_ARGS_HELP ? 0 : 2;
    int32_t *ks = NULL;
    int n_k = 0;
    if (mr_metrics_parse_k(k_list, &ks, &n_k) != 0 || n_k > 64) {
        fprintf(stderr, "musrec evaluate: --k: %s\n", n_k > 64 ? "at most 64 values of K" : mr_errmsg());
        free(ks);
        return 2;
    }
    if (sample < 0) {
        fprintf(stderr, "musrec evaluate: --sample-users must be 0 (all) or positive, got %lld\n", (long long)sample);
        free(ks);
        return 2;
    }
    mr_step step;
    if (mr_step_begin(ctx, &step, "evaluate")) {
        free(ks);
        return 1;
    }
    mr_eval_opts o = {.workdir = ctx->workdir, .ks = ks, .n_k = n_k, .sample_users = sample, .seed = ctx->seed,
                      .table = stdout};
    int rc = mr_eval_run(&o);
    free(ks);
    return mr_step_end(ctx, &step, rc);
}
