#define _GNU_SOURCE
/* Unit tests for src/store/npy.c: .npy round trips and byte layout, .npz
 * round trips (plain and forced ZIP64), non-canonical input, corrupt and
 * truncated archives, and the transpose against a naive one. scipy itself
 * is the oracle in tests/e2e/npz_scipy.sh. */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/fs.h"
#include "mr_test.h"
#include "store/npy.h"

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random CSR with sorted unique columns per row; some rows empty. */
static int random_csr(mr_csr *m, int64_t rows, int64_t cols, double density, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->n_rows = rows;
    m->n_cols = cols;
    m->indptr = calloc((size_t)rows + 1, 8);
    size_t cap = (size_t)(rows * cols * density) + 16;
    m->indices = malloc(cap * 4);
    m->data = malloc(cap * 4);
    if (!m->indptr || !m->indices || !m->data) return -1;
    int64_t k = 0;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++)
            if ((double)(rng_next(&seed) % 1000000) / 1e6 < density) {
                if ((size_t)k == cap) {
                    cap *= 2;
                    m->indices = realloc(m->indices, cap * 4);
                    m->data = realloc(m->data, cap * 4);
                }
                m->indices[k] = (int32_t)c;
                m->data[k] = (float)(rng_next(&seed) % 1000) / 8.0f;
                k++;
            }
        m->indptr[r + 1] = k;
    }
    m->nnz = k;
    return 0;
}

static int csr_equal(const mr_csr *a, const mr_csr *b)
{
    if (a->n_rows != b->n_rows || a->n_cols != b->n_cols || a->nnz != b->nnz) return 0;
    if (memcmp(a->indptr, b->indptr, (size_t)(a->n_rows + 1) * 8)) return 0;
    if (a->nnz && memcmp(a->indices, b->indices, (size_t)a->nnz * 4)) return 0;
    if (a->nnz && memcmp(a->data, b->data, (size_t)a->nnz * 4)) return 0;
    return 1;
}

TEST(npy_f32_roundtrip_and_header)
{
    char *path = mr_path_join(mr_test_tmpdir(), "f.npy");
    float v[6] = {1, 2.5f, -3, 4, 5, 6e10f};
    REQUIRE_OK(mr_npy_write_f32(path, v, 2, 3));
    char *bytes;
    size_t n;
    REQUIRE_OK(mr_read_file(path, &bytes, &n));
    /* numpy 1.0 header: magic, version, length; data 64-byte aligned */
    CHECK(memcmp(bytes, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = (unsigned char)bytes[8] | (size_t)(unsigned char)bytes[9] << 8;
    CHECK_INT((10 + hlen) % 64, 0);
    CHECK_INT(n, 10 + hlen + sizeof v);
    CHECK(strstr(bytes + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") == bytes + 10);
    CHECK(bytes[10 + hlen - 1] == '\n');
    free(bytes);
    float *r;
    int64_t rows, cols;
    REQUIRE_OK(mr_npy_read_f32(path, &r, &rows, &cols));
    CHECK_INT(rows, 2);
    CHECK_INT(cols, 3);
    CHECK(memcmp(r, v, sizeof v) == 0);
    free(r);
    /* 0 x 5 is a valid array */
    REQUIRE_OK(mr_npy_write_f32(path, v, 0, 5));
    REQUIRE_OK(mr_npy_read_f32(path, &r, &rows, &cols));
    CHECK_INT(rows, 0);
    CHECK_INT(cols, 5);
    free(r);
    free(path);
}

/* A hand-written version 2.0, Fortran-order float64 array reads as
 * row-major float32. */
TEST(npy_read_fortran_f8_v2)
{
    char *path = mr_path_join(mr_test_tmpdir(), "f8.npy");
    const char *dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
    unsigned char buf[256];
    size_t hl = 128 - 12;
    memcpy(buf, "\x93NUMPY\x02\x00", 8);
    buf[8] = (unsigned char)hl;
    buf[9] = buf[10] = buf[11] = 0;
    memset(buf + 12, ' ', hl);
    memcpy(buf + 12, dict, strlen(dict));
    buf[12 + hl - 1] = '\n';
    /* column-major [[1,2,3],[4,5,6]] = 1 4 2 5 3 6 */
    double col[6] = {1, 4, 2, 5, 3, 6};
    memcpy(buf + 128, col, sizeof col);
    REQUIRE_OK(mr_write_file_atomic(path, buf, 128 + sizeof col));
    float *r;
    int64_t rows, cols;
    REQUIRE_OK(mr_npy_read_f32(path, &r, &rows, &cols));
    CHECK_INT(rows, 2);
    CHECK_INT(cols, 3);
    for (int i = 0; i < 6; i++) CHECK_NEAR(r[i], i + 1, 0);
    free(r);
    /* big-endian is refused with a clear message */
    memcpy(buf + 12, "{'descr': '>f8'", 15);
    REQUIRE_OK(mr_write_file_atomic(path, buf, 128 + sizeof col));
    CHECK_ERR(mr_npy_read_f32(path, &r, &rows, &cols), "little-endian");
    /* truncated data */
    memcpy(buf + 12, "{'descr': '<f8'", 15);
    REQUIRE_OK(mr_write_file_atomic(path, buf, 128 + 20));
    CHECK_ERR(mr_npy_read_f32(path, &r, &rows, &cols), "shorter");
    CHECK_ERR(mr_npy_read_f32("/nonexistent/x.npy", &r, &rows, &cols), "/nonexistent/x.npy");
    free(path);
}

TEST(npz_roundtrip)
{
    char *path = mr_path_join(mr_test_tmpdir(), "m.npz");
    int64_t shapes[][2] = {{0, 0}, {1, 1}, {5, 0}, {37, 91}, {300, 200}};
    for (int force = 0; force < 2; force++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            mr_csr a, b;
            REQUIRE(random_csr(&a, shapes[s][0], shapes[s][1], 0.07, 11 + s) == 0);
            REQUIRE_OK(mr_npz_write_csr_opts(path, &a, force));
            REQUIRE_OK(mr_npz_read_csr(path, &b));
            if (!csr_equal(&a, &b))
                mr_test_fail(__FILE__, __LINE__, "round trip differs for %lld x %lld force64=%d",
                             (long long)shapes[s][0], (long long)shapes[s][1], force);
            mr_csr_free(&a);
            mr_csr_free(&b);
        }
    free(path);
}

/* Rows out of order and duplicate columns are sorted and summed on read. */
TEST(npz_read_canonicalizes)
{
    char *path = mr_path_join(mr_test_tmpdir(), "u.npz");
    int64_t indptr[] = {0, 3, 3, 6};
    int32_t indices[] = {4, 1, 2, 0, 0, 3};
    float data[] = {1, 2, 3, 4, 5, 6};
    mr_csr a = {3, 5, 6, indptr, indices, data};
    REQUIRE_OK(mr_npz_write_csr(path, &a));
    mr_csr b;
    REQUIRE_OK(mr_npz_read_csr(path, &b));
    CHECK_INT(b.nnz, 5);
    int64_t want_ptr[] = {0, 3, 3, 5};
    int32_t want_idx[] = {1, 2, 4, 0, 3};
    float want_val[] = {2, 3, 1, 9, 6};
    CHECK(memcmp(b.indptr, want_ptr, sizeof want_ptr) == 0);
    CHECK(memcmp(b.indices, want_idx, sizeof want_idx) == 0);
    CHECK(memcmp(b.data, want_val, sizeof want_val) == 0);
    mr_csr_free(&b);
    free(path);
}

TEST(npz_writer_rejects_bad_csr)
{
    char *path = mr_path_join(mr_test_tmpdir(), "bad.npz");
    int64_t indptr[] = {0, 2, 1};
    int32_t indices[] = {0, 1};
    float data[] = {1, 2};
    mr_csr a = {2, 2, 2, indptr, indices, data};
    indptr[2] = 2;
    indices[1] = 7;
    CHECK_ERR(mr_npz_write_csr(path, &a), "column index");
    indices[1] = 1;
    indptr[1] = 3;
    CHECK_ERR(mr_npz_write_csr(path, &a), "decreases");
    CHECK(!mr_file_exists(path));
    free(path);
}

TEST(npz_corrupt_inputs)
{
    char *path = mr_path_join(mr_test_tmpdir(), "c.npz");
    mr_csr a, b;
    REQUIRE(random_csr(&a, 50, 40, 0.2, 3) == 0);
    REQUIRE_OK(mr_npz_write_csr(path, &a));
    char *bytes;
    size_t n;
    REQUIRE_OK(mr_read_file(path, &bytes, &n));
    /* a flipped byte inside data.npy's values: CRC mismatch */
    char *bad = mr_path_join(mr_test_tmpdir(), "flip.npz");
    char *copy = malloc(n);
    memcpy(copy, bytes, n);
    char *d = memmem(copy, n, "data.npy", 8); /* first hit: the local header */
    REQUIRE(d != NULL);
    d[30 + 128 + 5] ^= 0x40;
    REQUIRE_OK(mr_write_file_atomic(bad, copy, n));
    CHECK_ERR(mr_npz_read_csr(bad, &b), "CRC");
    /* truncated archive: no end record */
    REQUIRE_OK(mr_write_file_atomic(bad, bytes, n / 2));
    CHECK_ERR(mr_npz_read_csr(bad, &b), bad);
    /* not a zip at all */
    REQUIRE_OK(mr_write_file_atomic(bad, "hello", 5));
    CHECK_ERR(mr_npz_read_csr(bad, &b), "not a valid .npz");
    /* a missing member: rename indptr.npy in the central directory */
    memcpy(copy, bytes, n);
    char *cd = NULL;
    for (char *p = copy; (p = memmem(p, n - (size_t)(p - copy), "indptr.npy", 10)); p++) cd = p;
    REQUIRE(cd != NULL);
    cd[0] = 'X';
    REQUIRE_OK(mr_write_file_atomic(bad, copy, n));
    CHECK_ERR(mr_npz_read_csr(bad, &b), "indptr.npy is missing");
    CHECK_ERR(mr_npz_read_csr("/nonexistent/m.npz", &b), "/nonexistent/m.npz");
    free(copy);
    free(bytes);
    free(bad);
    mr_csr_free(&a);
    free(path);
}

/* Only the structure: indptr and indices as a full read gives them
 * (canonicalized: sorted, duplicates merged), data NULL, and the values'
 * bytes are not read (a flipped byte there goes unnoticed, by design). */
TEST(npz_pattern_read)
{
    char *path = mr_path_join(mr_test_tmpdir(), "p.npz");
    int64_t indptr[] = {0, 3, 3, 6};
    int32_t indices[] = {4, 1, 2, 0, 0, 3};
    float data[] = {1, 2, 3, 4, 5, 6};
    mr_csr a = {3, 5, 6, indptr, indices, data};
    REQUIRE_OK(mr_npz_write_csr(path, &a));
    mr_csr b;
    REQUIRE_OK(mr_npz_read_csr_opts(path, &b, MR_NPZ_PATTERN));
    CHECK(b.data == NULL);
    CHECK_INT(b.n_rows, 3);
    CHECK_INT(b.n_cols, 5);
    CHECK_INT(b.nnz, 5);
    int64_t want_ptr[] = {0, 3, 3, 5};
    int32_t want_idx[] = {1, 2, 4, 0, 3};
    CHECK(memcmp(b.indptr, want_ptr, sizeof want_ptr) == 0);
    CHECK(memcmp(b.indices, want_idx, sizeof want_idx) == 0);
    mr_csr t;
    REQUIRE_OK(mr_csr_transpose(&b, &t)); /* a pattern's transpose is a pattern */
    CHECK(t.data == NULL);
    int64_t want_tptr[] = {0, 1, 2, 3, 4, 5};
    int32_t want_tidx[] = {2, 0, 0, 2, 0};
    CHECK(memcmp(t.indptr, want_tptr, sizeof want_tptr) == 0);
    CHECK(memcmp(t.indices, want_tidx, sizeof want_tidx) == 0);
    mr_csr_free(&t);
    mr_csr_free(&b);

    mr_csr r, full;
    REQUIRE(random_csr(&r, 300, 200, 0.1, 21) == 0);
    REQUIRE_OK(mr_npz_write_csr(path, &r));
    REQUIRE_OK(mr_npz_read_csr_opts(path, &b, MR_NPZ_PATTERN));
    REQUIRE_OK(mr_npz_read_csr(path, &full));
    CHECK_INT(b.nnz, full.nnz);
    CHECK(memcmp(b.indptr, full.indptr, 8 * 301) == 0);
    CHECK(memcmp(b.indices, full.indices, 4 * (size_t)full.nnz) == 0);
    mr_csr_free(&b);
    char *bytes;
    size_t n;
    REQUIRE_OK(mr_read_file(path, &bytes, &n));
    char *d = memmem(bytes, n, "data.npy", 8);
    REQUIRE(d != NULL);
    d[30 + 128 + 5] ^= 0x40;
    REQUIRE_OK(mr_write_file_atomic(path, bytes, n));
    CHECK_ERR(mr_npz_read_csr(path, &b), "CRC");
    REQUIRE_OK(mr_npz_read_csr_opts(path, &b, MR_NPZ_PATTERN));
    CHECK(memcmp(b.indices, full.indices, 4 * (size_t)full.nnz) == 0);
    mr_csr_free(&b);
    /* but the structure's bytes are still checked */
    d = memmem(bytes, n, "indices.npy", 11);
    REQUIRE(d != NULL);
    d[30 + 128 + 5] ^= 0x40;
    REQUIRE_OK(mr_write_file_atomic(path, bytes, n));
    CHECK_ERR(mr_npz_read_csr_opts(path, &b, MR_NPZ_PATTERN), "CRC");
    /* and data.npy must still be there */
    memcpy(d, "Xndices.npy", 11);
    char *cd = NULL;
    for (char *p = bytes; (p = memmem(p, n - (size_t)(p - bytes), "data.npy", 8)); p++) cd = p;
    REQUIRE(cd != NULL);
    cd[0] = 'X';
    REQUIRE_OK(mr_write_file_atomic(path, bytes, n));
    CHECK_ERR(mr_npz_read_csr_opts(path, &b, MR_NPZ_PATTERN), "data.npy is missing");
    free(bytes);
    mr_csr_free(&r);
    mr_csr_free(&full);
    free(path);
}

/* Members above the parallel read threshold (8 MiB): read in slices by
 * several threads with their CRCs combined; the result and the CRC check
 * must not depend on the thread count, and a flipped byte in any slice is
 * caught. */
TEST(npz_large_members)
{
    int saved = omp_get_max_threads();
    char *path = mr_path_join(mr_test_tmpdir(), "big.npz");
    mr_csr a, b;
    REQUIRE(random_csr(&a, 1500, 5000, 0.45, 77) == 0); /* ~3.4M entries: indices and data ~13 MB each */
    REQUIRE(a.nnz * 4 > (16 << 20) / 2);
    REQUIRE_OK(mr_npz_write_csr(path, &a));
    for (int threads = 1; threads <= 4; threads *= 2) {
        omp_set_num_threads(threads);
        REQUIRE_OK(mr_npz_read_csr(path, &b));
        CHECK(csr_equal(&a, &b));
        mr_csr_free(&b);
        REQUIRE_OK(mr_npz_read_csr_opts(path, &b, MR_NPZ_PATTERN));
        CHECK(b.nnz == a.nnz && memcmp(b.indices, a.indices, 4 * (size_t)a.nnz) == 0);
        mr_csr_free(&b);
    }
    omp_set_num_threads(saved);
    char *bytes;
    size_t n;
    REQUIRE_OK(mr_read_file(path, &bytes, &n));
    char *d = memmem(bytes, n, "data.npy", 8);
    REQUIRE(d != NULL);
    size_t data_at = (size_t)(d - bytes) + 8 + 128; /* past the local header's name and the npy header */
    size_t spots[] = {data_at + 1, data_at + (5u << 20) + 3, data_at + 4 * (size_t)a.nnz - 1};
    for (size_t k = 0; k < 3; k++) {
        bytes[spots[k]] ^= 0x01;
        REQUIRE_OK(mr_write_file_atomic(path, bytes, n));
        CHECK_ERR(mr_npz_read_csr(path, &b), "CRC");
        bytes[spots[k]] ^= 0x01;
    }
    free(bytes);
    mr_csr_free(&a);
    free(path);
}

static void naive_transpose_check(const mr_csr *a, const mr_csr *t)
{
    CHECK_INT(t->n_rows, a->n_cols);
    CHECK_INT(t->n_cols, a->n_rows);
    CHECK_INT(t->nnz, a->nnz);
    /* dense comparison */
    float *da = calloc((size_t)(a->n_rows * a->n_cols) + 1, 4);
    float *dt = calloc((size_t)(a->n_rows * a->n_cols) + 1, 4);
    for (int64_t r = 0; r < a->n_rows; r++)
        for (int64_t k = a->indptr[r]; k < a->indptr[r + 1]; k++) da[r * a->n_cols + a->indices[k]] = a->data[k];
    for (int64_t r = 0; r < t->n_rows; r++) {
        for (int64_t k = t->indptr[r]; k < t->indptr[r + 1]; k++) {
            dt[t->indices[k] * a->n_cols + r] = t->data[k];
            if (k > t->indptr[r] && t->indices[k] <= t->indices[k - 1])
                mr_test_fail(__FILE__, __LINE__, "transpose row %lld not sorted", (long long)r);
        }
    }
    CHECK(memcmp(da, dt, (size_t)(a->n_rows * a->n_cols) * 4) == 0);
    free(da);
    free(dt);
}

/* Transposes a (then frees it), checks the transpose with `check` and that
 * transposing back gives a again. */
static void transpose_twice(mr_csr *a, void (*check)(const mr_csr *, const mr_csr *))
{
    mr_csr t, tt;
    REQUIRE_OK(mr_csr_transpose(a, &t));
    check(a, &t);
    REQUIRE_OK(mr_csr_transpose(&t, &tt));
    CHECK(csr_equal(a, &tt));
    mr_csr_free(a);
    mr_csr_free(&t);
    mr_csr_free(&tt);
}

TEST(csr_transpose)
{
    int saved = omp_get_max_threads();
    int64_t shapes[][2] = {{0, 0}, {0, 4}, {4, 0}, {1, 1}, {200, 3}, {3, 200}, {257, 311}};
    for (int threads = 1; threads <= 4; threads *= 2) {
        omp_set_num_threads(threads);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            mr_csr a;
            REQUIRE(random_csr(&a, shapes[s][0], shapes[s][1], 0.1, 5 + s) == 0);
            transpose_twice(&a, naive_transpose_check);
        }
    }
    omp_set_num_threads(saved);
}

/* The transpose against sorted (column, row) triplets, for shapes too large
 * for the dense check: several column buckets of uneven fill (a few heavy
 * columns, as popular tracks make), a column count not a multiple of the
 * bucket width, and a matrix with so many rows (2^22 + 5) and columns that a
 * row and a column offset do not fit together in 31 bits, which takes the
 * one-pass path. */
typedef struct {
    int32_t col, row;
    float v;
} trip;

static int trip_cmp(const void *a, const void *b)
{
    const trip *x = a, *y = b;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static void sparse_transpose_check(const mr_csr *a, const mr_csr *t)
{
    CHECK_INT(t->n_rows, a->n_cols);
    CHECK_INT(t->n_cols, a->n_rows);
    CHECK_INT(t->nnz, a->nnz);
    trip *tr = malloc(sizeof *tr * (size_t)(a->nnz + 1));
    for (int64_t r = 0; r < a->n_rows; r++)
        for (int64_t k = a->indptr[r]; k < a->indptr[r + 1]; k++)
            tr[k] = (trip){a->indices[k], (int32_t)r, a->data[k]};
    qsort(tr, (size_t)a->nnz, sizeof *tr, trip_cmp);
    int64_t bad = -1;
    CHECK_INT(t->indptr[0], 0);
    for (int64_t c = 0, k = 0; c < t->n_rows && bad < 0; c++) {
        if (t->indptr[c + 1] < t->indptr[c]) bad = c;
        for (; k < t->indptr[c + 1] && bad < 0; k++)
            if (tr[k].col != c || tr[k].row != t->indices[k] || tr[k].v != t->data[k]) bad = k;
    }
    if (bad >= 0) mr_test_fail(__FILE__, __LINE__, "transpose differs from the sorted triplets at %lld", (long long)bad);
    free(tr);
}

static int skewed_csr(mr_csr *m, int64_t rows, int64_t cols, int64_t per_row, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->n_rows = rows;
    m->n_cols = cols;
    m->indptr = calloc((size_t)rows + 1, 8);
    m->indices = malloc((size_t)(rows * per_row + 1) * 4);
    m->data = malloc((size_t)(rows * per_row + 1) * 4);
    if (!m->indptr || !m->indices || !m->data) return -1;
    int64_t k = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t n = (int64_t)(rng_next(&seed) % (uint64_t)(per_row + 1)), c = -1;
        for (int64_t i = 0; i < n; i++) {
            /* half the entries in the first 1% of columns */
            uint64_t x = rng_next(&seed);
            int64_t step = 1 + (int64_t)(x % (x & 1 ? (uint64_t)(cols / 100 + 1) : (uint64_t)(2 * cols / (per_row + 1) + 1)));
            if (c + step >= cols) break;
            c += step;
            m->indices[k] = (int32_t)c;
            m->data[k++] = (float)(rng_next(&seed) % 997);
        }
        m->indptr[r + 1] = k;
    }
    m->nnz = k;
    return 0;
}

TEST(csr_transpose_large)
{
    int saved = omp_get_max_threads();
    struct {
        int64_t rows, cols, per_row;
    } shapes[] = {{20000, 3001, 40}, {3000, 70001, 60}, {(1 << 22) + 5, 600000, 1}};
    for (int threads = 1; threads <= 4; threads *= 2) {
        omp_set_num_threads(threads);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            mr_csr a;
            REQUIRE(skewed_csr(&a, shapes[s].rows, shapes[s].cols, shapes[s].per_row, 31 + s) == 0);
            REQUIRE(a.nnz > 50000);
            transpose_twice(&a, sparse_transpose_check);
        }
    }
    omp_set_num_threads(saved);
}
