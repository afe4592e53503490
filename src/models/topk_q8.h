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
 * starts at -128 sum(c_q).
 *
 * CPUs with AVX2 but no AVX-512 VNNI (most laptops: Intel consumer chips,
 * AMD Zen 2/3) run the AVX2 kernel on a second layout: codes as int16, in
 * groups of 8 items, pair-interleaved (factors 2p, 2p+1 of the 8 items, 32
 * bytes, then pair p + 1), so one 32-byte load and a broadcast of two
 * int16 query codes feed vpmaddwd, which gives 8 exact int32 sums of two
 * products (|c_q c_v| <= 127^2: no saturation anywhere, unlike vpmaddubsw
 * on u8 x s8). The integer dot product is the same c_q . c_v and the
 * epilogue the same float operations in the same order as the VNNI
 * kernel's, so the two kernels give the same bounds bit for bit
 * (tests/test_topk.c checks it). At two int8 products per 16-bit lane it
 * does 16 multiply-adds per instruction, twice a float FMA's 8. CPUs with
 * AVX-VNNI but no AVX-512 (Intel Alder Lake and later) run vpdpbusd on ymm
 * on the VNNI layout (two 32-byte loads per group of 16 items), with the
 * same epilogue: the same bounds again. The portable kernel is plain C. */
#ifndef MR_TOPK_Q8_H
#define MR_TOPK_Q8_H

#include <stdint.h>

#define MR_Q8_TILE 64 /* items per kernel tile (4 groups of 16); item blocks are multiples of it */
#define MR_Q8_QT 6    /* queries per kernel tile; query blocks are padded to a multiple of it */

/* The bound kernels (mr_q8_block). */
enum { MR_Q8_PORTABLE = 0, MR_Q8_AVX2 = 1, MR_Q8_VNNI = 2, MR_Q8_AVXVNNI = 3 };

typedef struct {
    int64_t n, npad; /* items, and items padded to a multiple of MR_Q8_TILE */
    int f, nch;      /* factors, and 4-byte chunks per row (f rounded up to 4, / 4) */
    int kern;        /* MR_Q8_*: the layout below that was built */
    uint8_t *codes;  /* VNNI, AVX-VNNI, portable: npad / 16 groups x nch x 64 bytes; else NULL */
    int16_t *codes16; /* AVX2: npad / 8 groups x 2 nch pairs x 16 int16; else NULL */
    float *s, *nrm, *err; /* per item: scale, norm bound N_v, error-norm bound E_v */
} mr_q8_items;

typedef struct {
    int cap, f, nch;
    int8_t *codes;  /* cap x (4 nch) bytes, row-major */
    int16_t *codes16; /* the same codes as int16 (the AVX2 kernel's broadcasts) */
    int32_t *corr;  /* 128 sum(codes) */
    float *s, *err, *nh; /* scale, E_q bound (with the absolute slack), |q^| bound */
} mr_q8_queries;

/* Whether this CPU runs the AVX-512 VNNI kernel; the AVX2 one (AVX2 and
 * FMA). */
int mr_q8_have_vnni(void);
int mr_q8_have_avx2(void);
/* AVX2 and AVX-VNNI (vpdpbusd on ymm, VEX: Intel Alder Lake and later) */
int mr_q8_have_avxvnni(void);

/* The best kernel this CPU runs. */
int mr_q8_best_kernel(void);

/* Quantises V (n x f) into the layout of kernel kern (MR_Q8_*; the caller
 * checks that the CPU runs it). Fails (MR_EINVAL) on a non-finite value,
 * naming the row as ids[row] (the caller's item index; NULL: the row
 * itself). */
int mr_q8_items_build(const float *V, int64_t n, int f, const int32_t *ids, int kern, mr_q8_items *it);
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
 * MR_Q8_TILE), with the kernel the items were built for (it->kern). The
 * VNNI and AVX2 kernels give the same bits; the portable one the same
 * bounds up to float rounding (all are valid). */
void mr_q8_block(const mr_q8_queries *q, int m, const mr_q8_items *it, int64_t i0, int mi, float *U, int ldu);

/* Largest f the int8 path takes: the int32 dot products (|D| <= f 127^2)
 * cannot overflow and stay exact in float. */
#define MR_Q8_MAX_F 1024

#endif
