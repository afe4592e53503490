/* Growable arrays of plain numbers and an int64 -> int32 hash map.
 *
 * MR_VEC(name, T) defines `mr_vec_name` with push/reserve/free. The vector
 * owns its buffer; `v` is a plain pointer to T you can index or hand to code
 * that wants a flat array (and take ownership of by setting it to NULL). */
#ifndef MR_VEC_H
#define MR_VEC_H

#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"

#define MR_VEC(name, T)                                                                      \
    typedef struct {                                                                         \
        T *v;                                                                                \
        size_t n, cap;                                                                       \
    } mr_vec_##name;                                                                         \
    static inline int mr_vec_##name##_reserve(mr_vec_##name *a, size_t want)                 \
    {                                                                                        \
        if (want <= a->cap) return 0;                                                        \
        size_t cap = a->cap ? a->cap : 16;                                                   \
        while (cap < want) cap += cap / 2 + 16;                                              \
        T *nv = (T *)mr_realloc(a->v, cap * sizeof(T));                                      \
        if (!nv) return MR_ENOMEM;                                                           \
        a->v = nv;                                                                           \
        a->cap = cap;                                                                        \
        return 0;                                                                            \
    }                                                                                        \
    static inline int mr_vec_##name##_push(mr_vec_##name *a, T x)                            \
    {                                                                                        \
        if (a->n == a->cap && mr_vec_##name##_reserve(a, a->n + 1)) return MR_ENOMEM;        \
        a->v[a->n++] = x;                                                                    \
        return 0;                                                                            \
    }                                                                                        \
    static inline void mr_vec_##name##_free(mr_vec_##name *a)                                \
    {                                                                                        \
        free(a->v);                                                                          \
        a->v = NULL;                                                                         \
        a->n = a->cap = 0;                                                                   \
    }

MR_VEC(i32, int32_t)
MR_VEC(i64, int64_t)
MR_VEC(f32, float)
MR_VEC(f64, double)
MR_VEC(u8, uint8_t)

/* Open-addressing hash map from int64 keys to int32 values (linear probing,
 * power-of-two capacity, at most 50% full). Used to turn raw ids into dense
 * codes; hot loops then index arrays by code. */
typedef struct {
    int64_t *keys;
    int32_t *vals;
    uint8_t *used;
    size_t n, cap;
} mr_imap;

int mr_imap_init(mr_imap *m, size_t expected);
void mr_imap_free(mr_imap *m);
/* Inserts key -> val, or overwrites. */
int mr_imap_put(mr_imap *m, int64_t key, int32_t val);
/* Returns 1 and sets *val if present, else 0. */
int mr_imap_get(const mr_imap *m, int64_t key, int32_t *val);
/* Returns the value for key, inserting `val` first if absent. */
int mr_imap_get_or_put(mr_imap *m, int64_t key, int32_t val, int32_t *out);

/* The first index in the ascending a[0..n) whose value is >= x (n if none):
 * every sorted lookup (a CSR row, a user list, a catalog range) is this. */
#define MR_LOWER_BOUND(name, T)                                                 \
    static inline int64_t name(const T *a, int64_t n, T x)                      \
    {                                                                           \
        int64_t lo = 0, hi = n;                                                 \
        while (lo < hi) {                                                       \
            int64_t mid = lo + (hi - lo) / 2;                                   \
            if (a[mid] < x) lo = mid + 1;                                       \
            else hi = mid;                                                      \
        }                                                                       \
        return lo;                                                              \
    }
MR_LOWER_BOUND(mr_lower_bound_i32, int32_t)
MR_LOWER_BOUND(mr_lower_bound_i64, int64_t)

/* Whether x is in the ascending a[0..n). */
static inline int mr_sorted_has_i32(const int32_t *a, int64_t n, int32_t x)
{
    int64_t i = mr_lower_bound_i32(a, n, x);
    return i < n && a[i] == x;
}

/* A fast 64-bit checksum of len bytes, chained through h (start with any
 * constant): multiply-xorshift over 8-byte words, the tail bytewise. Model
 * and index files use it to detect damage; it is not cryptographic. */
uint64_t mr_hash64(uint64_t h, const void *data, size_t len);

#endif
