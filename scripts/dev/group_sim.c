/* Track grouping on a generated catalog, in memory: a development aid for
 * src/data/groups.c that skips writing and reading the parquet files.
 *
 *   make && cc -O2 -std=gnu11 -fopenmp -Isrc -o build/group_sim scripts/dev/group_sim.c \
 *       build/libmusrec.a $(pkg-config --libs openblas libzstd liblz4 snappy zlib libcurl \
 *       libmicrohttpd libcjson libcrypto) -lxgboost -lm
 *   build/group_sim SCALE [SEED] [BLOCK_STRIDE] [OUT.tsv]
 *
 * Builds the generator's world (the catalog musrec gen writes), counts
 * listens per track from every BLOCK_STRIDE-th block of users (default 10:
 * a sample, so the "most played" choices are close to, not equal to,
 * those of musrec preprocess), groups the tracks and prints the pairwise
 * precision and recall against the generator's truth. With OUT.tsv, writes
 * track_id, predicted group, true group, name, artists, genres, albums for
 * scripts/dev/group_errors.mjs-style analysis in DuckDB. The figures to
 * report come from musrec gen + musrec preprocess, not from this tool. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "data/gen.h"
#include "data/groups.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int64_t row_of(const int64_t *ids, int64_t n, int64_t id)
{
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t m = (lo + hi) / 2;
        if (ids[m] == id) return m;
        if (ids[m] < id) lo = m + 1;
        else hi = m - 1;
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Share of distinct names among all catalog_names rows (real: 0.52). */
static double distinct_name_share(const mr_gen_catalog *c)
{
    uint64_t *h = malloc(sizeof(uint64_t) * (size_t)c->n_names);
    for (int64_t i = 0; i < c->n_names; i++) {
        uint64_t x = 0xcbf29ce484222325ull;
        for (int64_t k = c->name_off[i]; k < c->name_off[i + 1]; k++) x = (x ^ (unsigned char)c->name_bytes[k]) * 0x100000001b3ull;
        h[i] = x;
    }
    qsort(h, (size_t)c->n_names, sizeof *h, cmp_u64);
    int64_t d = 0;
    for (int64_t i = 0; i < c->n_names; i++) d += i == 0 || h[i] != h[i - 1];
    free(h);
    return (double)d / (double)c->n_names;
}

static void put_list(FILE *f, const int64_t *off, const int64_t *v, int64_t i)
{
    fputc('[', f);
    for (int64_t k = off[i]; k < off[i + 1]; k++) fprintf(f, k > off[i] ? ",%lld" : "%lld", (long long)v[k]);
    fputc(']', f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: group_sim SCALE [SEED] [BLOCK_STRIDE] [OUT.tsv]\n");
        return 2;
    }
    double scale = atof(argv[1]);
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    int64_t stride = argc > 3 ? atoll(argv[3]) : 10;
    const char *out = argc > 4 ? argv[4] : NULL;
    double t0 = now();
    mr_gen_world *w;
    if (mr_gen_world_new(&w, scale, seed)) {
        fprintf(stderr, "gen: %s\n", mr_errmsg());
        return 1;
    }
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    int32_t n = c->n_tracks;
    double t1 = now();
    printf("distinct catalog names: %.4f of %lld rows\n", distinct_name_share(c), (long long)c->n_names);
    int64_t *listens = calloc((size_t)n, 8);
    int64_t nb = mr_gen_num_blocks(w);
    if (stride > 0) {
#pragma omp parallel
        {
            mr_gen_events ev = {0};
            int64_t *mine = calloc((size_t)n, 8);
#pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < nb; b += stride) {
                if (mr_gen_block(w, b, &ev)) continue;
                for (int64_t i = 0; i < ev.n; i++) {
                    int64_t r = row_of(c->track_id, n, ev.track_id[i]);
                    if (r >= 0) mine[r]++;
                }
            }
#pragma omp critical
            for (int32_t i = 0; i < n; i++) listens[i] += mine[i];
            free(mine);
            mr_gen_events_free(&ev);
        }
    }
    double t2 = now();
    int64_t first = c->n_names - n;
    int64_t *noff = malloc(sizeof(int64_t) * ((size_t)n + 1));
    for (int32_t i = 0; i <= n; i++) noff[i] = c->name_off[first + i] - c->name_off[first];
    mr_group_input in = {n, noff, c->name_bytes + c->name_off[first], c->artist_off, c->artist_ids,
                         stride > 0 ? listens : NULL};
    int32_t *g = malloc(sizeof(int32_t) * (size_t)n);
    mr_group_stats st;
    /* GROUP_OPTS="performers generic_chance cover_chance[;...]" groups once per set of options
     * (the TSV gets the last); default: MR_GROUP_OPTS_DEFAULT */
    const char *env = getenv("GROUP_OPTS");
    char optbuf[1024];
    snprintf(optbuf, sizeof optbuf, "%s", env ? env : "");
    char *save = NULL, *set = strtok_r(optbuf, ";", &save);
    do {
        mr_group_opts go = MR_GROUP_OPTS_DEFAULT;
        if (set) sscanf(set, "%d %lf %lf", &go.generic_performers, &go.generic_chance, &go.cover_chance);
        double t2b = now();
        if (mr_track_groups(&in, &go, g, &st)) {
            fprintf(stderr, "groups: %s\n", mr_errmsg());
            return 1;
        }
        double t3 = now();
        double p, r;
        int64_t tp, pp, tt;
        mr_group_score(n, g, c->true_group, &p, &r, &tp, &pp, &tt);
        printf("scale %g seed %llu opts {%d, %g, %g}: precision %.4f recall %.4f (tp %lld, predicted %lld, true %lld); "
               "world %.1fs, listens %.1fs (1/%lld blocks), grouping %.2fs\n",
               scale, (unsigned long long)seed, go.generic_performers, go.generic_chance, go.cover_chance, p, r,
               (long long)tp, (long long)pp, (long long)tt, t1 - t0, t2 - t1, (long long)stride, t3 - t2b);
        printf("  groups %d, multi %d, tracks in multi %lld, marked %lld, generic titles %lld, joined by artist "
               "%lld, as cover %lld, by title %lld\n",
               st.n_groups, st.n_multi, (long long)st.tracks_in_multi, (long long)st.with_markers,
               (long long)st.generic_titles, (long long)st.joined_by_artist, (long long)st.joined_as_cover,
               (long long)st.joined_by_title);
    } while (set && (set = strtok_r(NULL, ";", &save)));
    if (out) {
        FILE *f = fopen(out, "w");
        fprintf(f, "track_id\ttrack_group_id\ttrue_group\tlistens\ttrack_name\tartist_ids\tgenre_ids\talbum_ids\n");
        for (int32_t i = 0; i < n; i++) {
            fprintf(f, "%lld\t%d\t%lld\t%lld\t", (long long)c->track_id[i], g[i], (long long)c->true_group[i],
                    (long long)listens[i]);
            for (int64_t k = noff[i]; k < noff[i + 1]; k++) {
                char ch = in.name_bytes[k];
                fputc(ch == '\t' || ch == '\n' ? ' ' : ch, f);
            }
            fputc('\t', f);
            put_list(f, c->artist_off, c->artist_ids, i);
            fputc('\t', f);
            put_list(f, c->genre_off, c->genre_ids, i);
            fputc('\t', f);
            put_list(f, c->album_off, c->album_ids, i);
            fputc('\n', f);
        }
        fclose(f);
    }
    free(g), free(noff), free(listens);
    mr_gen_world_free(w);
    return 0;
}
