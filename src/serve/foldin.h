/* Fold-in: a user vector for someone the ALS model never saw, from the few
 * tracks they just listened to, against the trained item factors Y.
 *
 * It is one half-step of implicit ALS (Hu, Koren, Volinsky 2008) for a
 * single user with the item side fixed:
 *
 *     (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + λI) x = Yᵤᵀ Cᵤ p(u)
 *
 * where Yᵤ holds the factors of the user's items, Cᵤ their confidences
 * c = 1 + α·r, and p(u) = 1 on those items. YᵀY is the same for every user
 * and precomputed at load (serve/snapshot.c), so a solve costs
 * O(n·f² + f³) for n listened items and f factors: a few microseconds for
 * f = 64 (a Cholesky factorisation of the f x f system, in double).
 *
 * Scoring then takes the top k of Y·x over all items, skipping the items the
 * user listened to, with the shared top-k engine (models/topk.h).
 */
#ifndef MR_FOLDIN_H
#define MR_FOLDIN_H

#include <stdint.h>

/* Solves for x (f floats). items/r: the n listened items and their raw
 * strengths r (1 for a listen). work holds f*f + f doubles. Returns 0, or
 * MR_EINVAL when the system is not positive definite (reg <= 0 and too few
 * items). */
int mr_foldin_solve(const float *Y, int f, const double *gram, double reg, double alpha,
                    const int32_t *items, const float *r, int n, float *x, double *work);

/* In-place Cholesky factorisation of the n x n symmetric positive definite
 * row-major a (lower triangle, a = L·Lᵀ), then solves a·x = b in place of b.
 * Returns 0 or -1 if a is not positive definite. */
int mr_cholesky_solve(double *a, double *b, int n);

#endif
