/* AWS Signature Version 4 for S3 (and any SigV4 service).
 *
 * The signer is a pure function of its inputs: method, canonical URI,
 * canonical query string, the headers to sign, the payload hash, the time,
 * the scope (region, service) and the credentials. It does no I/O and reads
 * no clock, so it can be checked byte for byte against AWS's published
 * examples and against botocore (tests/test_sigv4.c,
 * tests/e2e/s3_sigv4_botocore.sh).
 *
 * Encoding follows the S3 rules: a key is percent-encoded byte by byte
 * (UTF-8 bytes for non-ASCII), everything but A-Z a-z 0-9 - _ . ~ is
 * encoded with upper-case hex, '/' is kept in paths, a space is %20 (never
 * '+'), and S3 paths are not normalised ("a//b" and "./" stay as they are).
 * Query parameters are encoded the same way ('/' too) and sorted by encoded
 * name, then value.
 *
 * SHA-256 and HMAC come from OpenSSL's libcrypto, which libcurl (the OpenSSL
 * flavour) loads anyway.
 */
#ifndef MR_SIGV4_H
#define MR_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    const char *name; /* any case; signed lower-cased */
    const char *value;
} mr_sigv4_header;

typedef struct {
    const char *method;           /* "GET", "PUT", ... */
    const char *canonical_uri;    /* already encoded, e.g. from mr_sigv4_uri_encode */
    const char *canonical_query;  /* already encoded and sorted, "" if none */
    const mr_sigv4_header *headers; /* every header to sign, host and x-amz-date included */
    int nheaders;
    const char *payload_hash;     /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;         /* "YYYYMMDDTHHMMSSZ" */
    const char *region;           /* "ru-central1", "us-east-1", ... */
    const char *service;          /* "s3" */
    const char *access_key;
    const char *secret_key;
} mr_sigv4_req;

typedef struct {
    char *canonical_request; /* malloc'd, for tests and --log-level debug (no secrets in it) */
    char *string_to_sign;    /* malloc'd */
    char *authorization;     /* malloc'd: the Authorization header value */
    char signature[65];
} mr_sigv4_out;

/* Signs r. On success fills out (free with mr_sigv4_out_free). */
int mr_sigv4_sign(const mr_sigv4_req *r, mr_sigv4_out *out);
void mr_sigv4_out_free(mr_sigv4_out *out);

/* Percent-encodes s per the rules above; keep_slash keeps '/' (paths) or
 * encodes it (query values). Returns a malloc'd string or NULL (error set). */
char *mr_sigv4_uri_encode(const char *s, int keep_slash);

typedef struct {
    const char *name, *value; /* raw (not encoded); value NULL or "" gives "name=" */
} mr_sigv4_param;

/* Canonical query string of params: each name and value encoded, sorted by
 * encoded name then value, joined with '&'. The same string is what musrec
 * puts in the URL, so the signed and the sent query are one string. */
char *mr_sigv4_query(const mr_sigv4_param *params, int n);

/* "YYYYMMDDTHHMMSSZ" for a UTC time. buf needs 17 bytes. */
void mr_sigv4_amz_date(time_t t, char buf[17]);

/* SHA-256 helpers (libcrypto). hex needs 65 bytes. */
void mr_sha256(const void *data, size_t len, uint8_t out[32]);
void mr_sha256_hex(const void *data, size_t len, char hex[65]);
void mr_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]);
void mr_hex(const uint8_t *bytes, size_t n, char *hex); /* lower case, NUL-terminated */

/* Streaming SHA-256 and MD5 over a file region [off, off+len) (len < 0: to
 * the end), for payload hashes of upload parts and ETag checks. */
int mr_file_sha256_hex(const char *path, int64_t off, int64_t len, char hex[65]);
int mr_file_md5_hex(const char *path, int64_t off, int64_t len, char hex[33]);
/* MD5 of a memory buffer (for multipart ETags), hex 33 bytes. */
void mr_md5(const void *data, size_t len, uint8_t out[16]);

#endif
