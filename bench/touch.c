/* The floor under the first read into arrays, for bench/parquet.sh: the
 * seconds a fresh process takes to fault in BYTES of memory laid out as
 * `musrec parquet scan` lays out its arrays (2 MiB aligned, advised for
 * huge pages, touched by THREADS threads), decoding nothing. On a machine
 * that backs guest memory lazily this is most of a first read; on others
 * it is a few percent.
 *
 * Usage: touch BYTES [threads]    prints {"bytes":..,"seconds":..}
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: touch BYTES [threads]\n");
        return 2;
    }
    size_t bytes = strtoull(argv[1], NULL, 10), align = (size_t)2 << 20;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    size_t len = (bytes + align - 1) / align * align;
    char *p = NULL;
    if (posix_memalign((void **)&p, align, len ? len : align)) {
        fprintf(stderr, "touch: out of memory for %zu bytes\n", bytes);
        return 1;
    }
    madvise(p, len, MADV_HUGEPAGE);
    double t0 = now();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < len; i += 4096) p[i] = 1;
    printf("{\"bytes\":%zu,\"seconds\":%.6f}\n", bytes, now() - t0);
    free(p);
    return 0;
}
