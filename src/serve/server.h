/* The HTTP server: libmicrohttpd in front of serve/service.h.
 *
 * MHD runs a pool of `threads` event loops (epoll), each owning its
 * connections; a request is computed on the thread that read it, into that
 * thread's reusable buffer, and copied into the response. The main thread
 * only waits for signals:
 *   SIGHUP          load the artifacts again, beside the ones in use, and swap
 *                   them in; requests keep flowing (a failed load is logged and
 *                   the old artifacts stay);
 *   SIGTERM/SIGINT  stop accepting, let requests in flight finish (at most
 *                   drain_secs), answer them with "Connection: close", stop,
 *                   return 0.
 */
#ifndef MR_SERVER_H
#define MR_SERVER_H

#include <stdint.h>

#include "serve/service.h"
#include "serve/snapshot.h"

typedef struct {
    const char *host;        /* address to bind: 127.0.0.1, ::1, 0.0.0.0, localhost */
    int port;                /* 0: any free port (logged) */
    int threads;             /* event-loop threads */
    int max_connections;     /* MHD connection limit */
    int conn_timeout_secs;   /* idle keep-alive connections are closed after this */
    double drain_secs;       /* SIGTERM: longest wait for requests in flight */
    const char *workdir;
    const char *port_file;   /* if set, the bound port is written there once listening */
    mr_service_opts service;
    int (*load)(const char *workdir, mr_snap **out);
} mr_server_opts;

/* Loads the artifacts, serves until SIGTERM/SIGINT. Returns 0 after a clean
 * drain, an MR_E* code when it cannot start. */
int mr_server_run(const mr_server_opts *o);

#endif
