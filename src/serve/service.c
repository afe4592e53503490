#include "serve/service.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "serve/blend.h"
#include "serve/events.h"
#include "serve/request.h"

#define MAX_SLOTS 512 /* threads that may call one service; MHD uses --threads of them */

typedef struct {
    _Atomic(mr_snap *) p;
    char pad[64 - sizeof(void *)];
} hazard;

struct mr_service {
    _Atomic(mr_snap *) cur;
    hazard slots[MAX_SLOTS];
    _Atomic int n_slots;
    uint64_t id;
    mr_evstore *store;
    mr_srv_metrics metrics;
    mr_service_opts opts;
    _Atomic int64_t inflight;
};

static _Atomic uint64_t next_service_id = 1;

/* Per-thread state: the hazard slot for the service last used on this
 * thread, and scratch memory for the blend. Freed at thread exit. */
typedef struct {
    uint64_t svc_id;
    int slot;
    mr_blend_scratch scratch;
    mr_scored *items;
    size_t items_cap;
} thread_state;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
    thread_state *t = p;
    mr_blend_scratch_free(&t->scratch);
    free(t->items);
    free(t);
}

static void tls_init(void) { pthread_key_create(&tls_key, tls_free); }

static thread_state *tls_get(void)
{
    pthread_once(&tls_once, tls_init);
    thread_state *t = pthread_getspecific(tls_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) return NULL;
        t->slot = -1;
        pthread_setspecific(tls_key, t);
    }
    return t;
}

int mr_service_new(mr_service **out, mr_snap *snap, const mr_service_opts *o)
{
    *out = NULL;
    mr_service *svc = mr_calloc(1, sizeof *svc);
    if (!svc) return MR_ENOMEM;
    svc->opts = *o;
    if (svc->opts.default_k < MR_REQ_K_MIN) svc->opts.default_k = 10;
    if (svc->opts.default_k > MR_REQ_K_MAX) svc->opts.default_k = MR_REQ_K_MAX;
    int rc = mr_evstore_new(&svc->store, o->max_users > 0 ? o->max_users : 1000000);
    if (rc) {
        free(svc);
        return rc;
    }
    mr_srv_metrics_init(&svc->metrics);
    svc->id = atomic_fetch_add(&next_service_id, 1);
    atomic_store(&svc->cur, snap);
    *out = svc;
    return 0;
}

void mr_service_free(mr_service *svc)
{
    if (!svc) return;
    mr_snap_free(atomic_load(&svc->cur));
    mr_evstore_free(svc->store);
    free(svc);
}

mr_srv_metrics *mr_service_metrics(mr_service *svc) { return &svc->metrics; }

void mr_service_swap(mr_service *svc, mr_snap *snap)
{
    mr_snap *old = atomic_exchange(&svc->cur, snap);
    int n = atomic_load(&svc->n_slots);
    if (n > MAX_SLOTS) n = MAX_SLOTS;
    for (int i = 0; i < n; i++)
        while (atomic_load(&svc->slots[i].p) == old) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    mr_snap_free(old);
}

/* Pins the current snapshot for this thread; NULL if no slot is left. */
static mr_snap *acquire(mr_service *svc, thread_state *t)
{
    if (t->svc_id != svc->id) {
        int slot = atomic_fetch_add(&svc->n_slots, 1);
        if (slot >= MAX_SLOTS) return NULL;
        t->svc_id = svc->id;
        t->slot = slot;
    }
    _Atomic(mr_snap *) *hp = &svc->slots[t->slot].p;
    mr_snap *s;
    do {
        s = atomic_load(&svc->cur);
        atomic_store(hp, s); /* seq_cst: the store is seen before the re-check */
    } while (s != atomic_load(&svc->cur));
    return s;
}

static void release(mr_service *svc, thread_state *t)
{
    atomic_store_explicit(&svc->slots[t->slot].p, NULL, memory_order_release);
}

/* ---- rendering ---- */

static void error_reply(mr_sbuf *o, mr_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void error_reply(mr_sbuf *o, mr_reply *r, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mr_sbuf_reset(o);
    mr_sbuf_puts(o, "{\"error\":");
    mr_sbuf_json_str(o, msg, strlen(msg));
    mr_sbuf_puts(o, ",\"status\":");
    mr_sbuf_i64(o, status);
    mr_sbuf_puts(o, "}\n");
    r->status = status;
    r->content_type = "application/json";
}

static void put_track(mr_sbuf *o, const mr_snap *s, int32_t item, int64_t track_id)
{
    mr_sbuf_puts(o, "{\"track_id\":");
    mr_sbuf_i64(o, track_id);
    mr_sbuf_puts(o, ",\"name\":");
    if (item >= 0 && s->name_off)
        mr_sbuf_json_str(o, s->name_bytes + s->name_off[item],
                         (size_t)(s->name_off[item + 1] - s->name_off[item]));
    else
        mr_sbuf_puts(o, "null");
    mr_sbuf_puts(o, ",\"artists\":[");
    if (item >= 0 && s->artist_off)
        for (int64_t a = s->artist_off[item]; a < s->artist_off[item + 1]; a++) {
            if (a > s->artist_off[item]) mr_sbuf_putc(o, ',');
            mr_sbuf_json_str(o, s->artist_name_bytes + s->artist_name_off[a],
                             (size_t)(s->artist_name_off[a + 1] - s->artist_name_off[a]));
        }
    mr_sbuf_putc(o, ']');
}

static void put_items(mr_sbuf *o, const mr_snap *s, const mr_scored *it, int n)
{
    mr_sbuf_puts(o, "\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i) mr_sbuf_putc(o, ',');
        put_track(o, s, it[i].item, s->track_id[it[i].item]);
        mr_sbuf_puts(o, ",\"source\":\"");
        mr_sbuf_puts(o, mr_src_name[it[i].src]);
        mr_sbuf_puts(o, "\",\"score\":");
        mr_sbuf_f32(o, it[i].score);
        mr_sbuf_putc(o, '}');
    }
    mr_sbuf_puts(o, "]}\n");
}

static int items_room(thread_state *t, int k)
{
    if ((size_t)k <= t->items_cap) return 0;
    mr_scored *p = realloc(t->items, (size_t)k * sizeof *p);
    if (!p) return -1;
    t->items = p;
    t->items_cap = (size_t)k;
    return 0;
}

/* ---- endpoints ---- */

typedef struct {
    mr_service *svc;
    const mr_snap *s;
    thread_state *t;
    mr_req *req;
    mr_sbuf *o;
    mr_reply *r;
} call;

static void ok_json(call *c)
{
    c->r->status = 200;
    c->r->content_type = "application/json";
}

static void ep_recs(call *c, mr_ep ep)
{
    int64_t user;
    int k;
    if (mr_req_i64_required(c->req, "user_id", &user) < 0 ||
        mr_req_k(c->req, c->svc->opts.default_k, MR_REQ_K_MAX, &k) < 0)
        return error_reply(c->o, c->r, 400, "%s", c->req->err);
    int64_t tracks[MR_EVSTORE_PER_USER];
    int32_t hist[MR_EVSTORE_PER_USER];
    int nt = mr_evstore_get(c->svc->store, user, tracks, MR_EVSTORE_PER_USER, NULL), nh = 0;
    for (int i = 0; i < nt; i++) {
        int32_t it = mr_snap_item(c->s, tracks[i]);
        if (it >= 0) hist[nh++] = it;
    }
    if (items_room(c->t, k)) return error_reply(c->o, c->r, 500, "out of memory");
    mr_blend_user bu = {c->s, mr_snap_user(c->s, user), hist, nh, &c->t->scratch};
    int n = ep == MR_EP_RECS_OFFLINE  ? mr_blend_offline(&bu, k, c->t->items)
            : ep == MR_EP_RECS_ONLINE ? mr_blend_online(&bu, k, c->t->items)
                                      : mr_blend_recs(&bu, k, c->t->items);
    if (n < 0) return error_reply(c->o, c->r, 500, "%s", mr_errmsg());
    for (int i = 0; i < n; i++)
        if (c->t->items[i].src == MR_SRC_FOLDIN) {
            atomic_fetch_add_explicit(&c->svc->metrics.foldins, 1, memory_order_relaxed);
            break;
        }
    mr_sbuf_puts(c->o, "{\"user_id\":");
    mr_sbuf_i64(c->o, user);
    mr_sbuf_puts(c->o, ",\"k\":");
    mr_sbuf_i64(c->o, k);
    mr_sbuf_putc(c->o, ',');
    put_items(c->o, c->s, c->t->items, n);
    ok_json(c);
}

static void put_event(call *c, int64_t user, int64_t track)
{
    if (mr_snap_item(c->s, track) < 0)
        return error_reply(c->o, c->r, 404, "unknown track_id %lld", (long long)track);
    if (mr_evstore_put(c->svc->store, user, track) != 0)
        return error_reply(c->o, c->r, 503, "%s", mr_errmsg());
    atomic_fetch_add_explicit(&c->svc->metrics.events_put, 1, memory_order_relaxed);
    int64_t tracks[MR_EVSTORE_PER_USER];
    int n = mr_evstore_get(c->svc->store, user, tracks, MR_EVSTORE_PER_USER, NULL);
    mr_sbuf_puts(c->o, "{\"user_id\":");
    mr_sbuf_i64(c->o, user);
    mr_sbuf_puts(c->o, ",\"track_id\":");
    mr_sbuf_i64(c->o, track);
    mr_sbuf_puts(c->o, ",\"events\":");
    mr_sbuf_i64(c->o, n);
    mr_sbuf_puts(c->o, "}\n");
    ok_json(c);
}

static void ep_events_post(call *c, const char *body, size_t len)
{
    int64_t user, track;
    char err[160];
    if (mr_req_parse_event(body, len, &user, &track, err, sizeof err) != 0)
        return error_reply(c->o, c->r, 400, "%s", err);
    put_event(c, user, track);
}

static void ep_events_put(call *c)
{
    int64_t user, track;
    if (mr_req_i64_required(c->req, "user_id", &user) < 0 ||
        mr_req_i64_required(c->req, "track_id", &track) < 0)
        return error_reply(c->o, c->r, 400, "%s", c->req->err);
    put_event(c, user, track);
}

static void ep_events_get(call *c)
{
    int64_t user;
    int k;
    if (mr_req_i64_required(c->req, "user_id", &user) < 0 ||
        mr_req_k(c->req, MR_EVSTORE_PER_USER, MR_REQ_K_MAX, &k) < 0)
        return error_reply(c->o, c->r, 400, "%s", c->req->err);
    int64_t tracks[MR_EVSTORE_PER_USER];
    int n = mr_evstore_get(c->svc->store, user, tracks, k, NULL);
    mr_sbuf_puts(c->o, "{\"user_id\":");
    mr_sbuf_i64(c->o, user);
    mr_sbuf_puts(c->o, ",\"events\":[");
    for (int i = 0; i < n; i++) {
        if (i) mr_sbuf_putc(c->o, ',');
        put_track(c->o, c->s, mr_snap_item(c->s, tracks[i]), tracks[i]);
        mr_sbuf_putc(c->o, '}');
    }
    mr_sbuf_puts(c->o, "]}\n");
    ok_json(c);
}

static void ep_similar(call *c)
{
    int64_t track;
    int k;
    if (mr_req_i64_required(c->req, "track_id", &track) < 0 ||
        mr_req_k(c->req, c->svc->opts.default_k, MR_REQ_K_MAX, &k) < 0)
        return error_reply(c->o, c->r, 400, "%s", c->req->err);
    int32_t item = mr_snap_item(c->s, track);
    if (item < 0) return error_reply(c->o, c->r, 404, "unknown track_id %lld", (long long)track);
    if (items_room(c->t, k)) return error_reply(c->o, c->r, 500, "out of memory");
    const int32_t *it;
    const float *sc;
    int64_t n = mr_snap_similar(c->s, item, &it, &sc);
    int m = 0;
    for (int64_t i = 0; i < n && m < k; i++) c->t->items[m++] = (mr_scored){it[i], sc[i], MR_SRC_SIMILAR};
    mr_sbuf_puts(c->o, "{\"track_id\":");
    mr_sbuf_i64(c->o, track);
    mr_sbuf_puts(c->o, ",\"k\":");
    mr_sbuf_i64(c->o, k);
    mr_sbuf_putc(c->o, ',');
    put_items(c->o, c->s, c->t->items, m);
    ok_json(c);
}

static void ep_popular(call *c)
{
    int k;
    if (mr_req_k(c->req, c->svc->opts.default_k, MR_REQ_K_MAX, &k) < 0)
        return error_reply(c->o, c->r, 400, "%s", c->req->err);
    if (items_room(c->t, k)) return error_reply(c->o, c->r, 500, "out of memory");
    int m = 0;
    for (int32_t i = 0; i < c->s->n_popular && m < k; i++)
        c->t->items[m++] = (mr_scored){c->s->pop_item[i], c->s->pop_score[i], MR_SRC_POPULAR};
    mr_sbuf_puts(c->o, "{\"k\":");
    mr_sbuf_i64(c->o, k);
    mr_sbuf_putc(c->o, ',');
    put_items(c->o, c->s, c->t->items, m);
    ok_json(c);
}

static void ep_health(call *c)
{
    const mr_snap *s = c->s;
    mr_sbuf *o = c->o;
    mr_sbuf_printf(o,
                   "{\"status\":\"ok\",\"items\":%d,\"users\":%d,\"offline_users\":%lld,"
                   "\"offline_source\":\"%s\",\"popular\":%d,\"similar\":%s,\"foldin\":%s,"
                   "\"factors\":%d,\"loaded_at\":",
                   s->n_items, s->n_users, (long long)s->n_rec_users, s->offline_source, s->n_popular,
                   s->sim_item ? "true" : "false", s->item_factors && s->gram ? "true" : "false",
                   s->n_factors);
    mr_sbuf_f64(o, s->loaded_at);
    mr_sbuf_puts(o, ",\"load_seconds\":");
    mr_sbuf_f64(o, s->load_secs);
    mr_sbuf_printf(o, ",\"event_store_users\":%lld,\"uptime_seconds\":",
                   (long long)mr_evstore_users(c->svc->store));
    mr_sbuf_f64(o, mr_now() - c->svc->metrics.started);
    mr_sbuf_puts(o, "}\n");
    ok_json(c);
}

static void ep_metrics(call *c)
{
    mr_srv_gauges g = {
        .store_users = mr_evstore_users(c->svc->store),
        .store_capacity = mr_evstore_capacity(c->svc->store),
        .store_evictions = mr_evstore_evictions(c->svc->store),
        .items = c->s->n_items,
        .offline_users = c->s->n_rec_users,
        .snapshot_loaded_at = c->s->loaded_at,
        .snapshot_load_secs = c->s->load_secs,
        .rss_bytes = mr_current_rss(),
        .inflight = atomic_load_explicit(&c->svc->inflight, memory_order_relaxed),
    };
    mr_srv_metrics_render(&c->svc->metrics, &g, c->o);
    c->r->status = 200;
    c->r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- routing ---- */

static const struct {
    const char *path;
    mr_ep get, post;
} routes[] = {
    {"/recommendations", MR_EP_RECS, MR_EP_N},
    {"/recommendations/offline", MR_EP_RECS_OFFLINE, MR_EP_N},
    {"/recommendations/online", MR_EP_RECS_ONLINE, MR_EP_N},
    {"/events", MR_EP_EVENTS_GET, MR_EP_EVENTS_POST},
    {"/events/put", MR_EP_EVENTS_PUT, MR_EP_N},
    {"/similar", MR_EP_SIMILAR, MR_EP_N},
    {"/popular", MR_EP_POPULAR, MR_EP_N},
    {"/health", MR_EP_HEALTH, MR_EP_N},
    {"/metrics", MR_EP_METRICS, MR_EP_N},
};

static void route(mr_service *svc, thread_state *t, const char *method, mr_req *req, const char *body,
                  size_t body_len, int body_too_large, mr_sbuf *o, mr_reply *r)
{
    int ri = -1;
    size_t plen = req->path_len;
    /* one trailing slash is forgiven: /health/ is /health */
    if (plen > 1 && req->path[plen - 1] == '/') plen--;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strlen(routes[i].path) == plen && memcmp(routes[i].path, req->path, plen) == 0) ri = (int)i;
    if (ri < 0) {
        char shown[80];
        size_t n = req->path_len < 64 ? req->path_len : 64;
        for (size_t i = 0; i < n; i++) shown[i] = (req->path[i] >= 0x20 && req->path[i] < 0x7f) ? req->path[i] : '?';
        shown[n] = 0;
        return error_reply(o, r, 404, "no endpoint %s%s (see /health for a live check)", shown,
                           n < req->path_len ? "..." : "");
    }
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int is_post = strcmp(method, "POST") == 0;
    mr_ep ep = is_get ? routes[ri].get : is_post ? routes[ri].post : MR_EP_N;
    if (ep == MR_EP_N) {
        r->ep = routes[ri].get;
        r->allow = routes[ri].post != MR_EP_N ? "GET, HEAD, POST" : "GET, HEAD";
        char m[24];
        size_t n = strlen(method) < 16 ? strlen(method) : 16;
        for (size_t i = 0; i < n; i++) m[i] = (method[i] >= 0x20 && method[i] < 0x7f) ? method[i] : '?';
        m[n] = 0;
        return error_reply(o, r, 405, "method %s is not allowed on %s (allowed: %s)", m, routes[ri].path,
                           r->allow);
    }
    r->ep = ep;
    if (body_too_large)
        return error_reply(o, r, 413, "request body is larger than %d bytes", MR_REQ_MAX_BODY);
    mr_snap *s = acquire(svc, t);
    if (!s) return error_reply(o, r, 503, "too many server threads");
    call c = {svc, s, t, req, o, r};
    switch (ep) {
    case MR_EP_RECS:
    case MR_EP_RECS_OFFLINE:
    case MR_EP_RECS_ONLINE: ep_recs(&c, ep); break;
    case MR_EP_EVENTS_POST: ep_events_post(&c, body, body_len); break;
    case MR_EP_EVENTS_PUT: ep_events_put(&c); break;
    case MR_EP_EVENTS_GET: ep_events_get(&c); break;
    case MR_EP_SIMILAR: ep_similar(&c); break;
    case MR_EP_POPULAR: ep_popular(&c); break;
    case MR_EP_HEALTH: ep_health(&c); break;
    case MR_EP_METRICS: ep_metrics(&c); break;
    default: error_reply(o, r, 500, "unrouted endpoint"); break;
    }
    release(svc, t);
}

void mr_service_handle(mr_service *svc, const char *method, const char *target, size_t target_len,
                       const char *body, size_t body_len, int body_too_large, mr_sbuf *o, mr_reply *r)
{
    double t0 = mr_now();
    atomic_fetch_add_explicit(&svc->inflight, 1, memory_order_relaxed);
    mr_sbuf_reset(o);
    memset(r, 0, sizeof *r);
    r->ep = MR_EP_OTHER;
    r->content_type = "application/json";
    thread_state *t = tls_get();
    mr_req req;
    int prc = t ? mr_req_parse(&req, target, target_len) : 0;
    if (!t) error_reply(o, r, 500, "out of memory for thread state");
    else if (prc == -2) error_reply(o, r, 414, "%s", req.err);
    else if (prc < 0) error_reply(o, r, 400, "%s", req.err);
    else route(svc, t, method, &req, body, body_len, body_too_large, o, r);
    if (o->oom) error_reply(o, r, 500, "out of memory rendering the response");
    if (o->oom) { /* not even the error fits: an empty 500 */
        mr_sbuf_reset(o);
        o->oom = 0;
    }
    atomic_fetch_add_explicit(&svc->inflight, -1, memory_order_relaxed);
    mr_srv_metrics_observe(&svc->metrics, r->ep, r->status, mr_now() - t0);
}
