/* Errors as values.
 *
 * Every fallible function returns int: 0 on success, a negative MR_E* code on
 * failure, after setting a one-sentence message with mr_err(). The message is
 * thread-local, so OpenMP workers can fail independently; the CLI prints
 * mr_errmsg() and exits non-zero. A message names the file, column or value
 * that was wrong, never a secret.
 */
#ifndef MR_ERR_H
#define MR_ERR_H

#include <stddef.h>

enum {
    MR_OK = 0,
    MR_EIO = -1,          /* the operating system refused: open, read, write */
    MR_EINVAL = -2,       /* a bad argument or option value */
    MR_ENOMEM = -3,       /* allocation failed */
    MR_EFORMAT = -4,      /* input data is malformed or corrupt */
    MR_EUNSUPPORTED = -5, /* valid input we do not handle (named in the message) */
    MR_ENOTFOUND = -6,    /* a file, column, key or id does not exist */
    MR_EUSAGE = -7,       /* command-line misuse: the CLI exits 2 */
    MR_ENET = -8,         /* network or remote service failure */
    MR_EINTR = -9,        /* interrupted by a signal */
};

/* Sets the thread's message (printf-style) and returns code, so that
 * `return mr_err(MR_EIO, "cannot open %s: %s", path, strerror(errno));`
 * reads as one statement. */
int mr_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with more context: "reading x.parquet: " + old. */
int mr_err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message ("" if none). */
const char *mr_errmsg(void);

/* Copies the message of another thread's failure into this thread, used when
 * an OpenMP region reports the first worker error after the join. */
void mr_err_set_msg(const char *msg);

/* Allocation that sets an error naming the size on failure. */
void *mr_malloc(size_t n);
void *mr_calloc(size_t n, size_t size);
void *mr_realloc(void *p, size_t n);
/* For big arrays (freed with free()): from 8 MiB up, 2 MiB aligned and
 * marked for transparent huge pages, so filling one faults a 2 MiB page at
 * a time instead of 512 small ones (on the development VM a 4 KiB fault
 * costs ~10 us: decoding a column into a fresh array was mostly faults);
 * smaller ones plain malloc. */
void *mr_malloc_huge(size_t n);
char *mr_strdup(const char *s);

/* Short name of an error code, for logs ("io", "format", ...). */
const char *mr_errname(int code);

#endif
