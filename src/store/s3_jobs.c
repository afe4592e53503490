/* A small pool of S3 workers shared by `musrec download` and `musrec upload`:
 * transfers are bound by the network and the server, not the CPU, so a few
 * threads with one connection each overlap their waiting. Jobs are handed
 * out one at a time under a mutex (there are a handful, each seconds long).
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "base/vec.h"
#include "store/s3.h"

typedef struct {
    const mr_s3_opts *opts;
    size_t n, next;
    int (*job)(mr_s3 *, size_t, void *);
    void *arg;
    mr_s3_result *res;
    pthread_mutex_t mu;
    int64_t retries;
} pool;

static void *worker(void *p)
{
    pool *pl = p;
    mr_s3 *s = NULL;
    int rc = mr_s3_new(pl->opts, &s);
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        size_t i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->n) break;
        mr_s3_result *r = &pl->res[i];
        double t0 = mr_now();
        r->rc = rc ? rc : pl->job(s, i, pl->arg);
        r->seconds = mr_now() - t0;
        r->err = r->rc ? mr_strdup(mr_errmsg()) : NULL;
    }
    if (s) {
        pthread_mutex_lock(&pl->mu);
        pl->retries += mr_s3_retries(s);
        pthread_mutex_unlock(&pl->mu);
    }
    mr_s3_free(s);
    return NULL;
}

int64_t mr_s3_run_jobs(const mr_s3_opts *o, int threads, size_t n, int (*job)(mr_s3 *s, size_t i, void *arg),
                       void *arg, mr_s3_result *results)
{
    pool pl = {.opts = o, .n = n, .job = job, .arg = arg, .res = results};
    pthread_mutex_init(&pl.mu, NULL);
    size_t nt = threads < 1 ? 1 : (size_t)threads;
    if (nt > n) nt = n;
    pthread_t *th = nt ? mr_calloc(nt, sizeof *th) : NULL;
    size_t started = 0;
    for (size_t t = 0; th && t < nt; t++)
        if (pthread_create(&th[t], NULL, worker, &pl) == 0) started++;
    if (started == 0) worker(&pl); /* no threads to be had: do it all here */
    for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
    free(th);
    pthread_mutex_destroy(&pl.mu);
    return pl.retries;
}
