/* S3 over libcurl. See s3.h for the contract; the notes here are about how.
 *
 * One request = build the canonical URI and query once, sign with the
 * current time, send with an explicit Host header (so the signed host and
 * the sent host are the same string), collect the response headers we need
 * (ETag, Content-Length, Content-Range, Date) and either the body (2xx bodies
 * of GETs to files go straight to the file with pwrite; error bodies go to a
 * small buffer so the S3 error Code can be reported). Each attempt is signed
 * afresh, since a retry minutes later must carry a fresh x-amz-date.
 *
 * Downloads resume: the .part file's length is the next Range start, both
 * within one run (a reset mid-body) and across runs (a killed process), and
 * If-Match pins the bytes to one ETag.
 */
#define _GNU_SOURCE
#include "store/s3.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/strbuf.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MIN_PART_SIZE (5 * 1024 * 1024) /* S3's smallest part but the last */
#define MAX_PARTS 10000                  /* S3's largest part count */
#define ERR_BODY_CAP (64 * 1024)         /* error bodies are small XML documents */
#define WRITEBACK_STEP (32 << 20)        /* downloads start disk writeback every 32 MiB */

struct mr_s3 {
    char *scheme, *authority, *base_path, *bucket, *region, *ak, *sk, *token, *ca;
    char *endpoint_shown; /* scheme://authority[/base] */
    int virtual_host;
    int max_attempts, base_ms, max_ms, connect_s, stall_s;
    int64_t threshold, part_size, split;
    int concurrency;
    CURL *curl;
    unsigned rng;
    int64_t attempts, retries;
};

/* ---- small strings ---------------------------------------------------- */

static char *dupn(const char *s, size_t n)
{
    char *d = mr_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* ---- minimal XML: S3 responses are flat, namespace-free element trees ----- */

/* Finds the next <tag>...</tag> in [p, end); sets the content bounds and
 * returns the position after the closing tag, or NULL. <tag/> gives "". */
static const char *xml_find(const char *p, const char *end, const char *tag, const char **vb,
                            const char **ve)
{
    size_t tl = strlen(tag);
    while (p && p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) return NULL;
        const char *q = lt + 1;
        if ((size_t)(end - q) > tl && memcmp(q, tag, tl) == 0) {
            char c = q[tl];
            if (c == '>' || c == ' ' || c == '/' || c == '\t' || c == '\r' || c == '\n') {
                const char *gt = memchr(q, '>', (size_t)(end - q));
                if (!gt) return NULL;
                if (gt[-1] == '/') {
                    *vb = *ve = gt + 1;
                    return gt + 1;
                }
                const char *b = gt + 1;
                /* closing tag */
                for (const char *r = b; r < end;) {
                    const char *lt2 = memchr(r, '<', (size_t)(end - r));
                    if (!lt2) return NULL;
                    if (lt2 + 2 + tl <= end && lt2[1] == '/' && memcmp(lt2 + 2, tag, tl) == 0 &&
                        (lt2 + 2 + tl < end && lt2[2 + tl] == '>')) {
                        *vb = b;
                        *ve = lt2;
                        return lt2 + 3 + tl;
                    }
                    r = lt2 + 1;
                }
                return NULL;
            }
        }
        p = lt + 1;
    }
    return NULL;
}

static void utf8_put(mr_strbuf *b, unsigned long cp)
{
    char u[4];
    if (cp < 0x80) u[0] = (char)cp, mr_strbuf_add(b, u, 1);
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), mr_strbuf_add(b, u, 2);
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 63)),
        u[2] = (char)(0x80 | (cp & 63)), mr_strbuf_add(b, u, 3);
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 63)),
        u[2] = (char)(0x80 | (cp >> 6 & 63)), u[3] = (char)(0x80 | (cp & 63)), mr_strbuf_add(b, u, 4);
}

/* Text content with the five entities and numeric references decoded. */
static char *xml_text(const char *b, const char *e)
{
    mr_strbuf o = {0};
    mr_strbuf_add(&o, "", 0);
    for (const char *p = b; p < e;) {
        if (*p != '&') {
            const char *amp = memchr(p, '&', (size_t)(e - p));
            const char *stop = amp ? amp : e;
            mr_strbuf_add(&o, p, (size_t)(stop - p));
            p = stop;
            continue;
        }
        const char *semi = memchr(p, ';', (size_t)(e - p) < 12 ? (size_t)(e - p) : 12);
        if (!semi) {
            mr_strbuf_add(&o, p++, 1);
            continue;
        }
        size_t n = (size_t)(semi - p - 1);
        const char *name = p + 1;
        if (n == 3 && !memcmp(name, "amp", 3)) mr_strbuf_puts(&o, "&");
        else if (n == 2 && !memcmp(name, "lt", 2)) mr_strbuf_puts(&o, "<");
        else if (n == 2 && !memcmp(name, "gt", 2)) mr_strbuf_puts(&o, ">");
        else if (n == 4 && !memcmp(name, "quot", 4)) mr_strbuf_puts(&o, "\"");
        else if (n == 4 && !memcmp(name, "apos", 4)) mr_strbuf_puts(&o, "'");
        else if (n >= 2 && name[0] == '#') {
            char num[16];
            memcpy(num, name + 1, n - 1);
            num[n - 1] = 0;
            char *endp;
            unsigned long cp = num[0] == 'x' || num[0] == 'X' ? strtoul(num + 1, &endp, 16)
                                                              : strtoul(num, &endp, 10);
            if (*endp || cp > 0x10FFFF) mr_strbuf_add(&o, p, (size_t)(semi - p + 1));
            else utf8_put(&o, cp);
        } else {
            mr_strbuf_add(&o, p, (size_t)(semi - p + 1));
        }
        p = semi + 1;
    }
    if (o.oom) {
        free(o.s);
        mr_err(MR_ENOMEM, "out of memory parsing an S3 response");
        return NULL;
    }
    return o.s;
}

/* Copies the text of the first <tag> in body into out (truncated), "" if absent. */
static void xml_get(const char *body, size_t n, const char *tag, char *out, size_t cap)
{
    const char *vb, *ve;
    out[0] = 0;
    if (!body || !xml_find(body, body + n, tag, &vb, &ve)) return;
    char *t = xml_text(vb, ve);
    if (!t) return;
    snprintf(out, cap, "%s", t);
    free(t);
}

/* ---- handle ----------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static int parse_int_key(const mr_config *cfg, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    int rc = mr_config_int(cfg, key, out);
    if (rc) return rc;
    if (*out < lo || *out > hi)
        return mr_err(MR_EINVAL, "%s (from %s) must be between %lld and %lld, got %lld", key,
                      mr_config_source(cfg, key), (long long)lo, (long long)hi, (long long)*out);
    return 0;
}

int mr_s3_opts_from_config(const mr_config *cfg, mr_s3_opts *o)
{
    memset(o, 0, sizeof *o);
    o->endpoint = mr_config_get(cfg, "S3_ENDPOINT_URL");
    o->region = mr_config_get(cfg, "S3_REGION");
    o->bucket = mr_config_get(cfg, "S3_BUCKET_NAME");
    o->access_key = mr_config_get(cfg, "AWS_ACCESS_KEY_ID");
    o->secret_key = mr_config_get(cfg, "AWS_SECRET_ACCESS_KEY");
    o->session_token = mr_config_get(cfg, "AWS_SESSION_TOKEN");
    o->ca_bundle = mr_config_get(cfg, "S3_CA_BUNDLE");
    const char *a = mr_config_get(cfg, "S3_ADDRESSING");
    if (!a || !*a || !strcmp(a, "auto")) o->addressing = MR_S3_ADDR_AUTO;
    else if (!strcmp(a, "path")) o->addressing = MR_S3_ADDR_PATH;
    else if (!strcmp(a, "virtual")) o->addressing = MR_S3_ADDR_VIRTUAL;
    else
        return mr_err(MR_EINVAL, "S3_ADDRESSING (from %s) must be path, virtual or auto, got '%s'",
                      mr_config_source(cfg, "S3_ADDRESSING"), a);
    int64_t v;
    int rc;
    if ((rc = parse_int_key(cfg, "S3_MAX_ATTEMPTS", 1, 100, &v))) return rc;
    o->max_attempts = (int)v;
    if ((rc = parse_int_key(cfg, "S3_RETRY_BASE_MS", 0, 600000, &v))) return rc;
    o->retry_base_ms = (int)v;
    if ((rc = parse_int_key(cfg, "S3_RETRY_MAX_MS", 0, 3600000, &v))) return rc;
    o->retry_max_ms = (int)v;
    if ((rc = parse_int_key(cfg, "S3_CONNECT_TIMEOUT_S", 1, 3600, &v))) return rc;
    o->connect_timeout_s = (int)v;
    if ((rc = parse_int_key(cfg, "S3_STALL_TIMEOUT_S", 1, 86400, &v))) return rc;
    o->stall_timeout_s = (int)v;
    if ((rc = parse_int_key(cfg, "S3_MULTIPART_THRESHOLD", MIN_PART_SIZE, INT64_C(5) << 40, &v))) return rc;
    o->multipart_threshold = v;
    if ((rc = parse_int_key(cfg, "S3_PART_SIZE", MIN_PART_SIZE, INT64_C(5) << 30, &v))) return rc;
    o->part_size = v;
    if ((rc = parse_int_key(cfg, "S3_CONCURRENCY", 1, 64, &v))) return rc;
    o->concurrency = (int)v;
    if ((rc = parse_int_key(cfg, "S3_DOWNLOAD_SPLIT", 0, INT64_C(1) << 50, &v))) return rc;
    o->download_split = v;
    return 0;
}

static int is_ip_or_local(const char *host)
{
    if (host[0] == '[') return 1; /* IPv6 literal */
    if (!strncmp(host, "localhost", 9)) return 1;
    for (const char *p = host; *p && *p != ':'; p++)
        if (!isdigit((unsigned char)*p) && *p != '.') return 0;
    return 1;
}

static int dns_compatible_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-')) return 0;
    return b[0] != '-' && b[n - 1] != '-';
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

void mr_s3_free(mr_s3 *s)
{
    if (!s) return;
    if (s->curl) curl_easy_cleanup(s->curl);
    if (s->sk) memset(s->sk, 0, strlen(s->sk));
    free(s->scheme);
    free(s->authority);
    free(s->base_path);
    free(s->bucket);
    free(s->region);
    free(s->ak);
    free(s->sk);
    free(s->token);
    free(s->ca);
    free(s->endpoint_shown);
    free(s);
}

int mr_s3_new(const mr_s3_opts *o, mr_s3 **out)
{
    *out = NULL;
    if (!o->bucket || !*o->bucket)
        return mr_err(MR_EINVAL, "S3_BUCKET_NAME is not set (config/musrec.env or the environment)");
    if (strchr(o->bucket, '/'))
        return mr_err(MR_EINVAL, "S3_BUCKET_NAME '%s' contains '/'; put key prefixes in S3_PREFIX", o->bucket);
    if (!o->access_key || !*o->access_key)
        return mr_err(MR_EINVAL, "AWS_ACCESS_KEY_ID is not set (config/musrec.env or the environment)");
    if (!o->secret_key || !*o->secret_key)
        return mr_err(MR_EINVAL, "AWS_SECRET_ACCESS_KEY is not set (config/musrec.env or the environment)");
    const char *region = o->region && *o->region ? o->region : "us-east-1";
    pthread_once(&curl_once, curl_init_once);
    mr_s3 *s = mr_calloc(1, sizeof *s);
    if (!s) return MR_ENOMEM;
    char aws[256];
    const char *ep = o->endpoint;
    if (!ep || !*ep) {
        snprintf(aws, sizeof aws, "https://s3.%s.amazonaws.com", region);
        ep = aws;
    }
    const char *sep = strstr(ep, "://");
    if (!sep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))) {
        mr_s3_free(s);
        return mr_err(MR_EINVAL, "S3_ENDPOINT_URL '%s' must start with http:// or https://", ep);
    }
    s->scheme = dupn(ep, (size_t)(sep - ep));
    const char *auth = sep + 3, *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    if (alen == 0 || memchr(auth, '@', alen) || memchr(auth, '?', alen)) {
        mr_s3_free(s);
        return mr_err(MR_EINVAL, "S3_ENDPOINT_URL '%s' must be scheme://host[:port][/path] without user or query", ep);
    }
    s->authority = dupn(auth, alen);
    for (char *p = s->authority ? s->authority : ""; *p; p++) *p = (char)tolower((unsigned char)*p);
    /* The Host header omits the scheme's default port, as HTTP clients (and botocore) do. */
    if (s->authority) {
        const char *def = !strcmp(s->scheme, "https") ? ":443" : ":80";
        if (ends_with(s->authority, def) && s->authority[0] != '[')
            s->authority[strlen(s->authority) - strlen(def)] = 0;
    }
    const char *bp = slash ? slash : "";
    size_t bl = strlen(bp);
    while (bl > 0 && bp[bl - 1] == '/') bl--;
    s->base_path = dupn(bp, bl);
    s->bucket = mr_strdup(o->bucket);
    s->region = mr_strdup(region);
    s->ak = mr_strdup(o->access_key);
    s->sk = mr_strdup(o->secret_key);
    s->token = mr_strdup(o->session_token ? o->session_token : "");
    s->ca = mr_strdup(o->ca_bundle ? o->ca_bundle : "");
    s->endpoint_shown = mr_malloc(strlen(ep) + 8);
    if (!s->scheme || !s->authority || !s->base_path || !s->bucket || !s->region || !s->ak || !s->sk ||
        !s->token || !s->ca || !s->endpoint_shown) {
        mr_s3_free(s);
        return MR_ENOMEM;
    }
    sprintf(s->endpoint_shown, "%s://%s%s", s->scheme, s->authority, s->base_path);
    if (o->addressing == MR_S3_ADDR_VIRTUAL) s->virtual_host = 1;
    else if (o->addressing == MR_S3_ADDR_AUTO)
        s->virtual_host = dns_compatible_bucket(s->bucket) && !is_ip_or_local(s->authority) &&
                          (ends_with(s->authority, "amazonaws.com") ||
                           ends_with(s->authority, "yandexcloud.net"));
    s->max_attempts = o->max_attempts > 0 ? o->max_attempts : 5;
    s->base_ms = o->retry_base_ms;
    s->max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : 20000;
    s->connect_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
    s->stall_s = o->stall_timeout_s > 0 ? o->stall_timeout_s : 60;
    s->threshold = o->multipart_threshold > 0 ? o->multipart_threshold : 8 << 20;
    s->part_size = o->part_size >= MIN_PART_SIZE ? o->part_size : 8 << 20;
    s->split = o->download_split;
    s->concurrency = o->concurrency > 0 ? o->concurrency : 1;
    s->rng = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)s;
    s->curl = curl_easy_init();
    if (!s->curl) {
        mr_s3_free(s);
        return mr_err(MR_ENOMEM, "cannot create a libcurl handle");
    }
    *out = s;
    return 0;
}

const char *mr_s3_endpoint(const mr_s3 *s) { return s->endpoint_shown; }
int64_t mr_s3_attempts(const mr_s3 *s) { return s->attempts; }
int64_t mr_s3_retries(const mr_s3 *s) { return s->retries; }

char *mr_s3_uri(const mr_s3 *s, const char *key)
{
    size_t n = strlen(s->bucket) + (key ? strlen(key) : 0) + 8;
    char *u = mr_malloc(n);
    if (u) snprintf(u, n, "s3://%s/%s", s->bucket, key ? key : "");
    return u;
}

/* ---- signing ---------------------------------------------------------- */

typedef struct {
    char *url, *host, *auth, *query;
    char amz_date[17];
    const char *payload_hash;
} signed_req;

static void signed_free(signed_req *r)
{
    free(r->url);
    free(r->host);
    free(r->auth);
    free(r->query);
    memset(r, 0, sizeof *r);
}

static int build_signed(mr_s3 *s, const char *method, const char *key, const mr_sigv4_param *q,
                        int nq, const mr_sigv4_header *extra, int nextra, const char *payload_hash,
                        time_t when, signed_req *out)
{
    memset(out, 0, sizeof *out);
    out->payload_hash = payload_hash ? payload_hash : EMPTY_SHA256;
    char *ekey = mr_sigv4_uri_encode(key ? key : "", 1);
    out->query = mr_sigv4_query(q, nq);
    if (!ekey || !out->query) {
        free(ekey);
        signed_free(out);
        return MR_ENOMEM;
    }
    mr_strbuf path = {0}, host = {0};
    mr_strbuf_puts(&path, s->base_path);
    if (s->virtual_host) {
        mr_strbuf_printf(&host, "%s.%s", s->bucket, s->authority);
        mr_strbuf_puts(&path, "/");
        mr_strbuf_puts(&path, ekey);
    } else {
        mr_strbuf_puts(&host, s->authority);
        char *eb = mr_sigv4_uri_encode(s->bucket, 0);
        mr_strbuf_puts(&path, "/");
        mr_strbuf_puts(&path, eb ? eb : "");
        free(eb);
        if (key) {
            mr_strbuf_puts(&path, "/");
            mr_strbuf_puts(&path, ekey);
        }
    }
    free(ekey);
    mr_sigv4_amz_date(when, out->amz_date);
    int nh = 0;
    mr_sigv4_header *h = mr_calloc((size_t)nextra + 4, sizeof *h);
    int rc = path.oom || host.oom || !h ? MR_ENOMEM : 0;
    if (!rc) {
        h[nh++] = (mr_sigv4_header){"host", host.s};
        h[nh++] = (mr_sigv4_header){"x-amz-content-sha256", out->payload_hash};
        h[nh++] = (mr_sigv4_header){"x-amz-date", out->amz_date};
        if (*s->token) h[nh++] = (mr_sigv4_header){"x-amz-security-token", s->token};
        for (int i = 0; i < nextra; i++) h[nh++] = extra[i];
        mr_sigv4_req r = {.method = method, .canonical_uri = path.s, .canonical_query = out->query,
                          .headers = h, .nheaders = nh, .payload_hash = out->payload_hash,
                          .amz_date = out->amz_date, .region = s->region, .service = "s3",
                          .access_key = s->ak, .secret_key = s->sk};
        mr_sigv4_out so;
        rc = mr_sigv4_sign(&r, &so);
        if (!rc) {
            out->auth = so.authorization;
            so.authorization = NULL;
            mr_sigv4_out_free(&so);
            mr_strbuf url = {0};
            mr_strbuf_printf(&url, "%s://%s", s->scheme, host.s);
            mr_strbuf_puts(&url, path.s);
            if (*out->query) {
                mr_strbuf_puts(&url, "?");
                mr_strbuf_puts(&url, out->query);
            }
            out->url = url.s;
            out->host = host.s;
            host.s = NULL;
            if (url.oom) rc = MR_ENOMEM;
        }
    }
    free(h);
    mr_strbuf_free(&path);
    mr_strbuf_free(&host);
    if (rc) signed_free(out);
    return rc;
}

int mr_s3_sign_request(mr_s3 *s, const char *method, const char *key, const mr_sigv4_param *query,
                       int nquery, const mr_sigv4_header *extra, int nextra,
                       const char *payload_hash, time_t when, char **url, char **authorization)
{
    signed_req r;
    int rc = build_signed(s, method, key, query, nquery, extra, nextra, payload_hash, when, &r);
    if (rc) return rc;
    *url = r.url;
    *authorization = r.auth;
    r.url = r.auth = NULL;
    signed_free(&r);
    return 0;
}

/* ---- one HTTP exchange ------------------------------------------------ */

typedef struct {
    const char *method;   /* GET HEAD PUT POST DELETE */
    const char *key;      /* NULL: the bucket */
    const mr_sigv4_param *q;
    int nq;
    const mr_sigv4_header *hdr; /* extra signed headers */
    int nh;
    const char *body;     /* memory body, or */
    size_t body_len;
    int body_fd;          /* file body when >= 0: [body_off, body_off + body_flen) */
    int64_t body_off, body_flen;
    const char *payload_hash; /* NULL: hash of the memory body */
    int sink_fd;          /* 2xx bodies go here at sink_off when >= 0 */
    int64_t sink_off;
    EVP_MD_CTX *sink_md5; /* when set, every byte written to the sink, in order */
    int64_t sink_limit;   /* > 0: at most this many bytes (a ranged segment) */
    int ranges_only;      /* a 200 instead of 206 is an error, not a restart */
    const int *cancel;    /* when *cancel turns nonzero the transfer stops */
    void (*on_bytes)(void *ud, int64_t n); /* after each write to the sink */
    void *on_bytes_ud;
    mr_progress *prog;
    const char *what;     /* "GET s3://b/k", for messages */
} req;

typedef struct {
    long status;
    CURLcode curl_rc;
    char curl_err[CURL_ERROR_SIZE];
    mr_strbuf body;          /* 2xx body when no sink; error bodies always */
    char etag[128];
    char date[64];
    int64_t content_length;
    int64_t cr_start, cr_total; /* Content-Range, -1 if absent */
    int64_t written;   /* bytes written to the sink */
    int64_t sink_base; /* sink_off actually used (0 when a 200 ignored our Range) */
    int write_errno;
    int range_mismatch;
    int no_ranges;     /* ranges_only and the server answered 200 */
    int cancelled;
    int64_t sent;      /* request body bytes read by curl */
    mr_s3 *s;
    const req *rq;
} resp;

static void resp_reset(resp *r, mr_s3 *s, const req *rq)
{
    mr_strbuf_free(&r->body);
    memset(r, 0, sizeof *r);
    r->content_length = r->cr_start = r->cr_total = -1;
    r->s = s;
    r->rq = rq;
    r->sink_base = rq->sink_off;
}

static void trim_copy(char *dst, size_t cap, const char *v, size_t n, int strip_quotes)
{
    while (n && isspace((unsigned char)*v)) v++, n--;
    while (n && isspace((unsigned char)v[n - 1])) n--;
    if (strip_quotes && n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    resp *r = ud;
    size_t n = sz * nm;
    if (n >= 5 && !memcmp(p, "HTTP/", 5)) { /* a new response (after a 100 or a redirect) */
        r->etag[0] = r->date[0] = 0;
        r->content_length = r->cr_start = r->cr_total = -1;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon) return n;
    size_t kl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = n - kl - 1;
    char tmp[160];
    if (kl == 4 && !strncasecmp(p, "etag", 4)) trim_copy(r->etag, sizeof r->etag, v, vl, 1);
    else if (kl == 4 && !strncasecmp(p, "date", 4)) trim_copy(r->date, sizeof r->date, v, vl, 0);
    else if (kl == 14 && !strncasecmp(p, "content-length", 14)) {
        trim_copy(tmp, sizeof tmp, v, vl, 0);
        r->content_length = strtoll(tmp, NULL, 10);
    } else if (kl == 13 && !strncasecmp(p, "content-range", 13)) {
        trim_copy(tmp, sizeof tmp, v, vl, 0);
        long long a, b, t;
        if (sscanf(tmp, "bytes %lld-%lld/%lld", &a, &b, &t) == 3) {
            r->cr_start = a;
            r->cr_total = t;
        }
    }
    return n;
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
    resp *r = ud;
    size_t n = sz * nm;
    long st = 0;
    curl_easy_getinfo(r->s->curl, CURLINFO_RESPONSE_CODE, &st);
    if (r->rq->cancel && __atomic_load_n(r->rq->cancel, __ATOMIC_RELAXED)) {
        r->cancelled = 1;
        return 0;
    }
    if (st >= 200 && st < 300 && r->rq->sink_fd >= 0) {
        if (r->rq->sink_limit > 0 && r->written + (int64_t)n > r->rq->sink_limit) {
            r->range_mismatch = 1; /* more bytes than the range holds */
            return 0;
        }
        if (r->written == 0) {
            if (st == 200 && r->rq->ranges_only) {
                r->no_ranges = 1;
                return 0;
            }
            if (st == 200 && r->sink_base > 0) {
                /* The server sent the whole object instead of our range. */
                r->sink_base = 0;
                if (ftruncate(r->rq->sink_fd, 0) != 0) {
                    r->write_errno = errno;
                    return 0;
                }
                if (r->rq->sink_md5) EVP_DigestInit_ex(r->rq->sink_md5, EVP_md5(), NULL);
            } else if (st == 206 && r->cr_start != r->sink_base) {
                r->range_mismatch = 1;
                return 0;
            }
        }
        size_t done = 0;
        while (done < n) {
            ssize_t w = pwrite(r->rq->sink_fd, p + done, n - done, r->sink_base + r->written + (int64_t)done);
            if (w < 0) {
                if (errno == EINTR) continue;
                r->write_errno = errno;
                return 0;
            }
            done += (size_t)w;
        }
        if (r->rq->sink_md5) EVP_DigestUpdate(r->rq->sink_md5, p, n);
        /* Start writeback as we go, so the fsync before the rename does not
         * have to flush the whole file at once. */
        int64_t end = r->sink_base + r->written + (int64_t)n;
        if (end / WRITEBACK_STEP != (r->sink_base + r->written) / WRITEBACK_STEP) {
            int64_t from = (end / WRITEBACK_STEP - 1) * WRITEBACK_STEP;
            sync_file_range(r->rq->sink_fd, from, WRITEBACK_STEP, SYNC_FILE_RANGE_WRITE);
        }
        r->written += (int64_t)n;
        if (r->rq->prog) mr_progress_add(r->rq->prog, (int64_t)n);
        if (r->rq->on_bytes) r->rq->on_bytes(r->rq->on_bytes_ud, (int64_t)n);
        return n;
    }
    if (!(st >= 200 && st < 300) && r->body.n + n > ERR_BODY_CAP) return n; /* keep the head */
    mr_strbuf_add(&r->body, p, n);
    return r->body.oom ? 0 : n;
}

static size_t on_read(char *p, size_t sz, size_t nm, void *ud)
{
    resp *r = ud;
    const req *rq = r->rq;
    size_t want = sz * nm;
    int64_t left = (rq->body_fd >= 0 ? rq->body_flen : (int64_t)rq->body_len) - r->sent;
    if (left <= 0) return 0;
    if ((int64_t)want > left) want = (size_t)left;
    if (rq->body_fd >= 0) {
        ssize_t got;
        do got = pread(rq->body_fd, p, want, rq->body_off + r->sent);
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            r->write_errno = got < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)got;
    } else {
        memcpy(p, rq->body + r->sent, want);
    }
    r->sent += (int64_t)want;
    if (rq->prog) mr_progress_add(rq->prog, (int64_t)want);
    return want;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
    resp *r = ud;
    if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
    if (r->rq->prog) mr_progress_add(r->rq->prog, (int64_t)off - r->sent);
    r->sent = (int64_t)off;
    return CURL_SEEKFUNC_OK;
}

static int on_xfer(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)dlt, (void)dln, (void)ult, (void)uln;
    resp *r = ud;
    if (__atomic_load_n(r->rq->cancel, __ATOMIC_RELAXED)) {
        r->cancelled = 1;
        return 1;
    }
    return 0;
}

/* Sends one attempt. Returns 0 when an HTTP response arrived (any status),
 * else the failure is in r->curl_rc. Only an allocation failure returns < 0. */
static int perform(mr_s3 *s, const req *rq, resp *r)
{
    resp_reset(r, s, rq);
    char hash[65];
    const char *ph = rq->payload_hash;
    if (!ph) {
        mr_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, hash);
        ph = hash;
    }
    signed_req sr;
    int rc = build_signed(s, rq->method, rq->key, rq->q, rq->nq, rq->hdr, rq->nh, ph, time(NULL), &sr);
    if (rc) return rc;
    struct curl_slist *hl = NULL;
    char line[4096];
    snprintf(line, sizeof line, "Host: %s", sr.host);
    hl = curl_slist_append(hl, line);
    snprintf(line, sizeof line, "x-amz-date: %s", sr.amz_date);
    hl = curl_slist_append(hl, line);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", sr.payload_hash);
    hl = curl_slist_append(hl, line);
    if (*s->token) {
        mr_strbuf t = {0};
        mr_strbuf_printf(&t, "x-amz-security-token: ");
        mr_strbuf_puts(&t, s->token);
        hl = curl_slist_append(hl, t.s ? t.s : "");
        mr_strbuf_free(&t);
    }
    for (int i = 0; i < rq->nh; i++) {
        snprintf(line, sizeof line, "%s: %s", rq->hdr[i].name, rq->hdr[i].value);
        hl = curl_slist_append(hl, line);
    }
    {
        mr_strbuf a = {0};
        mr_strbuf_puts(&a, "Authorization: ");
        mr_strbuf_puts(&a, sr.auth);
        hl = curl_slist_append(hl, a.s ? a.s : "");
        mr_strbuf_free(&a);
    }
    hl = curl_slist_append(hl, "Expect:");
    if (!strcmp(rq->method, "POST")) hl = curl_slist_append(hl, "Content-Type: application/xml");
    if (!hl) {
        signed_free(&sr);
        return mr_err(MR_ENOMEM, "out of memory building an S3 request");
    }

    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, sr.url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "musrec/0.1");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)s->connect_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s->stall_s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (*s->ca) curl_easy_setopt(c, CURLOPT_CAINFO, s->ca);
    if (rq->cancel) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
    }
    int64_t blen = rq->body_fd >= 0 ? rq->body_flen : (int64_t)rq->body_len;
    if (!strcmp(rq->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(rq->method, "PUT") || !strcmp(rq->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
        if (!strcmp(rq->method, "PUT")) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
        } else {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        }
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    s->attempts++;
    r->curl_rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    signed_free(&sr);
    if (r->body.oom) return mr_err(MR_ENOMEM, "out of memory reading an S3 response");
    return 0;
}

/* ---- classifying outcomes --------------------------------------------- */

enum { OUT_OK, OUT_RETRY, OUT_FAIL };

static int is_retryable_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int classify(const resp *r)
{
    if (r->curl_rc != CURLE_OK) {
        if (r->write_errno || r->range_mismatch || r->no_ranges || r->cancelled) return OUT_FAIL;
        return is_retryable_curl(r->curl_rc) ? OUT_RETRY : OUT_FAIL;
    }
    long st = r->status;
    if (st >= 200 && st < 300) return OUT_OK;
    if (st == 500 || st == 502 || st == 503 || st == 504 || st == 429) return OUT_RETRY;
    if (st == 400 && r->body.s && strstr(r->body.s, "<Code>RequestTimeout</Code>")) return OUT_RETRY;
    return OUT_FAIL;
}

/* One line about why an attempt failed, for retry logs and final errors. */
static void cause_text(const mr_s3 *s, const resp *r, char *out, size_t cap)
{
    if (r->curl_rc != CURLE_OK) {
        const char *detail = r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->curl_rc);
        switch (r->curl_rc) {
        case CURLE_COULDNT_CONNECT:
            snprintf(out, cap, "cannot connect to %s (%s)", s->endpoint_shown, detail);
            break;
        case CURLE_OPERATION_TIMEDOUT:
            snprintf(out, cap, "timed out (%s)", detail);
            break;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
            snprintf(out, cap, "connection reset or closed early (%s)", detail);
            break;
        default:
            snprintf(out, cap, "%s", detail);
        }
        return;
    }
    char code[96];
    xml_get(r->body.s, r->body.n, "Code", code, sizeof code);
    if (r->status == 503 && !strcmp(code, "SlowDown")) snprintf(out, cap, "HTTP 503 SlowDown (the service asks to reduce the request rate)");
    else if (r->status == 503 && !*code) snprintf(out, cap, "HTTP 503 (service unavailable or SlowDown)");
    else if (*code) snprintf(out, cap, "HTTP %ld %s", r->status, code);
    else snprintf(out, cap, "HTTP %ld", r->status);
}

/* Sets the error for a final failure of rq and returns its code. */
static int fail_message(mr_s3 *s, const req *rq, const resp *r, int attempts)
{
    char after[64] = "";
    if (attempts > 1) snprintf(after, sizeof after, " after %d attempts", attempts);
    if (r->write_errno) return mr_err(MR_EIO, "%s: local I/O failed: %s", rq->what, strerror(r->write_errno));
    if (r->range_mismatch)
        return mr_err(MR_ENET, "%s: the server answered a different byte range than asked", rq->what);
    if (r->curl_rc != CURLE_OK) {
        const char *detail = r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->curl_rc);
        switch (r->curl_rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
            return mr_err(MR_ENET, "%s: cannot resolve the host of %s (DNS: %s); check S3_ENDPOINT_URL and the network",
                          rq->what, s->endpoint_shown, detail);
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_USE_SSL_FAILED:
            return mr_err(MR_ENET, "%s: TLS with %s failed (%s); check the endpoint's certificate, or set S3_CA_BUNDLE for a private CA",
                          rq->what, s->endpoint_shown, detail);
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            return mr_err(MR_EINVAL, "%s: bad endpoint %s (%s); check S3_ENDPOINT_URL", rq->what, s->endpoint_shown, detail);
        default: {
            char cause[512];
            cause_text(s, r, cause, sizeof cause);
            return mr_err(MR_ENET, "%s failed%s: %s", rq->what, after, cause);
        }
        }
    }
    char code[96], msg[512];
    xml_get(r->body.s, r->body.n, "Code", code, sizeof code);
    xml_get(r->body.s, r->body.n, "Message", msg, sizeof msg);
    if (!strcmp(code, "RequestTimeTooSkewed")) {
        time_t server = r->date[0] ? curl_getdate(r->date, NULL) : -1;
        if (server > 0) {
            long skew = (long)(time(NULL) - server);
            return mr_err(MR_ENET, "%s: this machine's clock is %ld s %s the server's (RequestTimeTooSkewed); synchronise the clock (e.g. with NTP)",
                          rq->what, labs(skew), skew > 0 ? "ahead of" : "behind");
        }
        return mr_err(MR_ENET, "%s: this machine's clock differs too much from the server's (RequestTimeTooSkewed); synchronise the clock (e.g. with NTP)", rq->what);
    }
    if (!strcmp(code, "InvalidAccessKeyId"))
        return mr_err(MR_ENET, "%s: the endpoint does not know this access key (HTTP 403 InvalidAccessKeyId); check AWS_ACCESS_KEY_ID and S3_ENDPOINT_URL", rq->what);
    if (!strcmp(code, "SignatureDoesNotMatch"))
        return mr_err(MR_ENET, "%s: the request signature does not match (HTTP 403 SignatureDoesNotMatch); check AWS_SECRET_ACCESS_KEY (and S3_REGION)", rq->what);
    if (!strcmp(code, "InvalidToken") || !strcmp(code, "ExpiredToken"))
        return mr_err(MR_ENET, "%s: the session token is invalid or expired (HTTP %ld %s); renew AWS_SESSION_TOKEN", rq->what, r->status, code);
    if (!strcmp(code, "AuthorizationHeaderMalformed") || !strcmp(code, "AuthorizationQueryParametersError"))
        return mr_err(MR_ENET, "%s: the server rejected the signature scope (HTTP %ld %s: %s); check S3_REGION", rq->what, r->status, code, msg);
    if (!strcmp(code, "NoSuchBucket") || (r->status == 404 && !rq->key))
        return mr_err(MR_ENOTFOUND, "bucket '%s' does not exist at %s (NoSuchBucket); check S3_BUCKET_NAME and S3_ENDPOINT_URL",
                      s->bucket, s->endpoint_shown);
    if (!strcmp(code, "NoSuchKey") || r->status == 404)
        return mr_err(MR_ENOTFOUND, "%s: no such object (%s); check S3_PREFIX", rq->what, *code ? code : "HTTP 404");
    if (!strcmp(code, "AccessDenied") || r->status == 403)
        return mr_err(MR_ENET, "%s: access denied (HTTP 403 %s); the credentials are valid but lack permission for this bucket or key",
                      rq->what, *code ? code : "");
    if (r->status == 301 || !strcmp(code, "PermanentRedirect"))
        return mr_err(MR_ENET, "%s: the bucket lives at another endpoint or region (HTTP %ld %s); check S3_ENDPOINT_URL, S3_REGION and S3_ADDRESSING",
                      rq->what, r->status, code);
    char cause[256];
    cause_text(s, r, cause, sizeof cause);
    return mr_err(MR_ENET, "%s failed%s: %s%s%s", rq->what, after, cause, *msg ? ": " : "", msg);
}

static void backoff(mr_s3 *s, const req *rq, const resp *r, int attempt)
{
    char cause[512];
    cause_text(s, r, cause, sizeof cause);
    int64_t cap = (int64_t)s->base_ms << (attempt - 1 < 30 ? attempt - 1 : 30);
    if (cap > s->max_ms) cap = s->max_ms;
    int64_t d = cap > 0 ? (int64_t)(rand_r(&s->rng) % (unsigned)(cap + 1)) : 0;
    s->retries++;
    MR_LOG(MR_LOG_WARN, "S3 request failed, retrying", MR_S("request", rq->what), MR_S("cause", cause),
           MR_I("attempt", attempt), MR_I("max_attempts", s->max_attempts), MR_I("delay_ms", d));
    struct timespec ts = {(time_t)(d / 1000), (long)(d % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* The retry loop for requests without a file sink. On success r holds the
 * response (caller frees r->body). */
static int request(mr_s3 *s, const req *rq, resp *r)
{
    memset(r, 0, sizeof *r);
    for (int attempt = 1;; attempt++) {
        int rc = perform(s, rq, r);
        if (rc) return rc;
        int out = classify(r);
        if (out == OUT_OK) return 0;
        if (out == OUT_FAIL || attempt >= s->max_attempts) {
            rc = fail_message(s, rq, r, attempt);
            mr_strbuf_free(&r->body);
            return rc;
        }
        if (rq->prog && r->sent) mr_progress_add(rq->prog, -r->sent);
        backoff(s, rq, r, attempt);
    }
}

static char *what_of(mr_s3 *s, const char *method, const char *key)
{
    size_t n = strlen(method) + strlen(s->bucket) + (key ? strlen(key) : 0) + 16;
    char *w = mr_malloc(n);
    if (w) snprintf(w, n, "%s s3://%s/%s", method, s->bucket, key ? key : "");
    return w;
}

/* ---- operations ------------------------------------------------------- */

static void obj_from_resp(const resp *r, mr_s3_object *o)
{
    memset(o, 0, sizeof *o);
    o->size = r->content_length;
    snprintf(o->etag, sizeof o->etag, "%s", r->etag);
}

int mr_s3_head(mr_s3 *s, const char *key, mr_s3_object *o)
{
    char *what = what_of(s, "HEAD", key);
    if (!what) return MR_ENOMEM;
    req rq = {.method = "HEAD", .key = key, .body_fd = -1, .sink_fd = -1, .what = what};
    resp r;
    int rc = request(s, &rq, &r);
    if (rc && (r.status == 403 || r.status == 404 || r.status == 400 || r.status == 301)) {
        /* HEAD answers carry no body, so no S3 error Code: ask once with a
         * one-byte GET to learn which failure it is. */
        char *saved = mr_strdup(mr_errmsg());
        rq.method = "GET";
        mr_sigv4_header rh = {"Range", "bytes=0-0"};
        rq.hdr = &rh;
        rq.nh = 1;
        resp r2;
        int rc2 = request(s, &rq, &r2);
        if (rc2 == 0) {
            mr_strbuf_free(&r2.body);
            if (saved) mr_err_set_msg(saved);
        }
        else rc = rc2;
        free(saved);
    } else if (!rc) {
        obj_from_resp(&r, o);
        /* Last-Modified is not kept by on_header; HEAD users need size and ETag. */
        mr_strbuf_free(&r.body);
    }
    free(what);
    return rc;
}

int mr_s3_get(mr_s3 *s, const char *key, int64_t off, int64_t len, char **data, size_t *n)
{
    *data = NULL;
    if (n) *n = 0;
    char *what = what_of(s, "GET", key);
    if (!what) return MR_ENOMEM;
    char range[64];
    mr_sigv4_header rh = {"Range", range};
    req rq = {.method = "GET", .key = key, .body_fd = -1, .sink_fd = -1, .what = what};
    if (len >= 0) {
        if (len == 0) {
            free(what);
            *data = mr_strdup("");
            return *data ? 0 : MR_ENOMEM;
        }
        snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)off, (long long)(off + len - 1));
        rq.hdr = &rh;
        rq.nh = 1;
    } else if (off > 0) {
        snprintf(range, sizeof range, "bytes=%lld-", (long long)off);
        rq.hdr = &rh;
        rq.nh = 1;
    }
    resp r;
    int rc = request(s, &rq, &r);
    free(what);
    if (rc) return rc;
    if (!r.body.s) mr_strbuf_add(&r.body, "", 0);
    if (r.body.oom) return mr_err(MR_ENOMEM, "out of memory reading s3://%s/%s", s->bucket, key);
    *data = r.body.s;
    if (n) *n = r.body.n;
    return 0;
}

int mr_s3_put(mr_s3 *s, const char *key, const void *data, size_t n)
{
    char *what = what_of(s, "PUT", key);
    if (!what) return MR_ENOMEM;
    req rq = {.method = "PUT", .key = key, .body = data, .body_len = n, .body_fd = -1, .sink_fd = -1, .what = what};
    resp r;
    int rc = request(s, &rq, &r);
    if (!rc) mr_strbuf_free(&r.body);
    free(what);
    return rc;
}

int mr_s3_delete(mr_s3 *s, const char *key)
{
    char *what = what_of(s, "DELETE", key);
    if (!what) return MR_ENOMEM;
    req rq = {.method = "DELETE", .key = key, .body_fd = -1, .sink_fd = -1, .what = what};
    resp r;
    int rc = request(s, &rq, &r);
    if (!rc) mr_strbuf_free(&r.body);
    free(what);
    return rc;
}

int mr_s3_list(mr_s3 *s, const char *prefix, int max_keys,
               int (*cb)(const mr_s3_entry *e, void *ud), void *ud)
{
    char *token = NULL, *what = what_of(s, "LIST", prefix ? prefix : "");
    if (!what) return MR_ENOMEM;
    int rc = 0, listed = 0;
    for (int page = 0;; page++) {
        mr_sigv4_param q[4];
        int nq = 0;
        char mk[16];
        q[nq++] = (mr_sigv4_param){"list-type", "2"};
        if (prefix && *prefix) q[nq++] = (mr_sigv4_param){"prefix", prefix};
        if (token) q[nq++] = (mr_sigv4_param){"continuation-token", token};
        if (max_keys > 0) {
            snprintf(mk, sizeof mk, "%d", max_keys - listed < 1000 ? max_keys - listed : 1000);
            q[nq++] = (mr_sigv4_param){"max-keys", mk};
        }
        req rq = {.method = "GET", .key = NULL, .q = q, .nq = nq, .body_fd = -1, .sink_fd = -1, .what = what};
        resp r;
        rc = request(s, &rq, &r);
        if (rc) break;
        const char *b = r.body.s ? r.body.s : "", *end = b + r.body.n;
        const char *vb, *ve;
        if (!xml_find(b, end, "ListBucketResult", &vb, &ve)) {
            mr_strbuf_free(&r.body);
            rc = mr_err(MR_EFORMAT, "%s: the server's answer is not a ListBucketResult document", what);
            break;
        }
        const char *p = vb;
        const char *cb_, *ce;
        while (rc == 0 && (p = xml_find(p, ve, "Contents", &cb_, &ce)) != NULL) {
            char *key = NULL, *etag = NULL, *lm = NULL, *size = NULL;
            const char *xb, *xe;
            if (xml_find(cb_, ce, "Key", &xb, &xe)) key = xml_text(xb, xe);
            if (xml_find(cb_, ce, "ETag", &xb, &xe)) etag = xml_text(xb, xe);
            if (xml_find(cb_, ce, "LastModified", &xb, &xe)) lm = xml_text(xb, xe);
            if (xml_find(cb_, ce, "Size", &xb, &xe)) size = xml_text(xb, xe);
            if (!key) rc = mr_err(MR_EFORMAT, "%s: an entry of the listing has no Key", what);
            else {
                char *e = etag ? etag : "";
                size_t el = strlen(e);
                if (el >= 2 && e[0] == '"' && e[el - 1] == '"') {
                    memmove(e, e + 1, el - 2);
                    e[el - 2] = 0;
                }
                mr_s3_entry ent = {.key = key, .size = size ? strtoll(size, NULL, 10) : -1,
                                   .etag = e, .last_modified = lm ? lm : ""};
                listed++;
                rc = cb ? cb(&ent, ud) : 0;
            }
            free(key);
            free(etag);
            free(lm);
            free(size);
            if (max_keys > 0 && listed >= max_keys) break;
        }
        char trunc[16], next[1024];
        xml_get(vb, (size_t)(ve - vb), "IsTruncated", trunc, sizeof trunc);
        xml_get(vb, (size_t)(ve - vb), "NextContinuationToken", next, sizeof next);
        mr_strbuf_free(&r.body);
        if (rc || strcmp(trunc, "true") != 0 || (max_keys > 0 && listed >= max_keys)) break;
        if (!*next) {
            rc = mr_err(MR_EFORMAT, "%s: the listing is truncated but has no NextContinuationToken", what);
            break;
        }
        free(token);
        token = mr_strdup(next);
        if (!token) {
            rc = MR_ENOMEM;
            break;
        }
    }
    free(token);
    free(what);
    return rc;
}

/* ---- uploads ---------------------------------------------------------- */

static int put_file_range(mr_s3 *s, const char *key, int fd, const char *path, int64_t off,
                          int64_t len, const mr_sigv4_param *q, int nq, mr_progress *p,
                          const char *what, char etag[128])
{
    char hash[65];
    int rc = mr_file_sha256_hex(path, off, len, hash);
    if (rc) return rc;
    req rq = {.method = "PUT", .key = key, .q = q, .nq = nq, .body_fd = fd, .body_off = off,
              .body_flen = len, .payload_hash = hash, .sink_fd = -1, .prog = p, .what = what};
    resp r;
    rc = request(s, &rq, &r);
    if (rc) return rc;
    if (etag) snprintf(etag, 128, "%s", r.etag);
    mr_strbuf_free(&r.body);
    return 0;
}

int mr_s3_upload_file(mr_s3 *s, const char *key, const char *path, mr_progress *p)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mr_err(MR_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return mr_err(MR_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    int64_t size = st.st_size;
    char *what = what_of(s, "PUT", key);
    if (!what) {
        close(fd);
        return MR_ENOMEM;
    }
    int rc = 0;
    if (size < s->threshold) {
        rc = put_file_range(s, key, fd, path, 0, size, NULL, 0, p, what, NULL);
        goto done;
    }
    int64_t part = s->part_size;
    if ((size + part - 1) / part > MAX_PARTS) part = (size + MAX_PARTS - 1) / MAX_PARTS;
    int nparts = (int)((size + part - 1) / part);

    /* CreateMultipartUpload */
    char upload_id[1024] = "";
    {
        mr_sigv4_param q[] = {{"uploads", ""}};
        char *w = what_of(s, "CreateMultipartUpload", key);
        req rq = {.method = "POST", .key = key, .q = q, .nq = 1, .body_fd = -1, .sink_fd = -1, .what = w ? w : what};
        resp r;
        rc = request(s, &rq, &r);
        if (!rc) {
            xml_get(r.body.s, r.body.n, "UploadId", upload_id, sizeof upload_id);
            mr_strbuf_free(&r.body);
            if (!*upload_id) rc = mr_err(MR_EFORMAT, "%s: CreateMultipartUpload answered without an UploadId", w ? w : what);
        }
        free(w);
        if (rc) goto done;
    }
    MR_LOG(MR_LOG_DEBUG, "multipart upload", MR_S("key", key), MR_I("bytes", size), MR_I("parts", nparts),
           MR_I("part_size", part));
    mr_strbuf xml = {0};
    mr_strbuf_puts(&xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < nparts && !rc; i++) {
        char num[16], etag[128], w[64];
        snprintf(num, sizeof num, "%d", i + 1);
        mr_sigv4_param q[] = {{"partNumber", num}, {"uploadId", upload_id}};
        int64_t off = (int64_t)i * part, len = size - off < part ? size - off : part;
        char *pw = what_of(s, "UploadPart", key);
        snprintf(w, sizeof w, " part %d/%d", i + 1, nparts);
        mr_strbuf pwhat = {0};
        mr_strbuf_puts(&pwhat, pw ? pw : what);
        mr_strbuf_puts(&pwhat, w);
        free(pw);
        rc = put_file_range(s, key, fd, path, off, len, q, 2, p, pwhat.s ? pwhat.s : what, etag);
        mr_strbuf_free(&pwhat);
        if (!rc && !*etag) rc = mr_err(MR_EFORMAT, "%s: part %d was stored without an ETag", what, i + 1);
        if (!rc) mr_strbuf_printf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1, etag);
    }
    mr_strbuf_puts(&xml, "</CompleteMultipartUpload>");
    if (!rc && xml.oom) rc = mr_err(MR_ENOMEM, "out of memory completing %s", what);
    if (!rc) {
        mr_sigv4_param q[] = {{"uploadId", upload_id}};
        char *w = what_of(s, "CompleteMultipartUpload", key);
        req rq = {.method = "POST", .key = key, .q = q, .nq = 1, .body = xml.s, .body_len = xml.n,
                  .body_fd = -1, .sink_fd = -1, .what = w ? w : what};
        resp r;
        rc = request(s, &rq, &r);
        if (!rc) {
            /* S3 may answer 200 and still fail: the error is then in the body. */
            char code[96] = "";
            if (r.body.s && strstr(r.body.s, "<Error>")) xml_get(r.body.s, r.body.n, "Code", code, sizeof code);
            if (*code) rc = mr_err(MR_ENET, "%s: the server failed to assemble the parts (%s)", w ? w : what, code);
            mr_strbuf_free(&r.body);
        }
        free(w);
    }
    mr_strbuf_free(&xml);
    if (rc) {
        /* Abort, so the parts do not stay in the bucket (and on the bill). */
        char *saved = mr_strdup(mr_errmsg());
        mr_sigv4_param q[] = {{"uploadId", upload_id}};
        char *w = what_of(s, "AbortMultipartUpload", key);
        req rq = {.method = "DELETE", .key = key, .q = q, .nq = 1, .body_fd = -1, .sink_fd = -1, .what = w ? w : what};
        resp r;
        if (request(s, &rq, &r) == 0) mr_strbuf_free(&r.body);
        else MR_LOG(MR_LOG_WARN, "cannot abort the multipart upload", MR_S("key", key), MR_S("error", mr_errmsg()));
        free(w);
        if (saved) mr_err_set_msg(saved);
        free(saved);
    }
done:
    close(fd);
    free(what);
    return rc;
}

/* ---- resumable downloads ---------------------------------------------- */

static char *sidecar_path(const char *path, const char *suffix)
{
    char *d = mr_strdup(path), *b = mr_strdup(path);
    char *out = NULL;
    if (d && b) {
        const char *dn = dirname(d), *bn = basename(b);
        size_t n = strlen(dn) + strlen(bn) + strlen(suffix) + 4;
        out = mr_malloc(n);
        if (out) snprintf(out, n, "%s/.%s%s", dn, bn, suffix);
    }
    free(d);
    free(b);
    return out;
}

/* Reads "ETAG\nSIZE\n" from a sidecar; returns 1 if it names etag and size. */
static int sidecar_matches(const char *side, const char *etag, int64_t size)
{
    char *text = NULL;
    size_t n = 0;
    if (!mr_file_exists(side) || mr_read_file(side, &text, &n) != 0) return 0;
    char want[256];
    snprintf(want, sizeof want, "%s\n%lld\n", etag, (long long)size);
    int ok = strcmp(text, want) == 0;
    free(text);
    return ok;
}

static int sidecar_write(const char *side, const char *etag, int64_t size)
{
    char text[256];
    int n = snprintf(text, sizeof text, "%s\n%lld\n", etag, (long long)size);
    return mr_write_file_atomic(side, text, (size_t)n);
}

/* A single-part upload's ETag is the hex MD5 of the bytes. */
static int etag_is_md5(const char *etag)
{
    if (strlen(etag) != 32) return 0;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)etag[i])) return 0;
    return 1;
}

/* Feeds the first len bytes of path into ctx. */
static int md5_file_prefix(EVP_MD_CTX *ctx, const char *path, int64_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mr_err(MR_EIO, "cannot open %s: %s", path, strerror(errno));
    enum { BUF = 1 << 20 };
    char *b = mr_malloc(BUF);
    int rc = b ? 0 : MR_ENOMEM;
    for (int64_t pos = 0; !rc && pos < len;) {
        size_t want = len - pos < BUF ? (size_t)(len - pos) : BUF;
        ssize_t got = pread(fd, b, want, pos);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) rc = mr_err(MR_EIO, "cannot read %s: %s", path, got < 0 ? strerror(errno) : "file shrank");
        else {
            EVP_DigestUpdate(ctx, b, (size_t)got);
            pos += got;
        }
    }
    free(b);
    close(fd);
    return rc;
}

static int fsync_dir_of(const char *path)
{
    char *d = mr_strdup(path);
    if (!d) return MR_ENOMEM;
    int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(d);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

/* ---- parallel ranges for big objects ----------------------------------- */

enum { SEG_OK = 0, SEG_FALLBACK = 1, SEG_CHANGED = 2 };
#define SEG_CHECKPOINT (64 << 20) /* bytes between two saves of the range state */
#define SEG_MAX 64

typedef struct {
    int64_t a, b;   /* [a, b) */
    int64_t done;   /* bytes from a that are on disk */
    int64_t done0;  /* at the start of this run */
} segment;

typedef struct seg_shared seg_shared;
typedef struct {
    seg_shared *sh;
    segment *seg;
} seg_ctx;

struct seg_shared {
    mr_s3 *parent;
    const char *key, *what, *state_path;
    const mr_s3_object *obj;
    int fd, nseg;
    segment *segs;
    mr_progress *prog;
    int cancel;
    int fallback, changed, failed;
    int err_code;
    char *err;
    pthread_mutex_t mu;
    int64_t unsaved;
    int64_t fetched, retries;
};

/* State sidecar: "ETAG\nSIZE\n" then "seg A B DONE\n" per range. */
static int seg_save(seg_shared *sh)
{
    mr_strbuf b = {0};
    mr_strbuf_printf(&b, "%s\n%lld\n", sh->obj->etag, (long long)sh->obj->size);
    for (int i = 0; i < sh->nseg; i++)
        mr_strbuf_printf(&b, "seg %lld %lld %lld\n", (long long)sh->segs[i].a, (long long)sh->segs[i].b,
                (long long)__atomic_load_n(&sh->segs[i].done, __ATOMIC_RELAXED));
    if (b.oom) {
        mr_strbuf_free(&b);
        return MR_ENOMEM;
    }
    /* the bytes first, then the claim that they are there */
    fdatasync(sh->fd);
    int rc = mr_write_file_atomic(sh->state_path, b.s, b.n);
    mr_strbuf_free(&b);
    return rc;
}

static void seg_on_bytes(void *ud, int64_t n)
{
    seg_ctx *c = ud;
    __atomic_add_fetch(&c->seg->done, n, __ATOMIC_RELAXED);
    pthread_mutex_lock(&c->sh->mu);
    c->sh->fetched += n;
    c->sh->unsaved += n;
    if (c->sh->unsaved >= SEG_CHECKPOINT) {
        c->sh->unsaved = 0;
        seg_save(c->sh);
    }
    pthread_mutex_unlock(&c->sh->mu);
}

static int s3_clone(const mr_s3 *s, mr_s3 **out)
{
    mr_s3_opts o = {.endpoint = s->endpoint_shown, .region = s->region, .bucket = s->bucket,
                    .access_key = s->ak, .secret_key = s->sk, .session_token = s->token,
                    .addressing = s->virtual_host ? MR_S3_ADDR_VIRTUAL : MR_S3_ADDR_PATH,
                    .max_attempts = s->max_attempts, .retry_base_ms = s->base_ms,
                    .retry_max_ms = s->max_ms, .connect_timeout_s = s->connect_s,
                    .stall_timeout_s = s->stall_s, .multipart_threshold = s->threshold,
                    .part_size = s->part_size, .concurrency = s->concurrency,
                    .download_split = s->split, .ca_bundle = s->ca};
    return mr_s3_new(&o, out);
}

static void seg_fail(seg_shared *sh, int code, const char *msg)
{
    pthread_mutex_lock(&sh->mu);
    if (!sh->failed) {
        sh->failed = 1;
        sh->err_code = code;
        sh->err = mr_strdup(msg);
    }
    pthread_mutex_unlock(&sh->mu);
    __atomic_store_n(&sh->cancel, 1, __ATOMIC_RELAXED);
}

static void *seg_worker(void *arg)
{
    seg_ctx *c = arg;
    seg_shared *sh = c->sh;
    segment *g = c->seg;
    mr_s3 *s = NULL;
    int rc = s3_clone(sh->parent, &s);
    if (rc) {
        seg_fail(sh, rc, mr_errmsg());
        return NULL;
    }
    char range[96], ifmatch[140], what[1200];
    snprintf(ifmatch, sizeof ifmatch, "\"%s\"", sh->obj->etag);
    for (int attempt = 1; g->done < g->b - g->a && !__atomic_load_n(&sh->cancel, __ATOMIC_RELAXED); attempt++) {
        int64_t from = g->a + g->done;
        snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)from, (long long)(g->b - 1));
        snprintf(what, sizeof what, "%s (%s)", sh->what, range);
        mr_sigv4_header h[2] = {{"If-Match", ifmatch}, {"Range", range}};
        req rq = {.method = "GET", .key = sh->key, .hdr = h, .nh = 2, .body_fd = -1, .sink_fd = sh->fd,
                  .sink_off = from, .sink_limit = g->b - from, .ranges_only = 1, .cancel = &sh->cancel,
                  .on_bytes = seg_on_bytes, .on_bytes_ud = c, .prog = sh->prog, .what = what};
        resp r;
        memset(&r, 0, sizeof r);
        if ((rc = perform(s, &rq, &r))) {
            seg_fail(sh, rc, mr_errmsg());
            break;
        }
        if (r.cancelled) {
            mr_strbuf_free(&r.body);
            break;
        }
        if (r.no_ranges) {
            __atomic_store_n(&sh->fallback, 1, __ATOMIC_RELAXED);
            __atomic_store_n(&sh->cancel, 1, __ATOMIC_RELAXED);
            mr_strbuf_free(&r.body);
            break;
        }
        int outcome = classify(&r);
        if (r.status == 412 || (outcome == OUT_OK && r.etag[0] && strcmp(r.etag, sh->obj->etag) != 0)) {
            __atomic_store_n(&sh->changed, 1, __ATOMIC_RELAXED);
            __atomic_store_n(&sh->cancel, 1, __ATOMIC_RELAXED);
            mr_strbuf_free(&r.body);
            break;
        }
        if (outcome == OUT_OK && g->done < g->b - g->a) {
            r.curl_rc = CURLE_PARTIAL_FILE;
            snprintf(r.curl_err, sizeof r.curl_err, "body ended at byte %lld of %lld",
                     (long long)(g->a + g->done), (long long)g->b);
            outcome = OUT_RETRY;
        }
        if (outcome == OUT_OK) {
            mr_strbuf_free(&r.body);
            break;
        }
        if (outcome == OUT_FAIL || attempt >= s->max_attempts) {
            rc = fail_message(s, &rq, &r, attempt);
            seg_fail(sh, rc, mr_errmsg());
            mr_strbuf_free(&r.body);
            break;
        }
        backoff(s, &rq, &r, attempt);
        mr_strbuf_free(&r.body);
    }
    pthread_mutex_lock(&sh->mu);
    sh->retries += s->retries;
    pthread_mutex_unlock(&sh->mu);
    mr_s3_free(s);
    return NULL;
}

/* Reads a range state sidecar; returns the number of ranges or 0. A plain
 * "ETAG\nSIZE\n" sidecar of a sequential .part of `have` bytes becomes
 * ranges whose done counts cover that prefix. */
static int seg_load(const char *state, const mr_s3_object *obj, int64_t have, int nseg_new, segment *segs)
{
    char *text = NULL;
    size_t n = 0;
    if (!mr_file_exists(state) || mr_read_file(state, &text, &n) != 0) return 0;
    char head[256];
    snprintf(head, sizeof head, "%s\n%lld\n", obj->etag, (long long)obj->size);
    int count = 0;
    if (strncmp(text, head, strlen(head)) == 0) {
        const char *p = text + strlen(head);
        long long a, b, d;
        int used;
        int64_t expect = 0;
        while (count < SEG_MAX && sscanf(p, "seg %lld %lld %lld\n%n", &a, &b, &d, &used) == 3) {
            if (a != expect || b <= a || d < 0 || d > b - a || b > obj->size) {
                count = 0;
                break;
            }
            segs[count++] = (segment){a, b, d, d};
            expect = b;
            p += used;
        }
        /* ranges are written into a .part preallocated to the full size: any
         * other size means the .part is not the one the state describes */
        if (count && (expect != obj->size || have != obj->size)) count = 0;
        if (count == 0 && p == text + strlen(head) && *p == 0 && have >= 0 && have <= obj->size) {
            /* a sequential .part: split it and credit the prefix */
            int64_t len = (obj->size + nseg_new - 1) / nseg_new;
            for (int i = 0; i < nseg_new; i++) {
                int64_t sa = (int64_t)i * len, sb = sa + len < obj->size ? sa + len : obj->size;
                int64_t d2 = have <= sa ? 0 : have >= sb ? sb - sa : have - sa;
                segs[count++] = (segment){sa, sb, d2, d2};
            }
        }
    }
    free(text);
    return count;
}

static int download_segmented(mr_s3 *s, const char *key, int fd, const char *part, const char *state,
                              const mr_s3_object *obj, int nseg, mr_progress *p,
                              mr_s3_download_info *info, const char *what)
{
    segment segs[SEG_MAX];
    int64_t have = mr_file_exists(part) ? mr_file_size(part) : -1;
    int n = seg_load(state, obj, have, nseg, segs);
    if (n == 0) {
        if (ftruncate(fd, 0) != 0) return mr_err(MR_EIO, "cannot truncate %s: %s", part, strerror(errno));
        int64_t len = (obj->size + nseg - 1) / nseg;
        for (int i = 0; i < nseg; i++) {
            int64_t a = (int64_t)i * len, b = a + len < obj->size ? a + len : obj->size;
            segs[n++] = (segment){a, b, 0, 0};
        }
    }
    /* Reserve the space now: no ENOSPC in the middle, and the final size is right. */
    if (posix_fallocate(fd, 0, obj->size) != 0 && ftruncate(fd, obj->size) != 0)
        return mr_err(MR_EIO, "cannot size %s to %lld bytes: %s", part, (long long)obj->size, strerror(errno));
    int64_t resumed = 0;
    for (int i = 0; i < n; i++) resumed += segs[i].done;
    info->resumed_from = resumed;
    if (p && resumed) mr_progress_add(p, resumed);
    seg_shared sh = {.parent = s, .key = key, .what = what, .state_path = state, .obj = obj,
                     .fd = fd, .nseg = n, .segs = segs, .prog = p};
    pthread_mutex_init(&sh.mu, NULL);
    int rc = seg_save(&sh);
    MR_LOG(resumed ? MR_LOG_INFO : MR_LOG_DEBUG, resumed ? "resuming download" : "parallel ranges",
           MR_S("key", key), MR_I("from_byte", resumed), MR_I("bytes", obj->size), MR_I("ranges", n));
    seg_ctx ctx[SEG_MAX];
    pthread_t th[SEG_MAX];
    int started[SEG_MAX] = {0};
    for (int i = 0; i < n && !rc; i++) {
        ctx[i] = (seg_ctx){&sh, &segs[i]};
        if (segs[i].done == segs[i].b - segs[i].a) continue;
        if (pthread_create(&th[i], NULL, seg_worker, &ctx[i]) == 0) started[i] = 1;
        else seg_worker(&ctx[i]);
    }
    for (int i = 0; i < n; i++)
        if (started[i]) pthread_join(th[i], NULL);
    if (!rc) rc = seg_save(&sh); /* what is done stays done for the next run */
    info->bytes += sh.fetched;
    s->retries += sh.retries;
    if (!rc && sh.failed) {
        mr_err_set_msg(sh.err ? sh.err : "download failed");
        rc = sh.err_code ? sh.err_code : MR_ENET;
    } else if (!rc && sh.changed) rc = SEG_CHANGED;
    else if (!rc && sh.fallback) rc = SEG_FALLBACK;
    else if (!rc)
        for (int i = 0; i < n; i++)
            if (segs[i].done != segs[i].b - segs[i].a)
                rc = mr_err(MR_ENET, "%s: range %lld-%lld is incomplete", what, (long long)segs[i].a,
                            (long long)segs[i].b - 1);
    free(sh.err);
    pthread_mutex_destroy(&sh.mu);
    return rc;
}

static int segments_for(const mr_s3 *s, int64_t size)
{
    if (s->split <= 0 || size < s->split || s->concurrency < 2) return 1;
    int64_t n = size / (s->split / 2 > 0 ? s->split / 2 : 1); /* ranges of at least split/2 bytes */
    if (n > s->concurrency) n = s->concurrency;
    if (n > SEG_MAX) n = SEG_MAX;
    return n < 2 ? 1 : (int)n;
}

int mr_s3_download(mr_s3 *s, const char *key, const char *path, const mr_s3_object *head_done,
                   mr_progress *p, mr_s3_download_info *info)
{
    mr_s3_download_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    int rc = 0;
    if (head_done) info->obj = *head_done;
    else if ((rc = mr_s3_head(s, key, &info->obj))) return rc;
    mr_s3_object *obj = &info->obj;
    if (obj->size < 0) return mr_err(MR_ENET, "HEAD s3://%s/%s: the server sent no Content-Length", s->bucket, key);

    char *part = mr_malloc(strlen(path) + 6), *side = sidecar_path(path, ".etag"),
         *pside = sidecar_path(path, ".part.etag"), *what = what_of(s, "GET", key);
    int fd = -1;
    EVP_MD_CTX *md5 = NULL;
    if (!part || !side || !pside || !what) {
        rc = MR_ENOMEM;
        goto out;
    }
    sprintf(part, "%s.part", path);
    char *dirbuf = mr_strdup(path);
    if (!dirbuf) {
        rc = MR_ENOMEM;
        goto out;
    }
    rc = mr_mkdirs(dirname(dirbuf));
    free(dirbuf);
    if (rc) goto out;

    /* Already here? */
    if (mr_file_exists(path) && mr_file_size(path) == obj->size) {
        if (sidecar_matches(side, obj->etag, obj->size)) {
            info->skipped = 1;
            goto out;
        }
        char md5[33];
        if (!mr_file_exists(side) && etag_is_md5(obj->etag) && mr_file_md5_hex(path, 0, -1, md5) == 0 &&
            strcasecmp(md5, obj->etag) == 0) {
            info->skipped = 1;
            rc = sidecar_write(side, obj->etag, obj->size);
            goto out;
        }
    }

    /* Big objects: parallel ranges. */
    int nseg;
    while ((nseg = segments_for(s, obj->size)) > 1) {
        fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = mr_err(MR_EIO, "cannot create %s: %s", part, strerror(errno));
            goto out;
        }
        int64_t before = info->bytes;
        rc = download_segmented(s, key, fd, part, pside, obj, nseg, p, info, what);
        if (rc == SEG_OK) goto complete;
        close(fd);
        fd = -1;
        if (rc < 0) goto out;
        if (p) mr_progress_add(p, -(info->resumed_from + info->bytes - before));
        info->resumed_from = 0;
        unlink(part);
        unlink(pside);
        if (rc == SEG_FALLBACK) {
            MR_LOG(MR_LOG_WARN, "the server ignores Range requests; downloading as one stream", MR_S("key", key));
            rc = 0;
            break;
        }
        /* SEG_CHANGED: the object was replaced; start over with the new one */
        if (++info->restarts > 2) {
            rc = mr_err(MR_ENET, "%s: the object keeps changing during the download", what);
            goto out;
        }
        MR_LOG(MR_LOG_WARN, "object changed, restarting the download", MR_S("key", key));
        if ((rc = mr_s3_head(s, key, obj))) goto out;
    }

    /* Resume a .part of the same ETag, else start over. */
    int64_t off = 0;
    if (mr_file_exists(part) && sidecar_matches(pside, obj->etag, obj->size)) {
        int64_t have = mr_file_size(part);
        if (have >= 0 && have <= obj->size) off = have;
    }
    if (off == 0) {
        unlink(part);
        if ((rc = sidecar_write(pside, obj->etag, obj->size))) goto out;
    }
    info->resumed_from = off;
    if (p && off) mr_progress_add(p, off);
    fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = mr_err(MR_EIO, "cannot create %s: %s", part, strerror(errno));
        goto out;
    }
    if (ftruncate(fd, off) != 0) {
        rc = mr_err(MR_EIO, "cannot truncate %s: %s", part, strerror(errno));
        goto out;
    }
    if (off) MR_LOG(MR_LOG_INFO, "resuming download", MR_S("key", key), MR_I("from_byte", off), MR_I("bytes", obj->size));
    /* A single-part ETag is the MD5 of the bytes: hash them as they arrive
     * (after the bytes a resumed .part already has). */
    if (etag_is_md5(obj->etag)) {
        md5 = EVP_MD_CTX_new();
        if (!md5 || !EVP_DigestInit_ex(md5, EVP_md5(), NULL)) {
            rc = mr_err(MR_ENOMEM, "out of memory");
            goto out;
        }
        if (off && (rc = md5_file_prefix(md5, part, off))) goto out;
    }

    char range[64], ifmatch[140];
    for (int attempt = 1; off < obj->size; attempt++) {
        snprintf(range, sizeof range, "bytes=%lld-", (long long)off);
        snprintf(ifmatch, sizeof ifmatch, "\"%s\"", obj->etag);
        mr_sigv4_header h[2] = {{"If-Match", ifmatch}, {"Range", range}};
        req rq = {.method = "GET", .key = key, .hdr = h, .nh = 2, .body_fd = -1, .sink_fd = fd,
                  .sink_off = off, .sink_md5 = md5, .prog = p, .what = what};
        resp r;
        memset(&r, 0, sizeof r);
        if ((rc = perform(s, &rq, &r))) goto out;
        int64_t reached = r.sink_base + r.written;
        if (r.sink_base == 0 && off > 0 && p) mr_progress_add(p, -off); /* a 200 restarted at 0 */
        info->bytes += r.written;
        int outcome = classify(&r);
        int changed = r.status == 412 ||
                      (outcome == OUT_OK && r.etag[0] && strcmp(r.etag, obj->etag) != 0);
        if (changed) {
            /* The object was replaced since the .part was started. */
            mr_strbuf_free(&r.body);
            if (++info->restarts > 2) {
                rc = mr_err(MR_ENET, "%s: the object keeps changing during the download", what);
                goto out;
            }
            MR_LOG(MR_LOG_WARN, "object changed, restarting the download", MR_S("key", key));
            if ((rc = mr_s3_head(s, key, obj))) goto out;
            EVP_MD_CTX_free(md5);
            md5 = NULL;
            if (etag_is_md5(obj->etag) && (!(md5 = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(md5, EVP_md5(), NULL))) {
                rc = mr_err(MR_ENOMEM, "out of memory");
                goto out;
            }
            if (ftruncate(fd, 0) != 0 || sidecar_write(pside, obj->etag, obj->size) != 0) {
                rc = mr_err(MR_EIO, "cannot restart %s: %s", part, strerror(errno));
                goto out;
            }
            if (p) mr_progress_add(p, -reached);
            off = 0;
            attempt = 0;
            continue;
        }
        off = reached;
        if (outcome == OUT_OK && off < obj->size) {
            /* The body ended early without a transport error: retry the rest. */
            r.curl_rc = CURLE_PARTIAL_FILE;
            snprintf(r.curl_err, sizeof r.curl_err, "body ended at byte %lld of %lld", (long long)off,
                     (long long)obj->size);
            outcome = OUT_RETRY;
        }
        if (outcome == OUT_OK) {
            mr_strbuf_free(&r.body);
            break;
        }
        if (outcome == OUT_FAIL || attempt >= s->max_attempts) {
            rc = fail_message(s, &rq, &r, attempt);
            mr_strbuf_free(&r.body);
            goto out;
        }
        backoff(s, &rq, &r, attempt);
        mr_strbuf_free(&r.body);
    }

complete:;
    /* Complete: check, sync, rename. */
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != obj->size) {
        rc = mr_err(MR_ENET, "%s: downloaded %lld bytes, expected %lld", what, (long long)st.st_size,
                    (long long)obj->size);
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = mr_err(MR_EIO, "cannot sync %s: %s", part, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (etag_is_md5(obj->etag)) {
        char hex[33];
        if (md5) { /* hashed on the way in */
            uint8_t d[16];
            unsigned int dn = 16;
            EVP_DigestFinal_ex(md5, d, &dn);
            mr_hex(d, 16, hex);
        } else if ((rc = mr_file_md5_hex(part, 0, -1, hex))) { /* ranges arrive out of order */
            goto out;
        }
        if (strcasecmp(hex, obj->etag) != 0) {
            unlink(part);
            unlink(pside);
            rc = mr_err(MR_EFORMAT, "%s: the downloaded bytes have MD5 %s but the ETag is %s; removed the partial file, run again",
                        what, hex, obj->etag);
            goto out;
        }
    }
    unlink(side); /* the old final file's sidecar must not outlive it */
    if (rename(part, path) != 0) {
        rc = mr_err(MR_EIO, "cannot rename %s to %s: %s", part, path, strerror(errno));
        goto out;
    }
    fsync_dir_of(path);
    if ((rc = sidecar_write(side, obj->etag, obj->size))) goto out;
    unlink(pside);
out:
    if (fd >= 0) close(fd);
    EVP_MD_CTX_free(md5);
    free(part);
    free(side);
    free(pside);
    free(what);
    return rc;
}
