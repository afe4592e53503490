/* bench/eval.sh's case: the metrics of 1M users with lists of 100 at
 * K = 5, 10, 50, 100 over a 1M-item catalog, timed in-process (the case is
 * synthesised here; generating it is not timed). Prints one JSON line per
 * run: {"threads":..,"users":..,"seconds":..}.
 * Also writes the case as flat binary files when given a directory, so the
 * numpy peer in bench/eval.sh can time the same work. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "eval/metrics.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void dump(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    const char *dump_dir = argc > 3 ? argv[3] : NULL;
    const int32_t n_items = 1000000, len = 100;
    int64_t *roff = malloc(((size_t)n + 1) * sizeof *roff), *loff = malloc(((size_t)n + 1) * sizeof *loff);
    int32_t *rel = malloc((size_t)n * 40 * sizeof *rel), *rec = malloc((size_t)n * len * sizeof *rec);
    int64_t *listeners = malloc((size_t)n_items * sizeof *listeners);
    if (!roff || !loff || !rel || !rec || !listeners) return 1;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int32_t i = 0; i < n_items; i++) listeners[i] = (int64_t)(100000.0 / (1.0 + i));
    roff[0] = loff[0] = 0;
    for (int64_t u = 0; u < n; u++) {
        /* list: 100 distinct items with a skew to the popular head */
        int32_t base = (int32_t)(rng(&s) % 5000), stride = 1 + 2 * (int32_t)(rng(&s) % 97);
        for (int j = 0; j < len; j++) rec[u * len + j] = (base + j * stride) % n_items;
        loff[u + 1] = (u + 1) * len;
        /* relevant: 1..40 sorted distinct items, some of them in the list */
        int nr = 1 + (int)(rng(&s) % 40);
        int32_t x = (int32_t)(rng(&s) % 200);
        int64_t r0 = roff[u];
        for (int j = 0; j < nr; j++) {
            rel[r0 + j] = x;
            x += 1 + (int32_t)(rng(&s) % 400);
            if (x >= n_items) break;
        }
        roff[u + 1] = r0 + nr;
    }
    if (dump_dir) {
        dump(dump_dir, "roff.bin", roff, ((size_t)n + 1) * sizeof *roff);
        dump(dump_dir, "rel.bin", rel, (size_t)roff[n] * sizeof *rel);
        dump(dump_dir, "rec.bin", rec, (size_t)n * len * sizeof *rec);
        dump(dump_dir, "listeners.bin", listeners, (size_t)n_items * sizeof *listeners);
    }
    mr_metrics_input in = {.n_users = n, .n_items = n_items, .listeners = listeners, .train_users = 1000000};
    in.rel = (mr_lists){rel, roff, NULL};
    in.rec = (mr_lists){rec, loff, NULL};
    int32_t ks[] = {5, 10, 50, 100};
    mr_metrics m[4];
    for (int r = 0; r < runs; r++) {
        double t = mr_now();
        if (mr_metrics_compute(&in, ks, 4, m)) {
            fprintf(stderr, "%s\n", mr_errmsg());
            return 1;
        }
        t = mr_now() - t;
        printf("{\"threads\": %d, \"users\": %lld, \"seconds\": %.4f, \"ndcg@10\": %.9f, \"map@100\": %.9f}\n",
               omp_get_max_threads(), (long long)n, t, m[1].ndcg, m[3].map);
    }
    free(roff), free(loff), free(rel), free(rec), free(listeners);
    return 0;
}
