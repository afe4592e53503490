/* Flat tree ensemble (forest.h). */
#include "models/forest.h"

#include <cjson/cJSON.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/vec.h"

void mr_forest_free(mr_forest *f)
{
    free(f->root), free(f->depth), free(f->feat), free(f->thr), free(f->left), free(f->go_right_missing), free(f->leaf);
    free(f->packed);
    memset(f, 0, sizeof *f);
}

static cJSON *path(cJSON *j, const char *const *keys)
{
    for (; j && *keys; keys++) j = cJSON_GetObjectItemCaseSensitive(j, *keys);
    return j;
}

static int array_len(cJSON *a) { return cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1; }

static int load(cJSON *root, int n_feat, mr_forest *f)
{
    cJSON *learner = cJSON_GetObjectItemCaseSensitive(root, "learner");
    cJSON *obj = path(learner, (const char *const[]){"objective", "name", NULL});
    cJSON *bs = path(learner, (const char *const[]){"learner_model_param", "base_score", NULL});
    cJSON *gbn = path(learner, (const char *const[]){"gradient_booster", "name", NULL});
    cJSON *trees = path(learner, (const char *const[]){"gradient_booster", "model", "trees", NULL});
    cJSON *info = path(learner, (const char *const[]){"gradient_booster", "model", "tree_info", NULL});
    if (!cJSON_IsString(obj) || !cJSON_IsString(bs) || !cJSON_IsString(gbn) || array_len(trees) < 0 || array_len(info) < 0)
        return mr_err(MR_EFORMAT, "XGBoost model JSON: no learner objective, base_score, gbtree trees or tree_info");
    if (strcmp(gbn->valuestring, "gbtree") != 0)
        return mr_err(MR_EFORMAT, "XGBoost model JSON: booster %s is not gbtree", gbn->valuestring);
    float base = (float)strtod(bs->valuestring, NULL);
    if (strcmp(obj->valuestring, "binary:logistic") == 0) {
        if (!(base > 0 && base < 1)) return mr_err(MR_EFORMAT, "XGBoost model JSON: base_score %s outside (0, 1)", bs->valuestring);
        f->sigmoid = 1;
        f->base_margin = -logf(1.0f / base - 1.0f); /* XGBoost's ProbToMargin for logistic */
    } else if (strncmp(obj->valuestring, "rank:", 5) == 0) {
        f->base_margin = base;
    } else {
        return mr_err(MR_EFORMAT, "XGBoost model JSON: objective %s is not binary:logistic or rank:*", obj->valuestring);
    }
    int nt = array_len(trees);
    if (array_len(info) != nt) return mr_err(MR_EFORMAT, "XGBoost model JSON: %d trees but %d tree_info", nt, array_len(info));
    int64_t total = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, trees) {
        int nn = array_len(cJSON_GetObjectItemCaseSensitive(t, "left_children"));
        if (nn < 1) return mr_err(MR_EFORMAT, "XGBoost model JSON: a tree without nodes");
        total += nn;
    }
    if (total > INT32_MAX / 2) return mr_err(MR_EFORMAT, "XGBoost model JSON: %lld nodes", (long long)total);
    f->n_trees = nt;
    f->n_feat = n_feat;
    f->n_nodes = (int32_t)total;
    f->root = mr_malloc(sizeof(int32_t) * (size_t)(nt + 1));
    f->depth = mr_malloc(sizeof(int32_t) * (size_t)(nt + 1));
    f->feat = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
    f->thr = mr_malloc(sizeof(float) * (size_t)(total + 1));
    f->left = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
    f->go_right_missing = mr_malloc((size_t)total + 1);
    f->leaf = mr_malloc(sizeof(float) * (size_t)(total + 1));
    int32_t *lvl = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
    if (!f->root || !f->depth || !f->feat || !f->thr || !f->left || !f->go_right_missing || !f->leaf || !lvl) {
        free(lvl);
        return MR_ENOMEM;
    }
    int32_t base_node = 0, ti = 0;
    int rc = 0;
    cJSON *g;
    cJSON_ArrayForEach(g, info) {
        if (!cJSON_IsNumber(g) || g->valueint != 0) rc = mr_err(MR_EFORMAT, "XGBoost model JSON: more than one output group");
    }
    cJSON_ArrayForEach(t, trees) {
        if (rc) break;
        cJSON *lc = cJSON_GetObjectItemCaseSensitive(t, "left_children"), *rcj = cJSON_GetObjectItemCaseSensitive(t, "right_children");
        cJSON *si = cJSON_GetObjectItemCaseSensitive(t, "split_indices"), *sc = cJSON_GetObjectItemCaseSensitive(t, "split_conditions");
        cJSON *dl = cJSON_GetObjectItemCaseSensitive(t, "default_left"), *st = cJSON_GetObjectItemCaseSensitive(t, "split_type");
        int nn = array_len(lc);
        if (array_len(rcj) != nn || array_len(si) != nn || array_len(sc) != nn || array_len(dl) != nn ||
            (st && array_len(st) != nn)) {
            rc = mr_err(MR_EFORMAT, "XGBoost model JSON: tree %d has node arrays of different lengths", ti);
            break;
        }
        /* cJSON arrays are linked lists: walk them together */
        cJSON *a = lc->child, *b = rcj->child, *c = si->child, *d = sc->child, *e = dl->child, *s = st ? st->child : NULL;
        for (int k = 0; k < nn; k++) {
            int32_t node = base_node + k;
            int l = a->valueint, r = b->valueint;
            if (s && s->valueint != 0) {
                rc = mr_err(MR_EFORMAT, "XGBoost model JSON: tree %d node %d is a categorical split", ti, k);
                break;
            }
            if (l == -1) { /* leaf: walks to itself */
                f->left[node] = node;
                f->feat[node] = 0;
                f->thr[node] = INFINITY;
                f->go_right_missing[node] = 0;
                f->leaf[node] = (float)d->valuedouble;
            } else {
                if (l < 0 || l >= nn || r != l + 1 || c->valueint < 0 || c->valueint >= n_feat) {
                    rc = mr_err(MR_EFORMAT, "XGBoost model JSON: tree %d node %d: children %d, %d, feature %d (%d features)",
                                ti, k, l, r, c->valueint, n_feat);
                    break;
                }
                f->left[node] = base_node + l;
                f->feat[node] = c->valueint;
                f->thr[node] = (float)d->valuedouble;
                f->go_right_missing[node] = e->valueint ? 0 : 1;
                f->leaf[node] = 0;
            }
            a = a->next, b = b->next, c = c->next, d = d->next, e = e->next;
            if (s) s = s->next;
        }
        if (rc) break;
        /* depth: levels below the root (children always come after their parent) */
        int32_t depth = 0;
        for (int k = 0; k < nn; k++) lvl[base_node + k] = -1;
        lvl[base_node] = 0;
        for (int k = 0; k < nn; k++) {
            int32_t node = base_node + k;
            if (lvl[node] < 0) {
                rc = mr_err(MR_EFORMAT, "XGBoost model JSON: tree %d node %d is unreachable or before its parent", ti, k);
                break;
            }
            if (f->left[node] != node) {
                lvl[f->left[node]] = lvl[f->left[node] + 1] = lvl[node] + 1;
                if (lvl[node] + 1 > depth) depth = lvl[node] + 1;
            }
        }
        f->root[ti] = base_node;
        f->depth[ti] = depth;
        base_node += nn;
        ti++;
    }
    free(lvl);
    if (!rc && n_feat <= 32 && total < (1 << 26)) {
        f->packed = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
        if (!f->packed) return MR_ENOMEM;
        for (int64_t k = 0; k < total; k++) f->packed[k] = f->left[k] << 5 | f->feat[k];
    }
    return rc;
}

int mr_forest_from_json(const char *json, size_t len, int n_feat, mr_forest *f)
{
    memset(f, 0, sizeof *f);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return mr_err(MR_EFORMAT, "XGBoost model JSON does not parse");
    int rc = load(root, n_feat, f);
    cJSON_Delete(root);
    if (rc) mr_forest_free(f);
    return rc;
}

enum { ROWS = 64, LANES = 8 };

static void finish(const mr_forest *f, const float *acc, int64_t n, float *out)
{
    for (int64_t i = 0; i < n; i++) out[i] = f->sigmoid ? 1.0f / (1.0f + expf(-acc[i])) : acc[i];
}

/* One block of up to ROWS rows through every tree. */
static void predict_block(const mr_forest *f, const float *x, int64_t n, float *out)
{
    float acc[ROWS];
    for (int64_t i = 0; i < n; i++) acc[i] = f->base_margin;
    const int32_t *feat = f->feat, *left = f->left;
    const float *thr = f->thr, *leaf = f->leaf;
    const uint8_t *grm = f->go_right_missing;
    const int nf = f->n_feat;
    for (int32_t t = 0; t < f->n_trees; t++) {
        const int32_t root = f->root[t], depth = f->depth[t];
        for (int64_t g = 0; g < n; g += LANES) {
            int32_t nd[LANES];
            const float *xr[LANES];
            for (int r = 0; r < LANES; r++) {
                nd[r] = root;
                xr[r] = x + (g + r < n ? g + r : g) * nf;
            }
            for (int32_t l = 0; l < depth; l++)
                for (int r = 0; r < LANES; r++) {
                    int32_t k = nd[r];
                    float v = xr[r][feat[k]];
                    int go = !(v < thr[k]);
                    if (v != v) go = grm[k];
                    nd[r] = left[k] + go;
                }
            int m = n - g < LANES ? (int)(n - g) : LANES;
            for (int r = 0; r < m; r++) acc[g + r] += leaf[nd[r]];
        }
    }
    finish(f, acc, n, out);
}

#if defined(__x86_64__)
/* Exactly ROWS (64) rows, none missing: four vectors of 16 rows walk each
 * tree level by level. Lanes are rows, so each row's sum is the same
 * sequence of float adds as the scalar path. */
__attribute__((target("avx512f"))) static void predict_block_avx512(const mr_forest *f, const float *x, float *out)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i nf = _mm512_set1_epi32(f->n_feat), m5 = _mm512_set1_epi32(31), one = _mm512_set1_epi32(1);
    __m512i roff[4];
    __m512 acc[4];
    for (int v = 0; v < 4; v++) {
        roff[v] = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(16 * v)), nf);
        acc[v] = _mm512_set1_ps(f->base_margin);
    }
    const int32_t *packed = f->packed;
    const float *thr = f->thr, *leaf = f->leaf;
    for (int32_t t = 0; t < f->n_trees; t++) {
        __m512i k[4];
        for (int v = 0; v < 4; v++) k[v] = _mm512_set1_epi32(f->root[t]);
        for (int32_t l = 0; l < f->depth[t]; l++)
            for (int v = 0; v < 4; v++) {
                __m512i pk = _mm512_i32gather_epi32(k[v], packed, 4);
                __m512 th = _mm512_i32gather_ps(k[v], thr, 4);
                __m512 xv = _mm512_i32gather_ps(_mm512_add_epi32(roff[v], _mm512_and_si512(pk, m5)), x, 4);
                __mmask16 right = _mm512_cmp_ps_mask(xv, th, _CMP_NLT_UQ); /* !(x < thr) */
                __m512i lf = _mm512_srli_epi32(pk, 5);
                k[v] = _mm512_mask_add_epi32(lf, right, lf, one);
            }
        for (int v = 0; v < 4; v++) acc[v] = _mm512_add_ps(acc[v], _mm512_i32gather_ps(k[v], leaf, 4));
    }
    float a[ROWS];
    for (int v = 0; v < 4; v++) _mm512_storeu_ps(a + 16 * v, acc[v]);
    finish(f, a, ROWS, out);
}
#endif

static int has_nan(const float *x, int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad |= x[i] != x[i];
    return bad;
}

static void predict(const mr_forest *f, const float *x, int64_t n, float *out, int vector)
{
    int64_t nb = (n + ROWS - 1) / ROWS;
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t b = 0; b < nb; b++) {
        int64_t r0 = b * ROWS, m = n - r0 < ROWS ? n - r0 : ROWS;
        const float *xb = x + r0 * f->n_feat;
#if defined(__x86_64__)
        if (vector && m == ROWS && !has_nan(xb, ROWS * (int64_t)f->n_feat)) {
            predict_block_avx512(f, xb, out + r0);
            continue;
        }
#endif
        predict_block(f, xb, m, out + r0);
    }
}

void mr_forest_predict(const mr_forest *f, const float *x, int64_t n, float *out)
{
    int vector = 0;
#if defined(__x86_64__)
    vector = f->packed && __builtin_cpu_supports("avx512f");
#endif
    predict(f, x, n, out, vector);
}

void mr_forest_predict_scalar(const mr_forest *f, const float *x, int64_t n, float *out) { predict(f, x, n, out, 0); }
