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
