#include "serve/metrics.h"

#include <string.h>

#include "base/log.h"

const char *const mr_ep_path[MR_EP_N] = {
    "/recommendations", "/recommendations/offline", "/recommendations/online", "/events",
    "/events/put",      "/events",                  "/similar",                "/popular",
    "/health",          "/metrics",                 "other",
};
const char *const mr_ep_method[MR_EP_N] = {
    "GET", "GET", "GET", "POST", "GET", "GET", "GET", "GET", "GET", "GET", "any",
};

static const int statuses[MR_METRICS_STATUSES - 1] = {200, 400, 404, 405, 413, 414, 500, 503};
static const double bounds[MR_METRICS_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,    0.025,  0.05,    0.1,    0.25,  1.0,    5.0,
};
static const char *const bound_text[MR_METRICS_BUCKETS] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01",  "0.025",  "0.05",    "0.1",    "0.25",  "1",      "5",
};

void mr_srv_metrics_init(mr_srv_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->started = mr_now();
}

static int status_index(int status)
{
    for (int i = 0; i < MR_METRICS_STATUSES - 1; i++)
        if (statuses[i] == status) return i;
    return MR_METRICS_STATUSES - 1;
}

void mr_srv_metrics_observe(mr_srv_metrics *m, mr_ep ep, int status, double seconds)
{
    if ((unsigned)ep >= MR_EP_N) ep = MR_EP_OTHER;
    atomic_fetch_add_explicit(&m->requests[ep][status_index(status)], 1, memory_order_relaxed);
    int b = 0;
    while (b < MR_METRICS_BUCKETS && seconds > bounds[b]) b++;
    atomic_fetch_add_explicit(&m->latency[ep][b], 1, memory_order_relaxed);
    uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
    atomic_fetch_add_explicit(&m->latency_ns_sum[ep], ns, memory_order_relaxed);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void labels(mr_sbuf *o, int ep)
{
    mr_sbuf_puts(o, "{method=\"");
    mr_sbuf_puts(o, mr_ep_method[ep]);
    mr_sbuf_puts(o, "\",endpoint=\"");
    mr_sbuf_puts(o, mr_ep_path[ep]);
    mr_sbuf_putc(o, '"');
}

static void gauge(mr_sbuf *o, const char *name, const char *help, const char *type, double v)
{
    mr_sbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    mr_sbuf_f64(o, v);
    mr_sbuf_putc(o, '\n');
}

void mr_srv_metrics_render(const mr_srv_metrics *m, const mr_srv_gauges *g, mr_sbuf *o)
{
    mr_sbuf_puts(o, "# HELP musrec_http_requests_total HTTP requests by endpoint and status.\n"
                    "# TYPE musrec_http_requests_total counter\n");
    for (int e = 0; e < MR_EP_N; e++)
        for (int s = 0; s < MR_METRICS_STATUSES; s++) {
            uint64_t v = LOAD(m->requests[e][s]);
            if (!v) continue;
            mr_sbuf_puts(o, "musrec_http_requests_total");
            labels(o, e);
            if (s < MR_METRICS_STATUSES - 1) mr_sbuf_printf(o, ",status=\"%d\"} ", statuses[s]);
            else mr_sbuf_puts(o, ",status=\"other\"} ");
            mr_sbuf_i64(o, (int64_t)v);
            mr_sbuf_putc(o, '\n');
        }
    mr_sbuf_puts(o, "# HELP musrec_http_request_duration_seconds Time spent computing a response.\n"
                    "# TYPE musrec_http_request_duration_seconds histogram\n");
    for (int e = 0; e < MR_EP_N; e++) {
        uint64_t total = 0, cum = 0;
        for (int b = 0; b <= MR_METRICS_BUCKETS; b++) total += LOAD(m->latency[e][b]);
        if (!total) continue;
        for (int b = 0; b <= MR_METRICS_BUCKETS; b++) {
            cum += LOAD(m->latency[e][b]);
            mr_sbuf_puts(o, "musrec_http_request_duration_seconds_bucket");
            labels(o, e);
            mr_sbuf_printf(o, ",le=\"%s\"} ", b < MR_METRICS_BUCKETS ? bound_text[b] : "+Inf");
            mr_sbuf_i64(o, (int64_t)(b < MR_METRICS_BUCKETS ? cum : total));
            mr_sbuf_putc(o, '\n');
        }
        mr_sbuf_puts(o, "musrec_http_request_duration_seconds_sum");
        labels(o, e);
        mr_sbuf_puts(o, "} ");
        mr_sbuf_f64(o, (double)LOAD(m->latency_ns_sum[e]) * 1e-9);
        mr_sbuf_puts(o, "\nmusrec_http_request_duration_seconds_count");
        labels(o, e);
        mr_sbuf_puts(o, "} ");
        mr_sbuf_i64(o, (int64_t)total);
        mr_sbuf_putc(o, '\n');
    }
    gauge(o, "musrec_foldin_total", "Fold-in solves for users unknown to ALS.", "counter",
          (double)LOAD(m->foldins));
    gauge(o, "musrec_events_total", "Events accepted into the event store.", "counter",
          (double)LOAD(m->events_put));
    mr_sbuf_puts(o, "# HELP musrec_reloads_total Artifact reloads (SIGHUP) by result.\n"
                    "# TYPE musrec_reloads_total counter\n");
    mr_sbuf_printf(o, "musrec_reloads_total{result=\"ok\"} %llu\nmusrec_reloads_total{result=\"error\"} %llu\n",
                   (unsigned long long)LOAD(m->reloads_ok), (unsigned long long)LOAD(m->reloads_failed));
    gauge(o, "musrec_event_store_users", "Users with events in the event store.", "gauge",
          (double)g->store_users);
    gauge(o, "musrec_event_store_capacity_users", "Most users the event store holds before evicting.",
          "gauge", (double)g->store_capacity);
    gauge(o, "musrec_event_store_evictions_total", "Users evicted from the full event store.", "counter",
          (double)g->store_evictions);
    gauge(o, "musrec_items", "Items in the loaded catalog.", "gauge", (double)g->items);
    gauge(o, "musrec_offline_users", "Users with an offline recommendation list.", "gauge",
          (double)g->offline_users);
    gauge(o, "musrec_snapshot_loaded_timestamp_seconds", "When the artifacts in use were loaded.", "gauge",
          g->snapshot_loaded_at);
    gauge(o, "musrec_snapshot_load_seconds", "How long loading the artifacts in use took.", "gauge",
          g->snapshot_load_secs);
    gauge(o, "musrec_requests_in_flight", "Requests being computed now.", "gauge", (double)g->inflight);
    gauge(o, "musrec_resident_memory_bytes", "Resident set size of the process.", "gauge",
          (double)g->rss_bytes);
    gauge(o, "musrec_uptime_seconds", "Seconds since the service started.", "gauge", mr_now() - m->started);
}
