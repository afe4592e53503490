/* `musrec als`: step 6, the personal model.
 *
 * Reads data/preprocessed/train_matrix.npz, fits implicit ALS (models/als.h),
 * writes models/als_model.bin and the two .npy factor files, then the top N
 * unheard items of every train user to results/personal_als.parquet with
 * the top-k engine (models/topk.h).
 *
 * --dump-half-step DIR is for the numpy oracle test (tests/e2e/als_numpy.sh):
 * it runs --iterations iterations (0 is fine), then one more user half-step
 * with each solver from the same start, writes X0.npy (the start), Y.npy,
 * X_cg.npy and X_cholesky.npy to DIR, and stops.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/recs.h"
#include "models/als.h"
#include "models/candidates.h"
#include "models/topk.h"
#include "store/npy.h"

static void on_iteration(void *ud, int it, double secs, double loss)
{
    int total = *(int *)ud;
    if (isnan(loss))
        MR_LOG(MR_LOG_INFO, "iteration", MR_I("iteration", it), MR_I("of", total), MR_F("seconds", secs));
    else
        MR_LOG(MR_LOG_INFO, "iteration", MR_I("iteration", it), MR_I("of", total), MR_F("seconds", secs),
               MR_F("loss", loss));
}

static int dump_half_step(const mr_csr *ui, const mr_csr *iu, const mr_als_opts *o, uint64_t seed, const char *dir)
{
    mr_als_model m;
    int rc = mr_als_validate(ui, o);
    if (!rc) rc = mr_als_init(&m, ui->n_rows, ui->n_cols, o->factors, seed);
    if (rc) return rc;
    /* --iterations full iterations first, so Y is a trained (not tiny
     * random) matrix and every term of the normal equations matters */
    if ((rc = mr_als_fit(ui, iu, o, &m, NULL, NULL)) != 0) {
        mr_als_free(&m);
        return rc;
    }
    size_t nx = (size_t)ui->n_rows * o->factors;
    float *X0 = mr_malloc(sizeof(float) * nx);
    char *p = NULL;
    if (!X0) rc = MR_ENOMEM;
    if (!rc) memcpy(X0, m.user_factors, sizeof(float) * nx);
#define DUMP(name, data, rows)                                                                \
    do {                                                                                     \
        free(p);                                                                             \
        p = mr_path_join(dir, name);                                                         \
        if (!rc && !p) rc = MR_ENOMEM;                                                       \
        if (!rc) rc = mr_npy_write_f32(p, data, rows, o->factors);                          \
    } while (0)
    if (!rc) rc = mr_mkdirs(dir);
    DUMP("X0.npy", X0, ui->n_rows);
    DUMP("Y.npy", m.item_factors, ui->n_cols);
    mr_als_opts oc = *o;
    oc.solver = MR_ALS_CG;
    if (!rc) rc = mr_als_half_step(ui, m.item_factors, ui->n_cols, m.user_factors, &oc);
    DUMP("X_cg.npy", m.user_factors, ui->n_rows);
    if (!rc) memcpy(m.user_factors, X0, sizeof(float) * nx);
    oc.solver = MR_ALS_CHOLESKY;
    if (!rc) rc = mr_als_half_step(ui, m.item_factors, ui->n_cols, m.user_factors, &oc);
    DUMP("X_cholesky.npy", m.user_factors, ui->n_rows);
#undef DUMP
    free(p);
    free(X0);
    mr_als_free(&m);
    return rc;
}

/* Top n unheard items for every user with a non-empty train row
 * (models/candidates.h: the same function makes the ranker's lists). */
static int recommend_all(const mr_csr *ui, const mr_als_model *m, int n, int prune, mr_recs *out)
{
    mr_cand_als_opts o = {.user_factors = m->user_factors, .item_factors = m->item_factors, .n_items = m->n_items,
                          .f = m->factors, .hist = ui, .k = n, .prune = prune};
    int rc = mr_cand_als_recs(&o, NULL, 0, out);
    if (rc) return rc;
    double pairs = (double)ui->n_rows * m->n_items;
    MR_LOG(MR_LOG_INFO, "scored", MR_I("pairs", o.scored), MR_F("fraction", (double)o.scored / pairs),
           MR_S("engine", mr_topk_path_name(o.path)),
           MR_I("rescored", o.rescored), MR_F("rescored_fraction", (double)o.rescored / pairs));
    return 0;
}

int mr_cmd_als(mr_ctx *ctx, int argc, char **argv)
{
    int64_t factors = 64, iterations = 15, cg_steps = 3, top_n = 100;
    double reg = 0.05, alpha = 1.0;
    const char *solver = "cg", *input = NULL, *dump = NULL;
    int loss = 0, prune = 1;
    const mr_arg args[] = {
        {"factors", MR_ARG_INT, &factors, "ALS_FACTORS", NULL, "latent factors per user and item"},
        {"iterations", MR_ARG_INT, &iterations, "ALS_ITERATIONS", NULL, "alternating iterations"},
        {"regularization", MR_ARG_F64, &reg, "ALS_REGULARIZATION", NULL, "L2 penalty lambda on both factor matrices"},
        {"alpha", MR_ARG_F64, &alpha, "ALS_ALPHA", NULL, "confidence slope: c = 1 + alpha * value"},
        {"solver", MR_ARG_STR, &solver, "ALS_SOLVER", NULL, "cg (conjugate gradient, warm start) or cholesky (exact)"},
        {"cg-steps", MR_ARG_INT, &cg_steps, "ALS_CG_STEPS", NULL, "conjugate gradient steps per row and half-step"},
        {"top-n", MR_ARG_INT, &top_n, "ALS_TOP_N", NULL, "recommendations per user in personal_als.parquet; 0 skips them"},
        {"prune", MR_ARG_FLAG, &prune, "ALS_TOPK_PRUNE", NULL, "exact norm-ordered pruning in the top-k scan"},
        {"loss", MR_ARG_FLAG, &loss, "ALS_LOSS", NULL, "compute and log the training loss after every iteration (the report plots it)"},
        {"input", MR_ARG_STR, &input, NULL, "data/preprocessed/train_matrix.npz", "train matrix (under the workdir)"},
        {"dump-half-step", MR_ARG_STR, &dump, NULL, NULL,
         "testing: after --iterations, write the factors and one more user half-step of each solver as .npy to DIR, then stop"},
        {0},
    };
    int rc = mr_args_parse(ctx, "als", "[options]",
                           "Fits implicit-feedback ALS (Hu, Koren, Volinsky 2008) on the train matrix and\n"
                           "writes models/als_model.bin, models/als_{user,item}_factors.npy and\n"
                           "results/personal_als.parquet (top N unheard tracks for every train user).",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    mr_als_opts o;
    mr_als_opts_default(&o);
    int sv = mr_als_solver_parse(solver);
    if (sv < 0) {
        fprintf(stderr, "musrec als: --solver must be cg or cholesky, got '%s'\n", solver);
        return 2;
    }
    if (factors < 1 || factors > 1024 || iterations < 0 || iterations > 100000 || cg_steps < 1 || cg_steps > 1000 ||
        top_n < 0 || top_n > 100000) {
        fprintf(stderr, "musrec als: out of range: factors 1..1024, iterations 0..100000, cg-steps 1..1000, "
                        "top-n 0..100000\n");
        return 2;
    }
    o.factors = (int)factors;
    o.iterations = (int)iterations;
    o.cg_steps = (int)cg_steps;
    o.regularization = reg;
    o.alpha = alpha;
    o.solver = (mr_als_solver)sv;
    o.seed = ctx->seed;
    o.compute_loss = loss;

    mr_step st;
    if (mr_step_begin(ctx, &st, "als")) return 1;
    char *in = mr_ctx_path(ctx, input), *model_path = mr_ctx_path(ctx, "models/als_model.bin");
    char *uf_path = mr_ctx_path(ctx, "models/als_user_factors.npy"),
         *if_path = mr_ctx_path(ctx, "models/als_item_factors.npy");
    char *users_path = mr_ctx_path(ctx, "data/preprocessed/users.parquet"),
         *items_path = mr_ctx_path(ctx, "data/preprocessed/items.parquet");
    char *out_path = mr_ctx_path(ctx, "results/personal_als.parquet");
    mr_csr ui = {0}, iu = {0};
    mr_als_model m = {0};
    mr_recs recs = {0};
    int64_t *uid = NULL, *tid = NULL;
    int32_t *uid32 = NULL;
    if (!in || !model_path || !uf_path || !if_path || !users_path || !items_path || !out_path) {
        rc = MR_ENOMEM;
        goto out;
    }
    mr_step_file(&st, "input", in);
    double t0 = mr_now();
    if ((rc = mr_npz_read_csr(in, &ui)) != 0) goto out;
    double t_read = mr_now() - t0;
    if ((rc = mr_als_validate(&ui, &o)) != 0) {
        mr_err_wrap(rc, "%s: ", in);
        goto out;
    }
    double t1 = mr_now();
    if ((rc = mr_csr_transpose(&ui, &iu)) != 0) goto out;
    double t_transpose = mr_now() - t1;
    if (dump) {
        rc = dump_half_step(&ui, &iu, &o, ctx->seed, dump);
        goto out;
    }
    MR_LOG(MR_LOG_INFO, "train matrix", MR_I("users", ui.n_rows), MR_I("items", ui.n_cols), MR_I("nnz", ui.nnz),
           MR_F("seconds", mr_now() - t0), MR_F("read_seconds", t_read), MR_F("transpose_seconds", t_transpose),
           MR_I("rss_bytes", mr_current_rss()));
    MR_LOG(MR_LOG_INFO, "fitting", MR_I("factors", o.factors), MR_I("iterations", o.iterations),
           MR_F("regularization", o.regularization), MR_F("alpha", o.alpha), MR_S("solver", solver),
           MR_I("cg_steps", o.cg_steps), MR_I("seed", (int64_t)o.seed), MR_I("threads", ctx->threads));
    t0 = mr_now();
    if ((rc = mr_als_init(&m, ui.n_rows, ui.n_cols, o.factors, o.seed)) != 0) goto out;
    int total = o.iterations;
    if ((rc = mr_als_fit(&ui, &iu, &o, &m, on_iteration, &total)) != 0) goto out;
    double fit_secs = mr_now() - t0;
    mr_csr_free(&iu);
    MR_LOG(MR_LOG_INFO, "fitted", MR_F("seconds", fit_secs));

    mr_als_meta meta = {.iterations = o.iterations, .regularization = o.regularization, .alpha = o.alpha,
                        .cg_steps = o.cg_steps, .solver = o.solver, .seed = o.seed,
                        .users_size = mr_file_exists(users_path) ? mr_file_size(users_path) : -1,
                        .items_size = mr_file_exists(items_path) ? mr_file_size(items_path) : -1};
    snprintf(meta.users_path, sizeof meta.users_path, "data/preprocessed/users.parquet");
    snprintf(meta.items_path, sizeof meta.items_path, "data/preprocessed/items.parquet");
    if ((rc = mr_als_save(model_path, &m, &meta)) || (rc = mr_npy_write_f32(uf_path, m.user_factors, m.n_users, m.factors)) ||
        (rc = mr_npy_write_f32(if_path, m.item_factors, m.n_items, m.factors)))
        goto out;
    mr_step_file(&st, "output", model_path);
    mr_step_file(&st, "output", uf_path);
    mr_step_file(&st, "output", if_path);

    if (top_n > 0) {
        int64_t nu_ids = 0, ni_ids = 0;
        if ((rc = mr_read_id_column(users_path, "user_id", ui.n_rows, &uid, &nu_ids)) ||
            (rc = mr_read_id_column(items_path, "track_id", ui.n_cols, &tid, &ni_ids)))
            goto out;
        uid32 = mr_malloc(sizeof(int32_t) * (size_t)(nu_ids + 1));
        if (!uid32) {
            rc = MR_ENOMEM;
            goto out;
        }
        for (int64_t u = 0; u < nu_ids; u++) uid32[u] = (int32_t)uid[u];
        t0 = mr_now();
        if ((rc = recommend_all(&ui, &m, (int)top_n, prune, &recs)) != 0) goto out;
        MR_LOG(MR_LOG_INFO, "recommended", MR_I("users", recs.n_users), MR_I("rows", recs.off[recs.n_users]),
               MR_I("top_n", top_n), MR_F("seconds", mr_now() - t0));
        if ((rc = mr_recs_write(out_path, &recs, uid32, tid)) != 0) goto out;
        mr_step_file(&st, "output", out_path);
    }
out:
    mr_recs_free(&recs);
    mr_csr_free(&ui);
    mr_csr_free(&iu);
    mr_als_free(&m);
    free(uid), free(uid32), free(tid);
    free(in), free(model_path), free(uf_path), free(if_path), free(users_path), free(items_path), free(out_path);
    return mr_step_end(ctx, &st, rc);
}
