#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "report/report.h"

int mr_cmd_report(mr_ctx *ctx, int argc, char **argv)
{
    int64_t examples = 3;
    const mr_arg args[] = {
        {"examples", MR_ARG_INT, &examples, "REPORT_EXAMPLE_USERS", NULL, "example users shown with their recommendations"},
        {0},
    };
    int rc = mr_args_parse(ctx, "report", "[options]",
                           "Writes results/report.html: data overview, exploratory analysis and model\n"
                           "results in one self-contained HTML file (inline CSS and SVG charts).",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    mr_step s;
    if (mr_step_begin(ctx, &s, "report")) return 1;
    if (examples < 0 || examples > 8) rc = mr_err(MR_EUSAGE, "--examples must be between 0 and 8, got %lld", (long long)examples);
    else rc = mr_report_write(ctx->workdir, (int)examples, ctx->seed);
    if (!rc) {
        char *p = mr_ctx_path(ctx, "results/report.html");
        mr_step_file(&s, "output", p);
        MR_LOG(MR_LOG_INFO, "report written", MR_S("path", p));
        free(p);
    }
    return mr_step_end(ctx, &s, rc);
}
