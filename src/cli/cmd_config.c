#include <stdio.h>

#include "cli/cli.h"

int mr_cmd_config(mr_ctx *ctx, int argc, char **argv)
{
    static const mr_arg args[] = {{0}};
    int rc = mr_args_parse(ctx, "config", "[options]",
                           "Prints every configuration key with its effective value and where it\n"
                           "came from (flag, environment, FILE:LINE, default). Secrets are masked.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    mr_config_print(ctx->cfg, stdout);
    return 0;
}
