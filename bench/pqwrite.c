/* Write-speed benchmark of the parquet writer: N rows in the interactions
 * schema (user_id INT32, track_id INT32, track_seq INT16, started_at
 * TIMESTAMP(ns)), generated in memory (not timed) by the same formulas
 * bench/pqwrite.sh gives DuckDB, then written RUNS times; prints the median
 * wall and CPU seconds. Usage: pqwrite OUT.parquet [rows] [runs] [codec] [threads]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/err.h"
#include "base/threads.h"
#include "parquet/parquet.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.parquet [rows] [runs] [snappy|zstd|gzip|none] [threads]\n",
                argv[0]);
        return 2;
    }
    int64_t n = argc > 2 ? atoll(argv[2]) : 20000000;
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    const char *codec = argc > 4 ? argv[4] : "snappy";
    mr_threads_set(argc > 5 ? atoi(argv[5]) : 2);
    int32_t *user = malloc((size_t)n * 4), *track = malloc((size_t)n * 4),
            *seq = malloc((size_t)n * 4);
    int64_t *ts = malloc((size_t)n * 8);
    if (!user || !track || !seq || !ts) return 1;
    /* keep in step with the SQL in bench/pqwrite.sh */
    for (int64_t i = 0; i < n; i++) {
        user[i] = (int32_t)(i / 160);
        track[i] = (int32_t)((i * 2654435761LL) % 1000003);
        seq[i] = (int32_t)(i % 160);
        ts[i] = 1600000000000000000LL + i * 1000000007LL;
    }
    mr_pq_field f[4] = {{.name = "user_id", .type = MR_PQ_W_I32},
                        {.name = "track_id", .type = MR_PQ_W_I32},
                        {.name = "track_seq", .type = MR_PQ_W_I32, .bit_width = 16},
                        {.name = "started_at", .type = MR_PQ_W_TS_NS}};
    mr_pq_col c[4] = {{.n_rows = n, .values = user},
                      {.n_rows = n, .values = track},
                      {.n_rows = n, .values = seq},
                      {.n_rows = n, .values = ts}};
    mr_pq_write_opts o = mr_pq_write_opts_default();
    o.codec = !strcmp(codec, "zstd")   ? MR_PQ_ZSTD
              : !strcmp(codec, "gzip") ? MR_PQ_GZIP
              : !strcmp(codec, "none") ? MR_PQ_UNCOMPRESSED
                                       : MR_PQ_SNAPPY;
    double t[16], tc[16];
    if (runs > 16) runs = 16;
    for (int r = 0; r < runs; r++) {
        double t0 = now(), c0 = cpu();
        mr_pq_writer *w;
        if (mr_pq_writer_open(&w, argv[1], f, 4, &o) || mr_pq_writer_write(w, c) ||
            mr_pq_writer_close(w)) {
            fprintf(stderr, "pqwrite: %s\n", mr_errmsg());
            return 1;
        }
        t[r] = now() - t0;
        tc[r] = cpu() - c0;
        fprintf(stderr, "run %d: %.3f s wall, %.3f s cpu\n", r + 1, t[r], cpu() - c0);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    qsort(tc, (size_t)runs, sizeof *tc, cmp_double);
    printf("%.3f %.3f\n", t[runs / 2], tc[runs / 2]); /* medians: wall, cpu */
    free(user), free(track), free(seq), free(ts);
    return 0;
}
