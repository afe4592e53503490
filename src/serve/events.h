/* The online event store: each user's last MR_EVSTORE_PER_USER listens.
 *
 * Keys are raw user ids (any int64: users the models never saw are welcome)
 * and values raw track ids, so the store survives an artifact reload that
 * renumbers items. The store is split into MR_EVSTORE_SHARDS shards by a
 * hash of the user id, each behind its own mutex, so concurrent requests
 * for different users rarely wait on each other; one request holds one
 * shard lock for a few hundred nanoseconds.
 *
 * Memory is bounded twice: at most MR_EVSTORE_PER_USER events per user (a
 * ring buffer: a new event pushes out the oldest), and at most max_users
 * users. When a shard is full, the least recently written of a few sampled
 * users is evicted (approximate LRU, as Redis does), so a long-running
 * server never grows past its bound however many distinct users call it.
 */
#ifndef MR_EVENTS_H
#define MR_EVENTS_H

#include <stdint.h>

#define MR_EVSTORE_PER_USER 50
#define MR_EVSTORE_SHARDS 64

typedef struct mr_evstore mr_evstore;

/* max_users >= 1 (rounded up so each shard holds at least 1 user). */
int mr_evstore_new(mr_evstore **out, int64_t max_users);
void mr_evstore_free(mr_evstore *s);

/* Appends track to user's history. Returns 0 or MR_ENOMEM. */
int mr_evstore_put(mr_evstore *s, int64_t user, int64_t track);
/* Copies up to max of user's tracks, newest first, into out; returns the
 * count (0 for an unknown user). If version is not NULL it receives the
 * number of events ever put for this user (changes on every put). */
int mr_evstore_get(mr_evstore *s, int64_t user, int64_t *out, int max, uint64_t *version);

int64_t mr_evstore_users(mr_evstore *s);       /* users held now */
int64_t mr_evstore_evictions(mr_evstore *s);   /* users evicted so far */
int64_t mr_evstore_capacity(const mr_evstore *s);

#endif
