/* `musrec s3 check|ls|sign`: look at the configured S3 store.
 *
 * check  endpoint, credentials and bucket in one listing request, each
 *        failure kind as one sentence (see store/s3.h), then the raw files.
 * ls     keys under a prefix with size and date.
 * sign   (hidden, for tests and debugging) the URL and Authorization header
 *        musrec would send for a request at a given time; no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "store/s3.h"

static const char *raw_names[] = {"tracks.parquet", "catalog_names.parquet", "interactions.parquet"};

static char *key_join(const char *prefix, const char *name)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    while (pl && prefix[pl - 1] == '/') pl--;
    while (name[0] == '/') name++;
    char *k = mr_malloc(pl + strlen(name) + 2);
    if (!k) return NULL;
    if (pl) sprintf(k, "%.*s/%s", (int)pl, prefix, name);
    else strcpy(k, name);
    return k;
}

static void human(char *b, size_t n, double v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) v /= 1024, i++;
    snprintf(b, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

typedef struct {
    int n;
    int64_t bytes;
    int print;
} ls_state;

static int print_entry(const mr_s3_entry *e, void *ud)
{
    ls_state *st = ud;
    st->n++;
    st->bytes += e->size;
    if (st->print) printf("%14lld  %-24s  %s\n", (long long)e->size, e->last_modified, e->key);
    return 0;
}

static int open_store(mr_ctx *ctx, const char *cmd, const char *bucket, const char *endpoint, mr_s3 **s)
{
    mr_s3_opts o;
    if (mr_s3_opts_from_config(ctx->cfg, &o) != 0) {
        fprintf(stderr, "musrec %s: %s\n", cmd, mr_errmsg());
        return 2;
    }
    if (bucket) o.bucket = bucket;
    if (endpoint) o.endpoint = endpoint;
    if (mr_s3_new(&o, s) != 0) {
        fprintf(stderr, "musrec %s: %s\n", cmd, mr_errmsg());
        return 1;
    }
    return 0;
}

static int cmd_check(mr_ctx *ctx, int argc, char **argv)
{
    const char *bucket = NULL, *prefix = NULL, *endpoint = NULL;
    const mr_arg args[] = {
        {"bucket", MR_ARG_STR, &bucket, "S3_BUCKET_NAME", NULL, "bucket"},
        {"prefix", MR_ARG_STR, &prefix, "S3_PREFIX", NULL, "key prefix of the raw files"},
        {"endpoint", MR_ARG_STR, &endpoint, "S3_ENDPOINT_URL", NULL, "S3-compatible endpoint URL"},
        {0}};
    int rc = mr_args_parse(ctx, "s3 check", "[options]",
                           "Checks the S3 settings with one listing of the bucket: the endpoint\n"
                           "(DNS, connection, TLS), the credentials (403 InvalidAccessKeyId,\n"
                           "SignatureDoesNotMatch, clock skew) and the bucket (404 NoSuchBucket),\n"
                           "then looks for the three raw files under S3_PREFIX.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    mr_s3 *s;
    if ((rc = open_store(ctx, "s3 check", bucket, endpoint, &s))) return rc;
    printf("endpoint  %s (region %s, %s addressing)\n", mr_s3_endpoint(s),
           mr_config_get(ctx->cfg, "S3_REGION"), mr_config_get(ctx->cfg, "S3_ADDRESSING"));
    ls_state st = {0};
    double t0 = mr_now();
    char *pre = key_join(prefix, "");
    if (mr_s3_list(s, pre, 1000, print_entry, &st) != 0) {
        fprintf(stderr, "musrec s3 check: %s\n", mr_errmsg());
        free(pre);
        mr_s3_free(s);
        return 1;
    }
    printf("bucket    s3://%s reachable, credentials accepted (%.0f ms); %d%s objects under '%s'\n",
           bucket, (mr_now() - t0) * 1000, st.n, st.n >= 1000 ? "+" : "", pre);
    int missing = 0;
    for (int i = 0; i < 3; i++) {
        char *k = key_join(prefix, raw_names[i]);
        mr_s3_object o;
        char hb[32];
        if (k && mr_s3_head(s, k, &o) == 0) {
            human(hb, sizeof hb, (double)o.size);
            printf("raw       %-28s %s\n", raw_names[i], hb);
        } else {
            printf("raw       %-28s missing: %s\n", raw_names[i], mr_errmsg());
            missing++;
        }
        free(k);
    }
    if (missing) printf("note      `musrec download` needs all three raw files under s3://%s/%s\n", bucket, pre);
    free(pre);
    mr_s3_free(s);
    return 0;
}

static int cmd_ls(mr_ctx *ctx, int argc, char **argv)
{
    const char *bucket = NULL, *prefix = NULL, *endpoint = NULL;
    int64_t max = 0;
    const mr_arg args[] = {
        {"bucket", MR_ARG_STR, &bucket, "S3_BUCKET_NAME", NULL, "bucket"},
        {"prefix", MR_ARG_STR, &prefix, "S3_PREFIX", NULL, "prefix listed when none is given"},
        {"endpoint", MR_ARG_STR, &endpoint, "S3_ENDPOINT_URL", NULL, "S3-compatible endpoint URL"},
        {"max", MR_ARG_INT, &max, NULL, "0", "list at most N keys (0 = all)"},
        {0}};
    char **pos;
    int npos;
    int rc = mr_args_parse(ctx, "s3 ls", "[options] [PREFIX]",
                           "Lists the keys under PREFIX (default S3_PREFIX): size, last modified, key.",
                           args, argc, argv, &pos, &npos);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    const char *p = npos > 0 ? pos[0] : prefix;
    free(pos);
    mr_s3 *s;
    if ((rc = open_store(ctx, "s3 ls", bucket, endpoint, &s))) return rc;
    ls_state st = {.print = 1};
    if (mr_s3_list(s, p, (int)max, print_entry, &st) != 0) {
        fprintf(stderr, "musrec s3 ls: %s\n", mr_errmsg());
        mr_s3_free(s);
        return 1;
    }
    char hb[32];
    human(hb, sizeof hb, (double)st.bytes);
    fprintf(stderr, "%d objects, %s\n", st.n, hb);
    mr_s3_free(s);
    return 0;
}

/* Parses "YYYYMMDDTHHMMSSZ" as UTC. */
static int parse_amz_time(const char *t, time_t *out)
{
    struct tm tm = {0};
    if (!t || strlen(t) != 16 || sscanf(t, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}

static int cmd_sign(mr_ctx *ctx, int argc, char **argv)
{
    const char *method = "GET", *key = NULL, *query = NULL, *hash = NULL, *when = NULL;
    const char *bucket = NULL, *endpoint = NULL;
    mr_sigv4_header hdr[16];
    int nh = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            printf("usage: musrec s3 sign [--method M] [--key K] [--query 'a=1&b=x y'] [--header 'Name: value']...\n"
                   "                      [--payload-hash HEX] [--time YYYYMMDDTHHMMSSZ] [--bucket B] [--endpoint URL]\n\n"
                   "Prints the URL and the Authorization header musrec would send (no network).\n"
                   "Query values and the key are given raw (unencoded). Credentials, region and\n"
                   "addressing come from the configuration, as for real requests.\n");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "musrec s3 sign: option %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--method")) method = v;
        else if (!strcmp(a, "--key")) key = v;
        else if (!strcmp(a, "--query")) query = v;
        else if (!strcmp(a, "--payload-hash")) hash = v;
        else if (!strcmp(a, "--time")) when = v;
        else if (!strcmp(a, "--bucket")) bucket = v;
        else if (!strcmp(a, "--endpoint")) endpoint = v;
        else if (!strcmp(a, "--header")) {
            const char *colon = strchr(v, ':');
            if (!colon || nh == 16) {
                fprintf(stderr, "musrec s3 sign: --header wants 'Name: value' (at most 16), got '%s'\n", v);
                return 2;
            }
            char *name = strndup(v, (size_t)(colon - v));
            const char *val = colon + 1;
            while (*val == ' ') val++;
            hdr[nh++] = (mr_sigv4_header){name, val};
        } else {
            fprintf(stderr, "musrec s3 sign: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    time_t t = time(NULL);
    if (when && parse_amz_time(when, &t) != 0) {
        fprintf(stderr, "musrec s3 sign: --time wants YYYYMMDDTHHMMSSZ, got '%s'\n", when);
        return 2;
    }
    mr_sigv4_param q[32];
    int nq = 0;
    char *qcopy = query ? strdup(query) : NULL;
    for (char *save = NULL, *tok = qcopy ? strtok_r(qcopy, "&", &save) : NULL; tok && nq < 32;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (eq) *eq = 0;
        q[nq++] = (mr_sigv4_param){tok, eq ? eq + 1 : ""};
    }
    mr_s3 *s;
    int rc = open_store(ctx, "s3 sign", bucket, endpoint, &s);
    char *url = NULL, *auth = NULL;
    if (!rc && mr_s3_sign_request(s, method, key, q, nq, hdr, nh, hash, t, &url, &auth) != 0) {
        fprintf(stderr, "musrec s3 sign: %s\n", mr_errmsg());
        rc = 1;
    }
    if (!rc) printf("url: %s\nauthorization: %s\n", url, auth);
    free(url);
    free(auth);
    free(qcopy);
    for (int i = 0; i < nh; i++) free((char *)hdr[i].name);
    mr_s3_free(s);
    return rc;
}

int mr_cmd_s3(mr_ctx *ctx, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (sub && !strcmp(sub, "check")) return cmd_check(ctx, argc - 1, argv + 1);
    if (sub && !strcmp(sub, "ls")) return cmd_ls(ctx, argc - 1, argv + 1);
    if (sub && !strcmp(sub, "sign")) return cmd_sign(ctx, argc - 1, argv + 1);
    int help = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"));
    FILE *f = help ? stdout : stderr;
    if (sub && !help) fprintf(stderr, "musrec s3: unknown subcommand '%s'\n\n", sub);
    fprintf(f, "usage: musrec s3 check [options]    check endpoint, credentials, bucket and raw files\n"
               "       musrec s3 ls [PREFIX]        list keys under PREFIX (default S3_PREFIX)\n\n"
               "Settings: S3_* and AWS_* keys (see `musrec config`, docs/s3.md).\n");
    return f == stdout ? 0 : 2;
}
