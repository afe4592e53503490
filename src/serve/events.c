#include "serve/events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define EVICT_SAMPLES 5 /* Redis's default maxmemory-samples: close to true LRU */

typedef struct {
    int64_t user;
    uint64_t last;    /* shard clock at the last put, for eviction */
    uint64_t version; /* events ever put */
    uint8_t head;     /* slot of the next write */
    uint8_t count;
    int64_t tracks[MR_EVSTORE_PER_USER];
} entry;

typedef struct {
    pthread_mutex_t mu;
    entry *e;
    int32_t n, alloc, cap; /* used, allocated, the bound */
    int32_t *index;        /* open addressing: entry slot or -1 */
    uint32_t mask;
    uint64_t clock, rng;
} __attribute__((aligned(64))) shard;

struct mr_evstore {
    shard shards[MR_EVSTORE_SHARDS];
    int64_t capacity;
    _Atomic int64_t users, evictions;
};

static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL; /* splitmix64 finaliser */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int mr_evstore_new(mr_evstore **out, int64_t max_users)
{
    *out = NULL;
    if (max_users < 1) return mr_err(MR_EINVAL, "event store: max users must be at least 1, got %lld",
                                     (long long)max_users);
    if (max_users > (int64_t)MR_EVSTORE_SHARDS * (1 << 28))
        return mr_err(MR_EINVAL, "event store: max users %lld is too large", (long long)max_users);
    mr_evstore *s = mr_calloc(1, sizeof *s);
    if (!s) return MR_ENOMEM;
    int32_t cap = (int32_t)((max_users + MR_EVSTORE_SHARDS - 1) / MR_EVSTORE_SHARDS);
    uint32_t size = 16;
    while (size < 2u * (uint32_t)cap) size *= 2;
    s->capacity = (int64_t)cap * MR_EVSTORE_SHARDS;
    for (int i = 0; i < MR_EVSTORE_SHARDS; i++) {
        shard *h = &s->shards[i];
        pthread_mutex_init(&h->mu, NULL);
        h->cap = cap;
        h->mask = size - 1;
        h->rng = mix((uint64_t)i + 1);
        h->index = mr_malloc(size * sizeof *h->index);
        if (!h->index) {
            mr_evstore_free(s);
            return MR_ENOMEM;
        }
        memset(h->index, 0xff, size * sizeof *h->index);
    }
    *out = s;
    return 0;
}

void mr_evstore_free(mr_evstore *s)
{
    if (!s) return;
    for (int i = 0; i < MR_EVSTORE_SHARDS; i++) {
        free(s->shards[i].e);
        free(s->shards[i].index);
        pthread_mutex_destroy(&s->shards[i].mu);
    }
    free(s);
}

/* Index position of user in h, or of the empty slot where it would go. */
static uint32_t probe(const shard *h, int64_t user, uint64_t hash, int *found)
{
    uint32_t i = (uint32_t)(hash >> 6) & h->mask;
    for (;;) {
        int32_t slot = h->index[i];
        if (slot < 0) { *found = 0; return i; }
        if (h->e[slot].user == user) { *found = 1; return i; }
        i = (i + 1) & h->mask;
    }
}

/* Removes index position i, shifting later members of the probe run back
 * so that lookups never stop early (deletion without tombstones). */
static void index_delete(shard *h, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & h->mask;
        int32_t slot = h->index[j];
        if (slot < 0) break;
        uint32_t home = (uint32_t)(mix((uint64_t)h->e[slot].user) >> 6) & h->mask;
        /* move j back to i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            h->index[i] = slot;
            i = j;
        }
    }
    h->index[i] = -1;
}

/* A slot for a new user: a fresh one while below the bound, else the
 * least recently written of a few random users, evicted. */
static int32_t take_slot(mr_evstore *s, shard *h)
{
    if (h->n < h->cap) {
        if (h->n == h->alloc) {
            int32_t na = h->alloc ? h->alloc * 2 : 8;
            if (na > h->cap) na = h->cap;
            entry *ne = realloc(h->e, (size_t)na * sizeof *ne);
            if (!ne) return -1;
            h->e = ne;
            h->alloc = na;
        }
        atomic_fetch_add_explicit(&s->users, 1, memory_order_relaxed);
        return h->n++;
    }
    int32_t victim = -1;
    for (int t = 0; t < EVICT_SAMPLES; t++) {
        h->rng = mix(h->rng);
        int32_t c = (int32_t)(h->rng % (uint64_t)h->n);
        if (victim < 0 || h->e[c].last < h->e[victim].last) victim = c;
    }
    int found;
    uint32_t pos = probe(h, h->e[victim].user, mix((uint64_t)h->e[victim].user), &found);
    if (found) index_delete(h, pos);
    atomic_fetch_add_explicit(&s->evictions, 1, memory_order_relaxed);
    return victim;
}

int mr_evstore_put(mr_evstore *s, int64_t user, int64_t track)
{
    uint64_t hash = mix((uint64_t)user);
    shard *h = &s->shards[hash & (MR_EVSTORE_SHARDS - 1)];
    pthread_mutex_lock(&h->mu);
    int found;
    uint32_t pos = probe(h, user, hash, &found);
    int32_t slot;
    if (found) {
        slot = h->index[pos];
    } else {
        slot = take_slot(s, h);
        if (slot < 0) {
            pthread_mutex_unlock(&h->mu);
            return mr_err(MR_ENOMEM, "event store: out of memory adding user %lld", (long long)user);
        }
        /* eviction may have moved index entries: find the free position again */
        pos = probe(h, user, hash, &found);
        h->index[pos] = slot;
        entry *e = &h->e[slot];
        e->user = user;
        e->version = 0;
        e->head = 0;
        e->count = 0;
    }
    entry *e = &h->e[slot];
    e->tracks[e->head] = track;
    e->head = (uint8_t)((e->head + 1) % MR_EVSTORE_PER_USER);
    if (e->count < MR_EVSTORE_PER_USER) e->count++;
    e->version++;
    e->last = ++h->clock;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

int mr_evstore_get(mr_evstore *s, int64_t user, int64_t *out, int max, uint64_t *version)
{
    uint64_t hash = mix((uint64_t)user);
    shard *h = &s->shards[hash & (MR_EVSTORE_SHARDS - 1)];
    pthread_mutex_lock(&h->mu);
    int found, n = 0;
    uint32_t pos = probe(h, user, hash, &found);
    if (version) *version = 0;
    if (found) {
        const entry *e = &h->e[h->index[pos]];
        n = e->count < max ? e->count : max;
        int j = e->head;
        for (int i = 0; i < n; i++) {
            j = (j + MR_EVSTORE_PER_USER - 1) % MR_EVSTORE_PER_USER;
            out[i] = e->tracks[j];
        }
        if (version) *version = e->version;
    }
    pthread_mutex_unlock(&h->mu);
    return n < 0 ? 0 : n;
}

int64_t mr_evstore_users(mr_evstore *s) { return atomic_load_explicit(&s->users, memory_order_relaxed); }
int64_t mr_evstore_evictions(mr_evstore *s)
{
    return atomic_load_explicit(&s->evictions, memory_order_relaxed);
}
int64_t mr_evstore_capacity(const mr_evstore *s) { return s->capacity; }
