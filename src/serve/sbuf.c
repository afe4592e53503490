#include "serve/sbuf.h"

#include "base/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mr_sbuf_free(mr_sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int mr_sbuf_reserve(mr_sbuf *b, size_t more)
{
    if (b->oom) return -1;
    if (b->n + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void mr_sbuf_put(mr_sbuf *b, const void *s, size_t len)
{
    if (mr_sbuf_reserve(b, len)) return;
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

void mr_sbuf_puts(mr_sbuf *b, const char *s) { mr_sbuf_put(b, s, strlen(s)); }

void mr_sbuf_putc(mr_sbuf *b, char c)
{
    if (mr_sbuf_reserve(b, 1)) return;
    b->p[b->n++] = c;
}

void mr_sbuf_i64(mr_sbuf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    /* through uint64 so that INT64_MIN negates without overflow */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[n++] = '-';
    if (mr_sbuf_reserve(b, (size_t)n)) return;
    while (n) b->p[b->n++] = tmp[--n];
}

/* 7 significant digits without printf (which costs more than the rest of a
 * response): scale to a 7-digit integer, then place the decimal point. The
 * result reads back within half a unit of the 7th digit (one unit when the
 * double scaling rounds the other way at a tie). */
void mr_sbuf_f32(mr_sbuf *b, float f)
{
    if (!isfinite(f)) {
        mr_sbuf_put(b, "null", 4);
        return;
    }
    if (mr_sbuf_reserve(b, 24)) return;
    char *o = b->p + b->n;
    double v = f;
    if (v < 0) *o++ = '-', v = -v;
    if (v == 0) {
        *o++ = '0';
        b->n = (size_t)(o - b->p);
        return;
    }
    int e = (int)floor(log10(v));
    double m = nearbyint(v * pow(10.0, 6 - e));
    if (m >= 1e7) m = nearbyint(m / 10), e++;
    if (m < 1e6) m = nearbyint(v * pow(10.0, 7 - e)), e--;
    char d[7];
    long im = (long)m;
    for (int i = 6; i >= 0; i--) d[i] = (char)('0' + im % 10), im /= 10;
    int nd = 7;
    while (nd > 1 && d[nd - 1] == '0') nd--;
    if (e >= -5 && e < 0) {
        *o++ = '0', *o++ = '.';
        for (int i = 0; i < -e - 1; i++) *o++ = '0';
        for (int i = 0; i < nd; i++) *o++ = d[i];
    } else if (e >= 0 && e < 7) {
        for (int i = 0; i <= e; i++) *o++ = i < nd ? d[i] : '0';
        if (nd > e + 1) {
            *o++ = '.';
            for (int i = e + 1; i < nd; i++) *o++ = d[i];
        }
    } else {
        *o++ = d[0];
        if (nd > 1) {
            *o++ = '.';
            for (int i = 1; i < nd; i++) *o++ = d[i];
        }
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        int ae = e < 0 ? -e : e;
        if (ae >= 100) *o++ = (char)('0' + ae / 100);
        *o++ = (char)('0' + ae / 10 % 10);
        *o++ = (char)('0' + ae % 10);
    }
    b->n = (size_t)(o - b->p);
}

void mr_sbuf_f64(mr_sbuf *b, double v)
{
    if (isnan(v)) { mr_sbuf_puts(b, "NaN"); return; }
    if (isinf(v)) { mr_sbuf_puts(b, v > 0 ? "+Inf" : "-Inf"); return; }
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.15g", v);
    mr_sbuf_put(b, tmp, (size_t)n);
}

void mr_sbuf_json_str(mr_sbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* worst case: every byte becomes \u00XX (6) or U+FFFD (3 bytes) */
    if (mr_sbuf_reserve(b, len * 6 + 2)) return;
    const unsigned char *p = (const unsigned char *)s;
    char *o = b->p + b->n;
    *o++ = '"';
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            i++;
            continue;
        }
        if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                *o++ = 'u'; *o++ = '0'; *o++ = '0';
                *o++ = hex[c >> 4]; *o++ = hex[c & 15];
            }
            i++;
            continue;
        }
        size_t k = mr_utf8_seq(p + i, len - i);
        if (k == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(o, p + i, k);
            o += k;
            i += k;
        }
    }
    *o++ = '"';
    b->n = (size_t)(o - b->p);
}

void mr_sbuf_printf(mr_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        mr_sbuf_put(b, tmp, (size_t)n);
        return;
    }
    if (mr_sbuf_reserve(b, (size_t)n + 1)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}
