#include "serve/foldin.h"

#include <math.h>
#include <string.h>

#include "base/err.h"

int mr_cholesky_solve(double *a, double *b, int n)
{
    /* a = L·Lᵀ, L overwriting the lower triangle (Cholesky–Banachiewicz) */
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double s = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++) s -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            if (i == j) {
                if (!(s > 0)) return -1;
                a[(size_t)i * n + i] = sqrt(s);
            } else {
                a[(size_t)i * n + j] = s / a[(size_t)j * n + j];
            }
        }
    }
    /* L·z = b, then Lᵀ·x = z */
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++) s -= a[(size_t)i * n + k] * b[k];
        b[i] = s / a[(size_t)i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < n; k++) s -= a[(size_t)k * n + i] * b[k];
        b[i] = s / a[(size_t)i * n + i];
    }
    return 0;
}

int mr_foldin_solve(const float *Y, int f, const double *gram, double reg, double alpha,
                    const int32_t *items, const float *r, int n, float *x, double *work)
{
    double *A = work, *b = work + (size_t)f * f;
    memcpy(A, gram, (size_t)f * f * sizeof *A);
    for (int a = 0; a < f; a++) {
        A[(size_t)a * f + a] += reg;
        b[a] = 0;
    }
    for (int t = 0; t < n; t++) {
        const float *y = Y + (size_t)items[t] * f;
        double c = 1.0 + alpha * r[t];
        /* A += (c − 1)·y·yᵀ (lower triangle is all the factorisation reads) */
        for (int a = 0; a < f; a++) {
            double ya = (c - 1.0) * y[a];
            double *row = A + (size_t)a * f;
            for (int bb = 0; bb <= a; bb++) row[bb] += ya * y[bb];
            b[a] += c * y[a];
        }
    }
    if (mr_cholesky_solve(A, b, f) != 0)
        return mr_err(MR_EINVAL, "fold-in: the system is not positive definite (regularization %g)", reg);
    for (int a = 0; a < f; a++) x[a] = (float)b[a];
    return 0;
}

/* a ranks below b: lower score, or equal score and larger index. NaN is
 * below everything. */
static inline int worse(const float *s, int32_t a, int32_t b)
{
    float sa = s[a], sb = s[b];
    if (isnan(sa)) return isnan(sb) ? a > b : 1;
    if (isnan(sb)) return 0;
    return sa < sb || (sa == sb && a > b);
}

static void sift_down(int32_t *h, int m, int i, const float *s)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < m && worse(s, h[l], h[w])) w = l;
        if (r < m && worse(s, h[r], h[w])) w = r;
        if (w == i) return;
        int32_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

int mr_topk_scores(const float *scores, int32_t n, int k, const int32_t *excl, int n_excl,
                   int32_t *out_item, float *out_score, int32_t *heap)
{
    if (k <= 0 || n <= 0) return 0;
    int64_t want = (int64_t)k + (n_excl > 0 ? n_excl : 0);
    int m = want < n ? (int)want : (int)n, filled = 0;
    /* a min-heap (the worst kept item on top) of the m best */
    for (int32_t i = 0; i < n; i++) {
        if (filled < m) {
            heap[filled++] = i;
            if (filled == m)
                for (int j = m / 2 - 1; j >= 0; j--) sift_down(heap, m, j, scores);
        } else if (worse(scores, heap[0], i)) {
            heap[0] = i;
            sift_down(heap, m, 0, scores);
        }
    }
    /* heapsort: each pop moves the worst remaining to the end, so heap[]
     * ends best-first */
    for (int end = filled - 1; end > 0; end--) {
        int32_t t = heap[0];
        heap[0] = heap[end];
        heap[end] = t;
        sift_down(heap, end, 0, scores);
    }
    int out = 0;
    for (int j = 0; j < filled && out < k; j++) {
        int32_t it = heap[j];
        int skip = 0;
        for (int e = 0; e < n_excl; e++)
            if (excl[e] == it) { skip = 1; break; }
        if (skip) continue;
        out_item[out] = it;
        out_score[out] = scores[it];
        out++;
    }
    return out;
}
