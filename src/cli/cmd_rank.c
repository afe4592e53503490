/* `musrec rank`: step 8, the gradient-boosted re-ranker (models/ranker.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "models/ranker.h"

int mr_cmd_rank(mr_ctx *ctx, int argc, char **argv)
{
    int64_t label_days = 14, als_n = 100, pop_n = 50, last_n = 3, sim_n = 10, neg = 4, max_users = 40000, fit_users = 200000, fit_iter = 10, patience = 30;
    int64_t rounds = 150, depth = 6, top_n = 100;
    double valid = 0.2, eta = 0.1;
    const char *objective = "auto", *dump = NULL;
    int64_t factors = 64, iterations = 15, cg_steps = 3;
    double reg = 0.05, alpha = 1.0;
    const char *solver = "cg";
    const mr_arg args[] = {
        {"label-days", MR_ARG_INT, &label_days, "RANK_LABEL_DAYS", NULL, "days before the split date whose listens are the labels"},
        {"als-candidates", MR_ARG_INT, &als_n, "RANK_ALS_CANDIDATES", NULL, "ALS candidates per user"},
        {"pop-candidates", MR_ARG_INT, &pop_n, "RANK_POP_CANDIDATES", NULL, "popular candidates per user"},
        {"last-listens", MR_ARG_INT, &last_n, "RANK_LAST_LISTENS", NULL, "last distinct listens whose similar tracks are candidates"},
        {"similar-per-listen", MR_ARG_INT, &sim_n, "RANK_SIMILAR_PER_LISTEN", NULL, "similar tracks taken per listen"},
        {"neg-per-pos", MR_ARG_INT, &neg, "RANK_NEG_PER_POS", NULL, "negatives sampled per positive per user"},
        {"max-train-users", MR_ARG_INT, &max_users, "RANK_MAX_TRAIN_USERS", NULL, "users sampled from the label window (0 = all)"},
        {"fit-users", MR_ARG_INT, &fit_users, "RANK_FIT_USERS", NULL,
         "users the fit-part ALS is fit on: the sampled label users and a seeded sample of the others (0 = all)"},
        {"fit-iterations", MR_ARG_INT, &fit_iter, "RANK_FIT_ITERATIONS", NULL, "fit-part ALS iterations (0 = ALS_ITERATIONS)"},
        {"valid-frac", MR_ARG_F64, &valid, "RANK_VALID_FRAC", NULL, "share of label users held out to choose the objective"},
        {"rounds", MR_ARG_INT, &rounds, "RANK_ROUNDS", NULL, "the most boosting rounds"},
        {"patience", MR_ARG_INT, &patience, "RANK_PATIENCE", NULL,
         "stop boosting when held-out NDCG@10 has not improved for this many rounds, keep the best (0 = never)"},
        {"max-depth", MR_ARG_INT, &depth, "RANK_MAX_DEPTH", NULL, "tree depth"},
        {"eta", MR_ARG_F64, &eta, "RANK_ETA", NULL, "learning rate"},
        {"objective", MR_ARG_STR, &objective, "RANK_OBJECTIVE", NULL, "auto (best NDCG@10 on held-out users), binary:logistic or rank:ndcg"},
        {"top-n", MR_ARG_INT, &top_n, "RANK_TOP_N", NULL, "recommendations per user in results/recommendations.parquet"},
        {"factors", MR_ARG_INT, &factors, "ALS_FACTORS", NULL, "fit-part ALS: latent factors"},
        {"iterations", MR_ARG_INT, &iterations, "ALS_ITERATIONS", NULL, "fit-part ALS: iterations"},
        {"regularization", MR_ARG_F64, &reg, "ALS_REGULARIZATION", NULL, "fit-part ALS: lambda"},
        {"alpha", MR_ARG_F64, &alpha, "ALS_ALPHA", NULL, "fit-part ALS: confidence slope"},
        {"solver", MR_ARG_STR, &solver, "ALS_SOLVER", NULL, "fit-part ALS: cg or cholesky"},
        {"cg-steps", MR_ARG_INT, &cg_steps, "ALS_CG_STEPS", NULL, "fit-part ALS: conjugate gradient steps"},
        {"dump-features", MR_ARG_STR, &dump, NULL, NULL,
         "testing: write the held-out feature matrix and musrec's scores as features.npy and scores.npy to DIR"},
        {0},
    };
    int rc = mr_args_parse(ctx, "rank", "[options]",
                           "Re-ranks candidates (ALS top N, popular, similar to the last listens) with\n"
                           "XGBoost over features the ALS score cannot see. Fits on the last --label-days\n"
                           "of train (features from before them), picks binary:logistic or rank:ndcg by\n"
                           "NDCG@10 on held-out users, and writes models/ranker.json,\n"
                           "models/ranker_features.json and results/recommendations.parquet.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    int sv = mr_als_solver_parse(solver);
    const char *bad = NULL;
    if (label_days < 1 || label_days > 3650) bad = "--label-days must be 1..3650";
    else if (als_n < 0 || pop_n < 0 || last_n < 0 || last_n > 16 || sim_n < 0 || als_n + pop_n == 0 || als_n > 10000 || pop_n > 10000 || sim_n > 1000)
        bad = "candidate counts: --als-candidates and --pop-candidates 0..10000 (not both 0), --last-listens 0..16, --similar-per-listen 0..1000";
    else if (neg < 0 || neg > 1000) bad = "--neg-per-pos must be 0..1000 (0 keeps every negative)";
    else if (fit_users < 0 || fit_iter < 0 || fit_iter > 1000 || patience < 0)
        bad = "--fit-users and --patience must be >= 0, --fit-iterations 0..1000";
    else if (!(valid > 0 && valid < 1)) bad = "--valid-frac must be between 0 and 1";
    else if (rounds < 1 || rounds > 100000 || depth < 1 || depth > 32 || !(eta > 0 && eta <= 1)) bad = "--rounds 1..100000, --max-depth 1..32, --eta in (0, 1]";
    else if (top_n < 1 || top_n > 10000) bad = "--top-n must be 1..10000";
    else if (strcmp(objective, "auto") && strcmp(objective, "binary:logistic") && strcmp(objective, "rank:ndcg"))
        bad = "--objective must be auto, binary:logistic or rank:ndcg";
    else if (sv < 0) bad = "--solver must be cg or cholesky";
    else if (factors < 1 || factors > 1024 || iterations < 0 || cg_steps < 1) bad = "ALS options out of range";
    if (bad) {
        fprintf(stderr, "musrec rank: %s\n", bad);
        return 2;
    }
    mr_rank_opts o = {.workdir = ctx->workdir, .label_days = (int)label_days, .als_n = (int)als_n, .pop_n = (int)pop_n,
                      .last_n = (int)last_n, .sim_n = (int)sim_n, .neg_per_pos = (int)neg, .max_train_users = max_users,
                      .fit_users = fit_users, .fit_iterations = (int)fit_iter, .patience = (int)patience,
                      .valid_frac = valid, .rounds = (int)rounds, .max_depth = (int)depth, .eta = eta, .top_n = (int)top_n,
                      .objective = objective, .seed = ctx->seed, .threads = ctx->threads, .dump_dir = dump};
    mr_als_opts_default(&o.als);
    o.als.factors = (int)factors;
    o.als.iterations = (int)iterations;
    o.als.regularization = reg;
    o.als.alpha = alpha;
    o.als.cg_steps = (int)cg_steps;
    o.als.solver = (mr_als_solver)sv;
    o.als.seed = ctx->seed;
    mr_step st;
    if (mr_step_begin(ctx, &st, "rank")) return 1;
    rc = mr_rank_step(&o);
    return mr_step_end(ctx, &st, rc);
}
