#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"

static void print_help(FILE *f, const char *cmd, const char *synopsis, const char *about,
                       const mr_arg *args)
{
    fprintf(f, "usage: musrec %s %s\n", cmd, synopsis ? synopsis : "[options]");
    if (about) fprintf(f, "\n%s\n", about);
    fprintf(f, "\noptions:\n");
    for (const mr_arg *a = args; a && a->name; a++) {
        char left[64];
        const char *meta = a->type == MR_ARG_INT ? " N" : a->type == MR_ARG_F64 ? " X"
                         : a->type == MR_ARG_STR ? " VALUE" : "";
        snprintf(left, sizeof left, "--%s%s", a->name, meta);
        fprintf(f, "  %-24s %s", left, a->help);
        if (a->key) fprintf(f, " [%s]", a->key);
        else if (a->def && a->type != MR_ARG_FLAG) fprintf(f, " (default %s)", a->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-24s %s\n", "--help", "show this help");
    fprintf(f, "\nglobal options: --workdir DIR, --threads N, --seed N, --quiet, "
               "--log-level LEVEL, --config FILE (see `musrec --help`)\n");
}

static int assign(const mr_arg *a, const char *v, const char *from)
{
    char *end;
    errno = 0;
    switch (a->type) {
    case MR_ARG_STR: *(const char **)a->dst = v; return 0;
    case MR_ARG_INT: {
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return mr_err(MR_EUSAGE, "--%s: expected an integer, got '%s'%s", a->name, v, from);
        *(int64_t *)a->dst = x;
        return 0;
    }
    case MR_ARG_F64: {
        double x = strtod(v, &end);
        if (errno || end == v || *end)
            return mr_err(MR_EUSAGE, "--%s: expected a number, got '%s'%s", a->name, v, from);
        *(double *)a->dst = x;
        return 0;
    }
    case MR_ARG_FLAG: {
        int on = strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
        int off = strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || !*v;
        if (!on && !off)
            return mr_err(MR_EUSAGE, "--%s: expected true or false, got '%s'%s", a->name, v, from);
        *(int *)a->dst = on;
        return 0;
    }
    }
    return 0;
}

int mr_args_parse(mr_ctx *ctx, const char *cmd, const char *synopsis, const char *about,
                  const mr_arg *args, int argc, char **argv, char ***pos, int *npos)
{
    int nargs = 0;
    while (args && args[nargs].name) nargs++;
    char seen[256] = {0};
    if (pos) *pos = NULL;
    if (npos) *npos = 0;
    char **positional = mr_calloc((size_t)argc + 1, sizeof *positional);
    if (!positional) {
        fprintf(stderr, "musrec %s: %s\n", cmd, mr_errmsg());
        return MR_ARGS_USAGE;
    }
    int np = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *s = argv[i];
        if (only_pos || s[0] != '-' || s[1] == 0) {
            positional[np++] = s;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            print_help(stdout, cmd, synopsis, about, args);
            free(positional);
            return MR_ARGS_HELP;
        }
        const char *name = s + (s[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        int k = -1;
        for (int j = 0; j < nargs; j++)
            if (strlen(args[j].name) == nlen && strncmp(args[j].name, name, nlen) == 0) k = j;
        if (k < 0) {
            fprintf(stderr, "musrec %s: unknown option %s\n", cmd, s);
            print_help(stderr, cmd, synopsis, about, args);
            free(positional);
            return MR_ARGS_USAGE;
        }
        const char *v = NULL;
        if (eq) v = eq + 1;
        else if (args[k].type == MR_ARG_FLAG) v = "1";
        else if (i + 1 < argc) v = argv[++i];
        else {
            fprintf(stderr, "musrec %s: option --%s needs a value\n", cmd, args[k].name);
            free(positional);
            return MR_ARGS_USAGE;
        }
        if (assign(&args[k], v, "") != 0) {
            fprintf(stderr, "musrec %s: %s\n", cmd, mr_errmsg());
            free(positional);
            return MR_ARGS_USAGE;
        }
        if (k < 256) seen[k] = 1;
    }
    /* Options not given on the command line come from the config (which
     * already layers environment over file over built-in default). */
    for (int j = 0; j < nargs && j < 256; j++) {
        if (seen[j]) continue;
        const char *v = args[j].key ? mr_config_get(ctx->cfg, args[j].key) : NULL;
        char from[300] = "";
        if (v) snprintf(from, sizeof from, " (from %s in %s)", args[j].key,
                        mr_config_source(ctx->cfg, args[j].key));
        if (!v) v = args[j].def;
        if (v && assign(&args[j], v, from) != 0) {
            fprintf(stderr, "musrec %s: %s\n", cmd, mr_errmsg());
            free(positional);
            return MR_ARGS_USAGE;
        }
    }
    if (!pos && np > 0) {
        fprintf(stderr, "musrec %s: unexpected argument '%s'\n", cmd, positional[0]);
        free(positional);
        return MR_ARGS_USAGE;
    }
    if (pos) *pos = positional;
    else free(positional);
    if (npos) *npos = np;
    return MR_ARGS_OK;
}

char *mr_ctx_path(const mr_ctx *ctx, const char *rel) { return mr_path_join(ctx->workdir, rel); }

int mr_step_begin(mr_ctx *ctx, mr_step *s, const char *name)
{
    s->name = name;
    s->t0 = mr_now();
    int rc = mr_ensure_writable_dir(ctx->workdir);
    if (!rc) rc = mr_log_open(ctx->workdir, name);
    if (rc) {
        fprintf(stderr, "musrec %s: %s\n", name, mr_errmsg());
        return rc;
    }
    MR_LOG(MR_LOG_DEBUG, "start", MR_S("workdir", ctx->workdir), MR_I("threads", ctx->threads),
           MR_I("seed", (int64_t)ctx->seed));
    return 0;
}

void mr_step_file(mr_step *s, const char *kind, const char *path)
{
    (void)s;
    int64_t size = mr_file_size(path);
    MR_LOG(MR_LOG_DEBUG, kind, MR_S("path", path), MR_I("bytes", size));
}

int mr_step_end(mr_ctx *ctx, mr_step *s, int rc)
{
    double secs = mr_now() - s->t0;
    int64_t rss = mr_peak_rss();
    /* the step's name is the line's "step"; peak RSS is the process's, so
     * inside `musrec run` it is the peak of this step and the ones before */
    mr_field f[] = {MR_B("ok", rc == 0), MR_F("seconds", secs), MR_I("peak_rss_bytes", rss),
                    MR_S("error", rc ? mr_errmsg() : NULL)};
    int nf = rc ? 4 : 3;
    if (rc) mr_log_write(MR_LOG_ERROR, mr_errmsg(), NULL, 0);
    mr_log_write(MR_LOG_DEBUG, "end", f, nf);
    mr_log_main(ctx->workdir, rc ? "step failed" : "step done", f, nf);
    mr_log_close();
    return rc == 0 ? 0 : rc == MR_EUSAGE ? 2 : 1;
}
