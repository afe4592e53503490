/* musrec entry point: global options, then dispatch to one command.
 *
 * Global options may appear before or after the command name; they are taken
 * out of argv here so that each command sees only its own options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/threads.h"
#include "cli/cli.h"

#ifndef MUSREC_VERSION
#define MUSREC_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "musrec %s - music recommendations at full size on a laptop\n\n"
            "usage: musrec [global options] <command> [options]\n\ncommands:\n",
            MUSREC_VERSION);
    for (int i = 0; i < mr_cli_ncommands; i++)
        fprintf(f, "  %-12s %s\n", mr_cli_commands[i].name, mr_cli_commands[i].summary);
    fprintf(f, "\nglobal options:\n"
               "  --workdir DIR      work directory [MUSREC_WORKDIR, default ./workspace]\n"
               "  --threads N        worker threads, 0 = all cores [MUSREC_THREADS]\n"
               "  --seed N           seed for every random choice [MUSREC_SEED]\n"
               "  --config FILE      configuration file [MUSREC_CONFIG, default config/musrec.env]\n"
               "  --log-level LEVEL  debug, info, warn or error [MUSREC_LOG_LEVEL]\n"
               "  --quiet            only warnings and errors on stderr, no progress bars\n"
               "  --help, --version\n\n"
               "`musrec <command> --help` describes a command. Precedence of settings:\n"
               "flag > environment > config file > built-in default.\n");
}

/* Global options that take a value, mapped to their config keys. */
static const struct {
    const char *opt, *key;
} global_opts[] = {
    {"--workdir", "MUSREC_WORKDIR"},
    {"--threads", "MUSREC_THREADS"},
    {"--seed", "MUSREC_SEED"},
    {"--log-level", "MUSREC_LOG_LEVEL"},
    {"--config", NULL},
};

int main(int argc, char **argv)
{
    mr_fs_install_signal_cleanup();
    mr_config *cfg = NULL;
    if (mr_config_new(&cfg) != 0) {
        fprintf(stderr, "musrec: %s\n", mr_errmsg());
        return 1;
    }
    const char *config_path = getenv("MUSREC_CONFIG");
    int config_required = config_path != NULL, quiet = 0;

    /* Pull global options out of argv, wherever they are. */
    char **rest = mr_calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return 1;
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        char *s = argv[i];
        if (i == 0 || s[0] != '-' || strcmp(s, "--") == 0) {
            if (i > 0 && strcmp(s, "--") == 0)
                while (i < argc) rest[nrest++] = argv[i++];
            else rest[nrest++] = s;
            continue;
        }
        if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
            quiet = 1;
            continue;
        }
        int matched = 0;
        for (size_t g = 0; g < sizeof global_opts / sizeof global_opts[0]; g++) {
            size_t n = strlen(global_opts[g].opt);
            if (strncmp(s, global_opts[g].opt, n) != 0 || (s[n] != 0 && s[n] != '=')) continue;
            const char *v = s[n] == '=' ? s + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "musrec: option %s needs a value\n", global_opts[g].opt);
                return 2;
            }
            if (global_opts[g].key) mr_config_set_flag(cfg, global_opts[g].key, v);
            else {
                config_path = v;
                config_required = 1;
            }
            matched = 1;
        }
        if (!matched) rest[nrest++] = s;
    }
    if (nrest < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = rest[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("musrec %s\n", MUSREC_VERSION);
        return 0;
    }
    const mr_command *cmd = mr_cli_find(name);
    if (!cmd) {
        fprintf(stderr, "musrec: unknown command '%s'\n\n", name);
        usage(stderr);
        return 2;
    }

    if (mr_config_load_file(cfg, config_path ? config_path : "config/musrec.env", config_required) != 0) {
        fprintf(stderr, "musrec: %s\n", mr_errmsg());
        return 1;
    }
    mr_ctx ctx = {.cfg = cfg, .quiet = quiet};
    int64_t threads = 0, seed = 0;
    int level = mr_log_level_parse(mr_config_get(cfg, "MUSREC_LOG_LEVEL"));
    if (level < 0) {
        fprintf(stderr, "musrec: MUSREC_LOG_LEVEL (from %s): expected debug, info, warn or error, got '%s'\n",
                mr_config_source(cfg, "MUSREC_LOG_LEVEL"), mr_config_get(cfg, "MUSREC_LOG_LEVEL"));
        return 2;
    }
    if (mr_config_int(cfg, "MUSREC_THREADS", &threads) || mr_config_int(cfg, "MUSREC_SEED", &seed)) {
        fprintf(stderr, "musrec: %s\n", mr_errmsg());
        return 2;
    }
    if (threads < 0 || threads > 4096) {
        fprintf(stderr, "musrec: --threads must be between 0 and 4096, got %lld\n", (long long)threads);
        return 2;
    }
    mr_log_setup(level, quiet);
    mr_progress_enable(!quiet);
    ctx.threads = mr_threads_set((int)threads);
    ctx.seed = (uint64_t)seed;
    ctx.workdir = mr_config_get(cfg, "MUSREC_WORKDIR");

    int status = cmd->fn(&ctx, nrest - 1, rest + 1);
    mr_config_free(cfg);
    free(rest);
    return status;
}
