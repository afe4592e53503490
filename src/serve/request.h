/* HTTP request parsing for the service, as pure functions over bytes.
 *
 * The server hands us the raw request target ("/recommendations?user_id=7&k=10",
 * exactly as the client sent it) and the raw body; everything that interprets
 * them lives here, takes (pointer, length) and touches no socket, so the
 * fuzzer (fuzz/fuzz_http.c) drives the same code the server runs.
 *
 * Rules, all answered with 400 and one sentence when broken:
 *   - the target is percent-decoded (path and query; '+' is a space in the
 *     query); a bad escape ("%zz", a cut "%4") or a decoded NUL is an error;
 *   - at most MR_REQ_MAX_PARAMS parameters, none given twice; parameters
 *     we do not know are ignored;
 *   - integers are plain decimal ("-12", not " 12", "1e3", "0x10", "12abc"),
 *     within int64; k saturates instead (k=99999999999999999999 is 1000).
 * The target must fit MR_REQ_MAX_TARGET bytes (longer is 414).
 */
#ifndef MR_REQUEST_H
#define MR_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define MR_REQ_MAX_TARGET 4096
#define MR_REQ_MAX_PARAMS 16
#define MR_REQ_MAX_BODY 65536 /* POST bodies larger than this are 413 */
#define MR_REQ_K_MIN 1
#define MR_REQ_K_MAX 1000

typedef struct {
    const char *path;      /* decoded, NUL-terminated, points into buf */
    size_t path_len;
    int n_params;
    const char *key[MR_REQ_MAX_PARAMS];
    const char *val[MR_REQ_MAX_PARAMS];
    char err[160];         /* the message when a parse function fails */
    char buf[MR_REQ_MAX_TARGET + MR_REQ_MAX_PARAMS + 4];
} mr_req;

/* Parses a request target. Returns 0, or -1 with req->err set; a target
 * longer than MR_REQ_MAX_TARGET returns -2 (the caller answers 414). */
int mr_req_parse(mr_req *req, const char *target, size_t len);

/* The decoded value of parameter `key`, or NULL. */
const char *mr_req_param(const mr_req *req, const char *key);

/* Strict decimal int64 from s[0..len). Returns 0 or -1 (not a number or out
 * of range). */
int mr_parse_i64(const char *s, size_t len, int64_t *out);

/* Integer parameter: returns 1 and sets *out when present and valid, 0 when
 * absent (and *out untouched), -1 with req->err when malformed. */
int mr_req_i64(mr_req *req, const char *key, int64_t *out);
/* Like mr_req_i64 but absence is an error too ("missing parameter user_id"). */
int mr_req_i64_required(mr_req *req, const char *key, int64_t *out);
/* k: absent gives def; present is clamped to [MR_REQ_K_MIN, kmax] (kmax at
 * most MR_REQ_K_MAX); returns 0 or -1 when not an integer. */
int mr_req_k(mr_req *req, int64_t def, int64_t kmax, int *k);

/* Parses a POST /events body: a JSON object with integer members user_id
 * and track_id (other members are ignored). Returns 0, or -1 with a message
 * in err (errlen bytes). */
int mr_req_parse_event(const char *body, size_t len, int64_t *user_id, int64_t *track_id,
                       char *err, size_t errlen);

#endif
