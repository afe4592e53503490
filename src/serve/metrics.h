/* Service metrics in the Prometheus text format (version 0.0.4).
 *
 * Counters are relaxed atomics that every request thread bumps directly:
 * requests by endpoint and status, a latency histogram per endpoint, fold-in
 * solves, reloads. Gauges (users in the event store, uptime, ...) are read
 * when /metrics is rendered. Latency is the time the service spends on a
 * request (parse, compute, render), measured around mr_service_handle().
 */
#ifndef MR_METRICS_H
#define MR_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "serve/sbuf.h"

typedef enum {
    MR_EP_RECS,
    MR_EP_RECS_OFFLINE,
    MR_EP_RECS_ONLINE,
    MR_EP_EVENTS_POST,
    MR_EP_EVENTS_PUT,
    MR_EP_EVENTS_GET,
    MR_EP_SIMILAR,
    MR_EP_POPULAR,
    MR_EP_HEALTH,
    MR_EP_METRICS,
    MR_EP_OTHER, /* unknown paths and requests rejected before routing */
    MR_EP_N
} mr_ep;

extern const char *const mr_ep_path[MR_EP_N];
extern const char *const mr_ep_method[MR_EP_N];

#define MR_METRICS_STATUSES 9 /* 200 400 404 405 413 414 500 503 other */
#define MR_METRICS_BUCKETS 14 /* finite upper bounds; +Inf is implied */

typedef struct {
    _Atomic uint64_t requests[MR_EP_N][MR_METRICS_STATUSES];
    _Atomic uint64_t latency[MR_EP_N][MR_METRICS_BUCKETS + 1];
    _Atomic uint64_t latency_ns_sum[MR_EP_N];
    _Atomic uint64_t foldins, events_put, reloads_ok, reloads_failed;
    double started; /* mr_now() at start */
} mr_srv_metrics;

void mr_srv_metrics_init(mr_srv_metrics *m);
void mr_srv_metrics_observe(mr_srv_metrics *m, mr_ep ep, int status, double seconds);

/* Gauges read at render time. */
typedef struct {
    int64_t store_users, store_capacity, store_evictions;
    int64_t items, offline_users;
    double snapshot_loaded_at, snapshot_load_secs;
    int64_t rss_bytes;
    int64_t inflight;
} mr_srv_gauges;

void mr_srv_metrics_render(const mr_srv_metrics *m, const mr_srv_gauges *g, mr_sbuf *out);

#endif
