#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MR_ERRMSG_MAX 1024

static _Thread_local char errbuf[MR_ERRMSG_MAX];

int mr_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return code;
}

int mr_err_wrap(int code, const char *fmt, ...)
{
    char prefix[MR_ERRMSG_MAX], old[MR_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errbuf, sizeof old);
    size_t np = strnlen(prefix, sizeof prefix - 1);
    memcpy(errbuf, prefix, np);
    snprintf(errbuf + np, sizeof errbuf - np, "%.*s", (int)(sizeof errbuf - np - 1), old);
    return code;
}

const char *mr_errmsg(void) { return errbuf; }

void mr_err_set_msg(const char *msg)
{
    if (msg != errbuf) snprintf(errbuf, sizeof errbuf, "%s", msg);
}

void *mr_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) mr_err(MR_ENOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *mr_malloc_huge(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < 4 * huge) return mr_malloc(n);
    size_t rounded = (n + huge - 1) / huge * huge;
    void *p = NULL;
    if (posix_memalign(&p, huge, rounded)) {
        mr_err(MR_ENOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void *mr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) mr_err(MR_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *mr_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) mr_err(MR_ENOMEM, "out of memory growing a buffer to %zu bytes", n);
    return q;
}

char *mr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mr_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

const char *mr_errname(int code)
{
    switch (code) {
    case MR_OK: return "ok";
    case MR_EIO: return "io";
    case MR_EINVAL: return "invalid";
    case MR_ENOMEM: return "nomem";
    case MR_EFORMAT: return "format";
    case MR_EUNSUPPORTED: return "unsupported";
    case MR_ENOTFOUND: return "notfound";
    case MR_EUSAGE: return "usage";
    case MR_ENET: return "network";
    case MR_EINTR: return "interrupted";
    default: return "error";
    }
}
