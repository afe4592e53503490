/* int8 candidate scoring for the top-k engine (topk.h): internal to
 * src/models/topk*.c.
 *
 * A row x (query or item) is quantised with its own scale s = max|x_a| / 127
 * to codes c_a = round(x_a / s) in [-127, 127]. With x^ = s c and the
 * quantisation error e = x - x^, for a query q and an item v
 *
 *     q . v = q^ . v^ + e_q . v + q^ . e_v
 *     |q . v - s_q s_v (c_q . c_v)| <= |e_q| |v| + |q^| |e_v|        (Cauchy-Schwarz)
 *
 * and c_q . c_v is an exact int32 (64 * 127 * 127 < 2^31). So
 *
 *     U(q, v) = s_q s_v (c_q . c_v) + E_q N_v + Nh_q E_v
 *
 * is an upper bound of the real q . v once the per-row terms are inflated
 * to cover the float rounding of U itself (see quantise_row in topk_q8.c:
 * E_q gets (1 + 2^-12) and an extra 2^-16 |q|, the item terms (1 + 2^-20)).
 * A block of U values is what the kernels below compute; topk.c compares it
 * with each query's k-th exact score and rescores the survivors exactly.
 *
 * Rows with a norm outside [2^-40, 2^40] (or exactly zero) get codes 0 and
 * scale 0, and their whole norm counts as error, so U stays a valid bound
 * without float underflow or overflow in the products (their items are
 * simply rescored whenever the bound cannot exclude them).
 *
 * Item codes are stored for vpdpbusd (u8 x s8, four byte pairs summed into
 * each int32 lane): code + 128 as u8, in groups of 16 items, each group
 * chunk-interleaved (bytes 4c..4c+3 of the 16 items, 64 bytes, then chunk
 * c + 1), so one 64-byte load and a broadcast of 4 query bytes give 16
 * partial dot products. The +128 is taken back per query: the accumulator
 * starts at -128 sum(c_q). */
#ifndef MR_TOPK_Q8_H
#define MR_TOPK_Q8_H

#include <stdint.h>

#define MR_Q8_TILE 64 /* items per kernel tile (4 groups of 16); item blocks are multiples of it */
#define MR_Q8_QT 6    /* queries per kernel tile; query blocks are padded to a multiple of it */

typedef struct {
    int64_t n, npad; /* items, and items padded to a multiple of MR_Q8_TILE */
    int f, nch;      /* factors, and 4-byte chunks per row (f rounded up to 4, / 4) */
    uint8_t *codes;  /* npad / 16 groups x nch x 64 bytes */
    float *s, *nrm, *err; /* per item: scale, norm bound N_v, error-norm bound E_v */
} mr_q8_items;

typedef struct {
    int cap, f, nch;
    int8_t *codes;  /* cap x (4 nch) bytes, row-major */
    int32_t *corr;  /* 128 sum(codes) */
    float *s, *err, *nh; /* scale, E_q bound (with the absolute slack), |q^| bound */
} mr_q8_queries;

/* Whether this CPU runs the AVX-512 VNNI kernel. */
int mr_q8_have_vnni(void);

/* Quantises V (n x f). Fails (MR_EINVAL) on a non-finite value, naming the
 * row as ids[row] (the caller's item index; NULL: the row itself). */
int mr_q8_items_build(const float *V, int64_t n, int f, const int32_t *ids, mr_q8_items *it);
void mr_q8_items_free(mr_q8_items *it);

int mr_q8_queries_alloc(mr_q8_queries *q, int cap, int f);
void mr_q8_queries_free(mr_q8_queries *q);
/* Quantises rows Q[0..m) into q (m <= cap); rows m..round-up-to-QT are
 * zeroed. Returns -1 - r if row r has a non-finite value, else 0. */
int64_t mr_q8_queries_set(mr_q8_queries *q, const float *Q, int m);

/* Copies query row src to row dst (compacting the active queries). */
void mr_q8_queries_move(mr_q8_queries *q, int dst, int src);

/* U[r * ldu + j] = upper bound of Q_r . V_(i0 + j) for r < m rounded up to
 * MR_Q8_QT and j < mi rounded up to MR_Q8_TILE (i0 a multiple of
 * MR_Q8_TILE). vnni = 0 runs the portable kernel (same bounds up to float
 * rounding; both are valid). */
void mr_q8_block(const mr_q8_queries *q, int m, const mr_q8_items *it, int64_t i0, int mi, float *U, int ldu,
                 int vnni);

/* Largest f the int8 path takes: the int32 dot products (|D| <= f 127^2)
 * cannot overflow and stay exact in float. */
#define MR_Q8_MAX_F 1024

#endif
