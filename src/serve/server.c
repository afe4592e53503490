#include "serve/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "serve/request.h"

typedef struct {
    mr_service *svc;
    _Atomic int draining;
    _Atomic int64_t active; /* requests between their first request callback and completion */
} server;

/* One connection's request state: the raw target and body of the request
 * it is reading. It belongs to the connection (allocated when MHD reports
 * the connection, recycled when MHD reports it closed), not to a request:
 * MHD may see a request line (the URI callback) and then lose the
 * connection before any request callback, and then says nothing more about
 * that request, only that the connection closed. Recycled through a
 * per-thread free list (a connection stays on one MHD thread), so a warm
 * server allocates none. */
typedef struct req_state {
    struct req_state *next;
    size_t target_len;
    int started, too_large;
    char *body;
    size_t body_len, body_cap;
    char target[MR_REQ_MAX_TARGET + 2];
} req_state;

typedef struct {
    req_state *free_list;
    mr_sbuf out;
} thread_state;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
    thread_state *t = p;
    while (t->free_list) {
        req_state *r = t->free_list;
        t->free_list = r->next;
        free(r->body);
        free(r);
    }
    mr_sbuf_free(&t->out);
    free(t);
}

static void tls_init(void) { pthread_key_create(&tls_key, tls_free); }

static thread_state *tls_get(void)
{
    pthread_once(&tls_once, tls_init);
    thread_state *t = pthread_getspecific(tls_key);
    if (!t && (t = calloc(1, sizeof *t))) {
        pthread_setspecific(tls_key, t);
        /* a fold-in's top-k scan runs on this thread alone: the event loops
         * are the parallelism, an OpenMP team per request would oversubscribe */
        omp_set_num_threads(1);
    }
    return t;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)conn;
    thread_state *t = tls_get();
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        req_state *r = t ? t->free_list : NULL;
        if (r) t->free_list = r->next;
        else r = calloc(1, sizeof *r); /* NULL: its requests are answered 503 */
        *socket_context = r;
        return;
    }
    req_state *r = *socket_context;
    *socket_context = NULL;
    if (!r) return;
    if (r->body_cap > 4096) { /* keep only small bodies around */
        free(r->body);
        r->body = NULL;
        r->body_cap = 0;
    }
    if (t) {
        r->next = t->free_list;
        t->free_list = r;
    } else {
        free(r->body);
        free(r);
    }
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    req_state *r = ci ? ci->socket_context : NULL;
    if (!r) return NULL;
    size_t n = strnlen(uri, MR_REQ_MAX_TARGET + 1); /* one past the limit marks "too long" */
    memcpy(r->target, uri, n);
    r->target[n] = 0;
    r->target_len = n;
    r->started = r->too_large = 0;
    r->body_len = 0;
    return r;
}

/* Called for every request the request callback saw (MHD guarantees it). */
static void on_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    server *sv = cls;
    req_state *r = *req_cls;
    *req_cls = NULL;
    if (r && r->started) {
        r->started = 0;
        atomic_fetch_sub_explicit(&sv->active, 1, memory_order_relaxed);
    }
}

static enum MHD_Result respond(server *sv, struct MHD_Connection *conn, const char *method, req_state *r)
{
    thread_state *t = tls_get();
    if (!t) return MHD_NO;
    mr_reply rep;
    mr_service_handle(sv->svc, method, r->target, r->target_len, r->body, r->body_len, r->too_large,
                      &t->out, &rep);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(t->out.n, t->out.p, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep.content_type);
    if (rep.allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep.allow);
    if (atomic_load_explicit(&sv->draining, memory_order_relaxed))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rep.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)url;
    (void)version;
    server *sv = cls;
    req_state *r = *req_cls;
    if (!r) { /* the URI callback could not allocate */
        static const char msg[] = "{\"error\":\"out of memory\",\"status\":503}\n";
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(conn, 503, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (!r->started) {
        r->started = 1;
        atomic_fetch_add_explicit(&sv->active, 1, memory_order_relaxed);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t len = 0;
        if (cl && mr_parse_i64(cl, strlen(cl), &len) == 0 && len > MR_REQ_MAX_BODY) {
            /* refuse before reading a byte of it; MHD closes the connection */
            r->too_large = 1;
            return respond(sv, conn, method, r);
        }
        /* answer on the next call, after MHD has read any body: a response
         * queued on this first call makes MHD close the connection */
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large) return MHD_YES; /* discard the rest */
        if (r->body_len + n > MR_REQ_MAX_BODY) {
            r->too_large = 1;
            return MHD_YES;
        }
        if (r->body_len + n > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 256;
            while (cap < r->body_len + n) cap *= 2;
            char *b = realloc(r->body, cap);
            if (!b) return MHD_NO;
            r->body = b;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        return MHD_YES;
    }
    return respond(sv, conn, method, r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    MR_LOG(MR_LOG_WARN, "libmicrohttpd", MR_S("detail", msg));
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int load_snapshot(const mr_server_opts *o, mr_snap **out)
{
    double t0 = mr_now();
    int rc = o->load(o->workdir, out);
    if (rc) return rc;
    (*out)->load_secs = mr_now() - t0;
    (*out)->loaded_at = unix_now();
    return 0;
}

int mr_server_run(const mr_server_opts *o)
{
    double t_start = mr_now();
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    /* blocked here and so in every thread MHD starts: only sigwait sees them */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    mr_snap *snap = NULL;
    int rc = load_snapshot(o, &snap);
    if (rc) return rc;
    MR_LOG(MR_LOG_INFO, "artifacts loaded", MR_F("seconds", snap->load_secs), MR_I("items", snap->n_items),
           MR_I("users", snap->n_users), MR_I("offline_users", snap->n_rec_users),
           MR_S("offline_source", snap->offline_source), MR_I("popular", snap->n_popular),
           MR_B("similar", snap->sim_item != NULL), MR_I("factors", snap->n_factors),
           MR_I("rss_bytes", mr_current_rss()));
    server sv = {0};
    if ((rc = mr_service_new(&sv.svc, snap, &o->service))) {
        mr_snap_free(snap);
        return rc;
    }

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", o->port);
    int gai = getaddrinfo(o->host, port_s, &hints, &ai);
    if (gai != 0 || !ai) {
        mr_service_free(sv.svc);
        return mr_err(MR_EINVAL, "cannot resolve --host %s: %s", o->host, gai_strerror(gai));
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_OptionItem pool[] = {
        {o->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)o->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, &sv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, &sv,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &sv,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, &sv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->conn_timeout_secs,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_ARRAY, pool,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        mr_service_free(sv.svc);
        return mr_err(MR_EIO, "cannot listen on %s:%d (in use, or not an address of this machine?)",
                      o->host, o->port);
    }
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = pi ? pi->port : o->port;
    if (o->port_file) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d\n", port);
        if (mr_write_file_atomic(o->port_file, buf, (size_t)n) != 0)
            MR_LOG(MR_LOG_WARN, "cannot write the port file", MR_S("error", mr_errmsg()));
    }
    MR_LOG(MR_LOG_INFO, "listening", MR_S("host", o->host), MR_I("port", port), MR_I("threads", o->threads),
           MR_F("startup_seconds", mr_now() - t_start), MR_I("rss_bytes", mr_current_rss()));

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&sigs, &si);
        if (sig < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (sig == SIGHUP) {
            mr_logf(MR_LOG_INFO, "SIGHUP: reloading artifacts");
            mr_snap *ns = NULL;
            if (load_snapshot(o, &ns) != 0) {
                atomic_fetch_add(&mr_service_metrics(sv.svc)->reloads_failed, 1);
                MR_LOG(MR_LOG_ERROR, "reload failed; still serving the artifacts loaded before",
                       MR_S("error", mr_errmsg()));
                continue;
            }
            mr_service_swap(sv.svc, ns);
            atomic_fetch_add(&mr_service_metrics(sv.svc)->reloads_ok, 1);
            MR_LOG(MR_LOG_INFO, "reloaded", MR_F("seconds", ns->load_secs), MR_I("items", ns->n_items),
                   MR_I("offline_users", ns->n_rec_users), MR_I("rss_bytes", mr_current_rss()));
            continue;
        }
        break; /* SIGTERM, SIGINT */
    }
    double t_drain = mr_now();
    atomic_store(&sv.draining, 1);
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET) close(ls);
    while (atomic_load(&sv.active) > 0 && mr_now() - t_drain < o->drain_secs) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    int64_t left = atomic_load(&sv.active);
    MHD_stop_daemon(d);
    MR_LOG(left ? MR_LOG_WARN : MR_LOG_INFO, "stopped", MR_F("drain_seconds", mr_now() - t_drain),
           MR_I("requests_cut", left), MR_I("rss_bytes", mr_current_rss()));
    mr_service_free(sv.svc);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    return 0;
}
