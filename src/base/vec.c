#include "base/vec.h"

#include <string.h>

static inline size_t slot_of(int64_t key, size_t mask)
{
    /* splitmix64 finaliser: raw ids are often sequential or strided */
    uint64_t x = (uint64_t)key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x & mask;
}

int mr_imap_init(mr_imap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    m->keys = mr_malloc(cap * sizeof *m->keys);
    m->vals = mr_malloc(cap * sizeof *m->vals);
    m->used = mr_calloc(cap, 1);
    if (!m->keys || !m->vals || !m->used) {
        mr_imap_free(m);
        return MR_ENOMEM;
    }
    m->cap = cap;
    return 0;
}

void mr_imap_free(mr_imap *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

static int grow(mr_imap *m)
{
    mr_imap bigger;
    int rc = mr_imap_init(&bigger, m->cap);
    if (rc) return rc;
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) mr_imap_put(&bigger, m->keys[i], m->vals[i]);
    mr_imap_free(m);
    *m = bigger;
    return 0;
}

static size_t probe(const mr_imap *m, int64_t key)
{
    size_t mask = m->cap - 1, i = slot_of(key, mask);
    while (m->used[i] && m->keys[i] != key) i = (i + 1) & mask;
    return i;
}

int mr_imap_put(mr_imap *m, int64_t key, int32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc) return rc;
    }
    size_t i = probe(m, key);
    if (!m->used[i]) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->n++;
    }
    m->vals[i] = val;
    return 0;
}

int mr_imap_get(const mr_imap *m, int64_t key, int32_t *val)
{
    if (!m->cap) return 0;
    size_t i = probe(m, key);
    if (!m->used[i]) return 0;
    *val = m->vals[i];
    return 1;
}

int mr_imap_get_or_put(mr_imap *m, int64_t key, int32_t val, int32_t *out)
{
    if (mr_imap_get(m, key, out)) return 0;
    int rc = mr_imap_put(m, key, val);
    if (!rc) *out = val;
    return rc;
}

uint64_t mr_hash64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    const uint64_t K = 0x9e3779b97f4a7c15ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * K;
        h ^= h >> 29;
    }
    for (; i < len; i++) {
        h = (h ^ p[i]) * K;
        h ^= h >> 29;
    }
    return h;
}
