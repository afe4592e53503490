/* numpy .npy arrays and scipy .npz sparse matrices, without Python.
 *
 * Writing. An .npz from mr_npz_write_csr is the zip archive that
 * scipy.sparse.save_npz(compressed=False) produces: members indices.npy,
 * indptr.npy, format.npy (0-d '|S3' b'csr', as save_npz stores
 * matrix.format.encode('ascii')), shape.npy (int64 (2,)) and data.npy, in
 * that order, each stored (not deflated) so a reader can pread or map the
 * arrays in place. indptr is int32 when nnz fits, like scipy's own choice of
 * index dtype, else int64. The CRC-32 of each member is computed before its
 * local header is written (the arrays are in memory), in parallel chunks
 * joined with zlib's crc32_combine, so the archive is written front to back
 * with no seeking and no data descriptors. ZIP64 extra fields and the ZIP64
 * end records are added exactly when a size or offset passes 4 GB. The DOS
 * timestamp is fixed (1980-01-01) so equal matrices give equal bytes.
 *
 * Reading. The zip is parsed from its central directory (ZIP64 aware);
 * members may be stored or deflated (savez_compressed); arrays may be int32
 * or int64 (indices, indptr, shape) and float32 or float64 (data), and are
 * converted while streaming so a large member needs no second full-size
 * buffer. A large stored member is read by all threads in 4 MB slices
 * (pread, then the slice's CRC while it is in cache; the CRCs joined with
 * crc32_combine) into a huge-page array (mr_malloc_huge). Every offset, size
 * and count is checked against the file before use, and the CRC-32 of every
 * member read is verified (MR_NPZ_PATTERN skips data.npy's values). The CSR structure is then
 * validated (indptr monotone from 0 to nnz, indices in range); rows that are
 * not sorted are sorted and duplicate entries summed, which is what scipy's
 * sum_duplicates would make of them. A 'csc' archive is read as the CSR of
 * its transpose and transposed back.
 *
 * Transposing: two passes of a counting sort through column buckets, so
 * that scattered writes stay in cache (see transpose_buckets).
 */
#include "store/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/vec.h"

#define U32MAX 0xFFFFFFFFu
/* CRC work below this many bytes is not worth a parallel region. */
#define CRC_PAR_MIN (8 << 20)
/* Streaming chunk for conversions and inflate input. */
#define CHUNK (1 << 20)

void mr_csr_free(mr_csr *m)
{
    if (!m) return;
    free(m->indptr);
    free(m->indices);
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- CRC-32 */

static uint32_t crc_bytes(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

/* crc32(crc, p, n), split over the OpenMP threads and combined. */
static uint32_t crc_par(uint32_t crc, const void *p, size_t n)
{
    int nt = omp_get_max_threads();
    if (n < CRC_PAR_MIN || nt < 2) return crc_bytes(crc, p, n);
    if (nt > 64) nt = 64;
    uint32_t part[64];
    size_t step = (n + (size_t)nt - 1) / (size_t)nt;
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int t = 0; t < nt; t++) {
        size_t a = (size_t)t * step, b = a + step;
        if (a > n) a = n;
        if (b > n) b = n;
        part[t] = crc_bytes(0, (const unsigned char *)p + a, b - a);
    }
    for (int t = 0; t < nt; t++) {
        size_t a = (size_t)t * step, b = a + step;
        if (a > n) a = n;
        if (b > n) b = n;
        crc = (uint32_t)crc32_combine(crc, part[t], (z_off_t)(b - a));
    }
    return crc;
}

/* ------------------------------------------------------------ npy header */

/* Writes a version 1.0 header for a C-order array into buf (numpy pads the
 * header with spaces and a newline so that the data starts at a multiple of
 * 64 bytes). Returns its length. ndim is 0, 1 or 2. */
static size_t npy_header(char *buf, const char *descr, int ndim, const int64_t *shape)
{
    char dict[200];
    int k;
    if (ndim == 0)
        k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (), }", descr);
    else if (ndim == 1)
        k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRId64 ",), }",
                     descr, shape[0]);
    else
        k = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRId64 ", %" PRId64 "), }", descr,
                     shape[0], shape[1]);
    size_t total = 10 + (size_t)k + 1;
    total = (total + 63) / 64 * 64;
    size_t hlen = total - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)k);
    memset(buf + 10 + k, ' ', hlen - (size_t)k - 1);
    buf[total - 1] = '\n';
    return total;
}

enum { DT_I4, DT_I8, DT_F4, DT_F8, DT_S, DT_U };

typedef struct {
    int dtype;     /* DT_* */
    int itemsize;  /* bytes per element */
    int fortran;
    int ndim;
    int64_t shape[2];
    int64_t count; /* product of shape */
} npy_info;

/* Parses the Python-literal dict of a .npy header. Only what numpy writes:
 * 'descr' a string, 'fortran_order' True/False, 'shape' a tuple of ints. */
static int npy_parse_dict(const char *h, const char *what, npy_info *inf)
{
    memset(inf, 0, sizeof *inf);
    const char *d = strstr(h, "'descr'");
    const char *f = strstr(h, "'fortran_order'");
    const char *s = strstr(h, "'shape'");
    if (!d || !f || !s) return mr_err(MR_EFORMAT, "%s: not a .npy header (no descr, fortran_order or shape)", what);
    d = strchr(d + 7, ':');
    if (!d) return mr_err(MR_EFORMAT, "%s: bad descr in .npy header", what);
    d++;
    while (*d == ' ') d++;
    if (*d != '\'' && *d != '"') {
        return mr_err(MR_EUNSUPPORTED, "%s: unsupported .npy dtype (structured arrays are not handled)", what);
    }
    char q = *d++;
    char descr[32];
    size_t n = 0;
    while (d[n] && d[n] != q && n < sizeof descr - 1) n++;
    if (d[n] != q) return mr_err(MR_EFORMAT, "%s: bad descr in .npy header", what);
    memcpy(descr, d, n);
    descr[n] = 0;
    char order = descr[0];
    const char *ty = descr + 1;
    if (order != '<' && order != '|' && order != '=')
        return mr_err(MR_EUNSUPPORTED, "%s: unsupported .npy dtype '%s' (only little-endian is handled)", what, descr);
    if (!strcmp(ty, "i4")) inf->dtype = DT_I4, inf->itemsize = 4;
    else if (!strcmp(ty, "i8")) inf->dtype = DT_I8, inf->itemsize = 8;
    else if (!strcmp(ty, "f4")) inf->dtype = DT_F4, inf->itemsize = 4;
    else if (!strcmp(ty, "f8")) inf->dtype = DT_F8, inf->itemsize = 8;
    else if ((ty[0] == 'S' || ty[0] == 'U') && ty[1] >= '1' && ty[1] <= '9') {
        inf->dtype = ty[0] == 'S' ? DT_S : DT_U;
        int len = atoi(ty + 1);
        if (len <= 0 || len > 64) return mr_err(MR_EUNSUPPORTED, "%s: unsupported .npy dtype '%s'", what, descr);
        inf->itemsize = ty[0] == 'S' ? len : 4 * len;
    } else
        return mr_err(MR_EUNSUPPORTED, "%s: unsupported .npy dtype '%s'", what, descr);

    f = strchr(f + 15, ':');
    if (!f) return mr_err(MR_EFORMAT, "%s: bad fortran_order in .npy header", what);
    f++;
    while (*f == ' ') f++;
    if (!strncmp(f, "True", 4)) inf->fortran = 1;
    else if (strncmp(f, "False", 5)) return mr_err(MR_EFORMAT, "%s: bad fortran_order in .npy header", what);

    s = strchr(s + 7, ':');
    if (!s) return mr_err(MR_EFORMAT, "%s: bad shape in .npy header", what);
    s++;
    while (*s == ' ') s++;
    if (*s != '(') return mr_err(MR_EFORMAT, "%s: bad shape in .npy header", what);
    s++;
    inf->count = 1;
    for (;;) {
        while (*s == ' ') s++;
        if (*s == ')') break;
        if (*s < '0' || *s > '9') return mr_err(MR_EFORMAT, "%s: bad shape in .npy header", what);
        errno = 0;
        char *e;
        long long v = strtoll(s, &e, 10);
        if (errno || v < 0 || v > ((int64_t)1 << 48))
            return mr_err(MR_EFORMAT, "%s: shape value out of range in .npy header", what);
        if (e[0] == 'L') e++; /* Python 2 longs */
        if (inf->ndim == 2) return mr_err(MR_EUNSUPPORTED, "%s: arrays of more than 2 dimensions are not handled", what);
        inf->shape[inf->ndim++] = v;
        if (v && inf->count > ((int64_t)1 << 48) / v)
            return mr_err(MR_EFORMAT, "%s: shape too large in .npy header", what);
        inf->count *= v;
        s = e;
        while (*s == ' ') s++;
        if (*s == ',') s++;
        else if (*s != ')') return mr_err(MR_EFORMAT, "%s: bad shape in .npy header", what);
    }
    return 0;
}

/* ------------------------------------------------- member byte streams */

/* Bytes of one array: a whole .npy file or one zip member, stored or
 * deflated. Reads are exact; the CRC of what was read is kept. */
typedef struct {
    int fd;
    const char *path, *name; /* for messages; name NULL for a plain .npy */
    int deflated;
    int64_t pos, end;        /* compressed byte range still to read */
    int64_t usize;           /* uncompressed size (-1: unknown, plain file) */
    int64_t produced;
    uint32_t crc, want_crc;
    z_stream z;
    int z_init, z_end;
    unsigned char *in;
} mstream;

static int ms_fail(const mstream *m, int code, const char *what)
{
    if (m->name) return mr_err(code, "%s: member %s: %s", m->path, m->name, what);
    return mr_err(code, "%s: %s", m->path, what);
}

static int pread_full(int fd, void *dst, size_t n, int64_t off)
{
    unsigned char *p = dst;
    while (n) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        ssize_t r = pread(fd, p, k, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) return -EIO - 100000; /* short file */
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* pread_full of n bytes at off into dst, and *crc extended over them: the
 * threads take slices of PAR_SLICE bytes, each read and checksummed while
 * it is still in cache, and the slices' CRCs are joined in order with
 * crc32_combine. Reading from the page cache is a copy the kernel makes on
 * the calling thread, so this spreads the copy, the page faults of dst and
 * the CRC over the cores. Returns 0 or pread_full's negative code. */
#define PAR_SLICE ((size_t)4 << 20)
static int pread_crc_par(int fd, void *dst, size_t n, int64_t off, uint32_t *crc)
{
    int64_t ns = (int64_t)((n + PAR_SLICE - 1) / PAR_SLICE);
    uint32_t *part = mr_malloc((size_t)ns * sizeof *part);
    if (!part) return -ENOMEM;
    int err = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < ns; k++) {
        int e;
#pragma omp atomic read
        e = err;
        if (e) continue;
        size_t a = (size_t)k * PAR_SLICE, len = n - a < PAR_SLICE ? n - a : PAR_SLICE;
        unsigned char *p = (unsigned char *)dst + a;
        int r = pread_full(fd, p, len, off + (int64_t)a);
        if (r) {
#pragma omp atomic write
            err = r;
            continue;
        }
        part[k] = crc_bytes(0, p, len);
    }
    if (!err)
        for (int64_t k = 0; k < ns; k++) {
            size_t a = (size_t)k * PAR_SLICE, len = n - a < PAR_SLICE ? n - a : PAR_SLICE;
            *crc = (uint32_t)crc32_combine(*crc, part[k], (z_off_t)len);
        }
    free(part);
    return err;
}

static int ms_read(mstream *m, void *dst, size_t n)
{
    if (n == 0) return 0;
    if (m->usize >= 0 && (int64_t)n > m->usize - m->produced) return ms_fail(m, MR_EFORMAT, "array data is truncated");
    if (!m->deflated) {
        if ((int64_t)n > m->end - m->pos) return ms_fail(m, MR_EFORMAT, "array data is truncated");
        int r = n >= CRC_PAR_MIN ? pread_crc_par(m->fd, dst, n, m->pos, &m->crc) : pread_full(m->fd, dst, n, m->pos);
        if (r) return r == -EIO - 100000 ? ms_fail(m, MR_EFORMAT, "file is truncated")
                                        : mr_err(MR_EIO, "cannot read %s: %s", m->path, strerror(-r));
        m->pos += (int64_t)n;
        if (n < CRC_PAR_MIN) m->crc = crc_bytes(m->crc, dst, n);
        m->produced += (int64_t)n;
        return 0;
    }
    unsigned char *out = dst;
    size_t left = n;
    while (left) {
        if (m->z_end) return ms_fail(m, MR_EFORMAT, "deflate stream ends before the array does");
        if (m->z.avail_in == 0) {
            int64_t k = m->end - m->pos;
            if (k > CHUNK) k = CHUNK;
            if (k <= 0) return ms_fail(m, MR_EFORMAT, "deflate stream is truncated");
            int r = pread_full(m->fd, m->in, (size_t)k, m->pos);
            if (r) return r == -EIO - 100000 ? ms_fail(m, MR_EFORMAT, "file is truncated")
                                            : mr_err(MR_EIO, "cannot read %s: %s", m->path, strerror(-r));
            m->pos += k;
            m->z.next_in = m->in;
            m->z.avail_in = (uInt)k;
        }
        uInt want = left > (1u << 30) ? (1u << 30) : (uInt)left;
        m->z.next_out = out;
        m->z.avail_out = want;
        int zr = inflate(&m->z, Z_NO_FLUSH);
        size_t got = want - m->z.avail_out;
        if (zr == Z_STREAM_END) m->z_end = 1;
        else if (zr != Z_OK && zr != Z_BUF_ERROR) return ms_fail(m, MR_EFORMAT, "corrupt deflate data");
        m->crc = crc_bytes(m->crc, out, got);
        out += got;
        left -= got;
        m->produced += (int64_t)got;
    }
    return 0;
}

static int ms_open(mstream *m, int fd, const char *path, const char *name, int deflated, int64_t pos, int64_t csize,
                   int64_t usize, uint32_t want_crc)
{
    memset(m, 0, sizeof *m);
    m->fd = fd;
    m->path = path;
    m->name = name;
    m->deflated = deflated;
    m->pos = pos;
    m->end = pos + csize;
    m->usize = usize;
    m->want_crc = want_crc;
    if (deflated) {
        m->in = mr_malloc(CHUNK);
        if (!m->in) return MR_ENOMEM;
        if (inflateInit2(&m->z, -MAX_WBITS) != Z_OK) {
            free(m->in);
            m->in = NULL;
            return ms_fail(m, MR_ENOMEM, "cannot start inflate");
        }
        m->z_init = 1;
    }
    return 0;
}

/* After the array: a zip member's bytes must all be consumed (numpy writes
 * nothing after the data) and match the CRC-32 of the central directory. */
static int ms_finish(mstream *m)
{
    if (m->name && m->usize >= 0) {
        if (m->produced != m->usize) return ms_fail(m, MR_EFORMAT, "member is longer than its array");
        if (m->crc != m->want_crc) return ms_fail(m, MR_EFORMAT, "CRC-32 mismatch (corrupt archive)");
    }
    return 0;
}

static void ms_close(mstream *m)
{
    if (m->z_init) inflateEnd(&m->z);
    free(m->in);
    m->in = NULL;
    m->z_init = 0;
}

/* Reads and parses the .npy header at the start of the stream. */
static int ms_npy_header(mstream *m, npy_info *inf)
{
    unsigned char pre[12];
    int rc = ms_read(m, pre, 10);
    if (rc) return rc;
    if (memcmp(pre, "\x93NUMPY", 6)) return ms_fail(m, MR_EFORMAT, "not a .npy array (bad magic)");
    int major = pre[6];
    uint32_t hlen;
    if (major == 1) hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    else if (major == 2 || major == 3) {
        rc = ms_read(m, pre + 10, 2);
        if (rc) return rc;
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else
        return ms_fail(m, MR_EUNSUPPORTED, "unsupported .npy format version");
    if (hlen > (1u << 20)) return ms_fail(m, MR_EFORMAT, ".npy header is too long");
    char *h = mr_malloc(hlen + 1);
    if (!h) return MR_ENOMEM;
    rc = ms_read(m, h, hlen);
    if (!rc) {
        h[hlen] = 0;
        char what[512];
        if (m->name) snprintf(what, sizeof what, "%s: member %s", m->path, m->name);
        else snprintf(what, sizeof what, "%s", m->path);
        rc = npy_parse_dict(h, what, inf);
    }
    free(h);
    return rc;
}

/* Reads inf->count elements of the stream's array into dst as int32, int64,
 * float32 (out_type DT_I4 / DT_I8 / DT_F4), converting in chunks. Narrowing
 * int64 -> int32 checks the range (lo, hi inclusive); float64 -> float32
 * rounds. */
static int ms_read_convert(mstream *m, const npy_info *inf, int out_type, void *dst, int64_t lo, int64_t hi)
{
    int64_t cnt = inf->count;
    int in = inf->dtype;
    int out_size = out_type == DT_I8 ? 8 : 4;
    int same = in == out_type;
    if ((out_type == DT_F4 && in != DT_F4 && in != DT_F8) || (out_type != DT_F4 && in != DT_I4 && in != DT_I8))
        return ms_fail(m, MR_EUNSUPPORTED, out_type == DT_F4 ? "array is not float32 or float64"
                                                             : "array is not int32 or int64");
    if (same) {
        int rc = ms_read(m, dst, (size_t)cnt * (size_t)out_size);
        if (rc) return rc;
        if (out_type == DT_I4 && (lo > INT32_MIN || hi < INT32_MAX)) {
            const int32_t *v = dst;
            int bad = 0;
#pragma omp parallel for reduction(| : bad) if (cnt > 1000000)
            for (int64_t i = 0; i < cnt; i++) bad |= v[i] < lo || v[i] > hi;
            if (bad) return ms_fail(m, MR_EFORMAT, "value out of range");
        }
        if (out_type == DT_I8) {
            const int64_t *v = dst;
            int bad = 0;
#pragma omp parallel for reduction(| : bad) if (cnt > 1000000)
            for (int64_t i = 0; i < cnt; i++) bad |= v[i] < lo || v[i] > hi;
            if (bad) return ms_fail(m, MR_EFORMAT, "value out of range");
        }
        return 0;
    }
    const int64_t step = CHUNK / 8;
    unsigned char *buf = mr_malloc((size_t)step * 8);
    if (!buf) return MR_ENOMEM;
    int rc = 0;
    for (int64_t i = 0; i < cnt && !rc; i += step) {
        int64_t k = cnt - i < step ? cnt - i : step;
        rc = ms_read(m, buf, (size_t)k * (size_t)inf->itemsize);
        if (rc) break;
        if (out_type == DT_F4) { /* f8 -> f4 */
            const double *s = (const double *)buf;
            float *o = (float *)dst + i;
            for (int64_t j = 0; j < k; j++) o[j] = (float)s[j];
        } else if (out_type == DT_I4) { /* i8 -> i4 */
            const int64_t *s = (const int64_t *)buf;
            int32_t *o = (int32_t *)dst + i;
            for (int64_t j = 0; j < k; j++) {
                if (s[j] < lo || s[j] > hi) {
                    rc = ms_fail(m, MR_EFORMAT, "value out of range");
                    break;
                }
                o[j] = (int32_t)s[j];
            }
        } else { /* i4 -> i8 */
            const int32_t *s = (const int32_t *)buf;
            int64_t *o = (int64_t *)dst + i;
            for (int64_t j = 0; j < k; j++) {
                if (s[j] < lo || s[j] > hi) {
                    rc = ms_fail(m, MR_EFORMAT, "value out of range");
                    break;
                }
                o[j] = s[j];
            }
        }
    }
    free(buf);
    return rc;
}

/* --------------------------------------------------------- little-endian */

static void put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* ------------------------------------------------------------ .npy files */

static int write_all(mr_afile *a, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, a->f) != n) return mr_err(MR_EIO, "cannot write %s: %s", a->path, strerror(errno));
    return 0;
}

int mr_npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols)
{
    if (rows < 0 || cols < 0) return mr_err(MR_EINVAL, "%s: negative array shape", path);
    char hdr[256];
    int64_t shape[2] = {rows, cols};
    size_t hn = npy_header(hdr, "<f4", 2, shape);
    mr_afile a;
    int rc = mr_afile_open(&a, path);
    if (rc) return rc;
    rc = write_all(&a, hdr, hn);
    if (!rc) rc = write_all(&a, data, (size_t)rows * (size_t)cols * sizeof(float));
    if (rc) {
        mr_afile_abort(&a);
        return rc;
    }
    return mr_afile_commit(&a);
}

int mr_npy_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols)
{
    *data = NULL;
    *rows = *cols = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mr_err(errno == ENOENT ? MR_ENOTFOUND : MR_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return mr_err(MR_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    mstream m;
    int rc = ms_open(&m, fd, path, NULL, 0, 0, (int64_t)st.st_size, -1, 0);
    npy_info inf;
    if (!rc) rc = ms_npy_header(&m, &inf);
    if (!rc && inf.ndim != 2 && inf.ndim != 1)
        rc = mr_err(MR_EUNSUPPORTED, "%s: expected a 2-D array, found %d dimensions", path, inf.ndim);
    float *out = NULL;
    if (!rc) {
        int64_t r = inf.shape[0], c = inf.ndim == 2 ? inf.shape[1] : 1;
        if ((inf.dtype == DT_F4 || inf.dtype == DT_F8) && (int64_t)inf.itemsize * inf.count > (int64_t)st.st_size - m.produced)
            rc = mr_err(MR_EFORMAT, "%s: file is shorter than its %" PRId64 " x %" PRId64 " array", path, r, c);
        else if (!(out = mr_malloc((size_t)(inf.count ? inf.count : 1) * sizeof(float))))
            rc = MR_ENOMEM;
        else
            rc = ms_read_convert(&m, &inf, DT_F4, out, 0, 0);
        if (!rc && inf.fortran && inf.ndim == 2 && r > 1 && c > 1) {
            /* column-major on disk: transpose into row-major */
            float *t = mr_malloc((size_t)inf.count * sizeof(float));
            if (!t) rc = MR_ENOMEM;
            else {
#pragma omp parallel for if (inf.count > 1000000)
                for (int64_t i = 0; i < r; i++)
                    for (int64_t j = 0; j < c; j++) t[i * c + j] = out[j * r + i];
                free(out);
                out = t;
            }
        }
        if (!rc) {
            *data = out;
            *rows = r;
            *cols = c;
            out = NULL;
        }
    }
    free(out);
    ms_close(&m);
    close(fd);
    return rc;
}

/* ------------------------------------------------------------ zip writer */

typedef struct {
    const char *name;
    char hdr[256];
    size_t hlen;
    const void *data;
    size_t nbytes;
    uint64_t usize, offset;
    uint32_t crc;
} zmember;

static int zip_write_member(mr_afile *a, zmember *z, uint64_t *pos, int force64)
{
    z->usize = z->hlen + z->nbytes;
    z->crc = crc_par(crc_bytes(0, z->hdr, z->hlen), z->data, z->nbytes);
    z->offset = *pos;
    int big = force64 || z->usize >= U32MAX;
    size_t nl = strlen(z->name);
    unsigned char lh[30 + 64 + 20];
    put32(lh, 0x04034b50);
    put16(lh + 4, big ? 45 : 20);
    put16(lh + 6, 0);
    put16(lh + 8, 0);           /* stored */
    put16(lh + 10, 0);          /* 00:00:00 */
    put16(lh + 12, (1 << 5) | 1); /* 1980-01-01 */
    put32(lh + 14, z->crc);
    put32(lh + 18, big ? U32MAX : (uint32_t)z->usize);
    put32(lh + 22, big ? U32MAX : (uint32_t)z->usize);
    put16(lh + 26, (uint32_t)nl);
    put16(lh + 28, big ? 20 : 0);
    memcpy(lh + 30, z->name, nl);
    size_t n = 30 + nl;
    if (big) {
        put16(lh + n, 1);
        put16(lh + n + 2, 16);
        put64(lh + n + 4, z->usize);
        put64(lh + n + 12, z->usize);
        n += 20;
    }
    int rc = write_all(a, lh, n);
    if (!rc) rc = write_all(a, z->hdr, z->hlen);
    if (!rc) rc = write_all(a, z->data, z->nbytes);
    *pos += n + z->usize;
    return rc;
}

static int zip_write_directory(mr_afile *a, zmember *zs, int nz, uint64_t pos, int force64)
{
    uint64_t cd_start = pos;
    int rc = 0;
    for (int i = 0; i < nz && !rc; i++) {
        zmember *z = &zs[i];
        int big_size = force64 || z->usize >= U32MAX, big_off = force64 || z->offset >= U32MAX;
        size_t nl = strlen(z->name);
        unsigned char ch[46 + 64 + 28];
        size_t xl = (big_size ? 16 : 0) + (big_off ? 8 : 0);
        put32(ch, 0x02014b50);
        put16(ch + 4, (3 << 8) | ((big_size || big_off) ? 45 : 20)); /* made by: unix */
        put16(ch + 6, (big_size || big_off) ? 45 : 20);
        put16(ch + 8, 0);
        put16(ch + 10, 0);
        put16(ch + 12, 0);
        put16(ch + 14, (1 << 5) | 1);
        put32(ch + 16, z->crc);
        put32(ch + 20, big_size ? U32MAX : (uint32_t)z->usize);
        put32(ch + 24, big_size ? U32MAX : (uint32_t)z->usize);
        put16(ch + 28, (uint32_t)nl);
        put16(ch + 30, xl ? (uint32_t)(xl + 4) : 0);
        put16(ch + 32, 0);
        put16(ch + 34, 0);
        put16(ch + 36, 0);
        put32(ch + 38, 0600u << 16); /* -rw------- like Python's zipfile */
        put32(ch + 42, big_off ? U32MAX : (uint32_t)z->offset);
        memcpy(ch + 46, z->name, nl);
        size_t n = 46 + nl;
        if (xl) {
            put16(ch + n, 1);
            put16(ch + n + 2, (uint32_t)xl);
            n += 4;
            if (big_size) {
                put64(ch + n, z->usize);
                put64(ch + n + 8, z->usize);
                n += 16;
            }
            if (big_off) {
                put64(ch + n, z->offset);
                n += 8;
            }
        }
        rc = write_all(a, ch, n);
        pos += n;
    }
    if (rc) return rc;
    uint64_t cd_size = pos - cd_start;
    int z64 = force64 || cd_start >= U32MAX || cd_size >= U32MAX;
    if (z64) {
        unsigned char e[56 + 20];
        put32(e, 0x06064b50);
        put64(e + 4, 44);
        put16(e + 12, (3 << 8) | 45);
        put16(e + 14, 45);
        put32(e + 16, 0);
        put32(e + 20, 0);
        put64(e + 24, (uint64_t)nz);
        put64(e + 32, (uint64_t)nz);
        put64(e + 40, cd_size);
        put64(e + 48, cd_start);
        put32(e + 56, 0x07064b50); /* locator */
        put32(e + 60, 0);
        put64(e + 64, pos);
        put32(e + 72, 1);
        rc = write_all(a, e, sizeof e);
        if (rc) return rc;
    }
    unsigned char e[22];
    put32(e, 0x06054b50);
    put16(e + 4, 0);
    put16(e + 6, 0);
    put16(e + 8, (uint32_t)nz);
    put16(e + 10, (uint32_t)nz);
    put32(e + 12, z64 ? U32MAX : (uint32_t)cd_size);
    put32(e + 16, z64 ? U32MAX : (uint32_t)cd_start);
    put16(e + 20, 0);
    return write_all(a, e, sizeof e);
}

/* Checks the CSR invariants the writer promises scipy: indptr from 0 to nnz,
 * non-decreasing; column indices in range. */
static int csr_check(const mr_csr *m, const char *path)
{
    if (m->n_rows < 0 || m->n_cols < 0 || m->nnz < 0 || m->n_cols > INT32_MAX)
        return mr_err(MR_EINVAL, "%s: bad CSR shape %" PRId64 " x %" PRId64, path, m->n_rows, m->n_cols);
    if (m->indptr[0] != 0 || m->indptr[m->n_rows] != m->nnz)
        return mr_err(MR_EINVAL, "%s: CSR indptr must run from 0 to nnz %" PRId64, path, m->nnz);
    int bad = 0;
#pragma omp parallel for reduction(| : bad) schedule(static) if (m->n_rows > 100000)
    for (int64_t r = 0; r < m->n_rows; r++) {
        if (m->indptr[r + 1] < m->indptr[r] || m->indptr[r + 1] > m->nnz) bad |= 1;
        else
            for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++)
                if (m->indices[k] < 0 || m->indices[k] >= m->n_cols) bad |= 2;
    }
    if (bad & 1) return mr_err(MR_EINVAL, "%s: CSR indptr decreases", path);
    if (bad & 2) return mr_err(MR_EINVAL, "%s: CSR column index outside 0..%" PRId64, path, m->n_cols - 1);
    return 0;
}

int mr_npz_write_csr(const char *path, const mr_csr *m) { return mr_npz_write_csr_opts(path, m, 0); }

int mr_npz_write_csr_opts(const char *path, const mr_csr *m, int force_zip64)
{
    int rc = csr_check(m, path);
    if (rc) return rc;
    /* scipy keeps int32 index arrays whenever nnz and the shape fit. */
    int64_t one = 1;
    int small = m->nnz <= INT32_MAX && m->n_rows <= INT32_MAX;
    int32_t *indptr32 = NULL;
    if (small) {
        indptr32 = mr_malloc((size_t)(m->n_rows + 1) * sizeof(int32_t));
        if (!indptr32) return MR_ENOMEM;
#pragma omp parallel for if (m->n_rows > 100000)
        for (int64_t r = 0; r <= m->n_rows; r++) indptr32[r] = (int32_t)m->indptr[r];
    }
    int64_t shape_v[2] = {m->n_rows, m->n_cols};
    int64_t len_nnz = m->nnz, len_ptr = m->n_rows + 1, len_shape = 2;
    zmember zs[5];
    memset(zs, 0, sizeof zs);
    zs[0].name = "indices.npy";
    zs[0].hlen = npy_header(zs[0].hdr, "<i4", 1, &len_nnz);
    zs[0].data = m->indices;
    zs[0].nbytes = (size_t)m->nnz * 4;
    zs[1].name = "indptr.npy";
    zs[1].hlen = npy_header(zs[1].hdr, small ? "<i4" : "<i8", 1, &len_ptr);
    zs[1].data = small ? (const void *)indptr32 : (const void *)m->indptr;
    zs[1].nbytes = (size_t)len_ptr * (small ? 4 : 8);
    zs[2].name = "format.npy";
    zs[2].hlen = npy_header(zs[2].hdr, "|S3", 0, &one);
    zs[2].data = "csr";
    zs[2].nbytes = 3;
    zs[3].name = "shape.npy";
    zs[3].hlen = npy_header(zs[3].hdr, "<i8", 1, &len_shape);
    zs[3].data = shape_v;
    zs[3].nbytes = 16;
    zs[4].name = "data.npy";
    zs[4].hlen = npy_header(zs[4].hdr, "<f4", 1, &len_nnz);
    zs[4].data = m->data;
    zs[4].nbytes = (size_t)m->nnz * 4;

    mr_afile a;
    rc = mr_afile_open(&a, path);
    if (rc) {
        free(indptr32);
        return rc;
    }
    uint64_t pos = 0;
    for (int i = 0; i < 5 && !rc; i++) rc = zip_write_member(&a, &zs[i], &pos, force_zip64);
    if (!rc) rc = zip_write_directory(&a, zs, 5, pos, force_zip64);
    free(indptr32);
    if (rc) {
        mr_afile_abort(&a);
        return rc;
    }
    return mr_afile_commit(&a);
}

/* ------------------------------------------------------------ zip reader */

typedef struct {
    char name[64];
    int method;
    uint64_t csize, usize, offset;
    uint32_t crc;
    int found;
} zentry;

enum { Z_INDICES, Z_INDPTR, Z_FORMAT, Z_SHAPE, Z_DATA, Z_N };
static const char *const zname[Z_N] = {"indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"};

static int zip_fail(const char *path, const char *what)
{
    return mr_err(MR_EFORMAT, "%s: not a valid .npz (zip) archive: %s", path, what);
}

/* Finds the five members in the central directory. */
static int zip_directory(int fd, const char *path, uint64_t fsize, zentry *ents)
{
    if (fsize < 22) return zip_fail(path, "file too short");
    size_t tail = fsize < 65557 ? (size_t)fsize : 65557;
    unsigned char *t = mr_malloc(tail);
    if (!t) return MR_ENOMEM;
    int rc = 0;
    if (pread_full(fd, t, tail, (int64_t)(fsize - tail))) {
        free(t);
        return mr_err(MR_EIO, "cannot read %s", path);
    }
    int64_t e = -1;
    for (int64_t i = (int64_t)tail - 22; i >= 0; i--)
        if (get32(t + i) == 0x06054b50 && (size_t)i + 22 + get16(t + i + 20) <= tail) {
            e = i;
            break;
        }
    if (e < 0) {
        free(t);
        return zip_fail(path, "no end of central directory");
    }
    uint64_t eocd_off = fsize - tail + (uint64_t)e;
    uint64_t n_ent = get16(t + e + 10), cd_size = get32(t + e + 12), cd_off = get32(t + e + 16);
    if (n_ent == 0xFFFF || cd_size == U32MAX || cd_off == U32MAX) {
        /* ZIP64: the locator sits right before the end record */
        unsigned char loc[20], z[56];
        if (eocd_off < 20 || pread_full(fd, loc, 20, (int64_t)eocd_off - 20) || get32(loc) != 0x07064b50) {
            free(t);
            return zip_fail(path, "ZIP64 locator missing");
        }
        uint64_t z_off = get64(loc + 8);
        if (z_off + 56 > fsize || pread_full(fd, z, 56, (int64_t)z_off) || get32(z) != 0x06064b50) {
            free(t);
            return zip_fail(path, "bad ZIP64 end record");
        }
        n_ent = get64(z + 32);
        cd_size = get64(z + 40);
        cd_off = get64(z + 48);
    }
    free(t);
    if (cd_off > fsize || cd_size > fsize - cd_off || n_ent > cd_size / 46 + 1)
        return zip_fail(path, "central directory outside the file");
    unsigned char *cd = mr_malloc(cd_size ? cd_size : 1);
    if (!cd) return MR_ENOMEM;
    if (pread_full(fd, cd, cd_size, (int64_t)cd_off)) {
        free(cd);
        return mr_err(MR_EIO, "cannot read %s", path);
    }
    uint64_t p = 0;
    for (uint64_t k = 0; k < n_ent; k++) {
        if (p + 46 > cd_size || get32(cd + p) != 0x02014b50) {
            rc = zip_fail(path, "bad central directory entry");
            break;
        }
        const unsigned char *h = cd + p;
        uint32_t nl = get16(h + 28), xl = get16(h + 30), cl = get16(h + 32);
        if (p + 46 + nl + xl + cl > cd_size) {
            rc = zip_fail(path, "central directory entry overruns");
            break;
        }
        zentry z;
        memset(&z, 0, sizeof z);
        if (nl < sizeof z.name) memcpy(z.name, h + 46, nl);
        z.method = (int)get16(h + 10);
        int flags = (int)get16(h + 8);
        z.crc = get32(h + 16);
        z.csize = get32(h + 20);
        z.usize = get32(h + 24);
        z.offset = get32(h + 42);
        /* ZIP64 extra: the fields that overflowed, in this order */
        const unsigned char *x = h + 46 + nl, *xe = x + xl;
        while (x + 4 <= xe) {
            uint32_t id = get16(x), sz = get16(x + 2);
            if (x + 4 + sz > xe) break;
            if (id == 1) {
                const unsigned char *q = x + 4, *qe = q + sz;
                if (z.usize == U32MAX && q + 8 <= qe) z.usize = get64(q), q += 8;
                if (z.csize == U32MAX && q + 8 <= qe) z.csize = get64(q), q += 8;
                if (z.offset == U32MAX && q + 8 <= qe) z.offset = get64(q), q += 8;
            }
            x += 4 + sz;
        }
        p += 46 + nl + xl + cl;
        for (int i = 0; i < Z_N; i++) {
            if (nl != strlen(zname[i]) || memcmp(h + 46, zname[i], nl)) continue;
            if (flags & 1) {
                rc = mr_err(MR_EUNSUPPORTED, "%s: member %s is encrypted", path, zname[i]);
                break;
            }
            if (z.method != 0 && z.method != 8) {
                rc = mr_err(MR_EUNSUPPORTED, "%s: member %s uses zip compression method %d (only stored and deflate)",
                            path, zname[i], z.method);
                break;
            }
            z.found = 1;
            ents[i] = z;
        }
        if (rc) break;
    }
    free(cd);
    if (rc) return rc;
    /* resolve each member's data start from its local header */
    for (int i = 0; i < Z_N; i++) {
        zentry *z = &ents[i];
        if (!z->found) continue;
        unsigned char lh[30];
        if (z->offset > fsize - 30 || pread_full(fd, lh, 30, (int64_t)z->offset) || get32(lh) != 0x04034b50)
            return mr_err(MR_EFORMAT, "%s: member %s: bad local header", path, zname[i]);
        uint64_t start = z->offset + 30 + get16(lh + 26) + get16(lh + 28);
        if (start > fsize || z->csize > fsize - start)
            return mr_err(MR_EFORMAT, "%s: member %s extends past the end of the file", path, zname[i]);
        z->offset = start;
    }
    return 0;
}

static int member_open(mstream *m, int fd, const char *path, const zentry *z, int i, npy_info *inf)
{
    int rc = ms_open(m, fd, path, zname[i], z->method == 8, (int64_t)z->offset, (int64_t)z->csize,
                     (int64_t)z->usize, z->crc);
    if (!rc) rc = ms_npy_header(m, inf);
    if (!rc && (int64_t)z->usize - m->produced < inf->count * inf->itemsize)
        rc = mr_err(MR_EFORMAT, "%s: member %s is shorter than its array", path, zname[i]);
    return rc;
}

/* Sorts the entries of each row whose indices are out of order, then sums
 * duplicates and compacts, as scipy's sum_duplicates does. */
static int csr_canonicalize(mr_csr *m)
{
    int64_t n_unsorted = 0;
#pragma omp parallel for reduction(+ : n_unsorted) schedule(dynamic, 4096)
    for (int64_t r = 0; r < m->n_rows; r++) {
        int64_t a = m->indptr[r], b = m->indptr[r + 1];
        int ok = 1;
        for (int64_t k = a + 1; k < b; k++)
            if (m->indices[k] <= m->indices[k - 1]) {
                ok = 0;
                break;
            }
        if (ok) continue;
        n_unsorted++;
        /* insertion sort for short rows, else a pair sort through a buffer */
        float *d = m->data; /* NULL for a pattern-only matrix */
        for (int64_t k = a + 1; k < b; k++) {
            int32_t ci = m->indices[k];
            float cv = d ? d[k] : 0;
            int64_t j = k - 1;
            while (j >= a && m->indices[j] > ci) {
                m->indices[j + 1] = m->indices[j];
                if (d) d[j + 1] = d[j];
                j--;
            }
            m->indices[j + 1] = ci;
            if (d) d[j + 1] = cv;
        }
    }
    if (!n_unsorted) return 0;
    /* compact duplicates (serial: only reached for non-canonical input) */
    int64_t w = 0, start = 0;
    for (int64_t r = 0; r < m->n_rows; r++) {
        int64_t a = start, b = m->indptr[r + 1];
        start = b;
        m->indptr[r] = w;
        for (int64_t k = a; k < b; k++) {
            if (k > a && m->indices[k] == m->indices[w - 1] && w > m->indptr[r]) {
                if (m->data) m->data[w - 1] += m->data[k];
            } else {
                m->indices[w] = m->indices[k];
                if (m->data) m->data[w] = m->data[k];
                w++;
            }
        }
    }
    m->indptr[m->n_rows] = w;
    m->nnz = w;
    return 0;
}

int mr_npz_read_csr(const char *path, mr_csr *out) { return mr_npz_read_csr_opts(path, out, 0); }

int mr_npz_read_csr_opts(const char *path, mr_csr *out, int flags)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mr_err(errno == ENOENT ? MR_ENOTFOUND : MR_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return mr_err(MR_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    zentry ents[Z_N];
    memset(ents, 0, sizeof ents);
    int rc = zip_directory(fd, path, (uint64_t)st.st_size, ents);
    if (!rc && !ents[Z_FORMAT].found)
        rc = mr_err(MR_EFORMAT, "%s: not a scipy sparse matrix: member format.npy is missing", path);
    mr_csr m;
    memset(&m, 0, sizeof m);
    mstream ms;
    npy_info inf;
    int csc = 0;
    /* format */
    if (!rc) {
        rc = member_open(&ms, fd, path, &ents[Z_FORMAT], Z_FORMAT, &inf);
        if (!rc && (inf.ndim != 0 || (inf.dtype != DT_S && inf.dtype != DT_U)))
            rc = mr_err(MR_EFORMAT, "%s: member format.npy is not a 0-d string", path);
        if (!rc) {
            unsigned char raw[256];
            char fmt[65] = {0};
            rc = ms_read(&ms, raw, (size_t)inf.itemsize);
            if (!rc) rc = ms_finish(&ms);
            if (!rc) {
                int len = inf.dtype == DT_S ? inf.itemsize : inf.itemsize / 4;
                for (int i = 0; i < len && i < 64; i++)
                    fmt[i] = (char)(inf.dtype == DT_S ? raw[i] : (get32(raw + 4 * i) < 128 ? raw[4 * i] : '?'));
                if (!strcmp(fmt, "csc")) csc = 1;
                else if (strcmp(fmt, "csr"))
                    rc = mr_err(MR_EUNSUPPORTED, "%s: sparse format '%s' is not handled (only csr and csc)", path, fmt);
            }
        }
        ms_close(&ms);
    }
    for (int i = 0; i < Z_N && !rc; i++)
        if (!ents[i].found)
            rc = mr_err(MR_EFORMAT, "%s: not a scipy sparse matrix: member %s is missing", path, zname[i]);
    /* shape */
    if (!rc) {
        rc = member_open(&ms, fd, path, &ents[Z_SHAPE], Z_SHAPE, &inf);
        if (!rc && (inf.ndim != 1 || inf.count != 2))
            rc = mr_err(MR_EFORMAT, "%s: member shape.npy is not a pair", path);
        int64_t sh[2];
        if (!rc) rc = ms_read_convert(&ms, &inf, DT_I8, sh, 0, INT32_MAX);
        if (!rc) rc = ms_finish(&ms);
        if (!rc) {
            m.n_rows = csc ? sh[1] : sh[0];
            m.n_cols = csc ? sh[0] : sh[1];
        } else if (strstr(mr_errmsg(), "out of range"))
            rc = mr_err(MR_EFORMAT, "%s: matrix shape out of range (at most 2^31-1 rows and columns)", path);
        ms_close(&ms);
    }
    /* indptr */
    if (!rc) {
        rc = member_open(&ms, fd, path, &ents[Z_INDPTR], Z_INDPTR, &inf);
        if (!rc && (inf.ndim != 1 || inf.count != m.n_rows + 1))
            rc = mr_err(MR_EFORMAT, "%s: member indptr.npy has %" PRId64 " entries, expected %" PRId64, path,
                        inf.count, m.n_rows + 1);
        if (!rc && !(m.indptr = mr_malloc_huge((size_t)(m.n_rows + 1) * 8))) rc = MR_ENOMEM;
        if (!rc) rc = ms_read_convert(&ms, &inf, DT_I8, m.indptr, 0, INT64_MAX);
        if (!rc) rc = ms_finish(&ms);
        ms_close(&ms);
    }
    /* indices and data */
    if (!rc) {
        m.nnz = m.indptr[m.n_rows];
        rc = member_open(&ms, fd, path, &ents[Z_INDICES], Z_INDICES, &inf);
        if (!rc && (inf.ndim != 1 || inf.count < m.nnz))
            rc = mr_err(MR_EFORMAT, "%s: member indices.npy has %" PRId64 " entries, indptr says %" PRId64, path,
                        inf.count, m.nnz);
        if (!rc) {
            /* scipy ignores entries past indptr[-1]; read all, keep nnz */
            m.nnz = inf.count > m.nnz ? m.nnz : inf.count;
            if (!(m.indices = mr_malloc_huge((size_t)inf.count * 4))) rc = MR_ENOMEM;
        }
        if (!rc) rc = ms_read_convert(&ms, &inf, DT_I4, m.indices, 0, m.n_cols - 1);
        if (!rc) rc = ms_finish(&ms);
        if (rc && strstr(mr_errmsg(), "out of range"))
            rc = mr_err(MR_EFORMAT, "%s: a column index is outside 0..%" PRId64, path, m.n_cols - 1);
        ms_close(&ms);
    }
    if (!rc) {
        rc = member_open(&ms, fd, path, &ents[Z_DATA], Z_DATA, &inf);
        if (!rc && (inf.ndim != 1 || inf.count < m.nnz))
            rc = mr_err(MR_EFORMAT, "%s: member data.npy has %" PRId64 " entries, indptr says %" PRId64, path,
                        inf.count, m.nnz);
        /* pattern only: the header is checked, the values are not read */
        if (!rc && !(flags & MR_NPZ_PATTERN)) {
            if (!(m.data = mr_malloc_huge((size_t)inf.count * 4))) rc = MR_ENOMEM;
            if (!rc) rc = ms_read_convert(&ms, &inf, DT_F4, m.data, 0, 0);
            if (!rc) rc = ms_finish(&ms);
        } else if (!rc && inf.dtype != DT_F4 && inf.dtype != DT_F8)
            rc = ms_fail(&ms, MR_EUNSUPPORTED, "array is not float32 or float64");
        ms_close(&ms);
    }
    close(fd);
    if (!rc) {
        if (m.indptr[0] != 0) rc = mr_err(MR_EFORMAT, "%s: indptr does not start at 0", path);
        int bad = 0;
#pragma omp parallel for reduction(| : bad) if (m.n_rows > 100000)
        for (int64_t r = 0; r < m.n_rows; r++) bad |= m.indptr[r + 1] < m.indptr[r];
        if (!rc && bad) rc = mr_err(MR_EFORMAT, "%s: indptr decreases", path);
    }
    if (!rc) rc = csr_canonicalize(&m);
    if (!rc && csc) {
        mr_csr t;
        rc = mr_csr_transpose(&m, &t);
        mr_csr_free(&m);
        m = t;
    }
    if (rc) {
        mr_csr_free(&m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ------------------------------------------------------------- transpose */

/* The transpose in two passes of a counting sort, so that the scattered
 * writes stay in cache.
 *
 * A one-pass counting sort (transpose_direct below) writes every entry to a
 * random place among nnz: at scale 1 (207M entries over 1M columns) almost
 * every write misses the cache, and that was nearly all of the time. Here
 * the columns are cut into buckets of 2^sh consecutive columns (at most
 * ~1024 buckets). Pass 1: thread k, with a band of rows (balanced by nnz;
 * bands in row order), counts its entries per bucket, then, after a prefix
 * over (bucket, thread), appends each entry to its bucket's region of the
 * output: ~1024 sequential write streams per thread, which the cache
 * absorbs. The entry's column within the bucket is packed above its row
 * number in t->indices (row < 2^rb, rb + sh <= 31), so no side array is
 * needed. Pass 2: each bucket's region (its columns' entries, nnz / 1024 on
 * average) is counting-sorted by column through a per-thread scratch copy,
 * which stays in cache, and copied back; the same pass writes the columns'
 * indptr. Both passes are stable and rows arrive in ascending order, so the
 * transpose's rows come out sorted. Memory beyond the result: the scratch,
 * as large as the largest bucket, per thread. */
static int transpose_buckets(const mr_csr *m, mr_csr *t, int nt, const int64_t *band, int sh, int rb)
{
    int64_t C = m->n_cols;
    int64_t B = C ? ((C - 1) >> sh) + 1 : 0, W = (int64_t)1 << sh;
    const uint32_t cmask = (uint32_t)(W - 1), rmask = rb ? (uint32_t)((((uint64_t)1) << rb) - 1) : 0;
    int64_t *pos = mr_calloc((size_t)nt * (size_t)B + 1, 8), *start = mr_malloc((size_t)(B + 1) * 8);
    if (!pos || !start) {
        free(pos);
        free(start);
        return MR_ENOMEM;
    }
    int64_t max_region = 0;
    int err = 0;
    const float *md = m->data;
    float *td = t->data;
    uint32_t *ti = (uint32_t *)t->indices;
#pragma omp parallel num_threads(nt)
    {
        int k = omp_get_thread_num();
        int64_t *c = pos + (size_t)k * (size_t)B;
        for (int64_t j = m->indptr[band[k]]; j < m->indptr[band[k + 1]]; j++) c[m->indices[j] >> sh]++;
#pragma omp barrier
#pragma omp single
        {
            int64_t p = 0;
            for (int64_t b = 0; b < B; b++) {
                start[b] = p;
                for (int q = 0; q < nt; q++) {
                    int64_t n = pos[(size_t)q * (size_t)B + (size_t)b];
                    pos[(size_t)q * (size_t)B + (size_t)b] = p;
                    p += n;
                }
                if (p - start[b] > max_region) max_region = p - start[b];
            }
            start[B] = p;
        }
        for (int64_t r = band[k]; r < band[k + 1]; r++)
            for (int64_t j = m->indptr[r]; j < m->indptr[r + 1]; j++) {
                uint32_t col = (uint32_t)m->indices[j];
                int64_t p = c[col >> sh]++;
                ti[p] = (col & cmask) << rb | (uint32_t)r;
                if (md) td[p] = md[j];
            }
#pragma omp barrier
        int64_t *cc = mr_malloc((size_t)(W + 1) * 8);
        uint32_t *sr = mr_malloc_huge((size_t)max_region * 4);
        float *sv = md ? mr_malloc_huge((size_t)max_region * 4) : NULL;
        if (!cc || !sr || (md && !sv)) {
#pragma omp atomic write
            err = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < B; b++) {
            int e_;
#pragma omp atomic read
            e_ = err;
            if (e_) continue;
            int64_t a = start[b], e = start[b + 1], c0 = b << sh;
            int64_t nc = C - c0 < W ? C - c0 : W;
            memset(cc, 0, (size_t)(nc + 1) * 8);
            for (int64_t q = a; q < e; q++) cc[(ti[q] >> rb) + 1]++;
            for (int64_t j = 0; j < nc; j++) {
                cc[j + 1] += cc[j];
                t->indptr[c0 + j + 1] = a + cc[j + 1];
            }
            for (int64_t q = a; q < e; q++) {
                uint32_t v = ti[q];
                int64_t d = cc[v >> rb]++;
                sr[d] = v & rmask;
                if (md) sv[d] = td[q];
            }
            memcpy(ti + a, sr, (size_t)(e - a) * 4);
            if (md) memcpy(td + a, sv, (size_t)(e - a) * 4);
        }
        free(cc);
        free(sr);
        free(sv);
    }
    t->indptr[0] = 0;
    free(pos);
    free(start);
    return err ? mr_err(MR_ENOMEM, "out of memory for the transpose's scratch (%lld entries)", (long long)max_region)
               : 0;
}

/* One-pass parallel counting sort: thread t takes a band of rows (balanced
 * by nnz), counts its entries per column, and after a prefix sum over
 * (column, thread) scatters its band. Bands are in row order, so every
 * column's entries land in ascending row order. Memory: one int64 count per
 * (thread, column). Used when a column offset and a row do not fit together
 * in 31 bits (more than ~2M rows with ~1M columns). */
static int transpose_direct(const mr_csr *m, mr_csr *t, int nt, const int64_t *band)
{
    int64_t C = m->n_cols;
    int64_t *cnt = mr_calloc((size_t)nt * (size_t)(C ? C : 1), 8);
    if (!cnt) return MR_ENOMEM;
    memset(t->indptr, 0, ((size_t)C + 1) * 8);
#pragma omp parallel num_threads(nt)
    {
        int k = omp_get_thread_num();
        int64_t *c = cnt + (size_t)k * (size_t)C;
        for (int64_t j = m->indptr[band[k]]; j < m->indptr[band[k + 1]]; j++) c[m->indices[j]]++;
#pragma omp barrier
        /* prefix over columns, threads within a column: split columns */
#pragma omp for schedule(static)
        for (int64_t col = 0; col < C; col++) {
            int64_t s = 0;
            for (int q = 0; q < nt; q++) s += cnt[(size_t)q * (size_t)C + (size_t)col];
            t->indptr[col + 1] = s;
        }
#pragma omp single
        for (int64_t col = 0; col < C; col++) t->indptr[col + 1] += t->indptr[col];
        /* turn counts into write positions */
#pragma omp for schedule(static)
        for (int64_t col = 0; col < C; col++) {
            int64_t pos = t->indptr[col];
            for (int q = 0; q < nt; q++) {
                int64_t *cq = &cnt[(size_t)q * (size_t)C + (size_t)col];
                int64_t n = *cq;
                *cq = pos;
                pos += n;
            }
        }
        for (int64_t r = band[k]; r < band[k + 1]; r++)
            for (int64_t j = m->indptr[r]; j < m->indptr[r + 1]; j++) {
                int64_t p = c[m->indices[j]]++;
                t->indices[p] = (int32_t)r;
                if (m->data) t->data[p] = m->data[j];
            }
    }
    free(cnt);
    return 0;
}

int mr_csr_transpose(const mr_csr *m, mr_csr *t)
{
    memset(t, 0, sizeof *t);
    if (m->n_rows > INT32_MAX) return mr_err(MR_EINVAL, "cannot transpose a matrix of more than 2^31-1 rows");
    int64_t R = m->n_rows, C = m->n_cols, nnz = m->nnz;
    int rb = 0, sh = 0;
    while (rb < 31 && ((int64_t)1 << rb) < R) rb++;
    while ((C >> sh) > 1024) sh++;
    int buckets = rb + sh <= 31;
    int nt = omp_get_max_threads();
    /* the direct sort's count table: within the size of the matrix itself */
    while (!buckets && nt > 1 && (int64_t)nt * C > 2 * nnz + 1024) nt--;
    t->n_rows = C;
    t->n_cols = R;
    t->nnz = nnz;
    t->indptr = mr_malloc_huge(((size_t)C + 1) * 8);
    t->indices = mr_malloc_huge((size_t)nnz * 4);
    t->data = m->data ? mr_malloc_huge((size_t)nnz * 4) : NULL;
    int64_t *band = mr_malloc((size_t)(nt + 1) * 8);
    if (!t->indptr || !t->indices || (m->data && !t->data) || !band) {
        free(band);
        mr_csr_free(t);
        return MR_ENOMEM;
    }
    /* row bands with about nnz / nt entries each */
    band[0] = 0;
    for (int k = 1; k < nt; k++) {
        int64_t target = nnz / nt * k;
        band[k] = band[k - 1] + mr_lower_bound_i64(m->indptr + band[k - 1], R - band[k - 1], target);
    }
    band[nt] = R;
    int rc = buckets ? transpose_buckets(m, t, nt, band, sh, rb) : transpose_direct(m, t, nt, band);
    free(band);
    if (rc) mr_csr_free(t);
    return rc;
}
