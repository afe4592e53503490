/* Write-speed driver of bench/parquet.sh: the musrec side of "write".
 *
 * Reads every column of IN.parquet (flat fixed-width columns: the
 * interactions benchmark file) into whole-column arrays with our reader
 * (not timed), then writes them RUNS times to OUT.parquet with our writer
 * in one process, as scripts/oracle/pq_copy_bench.mjs has DuckDB COPY the
 * same table from memory RUNS times. Each run is open + one write of all
 * rows (cut into row groups of the writer's default size) + close; close
 * includes the flush, fsync and rename of the atomic output, which DuckDB
 * does not do, so it is timed on its own as well.
 *
 * Usage: pqwrite IN.parquet OUT.parquet [runs] [snappy|zstd|gzip|none] [threads] [row_group_rows]
 * Prints one JSON line: rows, row_groups, bytes and the median wall, CPU
 * (all threads) and close seconds of the runs, and each run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

static double median(double *v, int n)
{
    double s[64];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return s[n / 2];
}

/* The writer's field for one of IN's columns: what `musrec parquet copy`
 * maps, for the flat fixed-width types the benchmark file has. */
static int field_of(const mr_pq_column_info *ci, mr_pq_field *f, int *width)
{
    memset(f, 0, sizeof *f);
    f->name = ci->name;
    f->nullable = ci->nullable;
    if (ci->list_depth || ci->unsupported) return -1;
    switch (ci->physical) {
    case MR_PQ_INT32:
        *width = 4;
        if (ci->logical == MR_PQ_L_DATE) f->type = MR_PQ_W_DATE;
        else if (ci->logical == MR_PQ_L_NONE || (ci->logical == MR_PQ_L_INT && ci->is_signed)) {
            f->type = MR_PQ_W_I32;
            f->bit_width = ci->logical == MR_PQ_L_INT ? ci->bit_width : 0;
        } else return -1;
        return 0;
    case MR_PQ_INT64:
        *width = 8;
        if (ci->logical == MR_PQ_L_TIMESTAMP && ci->unit == MR_PQ_NANOS) f->type = MR_PQ_W_TS_NS;
        else if (ci->logical == MR_PQ_L_NONE || (ci->logical == MR_PQ_L_INT && ci->is_signed)) f->type = MR_PQ_W_I64;
        else return -1;
        return 0;
    case MR_PQ_FLOAT: *width = 4, f->type = MR_PQ_W_F32; return 0;
    case MR_PQ_DOUBLE: *width = 8, f->type = MR_PQ_W_F64; return 0;
    default: return -1;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s IN.parquet OUT.parquet [runs] [snappy|zstd|gzip|none] [threads] [row_group_rows]\n",
                argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    const char *codec = argc > 4 ? argv[4] : "snappy";
    mr_threads_set(argc > 5 ? atoi(argv[5]) : 2);
    if (runs < 1 || runs > 64) runs = 3;
    mr_pq_reader *r;
    if (mr_pq_open(&r, argv[1])) {
        fprintf(stderr, "pqwrite: %s\n", mr_errmsg());
        return 1;
    }
    int nc = mr_pq_num_columns(r), nrg = mr_pq_num_row_groups(r);
    int64_t n = mr_pq_num_rows(r);
    mr_pq_field *f = calloc((size_t)nc, sizeof *f);
    mr_pq_col *c = calloc((size_t)nc, sizeof *c);
    int *width = calloc((size_t)nc, sizeof *width);
    int64_t *first = calloc((size_t)nrg + 1, sizeof *first);
    if (!f || !c || !width || !first) return 1;
    for (int g = 0; g < nrg; g++) first[g + 1] = first[g] + mr_pq_row_group_rows(r, g);
    for (int i = 0; i < nc; i++) {
        const mr_pq_column_info *ci = mr_pq_column(r, i);
        if (field_of(ci, &f[i], &width[i])) {
            fprintf(stderr, "pqwrite: column '%s' is not a flat fixed-width column the writer takes\n", ci->path);
            return 1;
        }
        c[i].n_rows = c[i].n_slots = n;
        c[i].values = malloc((size_t)(n ? n : 1) * (size_t)width[i]);
        if (!c[i].values) return 1;
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < nrg * nc; t++) {
        int g = t / nc, i = t % nc;
        if (mr_pq_read_into(r, g, i, (uint8_t *)c[i].values + first[g] * width[i], NULL)) {
#pragma omp critical
            if (!failed) {
                failed = 1;
                fprintf(stderr, "pqwrite: %s\n", mr_errmsg());
            }
        }
    }
    if (failed) return 1;
    mr_pq_write_opts o = mr_pq_write_opts_default();
    o.codec = !strcmp(codec, "zstd")   ? MR_PQ_ZSTD
              : !strcmp(codec, "gzip") ? MR_PQ_GZIP
              : !strcmp(codec, "none") ? MR_PQ_UNCOMPRESSED
                                       : MR_PQ_SNAPPY;
    if (argc > 6 && atoll(argv[6]) > 0) o.row_group_rows = atoll(argv[6]);
    double t[64], tc[64], tclose[64];
    for (int k = 0; k < runs; k++) {
        double t0 = now(), c0 = cpu();
        mr_pq_writer *w;
        if (mr_pq_writer_open(&w, argv[2], f, nc, &o) || mr_pq_writer_write(w, c)) {
            fprintf(stderr, "pqwrite: %s\n", mr_errmsg());
            return 1;
        }
        double t1 = now();
        if (mr_pq_writer_close(w)) {
            fprintf(stderr, "pqwrite: %s\n", mr_errmsg());
            return 1;
        }
        t[k] = now() - t0;
        tc[k] = cpu() - c0;
        tclose[k] = now() - t1;
    }
    struct stat st;
    stat(argv[2], &st);
    mr_pq_reader *rw;
    int out_rg = 0;
    if (mr_pq_open(&rw, argv[2]) == 0) {
        out_rg = mr_pq_num_row_groups(rw);
        mr_pq_close(rw);
    }
    printf("{\"rows\":%" PRId64 ",\"row_groups\":%d,\"bytes\":%lld,\"median_seconds\":%.6f,\"median_cpu_seconds\":%.6f,"
           "\"median_close_seconds\":%.6f,\"runs\":[",
           n, out_rg, (long long)st.st_size, median(t, runs), median(tc, runs), median(tclose, runs));
    for (int k = 0; k < runs; k++)
        printf("%s{\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"close_seconds\":%.6f}", k ? "," : "", t[k], tc[k], tclose[k]);
    printf("]}\n");
    for (int i = 0; i < nc; i++) free(c[i].values);
    free(f), free(c), free(width), free(first);
    mr_pq_close(r);
    return 0;
}
