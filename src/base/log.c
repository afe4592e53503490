#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/json.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_level = MR_LOG_INFO;
static int log_quiet;
static FILE *log_file;
static char log_stepname[64] = "musrec";

static const char *level_names[] = {"debug", "info", "warn", "error"};

void mr_log_setup(int level, int quiet)
{
    log_level = level;
    log_quiet = quiet;
}

int mr_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    if (strcmp(s, "warning") == 0) return MR_LOG_WARN;
    return -1;
}

int mr_log_open(const char *workdir, const char *step)
{
    char dir[4096], path[4096];
    if (snprintf(dir, sizeof dir, "%s/logs", workdir) >= (int)sizeof dir)
        return mr_err(MR_EINVAL, "work directory path too long: %s", workdir);
    int rc = mr_mkdirs(dir);
    if (rc) return rc;
    if (snprintf(path, sizeof path, "%s/logs_%s.json", dir, step) >= (int)sizeof path)
        return mr_err(MR_EINVAL, "work directory path too long: %s", workdir);
    FILE *f = fopen(path, "a");
    if (!f) return mr_err(MR_EIO, "cannot open log file %s: %s", path, strerror(errno));
    pthread_mutex_lock(&log_mu);
    if (log_file) fclose(log_file);
    log_file = f;
    snprintf(log_stepname, sizeof log_stepname, "%s", step);
    pthread_mutex_unlock(&log_mu);
    return 0;
}

void mr_log_close(void)
{
    pthread_mutex_lock(&log_mu);
    if (log_file) fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_mu);
}

const char *mr_log_step(void) { return log_stepname; }

static void put_ts(FILE *f)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(f, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void put_json_line(FILE *f, int level, const char *step, const char *msg,
                          const mr_field *fields, int n)
{
    char num[32];
    fputs("{\"ts\":", f);
    put_ts(f);
    fprintf(f, ",\"level\":\"%s\",\"step\":", level_names[level]);
    mr_json_str(f, step, strlen(step));
    fputs(",\"msg\":", f);
    mr_json_str(f, msg, strlen(msg));
    for (int i = 0; i < n; i++) {
        const mr_field *x = &fields[i];
        fputc(',', f);
        mr_json_str(f, x->key, strlen(x->key));
        fputc(':', f);
        switch (x->type) {
        case 'i': fprintf(f, "%lld", (long long)x->i); break;
        case 'f': fputs(mr_json_num(num, x->f), f); break;
        case 'b': fputs(x->i ? "true" : "false", f); break;
        case 'j': fputs(x->s ? x->s : "null", f); break;
        default:
            if (x->s) mr_json_str(f, x->s, strlen(x->s));
            else fputs("null", f);
        }
    }
    fputs("}\n", f);
}

static void put_human_line(int level, const char *msg, const mr_field *fields, int n)
{
    char num[32];
    fprintf(stderr, "musrec %s: %s%s", log_stepname,
            level == MR_LOG_WARN ? "warning: " : level == MR_LOG_ERROR ? "error: " : "", msg);
    for (int i = 0; i < n; i++) {
        const mr_field *x = &fields[i];
        switch (x->type) {
        case 'i': fprintf(stderr, " %s=%lld", x->key, (long long)x->i); break;
        case 'f': fprintf(stderr, " %s=%s", x->key, mr_json_num(num, x->f)); break;
        case 'b': fprintf(stderr, " %s=%s", x->key, x->i ? "true" : "false"); break;
        case 'j': break; /* structured detail stays in the JSON log */
        default: fprintf(stderr, " %s=%s", x->key, x->s ? x->s : "null");
        }
    }
    fputc('\n', stderr);
}

void mr_log_write(int level, const char *msg, const mr_field *fields, int n)
{
    if (level < MR_LOG_DEBUG || level > MR_LOG_ERROR) level = MR_LOG_INFO;
    pthread_mutex_lock(&log_mu);
    if (log_file) {
        put_json_line(log_file, level, log_stepname, msg, fields, n);
        fflush(log_file);
    }
    int threshold = log_quiet && log_level < MR_LOG_WARN ? MR_LOG_WARN : log_level;
    if (level >= threshold) put_human_line(level, msg, fields, n);
    pthread_mutex_unlock(&log_mu);
}

void mr_logf(int level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mr_log_write(level, msg, NULL, 0);
}

void mr_log_main(const char *workdir, const char *msg, const mr_field *fields, int n)
{
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/logs", workdir);
    if (mr_mkdirs(dir)) return;
    if (snprintf(path, sizeof path, "%s/logs_main.json", dir) >= (int)sizeof path) return;
    pthread_mutex_lock(&log_mu);
    FILE *f = fopen(path, "a");
    if (f) {
        put_json_line(f, MR_LOG_INFO, log_stepname, msg, fields, n);
        fclose(f);
    }
    pthread_mutex_unlock(&log_mu);
}

double mr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int64_t mr_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (int64_t)ru.ru_maxrss * 1024;
}

int64_t mr_current_rss(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}
