/* A progress bar on stderr, shown only when stderr is a terminal (and not
 * --quiet), redrawn at most 10 times a second with rate and ETA:
 *   preprocess: events  [#########.........]  52%  115.8M/222.6M  41.2M/s  ETA 3s
 * Updates from several threads are fine: the counter is atomic. */
#ifndef MR_PROGRESS_H
#define MR_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *label;
    const char *unit;  /* "" for counts, "B" for bytes */
    int64_t total;     /* 0 if unknown */
    int64_t done;
    double start, last_draw;
    int active;
} mr_progress;

void mr_progress_start(mr_progress *p, const char *label, int64_t total, const char *unit);
/* Adds n to the count (atomic) and redraws if due. */
void mr_progress_add(mr_progress *p, int64_t n);
void mr_progress_end(mr_progress *p);

/* Globally disable bars (--quiet). */
void mr_progress_enable(int on);

#endif
