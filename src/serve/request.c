#include "serve/request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into o (which has room for len bytes), stopping at
 * nothing: the caller has already cut the piece. Returns the decoded length
 * or -1 on a bad escape or a decoded NUL. */
static long decode(char *o, const char *s, size_t len, int plus_is_space)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len) return -1; /* fewer than two characters follow */
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0) return -1;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0) return -1;
        o[n++] = (char)c;
    }
    return (long)n;
}

static int fail(mr_req *req, const char *fmt, const char *a, size_t alen)
{
    char tmp[64];
    size_t n = alen < sizeof tmp - 4 ? alen : sizeof tmp - 4;
    /* quote at most 60 bytes of what was wrong, printable ASCII only */
    for (size_t i = 0; i < n; i++) tmp[i] = (a[i] >= 0x20 && a[i] < 0x7f) ? a[i] : '?';
    if (n < alen) memcpy(tmp + n, "...", 4);
    else tmp[n] = 0;
    snprintf(req->err, sizeof req->err, fmt, tmp);
    return -1;
}

int mr_req_parse(mr_req *req, const char *target, size_t len)
{
    req->path = NULL;
    req->path_len = 0;
    req->n_params = 0;
    req->err[0] = 0;
    if (len > MR_REQ_MAX_TARGET) {
        snprintf(req->err, sizeof req->err, "request target is %zu bytes, more than %d", len,
                 MR_REQ_MAX_TARGET);
        return -2;
    }
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    /* a fragment is never sent by clients; if it is, it ends the query */
    const char *hash = q ? memchr(q, '#', len - plen) : NULL;
    size_t qlen = q ? (size_t)((hash ? hash : target + len) - (q + 1)) : 0;
    char *o = req->buf;
    long n = decode(o, target, plen, 0);
    if (n < 0) return fail(req, "bad percent-escape in path '%s'", target, plen);
    if (n == 0 || o[0] != '/') return fail(req, "request path '%s' does not start with /", target, plen);
    req->path = o;
    req->path_len = (size_t)n;
    o += n;
    *o++ = 0;
    const char *s = q ? q + 1 : NULL, *end = s ? s + qlen : NULL;
    while (s && s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *seg_end = amp ? amp : end;
        if (seg_end > s) {
            if (req->n_params == MR_REQ_MAX_PARAMS) {
                snprintf(req->err, sizeof req->err, "more than %d query parameters", MR_REQ_MAX_PARAMS);
                return -1;
            }
            const char *eq = memchr(s, '=', (size_t)(seg_end - s));
            const char *kend = eq ? eq : seg_end;
            char *key = o;
            long kn = decode(o, s, (size_t)(kend - s), 1);
            if (kn < 0) return fail(req, "bad percent-escape in query parameter '%s'", s, (size_t)(seg_end - s));
            o += kn;
            *o++ = 0;
            char *val = o;
            if (eq) {
                long vn = decode(o, eq + 1, (size_t)(seg_end - eq - 1), 1);
                if (vn < 0)
                    return fail(req, "bad percent-escape in query parameter '%s'", s, (size_t)(seg_end - s));
                o += vn;
            }
            *o++ = 0;
            for (int i = 0; i < req->n_params; i++)
                if (strcmp(req->key[i], key) == 0) return fail(req, "query parameter '%s' given twice", key, strlen(key));
            req->key[req->n_params] = key;
            req->val[req->n_params] = val;
            req->n_params++;
        }
        s = amp ? amp + 1 : end;
    }
    return 0;
}

const char *mr_req_param(const mr_req *req, const char *key)
{
    for (int i = 0; i < req->n_params; i++)
        if (strcmp(req->key[i], key) == 0) return req->val[i];
    return NULL;
}

int mr_parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (len > 0 && s[0] == '-') { neg = 1; i = 1; }
    if (i == len) return -1;
    uint64_t v = 0;
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9) return -1;
        if (v > (lim - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int mr_req_i64(mr_req *req, const char *key, int64_t *out)
{
    const char *v = mr_req_param(req, key);
    if (!v) return 0;
    size_t n = strlen(v);
    if (n == 0) {
        snprintf(req->err, sizeof req->err, "parameter %s is empty", key);
        return -1;
    }
    if (mr_parse_i64(v, n, out) != 0) {
        char f[96];
        snprintf(f, sizeof f, "parameter %s must be an integer, got '%%s'", key);
        return fail(req, f, v, n);
    }
    return 1;
}

int mr_req_i64_required(mr_req *req, const char *key, int64_t *out)
{
    int rc = mr_req_i64(req, key, out);
    if (rc == 0) {
        snprintf(req->err, sizeof req->err, "missing parameter %s", key);
        return -1;
    }
    return rc < 0 ? -1 : 1;
}

int mr_req_k(mr_req *req, int64_t def, int64_t kmax, int *k)
{
    if (kmax > MR_REQ_K_MAX || kmax < MR_REQ_K_MIN) kmax = MR_REQ_K_MAX;
    const char *v = mr_req_param(req, "k");
    int64_t x = def;
    if (v) {
        size_t n = strlen(v), i = v[0] == '-' ? 1 : 0;
        if (n == i) {
            snprintf(req->err, sizeof req->err, "parameter k is empty");
            return -1;
        }
        for (size_t j = i; j < n; j++)
            if (v[j] < '0' || v[j] > '9') return fail(req, "parameter k must be an integer, got '%s'", v, n);
        /* saturate: any number of digits is a valid (if silly) k */
        if (mr_parse_i64(v, n, &x) != 0) x = i ? INT64_MIN : INT64_MAX;
    }
    if (x < MR_REQ_K_MIN) x = MR_REQ_K_MIN;
    if (x > kmax) x = kmax;
    *k = (int)x;
    return 0;
}

/* An integral JSON number within +-2^53 (where doubles hold every integer). */
static int json_int(const cJSON *o, const char *key, int64_t *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        snprintf(err, errlen, "body lacks %s", key);
        return -1;
    }
    if (!cJSON_IsNumber(v)) {
        snprintf(err, errlen, "%s must be a number", key);
        return -1;
    }
    double d = v->valuedouble;
    if (!(fabs(d) < 9007199254740992.0) || d != floor(d)) {
        snprintf(err, errlen, "%s must be an integer below 2^53 in magnitude", key);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

int mr_req_parse_event(const char *body, size_t len, int64_t *user_id, int64_t *track_id,
                       char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "empty body: expected {\"user_id\": U, \"track_id\": T}");
        return -1;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!o) {
        snprintf(err, errlen, "body is not valid JSON (near byte %ld)",
                 end && end >= body ? (long)(end - body) : 0L);
        return -1;
    }
    /* nothing but whitespace may follow the object */
    for (const char *p = end; p && p < body + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(o);
            snprintf(err, errlen, "body has trailing bytes after the JSON value (at byte %ld)",
                     (long)(p - body));
            return -1;
        }
    int rc = -1;
    if (!cJSON_IsObject(o)) snprintf(err, errlen, "body must be a JSON object");
    else if (json_int(o, "user_id", user_id, err, errlen) == 0 &&
             json_int(o, "track_id", track_id, err, errlen) == 0)
        rc = 0;
    cJSON_Delete(o);
    return rc;
}
