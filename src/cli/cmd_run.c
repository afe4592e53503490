/* `musrec run`: the whole pipeline, step by step, in one process.
 *
 * Each step is the same function its own command runs, called with no
 * options, so a step reads its settings from flags given to `run`'s global
 * options, the environment and config/musrec.env exactly as when run alone.
 * A step writes its outputs atomically; when one fails the run stops and the
 * outputs of earlier steps stay as they are. --resume skips a step whose
 * outputs all exist and are newer than its inputs and the config file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "parquet/parquet.h"

#define MAX_FILES 8

typedef struct {
    const char *name;
    const char *inputs[MAX_FILES];
    const char *outputs[MAX_FILES];
} step_def;

#define RAW_FILES "data/raw/tracks.parquet", "data/raw/catalog_names.parquet", "data/raw/interactions.parquet"
#define PRE "data/preprocessed/"

static const step_def steps[] = {
    {"download", {NULL}, {RAW_FILES}},
    {"preprocess", {RAW_FILES}, {PRE "items.parquet", PRE "tracks_catalog_clean.parquet", PRE "events.parquet", PRE "users.parquet"}},
    {"split", {PRE "events.parquet"}, {PRE "train_events.parquet", PRE "test_events.parquet", PRE "train_matrix.npz", PRE "test_matrix.npz", PRE "split_info.json"}},
    {"popular", {PRE "train_events.parquet"}, {"results/top_popular.parquet", "results/popularity_track_scores.parquet"}},
    {"als", {PRE "train_matrix.npz"}, {"models/als_model.bin", "models/als_user_factors.npy", "models/als_item_factors.npy", "results/personal_als.parquet"}},
    {"similar", {"models/als_model.bin"}, {"results/similar.parquet", "results/similar_index.bin"}},
    {"rank", {PRE "train_events.parquet", PRE "items.parquet", "results/top_popular.parquet", "models/als_model.bin"}, {"models/ranker.json", "models/ranker_features.json", "results/recommendations.parquet"}},
    {"evaluate", {PRE "test_events.parquet", "results/top_popular.parquet", "results/personal_als.parquet", "results/recommendations.parquet"}, {"results/models_comparison.parquet"}},
    {"report", {"results/models_comparison.parquet"}, {"results/report.html"}},
};
#define N_STEPS ((int)(sizeof steps / sizeof steps[0]))

static int step_index(const char *name)
{
    for (int i = 0; i < N_STEPS; i++)
        if (strcmp(steps[i].name, name) == 0) return i;
    return -1;
}

/* 1 if every output exists and is newer than every input and the config. */
static int up_to_date(const mr_ctx *ctx, const step_def *s, int64_t config_mtime)
{
    int64_t newest_in = config_mtime, oldest_out = INT64_MAX;
    for (int i = 0; i < MAX_FILES && s->inputs[i]; i++) {
        char *p = mr_ctx_path(ctx, s->inputs[i]);
        int64_t t = p ? mr_file_mtime_ns(p) : 0;
        free(p);
        if (t > newest_in) newest_in = t;
    }
    for (int i = 0; i < MAX_FILES && s->outputs[i]; i++) {
        char *p = mr_ctx_path(ctx, s->outputs[i]);
        int64_t t = p ? mr_file_mtime_ns(p) : 0;
        free(p);
        if (t == 0) return 0;
        if (t < oldest_out) oldest_out = t;
    }
    return oldest_out > newest_in;
}

static int raw_data_present(const mr_ctx *ctx)
{
    const char *raw[] = {RAW_FILES};
    for (int i = 0; i < 3; i++) {
        char *p = mr_ctx_path(ctx, raw[i]);
        int ok = p && mr_file_exists(p);
        free(p);
        if (!ok) return 0;
    }
    return 1;
}

static int call_command(mr_ctx *ctx, const char *name, int argc, char **argv)
{
    const mr_command *c = mr_cli_find(name);
    if (!c) {
        fprintf(stderr, "musrec run: step '%s' is not part of this build\n", name);
        return 1;
    }
    return c->fn(ctx, argc, argv);
}

/* Runs a step with its stdout discarded: evaluate prints the comparison
 * table, which `run` prints once at the very end instead. */
static int call_command_silently(mr_ctx *ctx, const char *name, int argc, char **argv)
{
    fflush(stdout);
    int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    if (saved < 0 || devnull < 0 || dup2(devnull, 1) < 0) {
        if (saved >= 0) close(saved);
        if (devnull >= 0) close(devnull);
        return call_command(ctx, name, argc, argv);
    }
    int st = call_command(ctx, name, argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(devnull);
    return st;
}

/* Prints results/models_comparison.parquet as a table (after evaluate). */
static void print_comparison(const mr_ctx *ctx)
{
    char *path = mr_ctx_path(ctx, "results/models_comparison.parquet");
    mr_pq_reader *r = NULL;
    if (!path || mr_pq_open(&r, path) != 0) {
        free(path);
        return;
    }
    static const char *cols[] = {"model", "k", "precision", "recall", "map", "ndcg", "hit_rate", "mrr", "coverage"};
    enum { NC = sizeof cols / sizeof cols[0] };
    int idx[NC];
    for (int c = 0; c < NC; c++) idx[c] = mr_pq_find(r, cols[c]);
    printf("\nmodel comparison (%s)\n", path);
    for (int c = 0; c < NC; c++) printf(c == 0 ? "%-16s" : c == 1 ? "%5s" : "%11s", cols[c]);
    putchar('\n');
    for (int rg = 0; rg < mr_pq_num_row_groups(r); rg++) {
        mr_pq_col col[NC];
        memset(col, 0, sizeof col);
        int ok = 1;
        for (int c = 0; c < NC; c++)
            if (idx[c] >= 0 && mr_pq_read(r, rg, idx[c], &col[c]) != 0) ok = 0;
        for (int64_t row = 0; ok && row < col[0].n_rows; row++) {
            for (int c = 0; c < NC; c++) {
                const mr_pq_column_info *ci = idx[c] >= 0 ? mr_pq_column(r, idx[c]) : NULL;
                if (!ci || (col[c].valid && !col[c].valid[row])) {
                    printf(c == 0 ? "%-16s" : c == 1 ? "%5s" : "%11s", "-");
                } else if (ci->physical == MR_PQ_BYTE_ARRAY) {
                    printf("%-16.*s", (int)(col[c].offsets[row + 1] - col[c].offsets[row]),
                           (const char *)col[c].bytes + col[c].offsets[row]);
                } else if (ci->physical == MR_PQ_INT32) {
                    printf("%5d", ((int32_t *)col[c].values)[row]);
                } else if (ci->physical == MR_PQ_INT64) {
                    printf("%5lld", (long long)((int64_t *)col[c].values)[row]);
                } else if (ci->physical == MR_PQ_DOUBLE) {
                    printf("%11.5f", ((double *)col[c].values)[row]);
                } else if (ci->physical == MR_PQ_FLOAT) {
                    printf("%11.5f", ((float *)col[c].values)[row]);
                }
            }
            putchar('\n');
        }
        for (int c = 0; c < NC; c++) mr_pq_col_free(&col[c]);
    }
    mr_pq_close(r);
    free(path);
}

int mr_cmd_run(mr_ctx *ctx, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *demo_scale = NULL;
    int skip_download = 0, resume = 0;
    const mr_arg args[] = {
        {"from", MR_ARG_STR, &from, NULL, NULL, "start at this step"},
        {"to", MR_ARG_STR, &to, NULL, NULL, "stop after this step"},
        {"skip-download", MR_ARG_FLAG, &skip_download, NULL, "0", "use data/raw as it is, never S3"},
        {"resume", MR_ARG_FLAG, &resume, NULL, "0", "skip steps whose outputs are newer than their inputs and config"},
        {"demo-scale", MR_ARG_STR, &demo_scale, "RUN_DEMO_SCALE", NULL, "scale of the generated demo data when there is no raw data"},
        {0},
    };
    int rc = mr_args_parse(ctx, "run", "[options]",
                           "Runs the pipeline: download, preprocess, split, popular, als, similar,\n"
                           "rank, evaluate, report. With no raw data in the work directory and no S3\n"
                           "bucket configured, it first generates a demo data set (musrec gen).",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    int first = from ? step_index(from) : 0, last = to ? step_index(to) : N_STEPS - 1;
    if (first < 0 || last < 0) {
        fprintf(stderr, "musrec run: unknown step '%s'; steps are download, preprocess, split, popular, als, similar, rank, evaluate, report\n",
                first < 0 ? from : to);
        return 2;
    }
    if (first > last) {
        fprintf(stderr, "musrec run: --from %s comes after --to %s\n", steps[first].name, steps[last].name);
        return 2;
    }
    if (mr_ensure_writable_dir(ctx->workdir) != 0) {
        fprintf(stderr, "musrec run: %s\n", mr_errmsg());
        return 1;
    }
    const char *bucket = mr_config_get(ctx->cfg, "S3_BUCKET_NAME");
    int have_s3 = bucket && *bucket;
    const char *cfg_path = getenv("MUSREC_CONFIG") ? getenv("MUSREC_CONFIG") : "config/musrec.env";
    int64_t config_mtime = mr_file_mtime_ns(cfg_path);
    double t_run = mr_now();
    int ran = 0;

    for (int i = first; i <= last; i++) {
        const step_def *s = &steps[i];
        if (i == 0) {
            if (have_s3 && !skip_download) {
                /* download compares sizes and ETags itself */
            } else if (raw_data_present(ctx)) {
                fprintf(stderr, "musrec run: download skipped (%s); using %s/data/raw\n",
                        have_s3 ? "--skip-download" : "no S3 bucket configured", ctx->workdir);
                continue;
            } else {
                fprintf(stderr,
                        "musrec run: no raw data in %s/data/raw and %s: generating a demo data set "
                        "(musrec gen --scale %s)\n",
                        ctx->workdir, have_s3 ? "--skip-download given" : "no S3 bucket configured",
                        demo_scale ? demo_scale : "0.01");
                char *gen_argv[] = {"gen", "--scale", (char *)(demo_scale ? demo_scale : "0.01"), NULL};
                if (call_command(ctx, "gen", 3, gen_argv) != 0) {
                    fprintf(stderr, "musrec run: generating the demo data failed; nothing else was run\n");
                    return 1;
                }
                continue;
            }
        }
        if (resume && up_to_date(ctx, s, config_mtime)) {
            fprintf(stderr, "musrec run: %s is up to date (outputs newer than inputs and config), skipped\n", s->name);
            continue;
        }
        fprintf(stderr, "musrec run: step %d/%d: %s\n", i + 1, N_STEPS, s->name);
        char *step_argv[] = {(char *)s->name, NULL};
        double t0 = mr_now();
        int st = strcmp(s->name, "evaluate") == 0 ? call_command_silently(ctx, s->name, 1, step_argv)
                                                               : call_command(ctx, s->name, 1, step_argv);
        if (st != 0) {
            fprintf(stderr,
                    "musrec run: step %s failed (see above and %s/logs/logs_%s.json); outputs of earlier "
                    "steps are intact; rerun with --from %s or --resume\n",
                    s->name, ctx->workdir, s->name, s->name);
            return st;
        }
        fprintf(stderr, "musrec run: %s done in %.1f s\n", s->name, mr_now() - t0);
        ran++;
    }
    if (last >= step_index("evaluate")) print_comparison(ctx);
    if (last >= step_index("report")) {
        char *rep = mr_ctx_path(ctx, "results/report.html");
        if (rep && mr_file_exists(rep)) printf("\nreport: %s\n", rep);
        free(rep);
    }
    fprintf(stderr, "musrec run: %d step(s) run in %.1f s\n", ran, mr_now() - t_run);
    return 0;
}
