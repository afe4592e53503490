/* `musrec npz`: look inside and build scipy .npz sparse matrices.
 *
 *   musrec npz info FILE              shape and nnz as one JSON line
 *   musrec npz dump FILE              "rows cols" then one "row col value" line per entry
 *   musrec npz from-text IN OUT       the dump format back to .npz (entries in
 *                                     any order; duplicates are summed)
 *   musrec npz transpose IN OUT
 *   musrec npz npy-dump FILE          a 2-D float .npy: "rows cols", then one row per line
 *   musrec npz npy-from-text IN OUT   that format back to a float32 .npy
 * A debugging aid for the interaction matrices, and the way the end-to-end
 * tests hand matrices between scipy and our reader and writer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cli/cli.h"
#include "store/npy.h"

/* Reads "R C" then triplets into a CSR (rows sorted, duplicates summed). */
static int read_text(const char *path, mr_csr *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) return mr_err(MR_ENOTFOUND, "cannot open %s", path);
    long long R, C;
    int rc = 0;
    if (fscanf(f, "%lld %lld", &R, &C) != 2 || R < 0 || C < 0 || C > INT32_MAX || R > INT32_MAX)
        rc = mr_err(MR_EFORMAT, "%s: first line must be 'rows cols'", path);
    size_t cap = 1024, n = 0;
    int64_t *row = NULL;
    int32_t *col = NULL;
    float *val = NULL;
    if (!rc) {
        row = mr_malloc(cap * 8);
        col = mr_malloc(cap * 4);
        val = mr_malloc(cap * 4);
        if (!row || !col || !val) rc = MR_ENOMEM;
    }
    long long r, c;
    float v;
    while (!rc && fscanf(f, "%lld %lld %f", &r, &c, &v) == 3) {
        if (r < 0 || r >= R || c < 0 || c >= C) {
            rc = mr_err(MR_EFORMAT, "%s: entry (%lld, %lld) outside %lld x %lld", path, r, c, R, C);
            break;
        }
        if (n == cap) {
            cap *= 2;
            int64_t *nr = mr_realloc(row, cap * 8);
            if (nr) row = nr;
            int32_t *nc = mr_realloc(col, cap * 4);
            if (nc) col = nc;
            float *nv = mr_realloc(val, cap * 4);
            if (nv) val = nv;
            if (!nr || !nc || !nv) rc = MR_ENOMEM;
            if (rc) break;
        }
        row[n] = r;
        col[n] = (int32_t)c;
        val[n] = v;
        n++;
    }
    if (!rc && !feof(f)) rc = mr_err(MR_EFORMAT, "%s: expected 'row col value' lines", path);
    if (f != stdin) fclose(f);
    if (!rc) {
        /* counting sort by row; rows need not be sorted by column here, the
         * writer stores them as given and the reader canonicalizes, so sort
         * through a transpose twice instead */
        mr_csr a = {R, C, (int64_t)n, mr_calloc((size_t)R + 1, 8), mr_malloc((n ? n : 1) * 4),
                    mr_malloc((n ? n : 1) * 4)};
        if (!a.indptr || !a.indices || !a.data) rc = MR_ENOMEM;
        if (!rc) {
            for (size_t i = 0; i < n; i++) a.indptr[row[i] + 1]++;
            for (int64_t i = 0; i < R; i++) a.indptr[i + 1] += a.indptr[i];
            int64_t *pos = mr_malloc((size_t)(R ? R : 1) * 8);
            if (!pos) rc = MR_ENOMEM;
            else {
                memcpy(pos, a.indptr, (size_t)R * 8);
                for (size_t i = 0; i < n; i++) {
                    int64_t p = pos[row[i]]++;
                    a.indices[p] = col[i];
                    a.data[p] = val[i];
                }
                free(pos);
            }
        }
        if (!rc) {
            /* transposing twice sorts each row by column (stable counting sort) */
            mr_csr t;
            rc = mr_csr_transpose(&a, &t);
            if (!rc) {
                mr_csr_free(&a);
                rc = mr_csr_transpose(&t, &a);
                mr_csr_free(&t);
            }
        }
        if (!rc) {
            /* sum duplicates */
            int64_t w = 0, start = 0;
            for (int64_t i = 0; i < R; i++) {
                int64_t b = a.indptr[i + 1], rs = w;
                for (int64_t k = start; k < b; k++) {
                    if (w > rs && a.indices[w - 1] == a.indices[k]) a.data[w - 1] += a.data[k];
                    else {
                        a.indices[w] = a.indices[k];
                        a.data[w] = a.data[k];
                        w++;
                    }
                }
                start = b;
                a.indptr[i + 1] = w;
            }
            a.nnz = w;
            *m = a;
        } else
            mr_csr_free(&a);
    }
    free(row);
    free(col);
    free(val);
    return rc;
}

static int npy_text(const char *sub, const char *in, const char *out)
{
    float *v = NULL;
    int64_t r = 0, c = 0;
    int rc = 0;
    if (!strcmp(sub, "npy-dump")) {
        rc = mr_npy_read_f32(in, &v, &r, &c);
        if (!rc) {
            printf("%" PRId64 " %" PRId64 "\n", r, c);
            for (int64_t i = 0; i < r; i++)
                for (int64_t j = 0; j < c; j++) printf("%.9g%c", (double)v[i * c + j], j + 1 < c ? ' ' : '\n');
        }
    } else {
        FILE *f = strcmp(in, "-") ? fopen(in, "r") : stdin;
        if (!f) return mr_err(MR_ENOTFOUND, "cannot open %s", in);
        long long R, C;
        if (fscanf(f, "%lld %lld", &R, &C) != 2 || R < 0 || C < 0 || R * C > ((int64_t)1 << 40))
            rc = mr_err(MR_EFORMAT, "%s: first line must be 'rows cols'", in);
        if (!rc && !(v = mr_malloc((size_t)(R * C > 0 ? R * C : 1) * sizeof(float)))) rc = MR_ENOMEM;
        for (int64_t i = 0; !rc && i < R * C; i++)
            if (fscanf(f, "%f", &v[i]) != 1) rc = mr_err(MR_EFORMAT, "%s: expected %lld numbers", in, R * C);
        if (f != stdin) fclose(f);
        if (!rc) rc = mr_npy_write_f32(out, v, R, C);
    }
    free(v);
    return rc;
}

int mr_cmd_npz(mr_ctx *ctx, int argc, char **argv)
{
    int zip64 = 0;
    const mr_arg args[] = {
        {"zip64", MR_ARG_FLAG, &zip64, NULL, "0", "write ZIP64 records even when not needed (from-text, transpose)"},
        {0},
    };
    char **pos;
    int np;
    int rc = mr_args_parse(ctx, "npz", "info|dump FILE | from-text|transpose IN OUT",
                           "Inspects and builds scipy .npz sparse matrices (CSR, float32).\n"
                           "  info FILE           shape and nnz as JSON\n"
                           "  dump FILE           'rows cols', then 'row col value' per entry\n"
                           "  from-text IN OUT    the dump format (any order; duplicates summed) to .npz\n"
                           "  transpose IN OUT    writes the transpose\n"
                           "  npy-dump FILE       a 2-D float .npy: 'rows cols', then one row per line\n"
                           "  npy-from-text IN OUT  that format back to a float32 .npy",
                           args, argc, argv, &pos, &np);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    const char *sub = np > 0 ? pos[0] : "";
    int want = !strcmp(sub, "info") || !strcmp(sub, "dump") || !strcmp(sub, "npy-dump") ? 2
             : !strcmp(sub, "from-text") || !strcmp(sub, "transpose") || !strcmp(sub, "npy-from-text") ? 3
                                                                                                      : 0;
    if (!want || np != want) {
        fprintf(stderr, "musrec npz: expected info|dump FILE or from-text|transpose IN OUT (see --help)\n");
        free(pos);
        return 2;
    }
    mr_csr m, t;
    memset(&m, 0, sizeof m);
    memset(&t, 0, sizeof t);
    if (!strcmp(sub, "npy-dump") || !strcmp(sub, "npy-from-text")) {
        rc = npy_text(sub, pos[1], want == 3 ? pos[2] : NULL);
    } else if (!strcmp(sub, "from-text")) {
        rc = read_text(pos[1], &m);
        if (!rc) rc = mr_npz_write_csr_opts(pos[2], &m, zip64);
    } else {
        rc = mr_npz_read_csr(pos[1], &m);
        if (!rc && !strcmp(sub, "info"))
            printf("{\"rows\":%" PRId64 ",\"cols\":%" PRId64 ",\"nnz\":%" PRId64 "}\n", m.n_rows, m.n_cols, m.nnz);
        else if (!rc && !strcmp(sub, "dump")) {
            printf("%" PRId64 " %" PRId64 "\n", m.n_rows, m.n_cols);
            for (int64_t r = 0; r < m.n_rows; r++)
                for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; k++)
                    printf("%" PRId64 " %d %.9g\n", r, m.indices[k], (double)m.data[k]);
        } else if (!rc) {
            rc = mr_csr_transpose(&m, &t);
            if (!rc) rc = mr_npz_write_csr_opts(pos[2], &t, zip64);
        }
    }
    mr_csr_free(&m);
    mr_csr_free(&t);
    free(pos);
    if (rc) {
        fprintf(stderr, "musrec npz: %s\n", mr_errmsg());
        return 1;
    }
    return 0;
}
