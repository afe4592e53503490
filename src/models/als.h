/* Implicit-feedback ALS (Hu, Koren, Volinsky 2008).
 *
 * For a users x items matrix R of non-negative weights r_ui (listens), the
 * model minimises over user factors X (n_users x f) and item factors Y
 * (n_items x f):
 *
 *   L = sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + lambda (|X|^2 + |Y|^2)
 *   c_ui = 1 + alpha r_ui,  p_ui = 1 if r_ui is stored in R, else 0 (c_ui = 1)
 *
 * by alternating exact minimisation over X given Y and Y given X. For one
 * user the normal equations are
 *
 *   (YtY + lambda I + sum_{i in u} (c_ui - 1) y_i y_i^T) x_u = sum_{i in u} c_ui y_i
 *
 * YtY is computed once per half-step (cblas_ssyrk); the per-user term is
 * applied implicitly. Solvers: conjugate gradient warm-started from the
 * current x_u with a fixed number of steps (the design of the CPU solver of
 * the Python library implicit; 3 steps), or the exact Cholesky solution of
 * the k x k system (built and factored in double).
 *
 * Everything is float32 and row-major. Rows are independent, so the result
 * does not depend on the thread count; initial factors are drawn per row
 * from the seed, so a seed fixes the model.
 */
#ifndef MR_ALS_H
#define MR_ALS_H

#include <stdint.h>

#include "store/npy.h"

typedef enum { MR_ALS_CG = 0, MR_ALS_CHOLESKY = 1 } mr_als_solver;

typedef struct {
    int factors;          /* 64 */
    int iterations;       /* 15 */
    double regularization;/* lambda, 0.05 */
    double alpha;         /* confidence slope, 1.0 */
    int cg_steps;         /* 3 */
    mr_als_solver solver; /* MR_ALS_CG */
    uint64_t seed;
    int compute_loss;     /* compute L after every iteration (costs ~1 CG step) */
} mr_als_opts;

typedef struct {
    int64_t n_users, n_items;
    int factors;
    float *user_factors;  /* n_users x factors */
    float *item_factors;  /* n_items x factors */
} mr_als_model;

/* Called after each iteration; loss is NaN unless compute_loss. */
typedef void (*mr_als_progress_fn)(void *ud, int iteration, double seconds, double loss);

void mr_als_opts_default(mr_als_opts *o);
/* "cg" / "cholesky" -> solver; -1 if unknown. */
int mr_als_solver_parse(const char *s);
const char *mr_als_solver_name(mr_als_solver s);

/* Checks options and the matrix: non-empty, finite non-negative values,
 * factors <= n_items, confidence within float range. Errors name the value. */
int mr_als_validate(const mr_csr *ui, const mr_als_opts *o);

/* Allocates the model and draws initial factors uniformly in [0, 0.01)
 * (as implicit does), from a generator seeded per row. */
int mr_als_init(mr_als_model *m, int64_t n_users, int64_t n_items, int factors, uint64_t seed);
void mr_als_free(mr_als_model *m);

/* Full fit: ui is users x items, iu its transpose (items x users). m must be
 * initialised (mr_als_init) with matching sizes. */
int mr_als_fit(const mr_csr *ui, const mr_csr *iu, const mr_als_opts *o, mr_als_model *m,
               mr_als_progress_fn progress, void *ud);

/* One half-step: solves every row of X (rows.n_rows x f) given Y
 * (n_y x f, n_y == rows.n_cols), in place (CG starts from X). */
int mr_als_half_step(const mr_csr *rows, const float *Y, int64_t n_y, float *X, const mr_als_opts *o);

/* The loss L above, in double, computed with the YtY trick in
 * O(nnz f + (n_users + n_items) f^2). */
double mr_als_loss(const mr_csr *ui, const mr_als_model *m, const mr_als_opts *o);

/* ---- model file (models/als_model.bin), see docs/als.md ----
 * Little-endian: a 1024-byte header (magic "MRALS\0", version, sizes,
 * hyperparameters, the id maps it was trained with, a checksum), then
 * n_users x f float32 user factors and n_items x f float32 item factors. */
#define MR_ALS_MAGIC "MRALS"
#define MR_ALS_VERSION 1
#define MR_ALS_HEADER_SIZE 1024

typedef struct {
    int iterations;
    double regularization, alpha;
    int cg_steps;
    int solver;
    uint64_t seed;
    char users_path[256];  /* id maps: path relative to the work directory */
    int64_t users_size;    /* file size when the model was trained, -1 unknown */
    char items_path[256];
    int64_t items_size;
} mr_als_meta;

int mr_als_save(const char *path, const mr_als_model *m, const mr_als_meta *meta);
/* Validates magic, version, sizes against the file length and the checksum. */
int mr_als_load(const char *path, mr_als_model *m, mr_als_meta *meta);
/* Flags of mr_als_load_opts. MR_ALS_LOAD_ITEMS_ONLY: the user factors are
 * read and checksummed but not kept (m->user_factors NULL, n_users set), for
 * a reader that needs only the item side (the service's fold-in). */
enum { MR_ALS_LOAD_ITEMS_ONLY = 1 };
int mr_als_load_opts(const char *path, mr_als_model *m, mr_als_meta *meta, int flags);

#endif
