/* A growable NUL-terminated string for building requests, URLs and small
 * documents. Appends never fail loudly: on allocation failure the buffer
 * sets `oom` and ignores further appends, so a builder checks once at the
 * end instead of after every call. */
#ifndef MR_STRBUF_H
#define MR_STRBUF_H

#include <stddef.h>

typedef struct {
    char *s;  /* NULL until the first append */
    size_t n, cap;
    int oom;
} mr_strbuf;

void mr_strbuf_add(mr_strbuf *b, const void *p, size_t n);
void mr_strbuf_puts(mr_strbuf *b, const char *s);
void mr_strbuf_putc(mr_strbuf *b, char c);
/* printf-style; output longer than 1 KB is truncated to 1 KB */
void mr_strbuf_printf(mr_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mr_strbuf_free(mr_strbuf *b);

#endif
