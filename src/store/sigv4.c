#include "store/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/err.h"
#include "base/strbuf.h"

static char *sb_take(mr_strbuf *b)
{
    if (b->oom || !b->s) {
        free(b->s);
        mr_err(MR_ENOMEM, "out of memory while signing an S3 request");
        return NULL;
    }
    return b->s;
}

void mr_hex(const uint8_t *bytes, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * n] = 0;
}

void mr_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void mr_md5(const void *data, size_t len, uint8_t out[16])
{
    unsigned int n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

void mr_sha256_hex(const void *data, size_t len, char hex[65])
{
    uint8_t d[32];
    mr_sha256(data, len, d);
    mr_hex(d, 32, hex);
}

void mr_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}

static int file_digest_hex(const char *path, int64_t off, int64_t len, const EVP_MD *md,
                           char *hex)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mr_err(MR_EIO, "cannot open %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    enum { BUF = 1 << 20 };
    uint8_t *buf = malloc(BUF);
    int rc = 0;
    if (!ctx || !buf || !EVP_DigestInit_ex(ctx, md, NULL)) {
        rc = mr_err(MR_ENOMEM, "out of memory hashing %s", path);
        goto done;
    }
    int64_t pos = off, left = len;
    while (left != 0) {
        size_t want = BUF;
        if (left > 0 && (int64_t)want > left) want = (size_t)left;
        ssize_t got = pread(fd, buf, want, pos);
        if (got < 0) {
            if (errno == EINTR) continue;
            rc = mr_err(MR_EIO, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (got == 0) {
            if (left > 0) rc = mr_err(MR_EIO, "%s is shorter than expected (ends at byte %lld)", path, (long long)pos);
            break;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)got);
        pos += got;
        if (left > 0) left -= got;
    }
    if (!rc) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_DigestFinal_ex(ctx, d, &n);
        mr_hex(d, n, hex);
    }
done:
    free(buf);
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}

int mr_file_sha256_hex(const char *path, int64_t off, int64_t len, char hex[65])
{
    return file_digest_hex(path, off, len, EVP_sha256(), hex);
}

int mr_file_md5_hex(const char *path, int64_t off, int64_t len, char hex[33])
{
    return file_digest_hex(path, off, len, EVP_md5(), hex);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

char *mr_sigv4_uri_encode(const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = mr_malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = 0;
    return out;
}

typedef struct {
    char *name, *value;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

char *mr_sigv4_query(const mr_sigv4_param *params, int n)
{
    kv *pairs = mr_calloc(n > 0 ? (size_t)n : 1, sizeof *pairs);
    if (!pairs) return NULL;
    mr_strbuf b = {0};
    mr_strbuf_puts(&b, "");
    int ok = 1;
    for (int i = 0; i < n; i++) {
        pairs[i].name = mr_sigv4_uri_encode(params[i].name, 0);
        pairs[i].value = mr_sigv4_uri_encode(params[i].value ? params[i].value : "", 0);
        if (!pairs[i].name || !pairs[i].value) ok = 0;
    }
    if (ok) {
        qsort(pairs, (size_t)n, sizeof *pairs, kv_cmp);
        for (int i = 0; i < n; i++) {
            if (i) mr_strbuf_putc(&b, '&');
            mr_strbuf_puts(&b, pairs[i].name);
            mr_strbuf_putc(&b, '=');
            mr_strbuf_puts(&b, pairs[i].value);
        }
    }
    for (int i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    if (!ok) {
        free(b.s);
        return NULL;
    }
    return sb_take(&b);
}

void mr_sigv4_amz_date(time_t t, char buf[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Appends a header value trimmed and with runs of whitespace collapsed to
 * one space (the spec's Trimall, as botocore does it). */
static void put_trimmed(mr_strbuf *b, const char *v)
{
    int pending_space = 0, any = 0;
    for (const char *p = v; *p; p++) {
        if (isspace((unsigned char)*p)) {
            pending_space = any;
            continue;
        }
        if (pending_space) mr_strbuf_putc(b, ' ');
        pending_space = 0;
        mr_strbuf_putc(b, *p);
        any = 1;
    }
}

static int valid_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z') return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)d[i])) return 0;
    return 1;
}

int mr_sigv4_sign(const mr_sigv4_req *r, mr_sigv4_out *out)
{
    memset(out, 0, sizeof *out);
    if (!valid_date(r->amz_date))
        return mr_err(MR_EINVAL, "SigV4: time '%s' is not of the form YYYYMMDDTHHMMSSZ",
                      r->amz_date ? r->amz_date : "");
    if (!r->access_key || !*r->access_key || !r->secret_key || !*r->secret_key)
        return mr_err(MR_EINVAL, "SigV4: no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");

    /* Lower-cased names, stably sorted; equal names join their values with ','. */
    int n = r->nheaders;
    char **names = mr_calloc(n > 0 ? (size_t)n : 1, sizeof *names);
    int *order = mr_calloc(n > 0 ? (size_t)n : 1, sizeof *order);
    if (!names || !order) {
        free(names);
        free(order);
        return MR_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        names[i] = mr_strdup(r->headers[i].name);
        if (!names[i]) rc = MR_ENOMEM;
        else
            for (char *p = names[i]; *p; p++) *p = (char)tolower((unsigned char)*p);
        order[i] = i;
    }
    for (int i = 1; i < n && !rc; i++) /* insertion sort: stable, n is tiny */
        for (int j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }

    mr_strbuf cr = {0}, signed_h = {0}, sts = {0}, auth = {0};
    if (!rc) {
        mr_strbuf_puts(&cr, r->method);
        mr_strbuf_putc(&cr, '\n');
        mr_strbuf_puts(&cr, r->canonical_uri && *r->canonical_uri ? r->canonical_uri : "/");
        mr_strbuf_putc(&cr, '\n');
        mr_strbuf_puts(&cr, r->canonical_query ? r->canonical_query : "");
        mr_strbuf_putc(&cr, '\n');
        for (int k = 0; k < n; k++) {
            const char *name = names[order[k]];
            int first = k == 0 || strcmp(names[order[k - 1]], name) != 0;
            if (first) {
                if (k) mr_strbuf_putc(&cr, '\n');
                mr_strbuf_puts(&cr, name);
                mr_strbuf_putc(&cr, ':');
                if (signed_h.n) mr_strbuf_putc(&signed_h, ';');
                mr_strbuf_puts(&signed_h, name);
            } else {
                mr_strbuf_putc(&cr, ',');
            }
            put_trimmed(&cr, r->headers[order[k]].value ? r->headers[order[k]].value : "");
        }
        mr_strbuf_puts(&cr, "\n\n");
        mr_strbuf_puts(&signed_h, "");
        mr_strbuf_puts(&cr, signed_h.s);
        mr_strbuf_putc(&cr, '\n');
        mr_strbuf_puts(&cr, r->payload_hash);
        if (cr.oom || signed_h.oom) rc = mr_err(MR_ENOMEM, "out of memory while signing an S3 request");
    }
    if (!rc) {
        char date[9], cr_hash[65];
        memcpy(date, r->amz_date, 8);
        date[8] = 0;
        mr_sha256_hex(cr.s, cr.n, cr_hash);
        mr_strbuf_puts(&sts, "AWS4-HMAC-SHA256\n");
        mr_strbuf_puts(&sts, r->amz_date);
        mr_strbuf_putc(&sts, '\n');
        char scope[256];
        snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, r->region, r->service);
        mr_strbuf_puts(&sts, scope);
        mr_strbuf_putc(&sts, '\n');
        mr_strbuf_puts(&sts, cr_hash);

        /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
        size_t sl = strlen(r->secret_key);
        char *k0 = mr_malloc(sl + 5);
        if (!k0 || sts.oom) {
            free(k0);
            rc = mr_err(MR_ENOMEM, "out of memory while signing an S3 request");
        } else {
            memcpy(k0, "AWS4", 4);
            memcpy(k0 + 4, r->secret_key, sl + 1);
            uint8_t k[32], sig[32];
            mr_hmac_sha256(k0, sl + 4, date, 8, k);
            memset(k0, 0, sl + 4); /* do not leave the secret lying in freed memory */
            free(k0);
            mr_hmac_sha256(k, 32, r->region, strlen(r->region), k);
            mr_hmac_sha256(k, 32, r->service, strlen(r->service), k);
            mr_hmac_sha256(k, 32, "aws4_request", 12, k);
            mr_hmac_sha256(k, 32, sts.s, sts.n, sig);
            memset(k, 0, sizeof k);
            mr_hex(sig, 32, out->signature);
            mr_strbuf_puts(&auth, "AWS4-HMAC-SHA256 Credential=");
            mr_strbuf_puts(&auth, r->access_key);
            mr_strbuf_putc(&auth, '/');
            mr_strbuf_puts(&auth, scope);
            mr_strbuf_puts(&auth, ", SignedHeaders=");
            mr_strbuf_puts(&auth, signed_h.s);
            mr_strbuf_puts(&auth, ", Signature=");
            mr_strbuf_puts(&auth, out->signature);
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(order);
    free(signed_h.s);
    if (rc) {
        free(cr.s);
        free(sts.s);
        free(auth.s);
        return rc;
    }
    out->canonical_request = sb_take(&cr);
    out->string_to_sign = sb_take(&sts);
    out->authorization = sb_take(&auth);
    if (!out->canonical_request || !out->string_to_sign || !out->authorization) {
        mr_sigv4_out_free(out);
        return MR_ENOMEM;
    }
    return 0;
}

void mr_sigv4_out_free(mr_sigv4_out *out)
{
    free(out->canonical_request);
    free(out->string_to_sign);
    free(out->authorization);
    memset(out, 0, sizeof *out);
}
