/* Configuration: KEY=VALUE files like the reference pipeline's config/.env.
 *
 * File syntax: one KEY=VALUE per line; blank lines and lines starting with #
 * are ignored; an optional leading `export `; values may be double-quoted
 * (with \" \\ \n escapes), single-quoted (literal), or bare (a ` #` starts a
 * comment). Precedence: flag > environment > file > built-in default
 * (config_keys.def). Each value remembers where it came from, for
 * `musrec config`.
 */
#ifndef MR_CONFIG_H
#define MR_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct mr_config mr_config;

/* Built-in defaults overlaid with the environment. */
int mr_config_new(mr_config **out);
void mr_config_free(mr_config *c);

/* Reads a config file. A missing file is fine unless required. Values from
 * the file do not override values already taken from the environment or
 * flags. Unknown keys produce a warning "FILE:LINE: unknown key K". */
int mr_config_load_file(mr_config *c, const char *path, int required);
/* Same, from text in memory; name is used in messages. */
int mr_config_load_text(mr_config *c, const char *text, const char *name);

/* Sets a value from a command-line flag (highest precedence). */
int mr_config_set_flag(mr_config *c, const char *key, const char *value);

/* The effective value, or NULL if the key is unknown and was never set. */
const char *mr_config_get(const mr_config *c, const char *key);
/* "default", "environment", "flag" or "FILE:LINE". */
const char *mr_config_source(const mr_config *c, const char *key);

/* Typed getters: an error names the key, its source and the bad value. */
int mr_config_int(const mr_config *c, const char *key, int64_t *out);
int mr_config_f64(const mr_config *c, const char *key, double *out);

int mr_config_is_secret(const char *key);
/* Every key, grouped by step, with value (secrets masked) and source. */
void mr_config_print(const mr_config *c, FILE *f);

#endif
