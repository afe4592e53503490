/* Similar items: for every item its N nearest items by cosine of the ALS
 * item factors, itself excluded, computed with the top-k engine on the
 * L2-normalised factors (an item whose factors are all zero has cosine 0
 * with everything).
 *
 * results/similar_index.bin is what the service maps into memory: a fixed
 * header, then one fixed-size record per item_idx, so the lookup of item i
 * is one multiplication and no parsing. Little-endian:
 *
 *   offset size
 *    0     8   magic "MRSIM\0\0\0"
 *    8     4   u32 version (1)
 *   12     4   u32 header size (64)
 *   16     8   i64 n_items
 *   24     4   i32 N (neighbours per item)
 *   28     4   i32 factors of the model it came from (informational)
 *   32     8   u64 checksum of the records (mr_hash64, base/vec.h)
 *   40    24   zero
 *   64         n_items records of N * 8 bytes:
 *                int32 similar item_idx[N] (best first, -1 = none),
 *                float32 score[N] (cosine, -inf for none)
 */
#ifndef MR_SIMILAR_H
#define MR_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#include "models/topk.h"

#define MR_SIMILAR_MAGIC "MRSIM\0\0\0"
#define MR_SIMILAR_VERSION 1
#define MR_SIMILAR_HEADER_SIZE 64

/* idx/score: n_items x n, best first. Exact (mr_topk_self on the
 * normalised factors: the int8 path with exact rescoring where the CPU has
 * VNNI). */
int mr_similar_compute(const float *item_factors, int64_t n_items, int f, int n, int32_t *idx, float *score);
/* The same with the engine's options and statistics: o->mode is used, k is
 * set to n, and o's out fields (scored, rescored, path) are filled. */
int mr_similar_compute_opts(const float *item_factors, int64_t n_items, int f, int n, mr_topk_opts *o, int32_t *idx,
                            float *score);

/* Approximate: an inverted file over nlist spherical k-means clusters,
 * each cluster's items compared with the items of its nprobe nearest
 * clusters (nprobe == nlist is exact). Same output layout. */
int mr_similar_compute_approx(const float *item_factors, int64_t n_items, int f, int n, int nlist, int nprobe,
                              int32_t *idx, float *score);
/* Share of the exact top n found in idx, over `sample` items spread evenly
 * over the index range (ties may count as misses). NaN on failure. */
double mr_similar_recall(const float *item_factors, int64_t n_items, int f, int n, const int32_t *idx, int sample);

int mr_similar_write_index(const char *path, int64_t n_items, int n, int f, const int32_t *idx,
                           const float *score);

typedef struct {
    int64_t n_items;
    int n;
    int factors;
    const unsigned char *base; /* the mapping */
    size_t len;
} mr_similar_index;

/* Maps the file read-only and checks magic, version and size against the
 * file length (verify_checksum also hashes the records: one pass). */
int mr_similar_map(const char *path, int verify_checksum, mr_similar_index *ix);
void mr_similar_unmap(mr_similar_index *ix);

/* The record of item i: N neighbour indices and N scores. */
static inline const int32_t *mr_similar_items(const mr_similar_index *ix, int64_t i)
{
    return (const int32_t *)(ix->base + MR_SIMILAR_HEADER_SIZE + (size_t)i * ix->n * 8);
}
static inline const float *mr_similar_scores(const mr_similar_index *ix, int64_t i)
{
    return (const float *)(ix->base + MR_SIMILAR_HEADER_SIZE + (size_t)i * ix->n * 8 + (size_t)ix->n * 4);
}

#endif
