#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"

typedef struct {
    const char *name, *def, *step, *help;
} key_info;

static const key_info known_keys[] = {
#define MR_KEY(name, def, step, help) {#name, def, step, help},
#include "base/config_keys.def"
#undef MR_KEY
};
#define N_KNOWN ((int)(sizeof known_keys / sizeof known_keys[0]))

enum { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG };

typedef struct {
    char *key, *value, *source;
    int rank; /* SRC_* */
} entry;

struct mr_config {
    entry *e;
    int n, cap;
};

static const key_info *find_known(const char *key)
{
    for (int i = 0; i < N_KNOWN; i++)
        if (strcmp(known_keys[i].name, key) == 0) return &known_keys[i];
    return NULL;
}

static entry *find(const mr_config *c, const char *key)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->e[i].key, key) == 0) return &c->e[i];
    return NULL;
}

/* Stores value unless a value of higher precedence is already there. */
static int put(mr_config *c, const char *key, const char *value, int rank, const char *source)
{
    entry *e = find(c, key);
    if (e && e->rank > rank) return 0;
    if (!e) {
        if (c->n == c->cap) {
            int cap = c->cap ? c->cap * 2 : 64;
            entry *ne = mr_realloc(c->e, (size_t)cap * sizeof *ne);
            if (!ne) return MR_ENOMEM;
            c->e = ne;
            c->cap = cap;
        }
        e = &c->e[c->n++];
        memset(e, 0, sizeof *e);
        e->key = mr_strdup(key);
        if (!e->key) {
            c->n--;
            return MR_ENOMEM;
        }
    }
    char *v = mr_strdup(value), *s = mr_strdup(source);
    if (!v || !s) {
        free(v);
        free(s);
        return MR_ENOMEM;
    }
    free(e->value);
    free(e->source);
    e->value = v;
    e->source = s;
    e->rank = rank;
    return 0;
}

int mr_config_new(mr_config **out)
{
    mr_config *c = mr_calloc(1, sizeof *c);
    if (!c) return MR_ENOMEM;
    for (int i = 0; i < N_KNOWN; i++) {
        const char *env = getenv(known_keys[i].name);
        int rc = env ? put(c, known_keys[i].name, env, SRC_ENV, "environment")
                     : put(c, known_keys[i].name, known_keys[i].def, SRC_DEFAULT, "default");
        if (rc) {
            mr_config_free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

void mr_config_free(mr_config *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->e[i].key);
        free(c->e[i].value);
        free(c->e[i].source);
    }
    free(c->e);
    free(c);
}

static int is_key_start(int ch) { return isalpha(ch) || ch == '_'; }
static int is_key_char(int ch) { return isalnum(ch) || ch == '_' || ch == '.'; }

/* Parses one value starting at p into out (capacity cap). Returns 0 or -1 on
 * a syntax error such as an unterminated quote. */
static int parse_value(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            char ch = *p;
            if (ch == '\\' && p[1]) {
                p++;
                ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            }
            if (n + 1 >= cap) return -1;
            out[n++] = ch;
        }
        if (*p != '"') return -1;
        for (p++; *p == ' ' || *p == '\t'; p++) {}
        if (*p && *p != '#') return -1;
    } else if (*p == '\'') {
        for (p++; *p && *p != '\''; p++) {
            if (n + 1 >= cap) return -1;
            out[n++] = *p;
        }
        if (*p != '\'') return -1;
        for (p++; *p == ' ' || *p == '\t'; p++) {}
        if (*p && *p != '#') return -1;
    } else {
        for (; *p; p++) {
            if (*p == '#' && n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t')) break;
            if (n + 1 >= cap) return -1;
            out[n++] = *p;
        }
        while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t')) n--;
    }
    out[n] = 0;
    return 0;
}

int mr_config_load_text(mr_config *c, const char *text, const char *name)
{
    int lineno = 0;
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        char buf[8192];
        if (len >= sizeof buf) return mr_err(MR_EFORMAT, "%s:%d: line too long", name, lineno);
        memcpy(buf, line, len);
        buf[len] = 0;
        if (len && buf[len - 1] == '\r') buf[--len] = 0;
        line = nl ? nl + 1 : NULL;

        char *p = buf;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == 0 || *p == '#') continue;
        if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
            p += 6;
            while (*p == ' ' || *p == '\t') p++;
        }
        if (!is_key_start((unsigned char)*p))
            return mr_err(MR_EFORMAT, "%s:%d: expected KEY=VALUE", name, lineno);
        char *k = p;
        while (is_key_char((unsigned char)*p)) p++;
        char *kend = p;
        while (*p == ' ' || *p == '\t') p++;
        if (*p != '=') return mr_err(MR_EFORMAT, "%s:%d: expected KEY=VALUE", name, lineno);
        *kend = 0;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        char value[8192];
        if (parse_value(p, value, sizeof value) != 0)
            return mr_err(MR_EFORMAT, "%s:%d: malformed value for %s (unterminated quote?)", name,
                          lineno, k);
        char source[4200];
        snprintf(source, sizeof source, "%s:%d", name, lineno);
        if (!find_known(k)) mr_logf(MR_LOG_WARN, "%s: unknown key %s", source, k);
        int rc = put(c, k, value, SRC_FILE, source);
        if (rc) return rc;
    }
    return 0;
}

int mr_config_load_file(mr_config *c, const char *path, int required)
{
    char *text;
    int rc = mr_read_file(path, &text, NULL);
    if (rc == MR_ENOTFOUND && !required) return 0;
    if (rc) return rc;
    rc = mr_config_load_text(c, text, path);
    free(text);
    return rc;
}

int mr_config_set_flag(mr_config *c, const char *key, const char *value)
{
    return put(c, key, value, SRC_FLAG, "flag");
}

const char *mr_config_get(const mr_config *c, const char *key)
{
    entry *e = find(c, key);
    return e ? e->value : NULL;
}

const char *mr_config_source(const mr_config *c, const char *key)
{
    entry *e = find(c, key);
    return e ? e->source : NULL;
}

int mr_config_int(const mr_config *c, const char *key, int64_t *out)
{
    const char *v = mr_config_get(c, key);
    if (!v) return mr_err(MR_ENOTFOUND, "config key %s is not set", key);
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return mr_err(MR_EINVAL, "%s (from %s): expected an integer, got '%s'", key,
                      mr_config_source(c, key), v);
    *out = x;
    return 0;
}

int mr_config_f64(const mr_config *c, const char *key, double *out)
{
    const char *v = mr_config_get(c, key);
    if (!v) return mr_err(MR_ENOTFOUND, "config key %s is not set", key);
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end)
        return mr_err(MR_EINVAL, "%s (from %s): expected a number, got '%s'", key,
                      mr_config_source(c, key), v);
    *out = x;
    return 0;
}

int mr_config_is_secret(const char *key)
{
    static const char *marks[] = {"SECRET", "KEY", "TOKEN", "PASSWORD"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(key, marks[i])) return 1;
    return 0;
}

static void print_entry(const entry *e, FILE *f)
{
    const char *v = e->value;
    if (mr_config_is_secret(e->key) && *v) v = "********";
    fprintf(f, "%s=%s  # %s\n", e->key, v, e->source);
}

void mr_config_print(const mr_config *c, FILE *f)
{
    const char *last_step = NULL;
    for (int i = 0; i < N_KNOWN; i++) {
        if (!last_step || strcmp(last_step, known_keys[i].step) != 0) {
            fprintf(f, "%s# [%s]\n", last_step ? "\n" : "", known_keys[i].step);
            last_step = known_keys[i].step;
        }
        entry *e = find(c, known_keys[i].name);
        if (e) print_entry(e, f);
    }
    int header = 0;
    for (int i = 0; i < c->n; i++) {
        if (find_known(c->e[i].key)) continue;
        if (!header++) fprintf(f, "\n# [unknown keys]\n");
        print_entry(&c->e[i], f);
    }
}
