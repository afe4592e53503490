#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mr_strbuf_add(mr_strbuf *b, const void *p, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

void mr_strbuf_puts(mr_strbuf *b, const char *s) { mr_strbuf_add(b, s, strlen(s)); }

void mr_strbuf_putc(mr_strbuf *b, char c) { mr_strbuf_add(b, &c, 1); }

void mr_strbuf_printf(mr_strbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) mr_strbuf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void mr_strbuf_free(mr_strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
