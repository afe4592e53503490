/* `musrec upload`: results/, models/ and logs/ to S3 under a run prefix,
 * like the reference pipeline's s3_loading:
 *   s3://BUCKET/PREFIX/runs/RUN_ID/{results,models,logs}/...
 * Files at or above S3_MULTIPART_THRESHOLD go up as multipart uploads. Files
 * are sent on up to S3_CONCURRENCY threads. Temporary files of atomic
 * writers ("*.tmp-XXXXXX") and partial downloads ("*.part") are skipped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/vec.h"
#include "cli/cli.h"
#include "store/s3.h"

typedef struct {
    char *path, *rel;
    int64_t size;
} file_job;

typedef struct {
    file_job *v;
    size_t n, cap;
} job_list;

static int jobs_push(job_list *l, const char *path, const char *rel, int64_t size)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        file_job *nv = mr_realloc(l->v, cap * sizeof *nv);
        if (!nv) return MR_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    file_job *j = &l->v[l->n];
    memset(j, 0, sizeof *j);
    j->path = mr_strdup(path);
    j->rel = mr_strdup(rel);
    j->size = size;
    if (!j->path || !j->rel) {
        free(j->path);
        free(j->rel);
        return MR_ENOMEM;
    }
    l->n++;
    return 0;
}

static int skip_name(const char *name)
{
    if (name[0] == '.') return 1; /* hidden: sidecars, editor files */
    if (strstr(name, ".tmp-")) return 1;
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".part") == 0;
}

/* Collects regular files under dir (recursively) with paths relative to base. */
static int walk(const char *dir, const char *rel, job_list *out, int depth)
{
    if (depth > 32) return mr_err(MR_EINVAL, "%s: directories nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d) return 0; /* a missing folder has nothing to upload */
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || skip_name(e->d_name)) continue;
        char *p = mr_path_join(dir, e->d_name), *r = mr_path_join(rel, e->d_name);
        struct stat st;
        if (!p || !r) rc = MR_ENOMEM;
        else if (stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) rc = walk(p, r, out, depth + 1);
            else if (S_ISREG(st.st_mode)) rc = jobs_push(out, p, r, st.st_size);
        }
        free(p);
        free(r);
    }
    closedir(d);
    return rc;
}

typedef struct {
    const char *run_prefix;
    job_list *jobs;
    mr_progress *prog;
} jobs_arg;

static int upload_one(mr_s3 *s, size_t i, void *arg)
{
    jobs_arg *a = arg;
    file_job *j = &a->jobs->v[i];
    char *key = mr_path_join(a->run_prefix, j->rel);
    int rc = key ? mr_s3_upload_file(s, key, j->path, a->prog) : MR_ENOMEM;
    if (!rc) MR_LOG(MR_LOG_DEBUG, "uploaded", MR_S("key", key), MR_I("bytes", j->size));
    free(key);
    return rc;
}

static int valid_run_id(const char *id)
{
    if (!id || !*id || strlen(id) > 200 || !strcmp(id, ".") || !strcmp(id, "..")) return 0;
    for (const char *p = id; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20) return 0;
    return 1;
}

int mr_cmd_upload(mr_ctx *ctx, int argc, char **argv)
{
    const char *bucket = NULL, *prefix = NULL, *endpoint = NULL, *run_id = NULL;
    int64_t conc = 0;
    const mr_arg args[] = {
        {"run-id", MR_ARG_STR, &run_id, NULL, NULL, "name of this run (default: the UTC time, YYYYMMDDTHHMMSSZ)"},
        {"bucket", MR_ARG_STR, &bucket, "S3_BUCKET_NAME", NULL, "bucket receiving the run"},
        {"prefix", MR_ARG_STR, &prefix, "S3_PREFIX", NULL, "key prefix; runs go under PREFIX/runs/"},
        {"endpoint", MR_ARG_STR, &endpoint, "S3_ENDPOINT_URL", NULL, "S3-compatible endpoint URL"},
        {"concurrency", MR_ARG_INT, &conc, "S3_CONCURRENCY", NULL, "files sent at the same time"},
        {0}};
    int rc = mr_args_parse(ctx, "upload", "[options]",
                           "Uploads results/, models/ and logs/ of the work directory to\n"
                           "s3://BUCKET/PREFIX/runs/RUN_ID/, keeping the folder layout. Files of at\n"
                           "least S3_MULTIPART_THRESHOLD bytes go up in parts of S3_PART_SIZE bytes.\n"
                           "See docs/s3.md.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    char gen_id[17];
    if (!run_id) {
        mr_sigv4_amz_date(time(NULL), gen_id);
        run_id = gen_id;
    }
    if (!valid_run_id(run_id)) {
        fprintf(stderr, "musrec upload: --run-id '%s' must be a non-empty name without '/'\n", run_id);
        return 2;
    }
    if (conc < 1 || conc > 64) {
        fprintf(stderr, "musrec upload: --concurrency must be between 1 and 64, got %lld\n", (long long)conc);
        return 2;
    }
    mr_step st;
    if (mr_step_begin(ctx, &st, "upload")) return 1;

    job_list jobs = {0};
    static const char *dirs[] = {"results", "models", "logs"};
    for (int i = 0; i < 3 && !rc; i++) {
        char *d = mr_ctx_path(ctx, dirs[i]);
        rc = d ? walk(d, dirs[i], &jobs, 0) : MR_ENOMEM;
        free(d);
    }
    int64_t total = 0;
    for (size_t i = 0; i < jobs.n; i++) total += jobs.v[i].size;
    mr_s3_opts o;
    mr_s3 *s = NULL;
    char *run_prefix = NULL;
    if (!rc) rc = mr_s3_opts_from_config(ctx->cfg, &o);
    if (!rc) {
        o.bucket = bucket;
        o.endpoint = endpoint;
        rc = mr_s3_new(&o, &s); /* validates settings before any work */
    }
    if (!rc && jobs.n == 0)
        rc = mr_err(MR_ENOTFOUND, "nothing to upload: %s has no files in results/, models/ or logs/", ctx->workdir);
    if (!rc) {
        size_t pl = strlen(prefix);
        while (pl && prefix[pl - 1] == '/') pl--;
        size_t n = pl + strlen(run_id) + 16;
        run_prefix = mr_malloc(n);
        if (!run_prefix) rc = MR_ENOMEM;
        else if (pl) snprintf(run_prefix, n, "%.*s/runs/%s", (int)pl, prefix, run_id);
        else snprintf(run_prefix, n, "runs/%s", run_id);
    }
    if (!rc) {
        MR_LOG(MR_LOG_INFO, "uploading run", MR_S("to", mr_s3_endpoint(s)), MR_S("bucket", bucket),
               MR_S("prefix", run_prefix), MR_I("files", jobs.n), MR_I("bytes", total));
        mr_progress prog;
        mr_progress_start(&prog, "upload", total, "B");
        jobs_arg ja = {run_prefix, &jobs, &prog};
        mr_s3_result *res = mr_calloc(jobs.n, sizeof *res);
        double t0 = mr_now();
        int64_t retries = res ? mr_s3_run_jobs(&o, (int)conc, jobs.n, upload_one, &ja, res) : 0;
        mr_progress_end(&prog);
        double secs = mr_now() - t0;
        int failed = 0;
        if (!res) rc = MR_ENOMEM;
        for (size_t i = 0; res && i < jobs.n; i++)
            if (res[i].rc) {
                if (!failed++) {
                    rc = res[i].rc;
                    mr_err_set_msg(res[i].err ? res[i].err : "upload failed");
                }
                MR_LOG(MR_LOG_ERROR, "upload failed", MR_S("file", jobs.v[i].rel), MR_S("error", res[i].err));
                free(res[i].err);
            }
        free(res);
        if (failed > 1) mr_err_wrap(rc, "%d of %zu files failed; first: ", failed, jobs.n);
        MR_LOG(MR_LOG_INFO, rc ? "upload incomplete" : "upload done", MR_S("run", run_prefix),
               MR_I("files", jobs.n - (size_t)failed), MR_I("bytes", total), MR_F("seconds", secs),
               MR_F("mib_per_s", secs > 0 ? total / secs / 1048576.0 : 0), MR_I("retries", retries));
        if (!rc) printf("s3://%s/%s/\n", bucket, run_prefix);
    }
    for (size_t i = 0; i < jobs.n; i++) {
        free(jobs.v[i].path);
        free(jobs.v[i].rel);
    }
    free(jobs.v);
    free(run_prefix);
    mr_s3_free(s);
    return mr_step_end(ctx, &st, rc);
}
