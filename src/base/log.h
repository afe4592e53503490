/* Logging: JSON lines for machines, short lines for people.
 *
 * Each step appends one JSON object per line to logs/logs_<step>.json:
 *   {"ts":"2026-11-29T08:30:00.123Z","level":"info","step":"split","msg":"...", ...fields}
 * and prints "musrec split: msg key=value ..." on stderr (info and above
 * unless --quiet; debug with --log-level debug). Fields are typed, so numbers
 * stay numbers in the JSON:
 *   MR_LOG(MR_LOG_INFO, "split done", MR_I("train_events", n), MR_F("secs", t));
 * The logger is the one piece of global mutable state in musrec; it is
 * guarded by a mutex so OpenMP workers may log.
 */
#ifndef MR_LOG_H
#define MR_LOG_H

#include <stdint.h>

enum { MR_LOG_DEBUG, MR_LOG_INFO, MR_LOG_WARN, MR_LOG_ERROR };

typedef struct {
    const char *key;
    char type; /* 'i' int, 'f' double, 's' string, 'b' bool, 'j' raw JSON */
    int64_t i;
    double f;
    const char *s;
} mr_field;

#define MR_I(k, v) ((mr_field){.key = (k), .type = 'i', .i = (int64_t)(v)})
#define MR_F(k, v) ((mr_field){.key = (k), .type = 'f', .f = (double)(v)})
#define MR_S(k, v) ((mr_field){.key = (k), .type = 's', .s = (v)})
#define MR_B(k, v) ((mr_field){.key = (k), .type = 'b', .i = !!(v)})
#define MR_J(k, v) ((mr_field){.key = (k), .type = 'j', .s = (v)})

#define MR_LOG(level, msg, ...)                                                              \
    mr_log_write((level), (msg), (const mr_field[]){__VA_ARGS__},                            \
                 (int)(sizeof((const mr_field[]){__VA_ARGS__}) / sizeof(mr_field)))

/* stderr threshold: level is MR_LOG_*; quiet keeps only warnings and errors. */
void mr_log_setup(int level, int quiet);
int mr_log_level_parse(const char *s); /* "debug".."error" -> level, -1 if unknown */

/* Opens logs/logs_<step>.json under workdir for appending and makes step the
 * current step name. Returns 0 or an error. mr_log_close() ends it. */
int mr_log_open(const char *workdir, const char *step);
void mr_log_close(void);
const char *mr_log_step(void);

void mr_log_write(int level, const char *msg, const mr_field *fields, int n);
void mr_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one JSON line to logs/logs_main.json (used by `musrec run` and by
 * every step at its end). */
void mr_log_main(const char *workdir, const char *msg, const mr_field *fields, int n);

/* Wall-clock seconds since an arbitrary start (monotonic). */
double mr_now(void);

/* Peak resident set size of this process so far, in bytes. */
int64_t mr_peak_rss(void);
/* Current resident set size in bytes (from /proc/self/statm), 0 if unknown. */
int64_t mr_current_rss(void);

#endif
