/* `musrec download`: step 2, the three raw files from S3 into data/raw/.
 *
 * HEAD all three first (so a missing file fails before any byte moves, and
 * the progress bar knows the total), then fetch them on up to S3_CONCURRENCY
 * threads, each with its own S3 handle. mr_s3_download does the skipping,
 * resuming, retrying and the atomic rename (store/s3.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/progress.h"
#include "cli/cli.h"
#include "store/s3.h"

static const char *raw_names[] = {"tracks.parquet", "catalog_names.parquet", "interactions.parquet"};
#define NRAW 3

typedef struct {
    char *key, *path;
    mr_s3_object obj;
    mr_s3_download_info info;
} job;

typedef struct {
    job *jobs;
    mr_progress *prog;
} jobs_arg;

static int download_one(mr_s3 *s, size_t i, void *arg)
{
    jobs_arg *a = arg;
    job *j = &a->jobs[i];
    return mr_s3_download(s, j->key, j->path, &j->obj, a->prog, &j->info);
}

static char *key_join(const char *prefix, const char *name)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    while (pl && prefix[pl - 1] == '/') pl--;
    char *k = mr_malloc(pl + strlen(name) + 2);
    if (!k) return NULL;
    if (pl) sprintf(k, "%.*s/%s", (int)pl, prefix, name);
    else strcpy(k, name);
    return k;
}

int mr_cmd_download(mr_ctx *ctx, int argc, char **argv)
{
    const char *bucket = NULL, *prefix = NULL, *endpoint = NULL;
    int64_t conc = 0;
    const mr_arg args[] = {
        {"bucket", MR_ARG_STR, &bucket, "S3_BUCKET_NAME", NULL, "bucket holding the raw files"},
        {"prefix", MR_ARG_STR, &prefix, "S3_PREFIX", NULL, "key prefix of the raw files"},
        {"endpoint", MR_ARG_STR, &endpoint, "S3_ENDPOINT_URL", NULL, "S3-compatible endpoint URL"},
        {"concurrency", MR_ARG_INT, &conc, "S3_CONCURRENCY", NULL, "files fetched at the same time"},
        {0}};
    int rc = mr_args_parse(ctx, "download", "[options]",
                           "Downloads s3://BUCKET/PREFIX/{tracks,catalog_names,interactions}.parquet\n"
                           "into data/raw/. A file whose size and ETag match what is already there is\n"
                           "skipped; a partial download (data/raw/NAME.part) is resumed with a Range\n"
                           "request; failures of the network or the server are retried with\n"
                           "exponential backoff (S3_MAX_ATTEMPTS). data/raw/NAME only ever holds a\n"
                           "complete file. See docs/s3.md.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    mr_step st;
    if (mr_step_begin(ctx, &st, "download")) return 1;

    mr_s3_opts o;
    mr_s3 *s = NULL;
    job jobs[NRAW];
    memset(jobs, 0, sizeof jobs);
    char *rawdir = mr_ctx_path(ctx, "data/raw");
    rc = rawdir ? mr_s3_opts_from_config(ctx->cfg, &o) : MR_ENOMEM;
    if (!rc) {
        o.bucket = bucket;
        o.endpoint = endpoint;
        if (conc < 1 || conc > 64) rc = mr_err(MR_EUSAGE, "--concurrency must be between 1 and 64, got %lld", (long long)conc);
    }
    if (!rc) rc = mr_s3_new(&o, &s);
    if (!rc) rc = mr_ensure_writable_dir(rawdir);
    int64_t total = 0, have = 0;
    for (int i = 0; i < NRAW && !rc; i++) {
        jobs[i].key = key_join(prefix, raw_names[i]);
        jobs[i].path = mr_path_join(rawdir, raw_names[i]);
        if (!jobs[i].key || !jobs[i].path) rc = MR_ENOMEM;
        else rc = mr_s3_head(s, jobs[i].key, &jobs[i].obj);
        if (!rc && jobs[i].obj.size < 0)
            rc = mr_err(MR_ENET, "HEAD s3://%s/%s: the server sent no Content-Length", bucket, jobs[i].key);
        if (!rc) total += jobs[i].obj.size;
    }
    if (!rc) {
        int64_t free_b = mr_disk_free(rawdir);
        for (int i = 0; i < NRAW; i++)
            if (mr_file_exists(jobs[i].path)) have += mr_file_size(jobs[i].path);
        if (free_b >= 0 && free_b + have < total)
            rc = mr_err(MR_EIO, "%s has %lld bytes free but the raw files need %lld", rawdir, (long long)free_b,
                        (long long)(total - have));
    }
    if (!rc) {
        MR_LOG(MR_LOG_INFO, "downloading raw data", MR_S("from", mr_s3_endpoint(s)), MR_S("bucket", bucket),
               MR_S("prefix", prefix), MR_I("bytes", total));
        mr_progress prog;
        mr_progress_start(&prog, "download", total, "B");
        jobs_arg ja = {jobs, &prog};
        mr_s3_result res[NRAW] = {{0}};
        double t0 = mr_now();
        int64_t retries = mr_s3_run_jobs(&o, (int)conc, NRAW, download_one, &ja, res);
        mr_progress_end(&prog);
        double secs = mr_now() - t0;
        int64_t fetched = 0;
        for (int i = 0; i < NRAW; i++) {
            job *j = &jobs[i];
            fetched += j->info.bytes;
            if (res[i].rc) {
                if (!rc) {
                    rc = res[i].rc;
                    mr_err_set_msg(res[i].err ? res[i].err : "download failed");
                }
                MR_LOG(MR_LOG_ERROR, "download failed", MR_S("key", j->key), MR_S("error", res[i].err));
                free(res[i].err);
                continue;
            }
            MR_LOG(MR_LOG_INFO, j->info.skipped ? "up to date, skipped" : "downloaded", MR_S("file", raw_names[i]),
                   MR_I("bytes", j->obj.size), MR_I("fetched", j->info.bytes),
                   MR_I("resumed_from", j->info.resumed_from), MR_S("etag", j->obj.etag),
                   MR_F("seconds", res[i].seconds));
            mr_step_file(&st, "output", j->path);
        }
        MR_LOG(MR_LOG_INFO, rc ? "download incomplete" : "download done", MR_I("bytes_fetched", fetched),
               MR_F("seconds", secs), MR_F("mib_per_s", secs > 0 ? fetched / secs / 1048576.0 : 0),
               MR_I("retries", retries));
    }
    for (int i = 0; i < NRAW; i++) {
        free(jobs[i].key);
        free(jobs[i].path);
    }
    mr_s3_free(s);
    free(rawdir);
    return mr_step_end(ctx, &st, rc);
}
