/* numpy .npy arrays and scipy .npz sparse matrices.
 *
 * .npy: version 1.0 header, little-endian, C order; numpy.load reads them.
 * .npz: a zip archive of .npy members as scipy.sparse.save_npz writes it
 * (indices, indptr, format = 'csr', shape, data). The writer stores members
 * uncompressed (ZIP64 when large) so reading can map them; the reader also
 * accepts deflated members and int32/int64 index arrays, float32/float64
 * data, as scipy writes them. All writes are atomic (base/fs.h).
 */
#ifndef MR_NPY_H
#define MR_NPY_H

#include <stddef.h>
#include <stdint.h>

/* A CSR matrix: row r has entries indptr[r] .. indptr[r+1) with column
 * indices[] (sorted within a row, no duplicates) and values data[]. */
typedef struct {
    int64_t n_rows, n_cols, nnz;
    int64_t *indptr;   /* n_rows + 1 */
    int32_t *indices;  /* nnz */
    float *data;       /* nnz; NULL for a pattern (MR_NPZ_PATTERN) */
} mr_csr;

void mr_csr_free(mr_csr *m);
/* The transpose (items x users), also with sorted rows; of a pattern, a
 * pattern. */
int mr_csr_transpose(const mr_csr *m, mr_csr *t);

int mr_npz_write_csr(const char *path, const mr_csr *m);
/* Same, with ZIP64 records on every member and at the end even when nothing
 * needs them (numpy's force_zip64); for tests of the >4 GB layout. */
int mr_npz_write_csr_opts(const char *path, const mr_csr *m, int force_zip64);
int mr_npz_read_csr(const char *path, mr_csr *m);
/* Flags of mr_npz_read_csr_opts. MR_NPZ_PATTERN: only the structure (which
 * entries exist): data.npy must be there with a float dtype and at least nnz
 * entries, but its values are not read (nor their CRC checked) and m->data
 * is NULL. For a reader that needs no values (the service's "already
 * heard" filter): half the bytes of a train matrix. Duplicate entries are
 * merged as usual. */
enum { MR_NPZ_PATTERN = 1 };
int mr_npz_read_csr_opts(const char *path, mr_csr *m, int flags);

/* 2-D float32 array rows x cols. */
int mr_npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols);
int mr_npy_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols);

#endif
