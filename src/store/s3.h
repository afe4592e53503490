/* A small S3 client on libcurl: GET (with Range), HEAD, PUT, DELETE,
 * ListObjectsV2, multipart upload, and resumable downloads to files.
 *
 * Works with any S3-compatible store (Yandex Object Storage, AWS, MinIO,
 * s3rver), path-style or virtual-host addressing, SigV4 (store/sigv4.h).
 *
 * Every request is retried on what is worth retrying: HTTP 500/502/503/504,
 * 429, 503 SlowDown, S3's 400 RequestTimeout, timeouts, refused connections
 * and resets. Attempt k (k = 1, 2, ...) sleeps a uniformly random time in
 * [0, min(retry_max_ms, retry_base_ms * 2^(k-1))] ("full jitter", which
 * spreads clients out best after a shared outage). After max_attempts the
 * call fails with one sentence naming the request and the last cause.
 * Everything else fails at once with a sentence a user can act on: DNS,
 * TLS, 403 with S3's error Code (InvalidAccessKeyId, SignatureDoesNotMatch,
 * AccessDenied), 404 NoSuchBucket / NoSuchKey, RequestTimeTooSkewed (with
 * the measured clock difference). Credentials never appear in a message or
 * a log line.
 *
 * An mr_s3 handle owns one curl handle (so connections are reused) and is
 * not thread-safe: give each thread its own (mr_s3_new is cheap).
 */
#ifndef MR_S3_H
#define MR_S3_H

#include <stdint.h>
#include <time.h>

#include "base/config.h"
#include "base/progress.h"
#include "store/sigv4.h"

enum { MR_S3_ADDR_AUTO, MR_S3_ADDR_PATH, MR_S3_ADDR_VIRTUAL };

typedef struct {
    const char *endpoint;       /* "https://storage.yandexcloud.net"; NULL/"" = AWS for region */
    const char *region;
    const char *bucket;
    const char *access_key, *secret_key, *session_token; /* token may be NULL/"" */
    int addressing;             /* MR_S3_ADDR_* */
    int max_attempts;           /* >= 1 */
    int retry_base_ms, retry_max_ms;
    int connect_timeout_s, stall_timeout_s;
    int64_t multipart_threshold, part_size;
    int concurrency;
    int64_t download_split;     /* objects of at least this many bytes are fetched as
                                 * `concurrency` parallel ranges; 0 = never */
    const char *ca_bundle;      /* NULL/"" = system store */
} mr_s3_opts;

/* Reads the S3_* and AWS_* keys (strings point into cfg). Validates numbers
 * and S3_ADDRESSING; does not require a bucket or credentials (callers that
 * need them call mr_s3_new, which checks). */
int mr_s3_opts_from_config(const mr_config *cfg, mr_s3_opts *o);

typedef struct mr_s3 mr_s3;

/* Copies what it needs from o. Fails clearly on a missing bucket or
 * credentials, or an endpoint that is not http(s)://host[:port][/path]. */
int mr_s3_new(const mr_s3_opts *o, mr_s3 **out);
void mr_s3_free(mr_s3 *s);

/* "s3://bucket/key", for messages; malloc'd. */
char *mr_s3_uri(const mr_s3 *s, const char *key);
/* The endpoint as used (scheme://host[:port]), for messages. */
const char *mr_s3_endpoint(const mr_s3 *s);

typedef struct {
    int64_t size;
    char etag[128];         /* without the surrounding quotes */
    char last_modified[64]; /* as the server sent it */
} mr_s3_object;

/* HEAD. A missing object is MR_ENOTFOUND with "s3://b/k does not exist
 * (NoSuchKey)" or "(NoSuchBucket)". */
int mr_s3_head(mr_s3 *s, const char *key, mr_s3_object *o);

/* GET into memory (whole object if len < 0, else bytes [off, off+len)).
 * *data is malloc'd and NUL-terminated. */
int mr_s3_get(mr_s3 *s, const char *key, int64_t off, int64_t len, char **data, size_t *n);

/* PUT a buffer as one object. */
int mr_s3_put(mr_s3 *s, const char *key, const void *data, size_t n);
/* Uploads a file: one PUT below the multipart threshold, else a multipart
 * upload (parts retried one by one, aborted on failure so no orphan parts
 * stay billed). p may be NULL. */
int mr_s3_upload_file(mr_s3 *s, const char *key, const char *path, mr_progress *p);
int mr_s3_delete(mr_s3 *s, const char *key);

typedef struct {
    const char *key;
    int64_t size;
    const char *etag;
    const char *last_modified;
} mr_s3_entry;

/* ListObjectsV2 over every page under prefix; cb returns nonzero to stop
 * (that value is returned). max_keys > 0 limits the total listed. */
int mr_s3_list(mr_s3 *s, const char *prefix, int max_keys,
               int (*cb)(const mr_s3_entry *e, void *ud), void *ud);

typedef struct {
    int skipped;          /* local file already had this size and ETag */
    int64_t resumed_from; /* bytes reused from an earlier .part file */
    int64_t bytes;        /* bytes fetched now */
    int restarts;         /* the object changed under a partial download */
    mr_s3_object obj;
} mr_s3_download_info;

/* Downloads key to path:
 *  - skipped when path exists with the object's size and its sidecar
 *    "DIR/.NAME.etag" holds the object's ETag (or, with no sidecar, when the
 *    file's MD5 equals a single-part ETag);
 *  - otherwise bytes go to "path.part" ("DIR/.NAME.part.etag" records the
 *    ETag they belong to); an existing .part of the same ETag is resumed
 *    with Range and If-Match, so an object that changed restarts from 0;
 *  - a retry after a reset continues from the bytes already written;
 *  - objects of at least download_split bytes are fetched as parallel byte
 *    ranges (one connection each, like boto3's download_file); then the
 *    sidecar also records how far each range got, so a resumed download
 *    continues every range where it stopped (to the last 64 MiB checkpoint
 *    after a kill -9); a server that ignores Range falls back to one stream;
 *  - complete: size checked, MD5 checked against a single-part ETag, fsync,
 *    rename onto path. path is never partial.
 * p (may be NULL) gets the bytes as they arrive; info may be NULL. If
 * head_done is non-NULL it is used instead of a fresh HEAD. */
int mr_s3_download(mr_s3 *s, const char *key, const char *path, const mr_s3_object *head_done,
                   mr_progress *p, mr_s3_download_info *info);

/* The URL and Authorization header musrec would send for a request, at a
 * given time: the same code path as real requests, exposed for
 * `musrec s3 sign` and the botocore cross-check. extra headers are signed
 * as given; payload_hash NULL means the empty body. */
int mr_s3_sign_request(mr_s3 *s, const char *method, const char *key,
                       const mr_sigv4_param *query, int nquery, const mr_sigv4_header *extra,
                       int nextra, const char *payload_hash, time_t when, char **url,
                       char **authorization);

/* Number of HTTP attempts and retries this handle made (for logs/tests). */
int64_t mr_s3_attempts(const mr_s3 *s);
int64_t mr_s3_retries(const mr_s3 *s);

/* What one job of mr_s3_run_jobs did: its return code, its error message
 * (malloc'ed, NULL on success; the caller frees it) and its wall seconds. */
typedef struct {
    int rc;
    char *err;
    double seconds;
} mr_s3_result;

/* Runs job(s, i, arg) for every i in [0, n) on at most `threads` threads,
 * each thread with its own connection made from o (a handle is not
 * thread-safe), handing out the next i as each thread finishes one, so that
 * a large file does not hold back the small ones behind it. Fills
 * results[i]; returns the retries of all connections together. */
int64_t mr_s3_run_jobs(const mr_s3_opts *o, int threads, size_t n, int (*job)(mr_s3 *s, size_t i, void *arg),
                       void *arg, mr_s3_result *results);

#endif
