/* The service: routes a request to its endpoint and renders the response,
 * independent of any HTTP library.
 *
 * mr_service_handle() takes the method, the raw request target and the raw
 * body, and fills a response (status, content type, body). serve/server.c
 * feeds it from libmicrohttpd; the fuzzer and the unit tests call it
 * directly. It never fails on input: every bad request ends in a 4xx with a
 * JSON body {"error": "...", "status": N}.
 *
 * Artifacts are swapped without stopping requests: the current snapshot is
 * an atomic pointer; a request publishes the snapshot it uses in its
 * thread's hazard slot (and re-checks the pointer, so it never uses one that
 * was already retired); mr_service_swap() exchanges the pointer, waits until
 * no slot holds the old snapshot, and frees it. Requests never wait for a
 * reload, and a reload waits only for the requests that started before it.
 */
#ifndef MR_SERVICE_H
#define MR_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "serve/metrics.h"
#include "serve/sbuf.h"
#include "serve/snapshot.h"

typedef struct mr_service mr_service;

typedef struct {
    int default_k;          /* k when a request gives none */
    int64_t max_users;      /* event store bound */
} mr_service_opts;

/* Takes ownership of snap. */
int mr_service_new(mr_service **out, mr_snap *snap, const mr_service_opts *o);
void mr_service_free(mr_service *svc);

/* Publishes snap (taking ownership), then frees the previous snapshot once
 * no request uses it. Call from one thread at a time. */
void mr_service_swap(mr_service *svc, mr_snap *snap);

mr_srv_metrics *mr_service_metrics(mr_service *svc);

typedef struct {
    int status;
    mr_ep ep;
    const char *content_type;
    const char *allow;       /* for 405: the methods the path accepts */
} mr_reply;

/* body_too_large: the server stopped reading a body past MR_REQ_MAX_BODY. */
void mr_service_handle(mr_service *svc, const char *method, const char *target, size_t target_len,
                       const char *body, size_t body_len, int body_too_large, mr_sbuf *out,
                       mr_reply *reply);

#endif
