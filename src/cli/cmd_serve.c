#include <stdio.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "serve/request.h"
#include "serve/server.h"

int mr_cmd_serve(mr_ctx *ctx, int argc, char **argv)
{
    const char *host = NULL, *port_file = NULL;
    int64_t port = 0, max_users = 0, default_k = 0, max_conn = 0, idle = 0;
    double drain = 0;
    const mr_arg args[] = {
        {"host", MR_ARG_STR, &host, "SERVE_HOST", NULL, "address to listen on"},
        {"port", MR_ARG_INT, &port, "SERVE_PORT", NULL, "TCP port; 0 picks a free one (logged)"},
        {"default-k", MR_ARG_INT, &default_k, "SERVE_DEFAULT_K", NULL, "k when a request gives none"},
        {"max-users", MR_ARG_INT, &max_users, "SERVE_MAX_USERS", NULL,
         "users the event store holds before evicting the least recent"},
        {"max-connections", MR_ARG_INT, &max_conn, "SERVE_MAX_CONNECTIONS", NULL, "open connections at most"},
        {"idle-timeout", MR_ARG_INT, &idle, "SERVE_IDLE_TIMEOUT", NULL,
         "seconds before an idle keep-alive connection is closed"},
        {"drain-seconds", MR_ARG_F64, &drain, "SERVE_DRAIN_SECONDS", NULL,
         "on SIGTERM, longest wait for requests in flight"},
        {"port-file", MR_ARG_STR, &port_file, NULL, NULL, "write the bound port to this file once listening"},
        {0},
    };
    int rc = mr_args_parse(ctx, "serve", "[options]",
                           "Serves recommendations over HTTP from the artifacts in the work directory:\n"
                           "the offline lists blended with tracks similar to what a user just listened\n"
                           "to, popular tracks for new users, fold-in for users ALS never saw. The\n"
                           "global --threads sets the event-loop threads. SIGHUP reloads the artifacts\n"
                           "without dropping requests; SIGTERM drains and exits. See docs/serve.md.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    if (port < 0 || port > 65535) {
        fprintf(stderr, "musrec serve: --port must be in 0..65535, got %lld\n", (long long)port);
        return 2;
    }
    if (default_k < MR_REQ_K_MIN || default_k > MR_REQ_K_MAX) {
        fprintf(stderr, "musrec serve: --default-k must be in %d..%d, got %lld\n", MR_REQ_K_MIN, MR_REQ_K_MAX,
                (long long)default_k);
        return 2;
    }
    if (max_users < 1 || max_users > ((int64_t)1 << 34)) {
        fprintf(stderr, "musrec serve: --max-users must be at least 1, got %lld\n", (long long)max_users);
        return 2;
    }
    if (max_conn < 1 || max_conn > 1000000 || idle < 0 || drain < 0) {
        fprintf(stderr, "musrec serve: --max-connections must be 1..1000000, --idle-timeout and "
                        "--drain-seconds not negative\n");
        return 2;
    }
    mr_step step;
    if (mr_step_begin(ctx, &step, "serve") != 0) return 1;
    mr_server_opts o = {
        .host = host,
        .port = (int)port,
        .threads = ctx->threads > 0 ? ctx->threads : 1,
        .max_connections = (int)max_conn,
        .conn_timeout_secs = (int)idle,
        .drain_secs = drain,
        .workdir = ctx->workdir,
        .port_file = port_file,
        .service = {.default_k = (int)default_k, .max_users = max_users},
        .load = mr_snap_load,
    };
    rc = mr_server_run(&o);
    return mr_step_end(ctx, &step, rc);
}
