/* A trained XGBoost tree ensemble as flat arrays, for fast scoring of many
 * dense rows (the ranker's inference: ~200 candidates for every user).
 *
 * Why not XGBoost's own predictor: inference costs rows x trees, and at
 * scale 1 that is ~2.5e8 rows x 100+ trees, the largest phase of `musrec
 * rank`. XGBoost walks each tree with a data-dependent branch per level
 * (mispredicted about half the time) and first copies every row into a
 * per-thread feature vector. Here all trees live in one node array, a
 * node's right child is its left child + 1 (XGBoost's numbering; checked
 * on load), so a level is one compare and one add, no branch; eight rows
 * walk a tree together so their loads overlap, and a block of rows stays
 * in L1 while every tree passes over it.
 *
 * Same arithmetic as XGBoost 1.6's CPU predictor: the prediction starts at
 * the base margin, adds each tree's leaf value in float in tree order, and
 * binary:logistic applies 1 / (1 + expf(-x)). A split sends a row left when
 * value < condition, a missing (NaN) value the node's default way. The
 * ranker checks every model against XGBoost's own predictions on the
 * held-out rows before using it (mr_forest_check).
 */
#ifndef MR_FOREST_H
#define MR_FOREST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t n_trees, n_feat, n_nodes;
    float base_margin;
    int sigmoid;       /* binary:logistic: probabilities */
    int32_t *root;     /* n_trees: node index of each tree's root */
    int32_t *depth;    /* n_trees: levels to walk (deepest leaf) */
    int32_t *feat;     /* n_nodes: split feature (0 for leaves) */
    float *thr;        /* n_nodes: split condition (+inf for leaves) */
    int32_t *left;     /* n_nodes: left child (absolute); a leaf points at itself */
    uint8_t *go_right_missing; /* n_nodes: 1 when a missing value goes right (0 for leaves) */
    float *leaf;       /* n_nodes: leaf value (0 for inner nodes) */
    int32_t *packed;   /* n_nodes: left << 5 | feat, for the AVX-512 path (NULL if n_feat > 32) */
} mr_forest;

/* Builds the forest from an XGBoost JSON model (XGBoosterSaveModelToBuffer
 * with format json) of a gbtree binary:logistic or rank:* model with
 * n_feat numeric features. MR_EFORMAT names what it cannot represent. */
int mr_forest_from_json(const char *json, size_t len, int n_feat, mr_forest *f);
void mr_forest_free(mr_forest *f);

/* Scores n rows of x (n x n_feat, row-major) into out. OpenMP over row
 * blocks. On CPUs with AVX-512 a full block of 64 rows without a missing
 * value walks each tree as four vectors of 16 rows (gathers, no branch);
 * other blocks take the scalar path. Both give the same floats. */
void mr_forest_predict(const mr_forest *f, const float *x, int64_t n, float *out);
/* The same with the scalar path only (tests compare the two). */
void mr_forest_predict_scalar(const mr_forest *f, const float *x, int64_t n, float *out);

#endif
