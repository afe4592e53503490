/* The command-line layer: the only code that knows about argv.
 *
 * Each command lives in cmd_<name>.c as `int mr_cmd_<name>(mr_ctx *, int argc,
 * char **argv)` and is listed once in commands.def. It declares its options
 * as a table of mr_arg; mr_args_parse() fills them with precedence
 * flag > environment > config file > default, prints --help from the same
 * table, and rejects unknown options. A command returns its exit status:
 * 0 ok, 1 failure (after printing mr_errmsg()), 2 usage error.
 */
#ifndef MR_CLI_H
#define MR_CLI_H

#include <stdint.h>

#include "base/config.h"

typedef struct {
    mr_config *cfg;
    const char *workdir; /* from --workdir / MUSREC_WORKDIR */
    int threads;         /* in effect */
    uint64_t seed;
    int quiet;
} mr_ctx;

typedef enum { MR_ARG_STR, MR_ARG_INT, MR_ARG_F64, MR_ARG_FLAG } mr_arg_type;

typedef struct {
    const char *name;    /* long option without dashes: "factors" */
    mr_arg_type type;
    void *dst;           /* const char **, int64_t *, double *, or int * for flags */
    const char *key;     /* config key supplying the default, or NULL */
    const char *def;     /* default when there is no key (NULL: leave *dst) */
    const char *help;
} mr_arg;

enum { MR_ARGS_OK = 0, MR_ARGS_HELP = 1, MR_ARGS_USAGE = 2 };

/* Parses argv[1..] (argv[0] is the command name). Positional arguments are
 * returned through pos/npos (pointing into argv). On MR_ARGS_USAGE the
 * message and usage are already printed. */
int mr_args_parse(mr_ctx *ctx, const char *cmd, const char *synopsis, const char *about,
                  const mr_arg *args, int argc, char **argv, char ***pos, int *npos);

/* Step bookkeeping shared by the pipeline commands: opens
 * logs/logs_<step>.json, logs start; mr_step_file() logs an input or output
 * with its size; mr_step_end() logs end, duration and peak RSS, appends one
 * line to logs/logs_main.json, prints the error on failure, and returns the
 * exit status for rc. */
typedef struct {
    const char *name;
    double t0;
} mr_step;

int mr_step_begin(mr_ctx *ctx, mr_step *s, const char *name);
void mr_step_file(mr_step *s, const char *kind, const char *path);
int mr_step_end(mr_ctx *ctx, mr_step *s, int rc);

/* Path under the work directory, malloc'd. */
char *mr_ctx_path(const mr_ctx *ctx, const char *rel);

#define MR_CMD(name, summary) int mr_cmd_##name(mr_ctx *ctx, int argc, char **argv);
#include "cli/commands.def"
#undef MR_CMD

/* The command table (commands.def), for main and for `musrec run`. */
typedef struct {
    const char *name, *summary;
    int (*fn)(mr_ctx *, int, char **);
} mr_command;

extern const mr_command mr_cli_commands[];
extern const int mr_cli_ncommands;
/* NULL if no such command in this build. */
const mr_command *mr_cli_find(const char *name);

#endif
