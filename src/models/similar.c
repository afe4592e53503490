/* Similar items and their memory-mappable index (similar.h). */
#include "models/similar.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/vec.h"
#include "base/fs.h"
#include "models/candidates.h"
#include "models/topk.h"

int mr_similar_compute(const float *item_factors, int64_t n_items, int f, int n, int32_t *idx, float *score)
{
    mr_topk_opts o = {.k = n};
    return mr_similar_compute_opts(item_factors, n_items, f, n, &o, idx, score);
}

int mr_similar_compute_opts(const float *item_factors, int64_t n_items, int f, int n, mr_topk_opts *o, int32_t *idx,
                            float *score)
{
    if (n < 1) return mr_err(MR_EINVAL, "similar items: N must be at least 1, got %d", n);
    float *nv = mr_malloc(sizeof(float) * (size_t)n_items * f + 1);
    if (!nv) return MR_ENOMEM;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_items; i++) {
        const float *v = item_factors + i * f;
        double n2 = 0;
        for (int a = 0; a < f; a++) n2 += (double)v[a] * v[a];
        float inv = n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0.0f;
        for (int a = 0; a < f; a++) nv[i * f + a] = v[a] * inv;
    }
    o->k = n;
    int rc = mr_topk_self(nv, n_items, f, o, idx, score);
    free(nv);
    return rc;
}

/* ---- approximate: an inverted file over spherical k-means clusters ----
 *
 * Items are clustered (k-means on the unit sphere, nlist clusters, a fixed
 * number of rounds, deterministic start); the items of cluster c are then
 * compared only with the items of the nprobe clusters whose centroids are
 * nearest to c's centroid. All queries of a cluster share one candidate
 * set, so the scoring is still one blocked sgemm per cluster. Work drops
 * from n^2 to about n * nprobe * n / nlist pairs; what it costs in recall is
 * measured against the exact answer on a sample (mr_similar_recall). With
 * nprobe == nlist every item sees every other and the answer is exact. */

static void normalise_rows(const float *in, int64_t n, int f, float *out)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float *v = in + i * f;
        double n2 = 0;
        for (int a = 0; a < f; a++) n2 += (double)v[a] * v[a];
        float inv = n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0.0f;
        for (int a = 0; a < f; a++) out[i * f + a] = v[a] * inv;
    }
}

int mr_similar_compute_approx(const float *item_factors, int64_t n_items, int f, int n, int nlist, int nprobe,
                              int32_t *idx, float *score)
{
    if (n < 1) return mr_err(MR_EINVAL, "similar items: N must be at least 1, got %d", n);
    if (n_items == 0) return 0;
    /* every item is a query: the ranker's search over a few items, for all */
    int32_t *all = mr_malloc(sizeof(int32_t) * (size_t)n_items);
    if (!all) return MR_ENOMEM;
    for (int64_t i = 0; i < n_items; i++) all[i] = (int32_t)i;
    int rc = mr_cand_similar_ivf(item_factors, n_items, f, all, n_items, n, nlist, nprobe, 42, idx, score, NULL);
    free(all);
    return rc;
}

double mr_similar_recall(const float *item_factors, int64_t n_items, int f, int n, const int32_t *idx, int sample)
{
    if (n_items < 2 || sample < 1) return 1.0;
    if (sample > n_items) sample = (int)n_items;
    float *nv = mr_malloc(sizeof(float) * (size_t)n_items * f);
    float *q = mr_malloc(sizeof(float) * (size_t)sample * f);
    int32_t *ei = mr_malloc(sizeof(int32_t) * (size_t)sample * (n + 1));
    float *es = mr_malloc(sizeof(float) * (size_t)sample * (n + 1));
    double recall = NAN;
    if (nv && q && ei && es) {
        normalise_rows(item_factors, n_items, f, nv);
        for (int s = 0; s < sample; s++) memcpy(q + (size_t)s * f, nv + (n_items * s / sample) * f, sizeof(float) * f);
        mr_topk_opts o = {.k = n + 1};
        if (mr_topk(q, sample, nv, n_items, f, &o, ei, es) == 0) {
            int64_t hit = 0, want = 0;
            for (int s = 0; s < sample; s++) {
                int64_t item = n_items * s / sample;
                int r = 0;
                for (int e = 0; e < n + 1 && r < n; e++) {
                    int32_t t = ei[(size_t)s * (n + 1) + e];
                    if (t < 0 || t == item) continue;
                    r++;
                    want++;
                    for (int j = 0; j < n; j++)
                        if (idx[item * n + j] == t) {
                            hit++;
                            break;
                        }
                }
            }
            recall = want ? (double)hit / want : 1.0;
        }
    }
    free(nv), free(q), free(ei), free(es);
    return recall;
}


int mr_similar_write_index(const char *path, int64_t n_items, int n, int f, const int32_t *idx,
                           const float *score)
{
    unsigned char hdr[MR_SIMILAR_HEADER_SIZE];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, MR_SIMILAR_MAGIC, 8);
    uint32_t version = MR_SIMILAR_VERSION, hsize = MR_SIMILAR_HEADER_SIZE;
    int32_t n32 = n, f32 = f;
    memcpy(hdr + 8, &version, 4);
    memcpy(hdr + 12, &hsize, 4);
    memcpy(hdr + 16, &n_items, 8);
    memcpy(hdr + 24, &n32, 4);
    memcpy(hdr + 28, &f32, 4);
    mr_afile a;
    int rc = mr_afile_open(&a, path);
    if (rc) return rc;
    /* records are built a slice at a time, hashed and written */
    const int64_t B = 65536;
    unsigned char *buf = mr_malloc((size_t)B * n * 8);
    if (!buf) {
        mr_afile_abort(&a);
        return MR_ENOMEM;
    }
    uint64_t h = 0x73696d696c6172ULL;
    if (fwrite(hdr, 1, sizeof hdr, a.f) != sizeof hdr) goto io;
    for (int64_t i0 = 0; i0 < n_items; i0 += B) {
        int64_t m = n_items - i0 < B ? n_items - i0 : B;
        for (int64_t i = 0; i < m; i++) {
            memcpy(buf + (size_t)i * n * 8, idx + (i0 + i) * n, (size_t)n * 4);
            memcpy(buf + (size_t)i * n * 8 + (size_t)n * 4, score + (i0 + i) * n, (size_t)n * 4);
        }
        h = mr_hash64(h, buf, (size_t)m * n * 8);
        if (fwrite(buf, 1, (size_t)m * n * 8, a.f) != (size_t)m * n * 8) goto io;
    }
    free(buf);
    /* the checksum goes into the header once all records are hashed */
    if (fflush(a.f) != 0 || pwrite(a.fd, &h, 8, 32) != 8) {
        mr_afile_abort(&a);
        return mr_err(MR_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    return mr_afile_commit(&a);
io:
    free(buf);
    mr_afile_abort(&a);
    return mr_err(MR_EIO, "cannot write %s: %s", path, strerror(errno));
}

int mr_similar_map(const char *path, int verify_checksum, mr_similar_index *ix)
{
    memset(ix, 0, sizeof *ix);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mr_err(MR_ENOTFOUND, "cannot open similar-items index %s: %s (run `musrec similar`)", path,
                              strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return mr_err(MR_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    size_t len = (size_t)st.st_size;
    if (len < MR_SIMILAR_HEADER_SIZE) {
        close(fd);
        return mr_err(MR_EFORMAT, "%s is not a similar-items index: %zu bytes, shorter than the header", path, len);
    }
    void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED) return mr_err(MR_EIO, "cannot map %s: %s", path, strerror(errno));
    const unsigned char *b = base;
    uint32_t version, hsize;
    int64_t n_items;
    int32_t n, f;
    uint64_t sum;
    memcpy(&version, b + 8, 4);
    memcpy(&hsize, b + 12, 4);
    memcpy(&n_items, b + 16, 8);
    memcpy(&n, b + 24, 4);
    memcpy(&f, b + 28, 4);
    memcpy(&sum, b + 32, 8);
    int rc = 0;
    if (memcmp(b, MR_SIMILAR_MAGIC, 8) != 0)
        rc = mr_err(MR_EFORMAT, "%s is not a similar-items index (bad magic)", path);
    else if (version != MR_SIMILAR_VERSION || hsize != MR_SIMILAR_HEADER_SIZE)
        rc = mr_err(MR_EUNSUPPORTED, "%s is a similar-items index of version %u; this musrec reads version %d", path,
                    version, MR_SIMILAR_VERSION);
    else if (n < 1 || n > 100000 || n_items < 0 || n_items > INT32_MAX)
        rc = mr_err(MR_EFORMAT, "%s: implausible header (%lld items, N = %d)", path, (long long)n_items, n);
    else if (len != MR_SIMILAR_HEADER_SIZE + (size_t)n_items * n * 8)
        rc = mr_err(MR_EFORMAT, "%s is %s: %zu bytes, expected %zu for %lld items x %d neighbours", path,
                    len < MR_SIMILAR_HEADER_SIZE + (size_t)n_items * n * 8 ? "truncated" : "too long", len,
                    (size_t)(MR_SIMILAR_HEADER_SIZE + (size_t)n_items * n * 8), (long long)n_items, n);
    else if (verify_checksum &&
             mr_hash64(0x73696d696c6172ULL, b + MR_SIMILAR_HEADER_SIZE, len - MR_SIMILAR_HEADER_SIZE) != sum)
        rc = mr_err(MR_EFORMAT, "%s is corrupt: checksum mismatch", path);
    if (!rc && n_items > 0) {
        /* every neighbour index must be a valid item or -1, so the service can index with it */
        for (int64_t i = 0; i < n_items && !rc; i++) {
            const int32_t *it = (const int32_t *)(b + MR_SIMILAR_HEADER_SIZE + (size_t)i * n * 8);
            for (int j = 0; j < n; j++)
                if (it[j] < -1 || it[j] >= n_items) {
                    rc = mr_err(MR_EFORMAT, "%s: item %lld lists neighbour %d, out of range", path, (long long)i,
                                it[j]);
                    break;
                }
        }
    }
    if (rc) {
        munmap(base, len);
        return rc;
    }
    ix->n_items = n_items;
    ix->n = n;
    ix->factors = f;
    ix->base = b;
    ix->len = len;
    return 0;
}

void mr_similar_unmap(mr_similar_index *ix)
{
    if (ix->base) munmap((void *)ix->base, ix->len);
    memset(ix, 0, sizeof *ix);
}
