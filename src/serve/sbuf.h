/* A growable output buffer for HTTP response bodies.
 *
 * Each server thread keeps one and reuses it for every request, so after the
 * first few requests a response is rendered with no allocation at all. An
 * allocation failure does not stop the writer: the buffer remembers it
 * (`oom`), later appends are no-ops, and the caller answers 500.
 *
 * JSON strings are escaped as they are appended; invalid UTF-8 becomes U+FFFD,
 * so a response is valid JSON whatever bytes the data files hold.
 */
#ifndef MR_SBUF_H
#define MR_SBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} mr_sbuf;

void mr_sbuf_free(mr_sbuf *b);
static inline void mr_sbuf_reset(mr_sbuf *b) { b->n = 0; b->oom = 0; }

/* Makes room for `more` bytes; returns 0, or -1 (and sets oom). */
int mr_sbuf_reserve(mr_sbuf *b, size_t more);
void mr_sbuf_put(mr_sbuf *b, const void *s, size_t len);
void mr_sbuf_puts(mr_sbuf *b, const char *s);
void mr_sbuf_putc(mr_sbuf *b, char c);
void mr_sbuf_i64(mr_sbuf *b, int64_t v);
/* A float with 7 significant digits (enough to tell scores apart); non-finite
 * values become null. */
void mr_sbuf_f32(mr_sbuf *b, float v);
/* A double with up to 15 significant digits (for metrics); non-finite as
 * Prometheus writes them: NaN, +Inf, -Inf. */
void mr_sbuf_f64(mr_sbuf *b, double v);
/* s (len bytes) as a quoted, escaped JSON string. */
void mr_sbuf_json_str(mr_sbuf *b, const char *s, size_t len);
void mr_sbuf_printf(mr_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
