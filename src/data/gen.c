/* The synthetic data generator (docs/generator.md explains the model).
 *
 * Design: everything random is drawn from a counter-based stream, seeded by
 * (seed, purpose, index) — the artist number, the track number, the user id
 * — never from one sequential generator shared across entities. So each
 * artist, track and user is the same whatever order or thread produces it,
 * which makes the output byte-identical at any thread count, and lets the
 * event generator re-derive a user's profile from its id instead of storing
 * it.
 *
 * The world (catalog + per-user event counts + "forced" tracks) is built
 * serially in memory; it is O(tracks + users). Events are generated per
 * block of 1024 user ids, in parallel, and streamed through the parquet
 * writer in block order, so memory does not grow with the number of events.
 *
 * Every track must be listened to at least once (a fact of the real data),
 * which a popularity-driven sampler does not guarantee for the long tail.
 * So each track is given one "discovery" listener up front: a user whose
 * favourite genre is the track's genre, chosen in proportion to activity.
 * That user's history contains the track; the rest of the history comes
 * from the taste model.
 */
#include "data/gen.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/progress.h"
#include "data/gen_words.h"
#include "parquet/parquet.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *const mr_gen_type_names[4] = {"album", "artist", "genre", "track"};

/* ---- measured facts of the real data at scale 1 (docs/DATASET.md) ---- */
#define REAL_TRACKS 1000000.0
#define REAL_ALBUMS 658724.0
#define REAL_ARTISTS 153581.0
#define REAL_USERS 1373221.0
#define REAL_MAX_USER_ID 1374582.0
#define REAL_EMPTY_ALBUMS 18.0
#define REAL_EMPTY_ARTISTS 15369.0
#define REAL_EMPTY_GENRES 3687.0
#define REAL_DANGLING_TRACKS 48345.0
#define N_GENRES 166
#define N_DANGLING 30
#define MIN_TRACK_ID 26
#define MAX_TRACK_ID 101521819.0
#define MAX_ALBUM_ID 27000000.0  /* not documented; same order as the real catalog */
#define MAX_ARTIST_ID 19000000.0
#define MAX_USER_EVENTS 16637    /* the largest track_seq of the real data */

/* ---- model knobs (docs/generator.md) ---- */
#define EV_MEDIAN 54.0      /* events per user: lognormal, median 54 */
#define EV_SIGMA 1.482      /* sigma giving mean 162 = 222.6M / 1.373M */
#define P_FULL_YEAR 0.9     /* users active all year; the rest join at a uniform point */
#define SESSION_MEAN 4.0    /* tracks per session: 1 + geometric */
#define P_GENRE_MIX 0.35    /* genre session: chance to switch artist after each track */
#define P_KNOWN 0.5         /* genre session: go back to an artist found earlier */
#define MAX_KNOWN 256
#define P_DECADE 0.65       /* artist picks stay in the user's decade */
#define P_ALBUM_MODE 0.3    /* favourite-artist session plays an album in order */
#define SRC_FAV 0.50        /* source mixture before per-user jitter */
#define SRC_GENRE 0.28
#define SRC_CHART 0.13
#define SRC_NEW 0.10
#define ARTIST_POP_BETA 0.8 /* Pareto tail index 1/0.8 */
#define TRACK_ZIPF 1.1      /* within-artist popularity by rank */
#define GENRE_ZIPF 1.0
#define TASTE_POP_EXP 0.6
#define CHART_POP_EXP 0.6  /* the same for the charts */  /* taste picks flatten artist popularity: niche artists have fans */
#define P_SECOND_GENRE 0.3
#define P_OWN_VERSION 0.045 /* remix / live / acoustic / edit / feat / re-release of an own song */
#define P_COVER 0.012       /* the same song by another artist */
#define P_COVER_MARKED 0.3  /* a cover says so in its title: "(Cover)", "- Cover", "(кавер)" */
#define P_COMMON_TITLE 0.08
#define P_FILLER_TITLE 0.02
#define P_HEAD_WORD 0.5     /* a title word from the common-word head, else from the long tail */
#define P_DUET 0.04
#define P_SECOND_ALBUM 0.03
#define NEW_WINDOW 60       /* days a new release stays in the "new" pool */
#define NEW_DECAY 25.0      /* its appeal halves every ~17 days */
#define HYPE_SIGMA 1.0    /* spread of new-release appeal: a few take off */
#define N_DECADES 7
static const double DECADE_W[N_DECADES] = {0.03, 0.05, 0.08, 0.12, 0.17, 0.30, 0.25}; /* 1960s..2020s */
static const double P_RELEASE_2022[N_DECADES] = {0.01, 0.01, 0.01, 0.02, 0.03, 0.08, 0.30};

/* ---- random numbers: xoshiro256** seeded by splitmix64 of (seed, stream, index) ---- */
typedef struct {
    uint64_t s[4];
} rng_t;

enum { S_GENRE = 1, S_ARTIST, S_ALLOC, S_ALBUM, S_TITLE, S_LISTS, S_IDS, S_USERIDS, S_USER, S_TASTE, S_FORCE, S_SELECT };

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream, uint64_t idx)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL ^ (stream << 56) ^ idx;
    x = splitmix(&x) ^ seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
}
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}
static inline double rng_u01(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static inline uint32_t rng_below(rng_t *r, uint32_t n) /* Lemire, unbiased enough for n << 2^32 */
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
static double rng_normal(rng_t *r)
{
    double u = rng_u01(r), v = rng_u01(r);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}
static inline int rng_geom(rng_t *r, double mean) /* >= 0, given mean */
{
    if (mean <= 0) return 0;
    double p = 1.0 / (1.0 + mean);
    return (int)floor(log(1.0 - rng_u01(r)) / log(1.0 - p));
}
/* Index into a cumulative array c[0..n) (c[n-1] = total) with a binary search. */
static inline int64_t cum_pick(const double *c, int64_t n, double u)
{
    double x = u * c[n - 1];
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (c[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Vose alias table for O(1) weighted draws over many items. */
typedef struct {
    int32_t n;
    float *prob;
    int32_t *alias;
} alias_t;

static int alias_build(alias_t *a, const double *w, int32_t n)
{
    a->n = n;
    a->prob = mr_malloc(sizeof(float) * (size_t)(n ? n : 1));
    a->alias = mr_malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    double *p = mr_malloc(sizeof(double) * (size_t)(n ? n : 1));
    int32_t *small = mr_malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    int32_t *large = mr_malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    if (!a->prob || !a->alias || !p || !small || !large) {
        free(p), free(small), free(large);
        return MR_ENOMEM;
    }
    double tot = 0;
    for (int32_t i = 0; i < n; i++) tot += w[i];
    int32_t ns = 0, nl = 0;
    for (int32_t i = 0; i < n; i++) {
        p[i] = tot > 0 ? w[i] * n / tot : 1.0;
        if (p[i] < 1.0) small[ns++] = i;
        else large[nl++] = i;
    }
    while (ns && nl) {
        int32_t s = small[--ns], l = large[--nl];
        a->prob[s] = (float)p[s];
        a->alias[s] = l;
        p[l] -= 1.0 - p[s];
        if (p[l] < 1.0) small[ns++] = l;
        else large[nl++] = l;
    }
    while (nl) {
        int32_t l = large[--nl];
        a->prob[l] = 1.0f, a->alias[l] = l;
    }
    while (ns) {
        int32_t s = small[--ns];
        a->prob[s] = 1.0f, a->alias[s] = s;
    }
    free(p), free(small), free(large);
    return 0;
}
static inline int32_t alias_pick(const alias_t *a, rng_t *r)
{
    int32_t i = (int32_t)rng_below(r, (uint32_t)a->n);
    return rng_u01(r) < a->prob[i] ? i : a->alias[i];
}
static void alias_free(alias_t *a)
{
    free(a->prob);
    free(a->alias);
}

/* ---- growable string buffer ---- */
typedef struct {
    char *b;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *s, const char *p, size_t len)
{
    if (s->n + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + len + 1) cap *= 2;
        char *nb = mr_realloc(s->b, cap);
        if (!nb) return MR_ENOMEM;
        s->b = nb, s->cap = cap;
    }
    memcpy(s->b + s->n, p, len);
    s->n += len;
    s->b[s->n] = 0;
    return 0;
}
static int sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_printf(sbuf *s, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return MR_EINVAL;
    return sb_put(s, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* ---- the world ---- */
typedef struct {
    int32_t id;      /* track_id (fits in int32 like the real file's column) */
    int32_t artist;  /* the performing artist (even when the list is empty) */
    int16_t release; /* day 0..364 of a 2022 release, -1 before 2022 */
    int16_t genre;   /* the artist's primary genre */
} trow;

struct mr_gen_world {
    mr_gen_catalog cat;
    double scale;
    uint64_t seed;
    int32_t N, A, AL; /* tracks, artists, albums */
    /* per track row (ascending track_id) */
    trow *t; /* per row: what the event loop reads, in one cache line */
    /* per artist: its tracks (rows) with cumulative within-artist weights, its albums */
    int64_t *a_tr_off;
    int32_t *a_tr;
    double *a_tr_cum;
    int64_t *a_al_off;
    int64_t *al_tr_off;
    int32_t *al_tr; /* rows, in album order */
    int16_t *al_release;
    int16_t *a_genre, *a_genre2;
    uint8_t *a_decade;
    double *a_pop;
    alias_t artist_alias; /* all artists by popularity */
    /* artists by genre and by (genre, decade), with cumulative popularity */
    int64_t *g_off;
    int32_t *g_art;
    double *g_cum;
    int64_t *c_off;
    int32_t *c_art;
    double *c_cum;
    double genre_w[N_GENRES];
    alias_t genre_alias;
    alias_t chart; /* all tracks by global popularity */
    /* 2022 releases by day */
    int32_t n_new;
    int32_t *new_tr;
    double *new_cum;
    int32_t new_first[MR_GEN_DAYS + 1]; /* first index released on day >= d */
    /* time: tau (cumulative activity) at the start of day d */
    double tau_day[MR_GEN_DAYS + 1];
    /* users (slot = index into cat.user_id) */
    int32_t ev_cap;
    int32_t *block_first; /* first slot of block b, n_blocks + 1 */
    int64_t n_blocks;
    int64_t *force_off;   /* per slot, n_users + 1 */
    int32_t *force_tr;
};

const mr_gen_catalog *mr_gen_world_catalog(const mr_gen_world *w) { return &w->cat; }
int64_t mr_gen_num_blocks(const mr_gen_world *w) { return w->n_blocks; }

void mr_gen_world_free(mr_gen_world *w)
{
    if (!w) return;
    mr_gen_catalog *c = &w->cat;
    free(c->track_id), free(c->album_off), free(c->album_ids), free(c->artist_off), free(c->artist_ids);
    free(c->genre_off), free(c->genre_ids), free(c->true_group), free(c->name_id), free(c->name_type);
    free(c->name_off), free(c->name_bytes), free(c->user_id), free(c->user_events);
    free(w->t), free(w->a_tr_off), free(w->a_tr);
    free(w->a_tr_cum), free(w->a_al_off), free(w->al_tr_off), free(w->al_tr);
    free(w->al_release), free(w->a_genre), free(w->a_genre2), free(w->a_decade), free(w->a_pop);
    free(w->g_off), free(w->g_art), free(w->g_cum), free(w->c_off), free(w->c_art), free(w->c_cum);
    free(w->new_tr), free(w->new_cum), free(w->block_first), free(w->force_off), free(w->force_tr);
    alias_free(&w->artist_alias), alias_free(&w->genre_alias), alias_free(&w->chart);
    free(w);
}

static int32_t scaled(double real, double scale) { return (int32_t)llround(real * scale); }

int64_t mr_gen_estimate_bytes(double scale)
{
    /* Measured (bench/gen.sh): 1.41 GB in all at scale 1, about 6 bytes per
     * event (track ids pass the dictionary limit and go PLAIN), 4 at small
     * scales; plus ~50 MB of catalog and truth per unit of scale. Counted
     * as 7 bytes per event with a 25% margin on top. */
    double ev = REAL_USERS * 162.0 * scale;
    return (int64_t)((ev * 7.0 + 50e6 * scale) * 1.25) + (16 << 20);
}

/* Picks k distinct indices of [0, n) in ascending order (selection sampling). */
static void select_k(rng_t *r, int64_t n, int64_t k, uint8_t *mark)
{
    for (int64_t i = 0; i < n && k > 0; i++)
        if (rng_u01(r) * (double)(n - i) < (double)k) mark[i] = 1, k--;
}

static int is_rus_genre(const char *g)
{
    for (int i = 0; i < NELEM(RUS_GENRES); i++)
        if (strcmp(RUS_GENRES[i], g) == 0) return 1;
    return 0;
}

static void capitalize_word(char *dst, size_t cap, const char *w)
{
    /* ASCII words get an upper-case first letter; Cyrillic ones (2-byte
     * UTF-8, U+0430..U+044F) too, via the fixed offsets of that block. */
    snprintf(dst, cap, "%s", w);
    unsigned char *p = (unsigned char *)dst;
    if (p[0] >= 'a' && p[0] <= 'z') p[0] -= 32;
    else if (p[0] == 0xD0 && p[1] >= 0xB0 && p[1] <= 0xBF) p[1] -= 0x20;       /* а..п -> А..П */
    else if (p[0] == 0xD1 && p[1] >= 0x80 && p[1] <= 0x8F) p[0] = 0xD0, p[1] += 0x20; /* р..я */
    else if (p[0] == 0xD1 && p[1] == 0x91) p[0] = 0xD0, p[1] = 0x81;            /* ё -> Ё */
}

/* An invented word of 2-4 syllables, capitalised: "Korvenix", "Ламарин". */
static void pseudo_word(char *dst, size_t cap, rng_t *r, int cyr)
{
    char tmp[96] = "";
    int k = 2 + (int)rng_below(r, 3);
    for (int i = 0; i < k; i++) {
        const char *syl = cyr ? SYL_RU[rng_below(r, NELEM(SYL_RU))] : SYL_EN[rng_below(r, NELEM(SYL_EN))];
        strncat(tmp, syl, sizeof tmp - strlen(tmp) - 1);
    }
    capitalize_word(dst, cap, tmp);
}

/* One word of a title. A real catalog's title vocabulary runs to tens of
 * thousands of words (names, places, slang, rarer words) behind a head of
 * very common ones ("love", "night"). The word lists are that head; the
 * tail is an invented word of 2-4 syllables (~1.1M per script, the
 * shorter ones more often). */
static void title_word(char *dst, size_t cap, rng_t *r, int cyr, int capital)
{
    if (rng_u01(r) < P_HEAD_WORD) {
        const char *const *words = cyr ? RU_WORDS : EN_WORDS;
        int nw = cyr ? NELEM(RU_WORDS) : NELEM(EN_WORDS);
        const char *w = words[rng_below(r, (uint32_t)nw)];
        if (capital) capitalize_word(dst, cap, w);
        else snprintf(dst, cap, "%s", w);
        return;
    }
    char tmp[96] = "";
    double v = rng_u01(r); /* syllables: 2 (15%), 3 (50%), 4 (35%) */
    int k = v < 0.15 ? 2 : v < 0.65 ? 3 : 4;
    for (int i = 0; i < k; i++) {
        const char *syl = cyr ? SYL_RU[rng_below(r, NELEM(SYL_RU))] : SYL_EN[rng_below(r, NELEM(SYL_EN))];
        strncat(tmp, syl, sizeof tmp - strlen(tmp) - 1);
    }
    if (capital) capitalize_word(dst, cap, tmp);
    else snprintf(dst, cap, "%s", tmp);
}

/* A new song title: a common title sometimes, else 1-4 words. */
static int make_title(sbuf *s, rng_t *r, int cyr)
{
    double u = rng_u01(r);
    if (u < P_FILLER_TITLE) {
        int i = (int)rng_below(r, NELEM(FILLER_TITLES));
        return sb_printf(s, "%s", FILLER_TITLES[i]);
    }
    if (u < P_FILLER_TITLE + P_COMMON_TITLE) {
        /* Zipf-ish over the common titles: a few are very common */
        int i = (int)(NELEM(COMMON_TITLES) * pow(rng_u01(r), 1.6));
        return sb_printf(s, "%s", COMMON_TITLES[i]);
    }
    double v = rng_u01(r); /* words: 1 (5%), 2 (27%), 3 (45%), 4 (23%) */
    int k = v < 0.05 ? 1 : v < 0.32 ? 2 : v < 0.77 ? 3 : 4;
    for (int i = 0; i < k; i++) {
        char wbuf[96];
        title_word(wbuf, sizeof wbuf, r, cyr, i == 0 || (!cyr && rng_u01(r) < 0.5));
        int rc = sb_printf(s, i ? " %s" : "%s", wbuf);
        if (rc) return rc;
    }
    /* sometimes a number or a parenthesised subtitle, as real titles have */
    if (rng_u01(r) < 0.04) return sb_printf(s, " %d", 2 + (int)rng_below(r, 98));
    if (rng_u01(r) < 0.03) {
        char wbuf[96];
        title_word(wbuf, sizeof wbuf, r, cyr, 0);
        return sb_printf(s, " (%s)", wbuf);
    }
    return 0;
}

static int make_artist_name(sbuf *s, rng_t *r, int cyr)
{
    double u = rng_u01(r);
    if (u < 0.45) {
        char pw[96];
        pseudo_word(pw, sizeof pw, r, cyr);
        double v = rng_u01(r);
        if (v < 0.6) return sb_printf(s, "%s", pw);
        if (v < 0.8 && !cyr) return sb_printf(s, "%s %s", NICK_PREFIX[rng_below(r, NELEM(NICK_PREFIX))], pw);
        if (cyr) return sb_printf(s, "%s %s", RU_FIRST[rng_below(r, NELEM(RU_FIRST))], pw);
        return sb_printf(s, "%s %s", EN_FIRST[rng_below(r, NELEM(EN_FIRST))], pw);
    }
    u = (u - 0.45) / 0.55;
    if (cyr) {
        if (u < 0.55)
            return sb_printf(s, "%s %s", RU_FIRST[rng_below(r, NELEM(RU_FIRST))], RU_LAST[rng_below(r, NELEM(RU_LAST))]);
        char w[64];
        capitalize_word(w, sizeof w, RU_WORDS[rng_below(r, NELEM(RU_WORDS))]);
        if (u < 0.85) return sb_printf(s, "%s", w);
        char w2[64];
        capitalize_word(w2, sizeof w2, RU_WORDS[rng_below(r, NELEM(RU_WORDS))]);
        return sb_printf(s, "%s %s", w, w2);
    }
    if (u < 0.40)
        return sb_printf(s, "%s %s", EN_FIRST[rng_below(r, NELEM(EN_FIRST))], EN_LAST[rng_below(r, NELEM(EN_LAST))]);
    char w[64], w2[64];
    capitalize_word(w, sizeof w, EN_WORDS[rng_below(r, NELEM(EN_WORDS))]);
    capitalize_word(w2, sizeof w2, EN_WORDS[rng_below(r, NELEM(EN_WORDS))]);
    if (u < 0.55) return sb_printf(s, "%s %s", NICK_PREFIX[rng_below(r, NELEM(NICK_PREFIX))], w);
    if (u < 0.75) return sb_printf(s, "The %s %ss", w, w2);
    if (u < 0.90) return sb_printf(s, "%s %s", w, w2);
    return sb_printf(s, "%s", w);
}

/* Version kinds and how catalogs spell them. */
enum { V_REMIX, V_LIVE, V_ACOUSTIC, V_EDIT, V_FEAT, V_RERELEASE, V_SPEED, N_VKINDS };
static const double VKIND_W[N_VKINDS] = {0.28, 0.16, 0.10, 0.14, 0.16, 0.08, 0.08};

static int make_version_title(sbuf *s, rng_t *r, const char *base, size_t blen, int kind, const char *feat,
                              const char *remixer)
{
    char b[768];
    size_t n = blen < sizeof b - 1 ? blen : sizeof b - 1;
    memcpy(b, base, n);
    b[n] = 0;
    int v = (int)rng_below(r, 4);
    int rc = 0;
    switch (kind) {
    case V_REMIX:
        if (v == 0) rc = sb_printf(s, "%s (Remix)", b);
        else if (v == 1) rc = sb_printf(s, "%s (%s Remix)", b, remixer);
        else if (v == 2) rc = sb_printf(s, "%s - %s Remix", b, remixer);
        else rc = sb_printf(s, "%s (Extended Mix)", b);
        break;
    case V_LIVE:
        if (v == 0) rc = sb_printf(s, "%s - Live", b);
        else if (v == 1) rc = sb_printf(s, "%s (Live)", b);
        else if (v == 2) rc = sb_printf(s, "%s (Live at %s)", b, PLACES[rng_below(r, NELEM(PLACES))]);
        else rc = sb_printf(s, "%s [Live]", b);
        break;
    case V_ACOUSTIC:
        if (v == 0) rc = sb_printf(s, "%s [Acoustic Version]", b);
        else if (v == 1) rc = sb_printf(s, "%s (Acoustic)", b);
        else if (v == 2) rc = sb_printf(s, "%s - Acoustic", b);
        else rc = sb_printf(s, "%s (Unplugged)", b);
        break;
    case V_EDIT:
        if (v == 0) rc = sb_printf(s, "%s (Radio Edit)", b);
        else if (v == 1) rc = sb_printf(s, "%s - Remastered %d", b, 2001 + (int)rng_below(r, 21));
        else if (v == 2) rc = sb_printf(s, "%s (Single Version)", b);
        else rc = sb_printf(s, "%s (Instrumental)", b);
        break;
    case V_FEAT:
        if (v < 3) rc = sb_printf(s, "%s (feat. %s)", b, feat);
        else rc = sb_printf(s, "%s (ft. %s)", b, feat);
        break;
    case V_RERELEASE:
        rc = sb_printf(s, "%s", b);
        break;
    default: /* V_SPEED */
        if (v < 2) rc = sb_printf(s, "%s (Sped Up)", b);
        else rc = sb_printf(s, "%s (Slowed + Reverb)", b);
        break;
    }
    return rc;
}

/* Now and then a catalog spells a title oddly: other case, doubled or
 * trailing spaces. Applied in place to the last written title. */
static void perturb_title(sbuf *s, size_t start, rng_t *r)
{
    double u = rng_u01(r);
    char *p = s->b + start;
    if (u < 0.25) {
        for (; *p; p++)
            if (*p >= 'a' && *p <= 'z') *p -= 32;
    } else if (u < 0.5) {
        for (; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p += 32;
    } else if (u < 0.75) {
        char *sp = strchr(p, ' ');
        if (sp) {
            size_t off = (size_t)(sp - s->b);
            if (sb_put(s, " ", 1) == 0) {
                memmove(s->b + off + 1, s->b + off, s->n - 1 - off);
                s->b[s->n] = 0;
            }
        }
    } else {
        sb_put(s, " ", 1);
    }
}

/* Target activity per day: grows linearly from January (x1) to November
 * (x14.8, the measured 2.3M -> 32.9M), holds in early December and drops
 * by a fifth after December 15 (30.2M in December, 13.9M from the 16th). */
static double day_volume(int d)
{
    if (d < 334) return 1.0 + 0.04539 * (d - 15);
    if (d < 349) return 14.65;
    return 11.7;
}

/* Share of all activity up to tau when a fraction P_FULL_YEAR of users is
 * active all year and the rest join at a uniform tau: their events spread
 * over [s, 1], so F(tau) = tau + (1-p)(1-tau)ln(1-tau). */
static double tau_cdf(double t)
{
    if (t >= 1.0) return 1.0;
    return t + (1.0 - P_FULL_YEAR) * (1.0 - t) * log(1.0 - t);
}

static void build_time(mr_gen_world *w)
{
    double cum[MR_GEN_DAYS + 1];
    cum[0] = 0;
    for (int d = 0; d < MR_GEN_DAYS; d++) cum[d + 1] = cum[d] + day_volume(d);
    for (int d = 0; d <= MR_GEN_DAYS; d++) {
        double target = cum[d] / cum[MR_GEN_DAYS], lo = 0, hi = 1;
        for (int it = 0; it < 60; it++) {
            double mid = 0.5 * (lo + hi);
            if (tau_cdf(mid) < target) lo = mid;
            else hi = mid;
        }
        w->tau_day[d] = d == MR_GEN_DAYS ? 1.0 : 0.5 * (lo + hi);
    }
}

static inline int day_of_tau(const mr_gen_world *w, double t)
{
    int lo = 0, hi = MR_GEN_DAYS - 1;
    while (lo < hi) { /* last d with tau_day[d] <= t */
        int mid = (lo + hi + 1) / 2;
        if (w->tau_day[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* ---- users ---- */
typedef struct {
    int32_t n;    /* events */
    double start; /* tau at which the user's activity starts */
    int ng;
    int16_t g[4];
    double gw[4];
    int dec;
} uprof;

static void user_core(const mr_gen_world *w, int32_t uid, uprof *p)
{
    rng_t r;
    rng_seed(&r, w->seed, S_USER, (uint64_t)uid);
    double x;
    do x = exp(log(EV_MEDIAN) + EV_SIGMA * rng_normal(&r));
    while (x > w->ev_cap + 0.5);
    p->n = (int32_t)llround(x);
    if (p->n < 1) p->n = 1;
    p->start = rng_u01(&r) < P_FULL_YEAR ? 0.0 : rng_u01(&r);
    p->ng = 1 + (rng_u01(&r) < 0.55) + (rng_u01(&r) < 0.35) + (rng_u01(&r) < 0.2);
    double wt = 1.0;
    for (int i = 0; i < p->ng; i++) {
        int16_t g;
        int tries = 0;
        do {
            g = (int16_t)alias_pick(&w->genre_alias, &r);
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= p->g[j] == g;
            if (!dup) break;
        } while (++tries < 16);
        p->g[i] = g;
        p->gw[i] = wt;
        wt *= 0.3 + 0.5 * rng_u01(&r);
    }
    double u = rng_u01(&r), c = 0;
    p->dec = N_DECADES - 1;
    for (int d = 0; d < N_DECADES; d++)
        if (u < (c += DECADE_W[d])) {
            p->dec = d;
            break;
        }
}

/* Cumulative (genre) weights of a user, for picking one of their genres. */
static inline int user_genre(const uprof *p, rng_t *r)
{
    double tot = 0;
    for (int i = 0; i < p->ng; i++) tot += p->gw[i];
    double x = rng_u01(r) * tot;
    for (int i = 0; i < p->ng; i++)
        if ((x -= p->gw[i]) < 0) return p->g[i];
    return p->g[p->ng - 1];
}

static int32_t pick_taste_artist(const mr_gen_world *w, const uprof *p, rng_t *r)
{
    int g = user_genre(p, r);
    if (rng_u01(r) < P_DECADE) {
        int c = g * N_DECADES + p->dec;
        int64_t n = w->c_off[c + 1] - w->c_off[c];
        if (n > 0) return w->c_art[w->c_off[c] + cum_pick(w->c_cum + w->c_off[c], n, rng_u01(r))];
    }
    int64_t n = w->g_off[g + 1] - w->g_off[g];
    if (n > 0) return w->g_art[w->g_off[g] + cum_pick(w->g_cum + w->g_off[g], n, rng_u01(r))];
    return alias_pick(&w->artist_alias, r);
}

/* ---- building the world ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Assigns increasing sparse ids to n sorted items: from lo, gaps averaging
 * so the last id lands near hi. */
static void sparse_ids(rng_t *r, int64_t *ids, int64_t n, double lo, double hi)
{
    double mean_gap = n > 1 ? (hi - lo) / (double)(n - 1) : 1.0;
    int64_t id = (int64_t)lo;
    for (int64_t i = 0; i < n; i++) {
        ids[i] = id;
        /* exponential gaps (Poisson-like spacing), at least 1 */
        id += 1 + (int64_t)(-log(1.0 - rng_u01(r)) * (mean_gap - 1.0));
    }
}

typedef struct { /* internal (creation-order) track record */
    int32_t artist, album, song; /* song: internal index of the original */
    int32_t feat;                /* featured / duet artist or -1 */
    float weight;                /* within-artist popularity */
    int64_t title_off;
    int32_t title_len;
} itrack;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != 0) goto fail;                                                            \
    } while (0)
#define ALLOC(p, n)                                                                                \
    do {                                                                                           \
        if (!((p) = mr_calloc((size_t)(n) + 1, sizeof *(p)))) {                                    \
            rc = MR_ENOMEM;                                                                        \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

int mr_gen_world_new(mr_gen_world **out, double scale, uint64_t seed)
{
    *out = NULL;
    if (!(scale >= 0.001 && scale <= 10))
        return mr_err(MR_EINVAL, "scale must be between 0.001 and 10, got %g", scale);
    int rc = 0;
    mr_gen_world *w = mr_calloc(1, sizeof *w);
    if (!w) return MR_ENOMEM;
    mr_gen_catalog *cat = &w->cat;
    itrack *it = NULL;
    sbuf titles = {0}, names = {0};
    int64_t *al_first = NULL, *al_key = NULL, *tmp64 = NULL, *aname_off = NULL;
    int32_t *a_ntr = NULL, *al_artist = NULL, *al_n = NULL, *rank = NULL;
    int32_t *perm = NULL, *al_perm = NULL, *a_perm = NULL, *u_top = NULL, *fcount = NULL;
    int64_t *genre_id = NULL, *g_ucum_off = NULL;
    int32_t *g_users = NULL;
    double *tmpw = NULL, *g_ucum = NULL;
    uint8_t *mark = NULL, *a_cyr = NULL;
    uint64_t *keys = NULL;
    w->scale = scale;
    w->seed = seed;
    const int32_t N = w->N = scaled(REAL_TRACKS, scale);
    const int32_t A = w->A = scaled(REAL_ARTISTS, scale);
    const int32_t AL = w->AL = scaled(REAL_ALBUMS, scale);
    cat->n_tracks = N, cat->n_artists = A, cat->n_albums = AL, cat->n_genres = N_GENRES;
    w->ev_cap = N / 2 < MAX_USER_EVENTS ? N / 2 : MAX_USER_EVENTS;
    rng_t r;

    /* -- genres: ids, popularity -- */
    ALLOC(genre_id, N_GENRES + N_DANGLING);
    {
        rng_seed(&r, seed, S_GENRE, 0);
        uint8_t used[260] = {0};
        for (int i = 0; i < N_GENRES + N_DANGLING; i++) {
            int id;
            do id = 1 + (int)rng_below(&r, 255);
            while (used[id]);
            used[id] = 1;
            genre_id[i] = id; /* 0..165 real genres, 166..195 dangling */
        }
        for (int g = 0; g < N_GENRES; g++) w->genre_w[g] = 1.0 / pow(g + 1.0, GENRE_ZIPF);
        TRY(alias_build(&w->genre_alias, w->genre_w, N_GENRES));
    }

    /* -- artists -- */
    ALLOC(w->a_genre, A); ALLOC(w->a_genre2, A); ALLOC(w->a_decade, A); ALLOC(w->a_pop, A);
    ALLOC(a_cyr, A); ALLOC(aname_off, A + 1);
    for (int32_t a = 0; a < A; a++) {
        rng_seed(&r, seed, S_ARTIST, (uint64_t)a);
        int g = alias_pick(&w->genre_alias, &r);
        w->a_genre[a] = (int16_t)g;
        int g2 = -1;
        if (rng_u01(&r) < P_SECOND_GENRE) {
            g2 = alias_pick(&w->genre_alias, &r);
            if (g2 == g) g2 = -1;
        }
        w->a_genre2[a] = (int16_t)g2;
        double u = rng_u01(&r), c = 0;
        w->a_decade[a] = N_DECADES - 1;
        for (int d = 0; d < N_DECADES; d++)
            if (u < (c += DECADE_W[d])) {
                w->a_decade[a] = (uint8_t)d;
                break;
            }
        w->a_pop[a] = pow(1.0 - rng_u01(&r), -ARTIST_POP_BETA); /* Pareto: a few superstars at every scale */
        a_cyr[a] = rng_u01(&r) < (is_rus_genre(GENRES[g]) ? 0.9 : 0.12);
        aname_off[a] = (int64_t)names.n;
        TRY(make_artist_name(&names, &r, a_cyr[a]));
    }
    aname_off[A] = (int64_t)names.n;
    TRY(alias_build(&w->artist_alias, w->a_pop, A));

    /* -- tracks per artist: one each, the rest in proportion to popularity^0.6 -- */
    ALLOC(a_ntr, A); ALLOC(tmpw, A);
    {
        rng_seed(&r, seed, S_ALLOC, 0);
        for (int32_t a = 0; a < A; a++) a_ntr[a] = 1, tmpw[a] = pow(w->a_pop[a], 0.6) * exp(0.8 * rng_normal(&r));
        alias_t al;
        TRY(alias_build(&al, tmpw, A));
        for (int32_t i = A; i < N; i++) a_ntr[alias_pick(&al, &r)]++;
        alias_free(&al);
    }
    ALLOC(w->a_tr_off, A + 1);
    for (int32_t a = 0; a < A; a++) w->a_tr_off[a + 1] = w->a_tr_off[a] + a_ntr[a];

    /* -- albums: cut each artist's track sequence at AL - A of the N - A gaps -- */
    ALLOC(mark, N); ALLOC(al_first, AL + 1); ALLOC(al_artist, AL); ALLOC(al_n, AL); ALLOC(al_key, AL);
    ALLOC(w->a_al_off, A + 1);
    {
        rng_seed(&r, seed, S_ALBUM, 0);
        /* gap g of artist a lies before its track j>0: enumerate gaps in order */
        int64_t ngaps = (int64_t)N - A, need = (int64_t)AL - A, gi = 0;
        uint8_t *cut = mr_calloc((size_t)ngaps + 1, 1);
        if (!cut) {
            rc = MR_ENOMEM;
            goto fail;
        }
        select_k(&r, ngaps, need, cut);
        int32_t nal = 0;
        for (int32_t a = 0; a < A; a++) {
            w->a_al_off[a] = nal;
            for (int64_t t = w->a_tr_off[a]; t < w->a_tr_off[a + 1]; t++) {
                int start = t == w->a_tr_off[a] || cut[gi++];
                if (start) {
                    al_first[nal] = t;
                    al_artist[nal] = a;
                    nal++;
                }
                al_n[nal - 1]++;
            }
        }
        w->a_al_off[A] = nal;
        al_first[nal] = N;
        free(cut);
        /* release keys: year*1000 + day, increasing along each artist's discography */
        for (int32_t a = 0; a < A; a++) {
            rng_seed(&r, seed, S_ALBUM, 1 + (uint64_t)a);
            int dec = w->a_decade[a];
            for (int64_t b = w->a_al_off[a]; b < w->a_al_off[a + 1]; b++) {
                int year;
                if (rng_u01(&r) < P_RELEASE_2022[dec]) year = 2022;
                else {
                    year = 1960 + 10 * dec + (int)(-log(1.0 - rng_u01(&r)) * 6.0);
                    if (year > 2021) year = 2021;
                }
                al_key[b] = (int64_t)year * 1000 + (int64_t)rng_below(&r, MR_GEN_DAYS);
            }
            /* sort this artist's keys ascending (discographies are short) */
            for (int64_t i = w->a_al_off[a] + 1; i < w->a_al_off[a + 1]; i++)
                for (int64_t j = i; j > w->a_al_off[a] && al_key[j - 1] > al_key[j]; j--) {
                    int64_t t = al_key[j];
                    al_key[j] = al_key[j - 1], al_key[j - 1] = t;
                }
        }
    }

    /* -- songs and titles, artist by artist in release order -- */
    ALLOC(it, N);
    {
        int64_t *orig_pool = mr_malloc(sizeof(int64_t) * (size_t)N); /* originals so far */
        if (!orig_pool) {
            rc = MR_ENOMEM;
            goto fail;
        }
        int64_t npool = 0;
        for (int32_t a = 0; a < A; a++) {
            rng_seed(&r, seed, S_TITLE, (uint64_t)a);
            int64_t t0 = w->a_tr_off[a], k = w->a_tr_off[a + 1] - t0;
            /* within-artist popularity: Zipf over a random order of the tracks */
            for (int64_t i = 0; i < k; i++) it[t0 + i].weight = (float)(i + 1);
            for (int64_t i = k - 1; i > 0; i--) {
                int64_t j = rng_below(&r, (uint32_t)(i + 1));
                float x = it[t0 + i].weight;
                it[t0 + i].weight = it[t0 + j].weight, it[t0 + j].weight = x;
            }
            for (int64_t i = 0; i < k; i++) it[t0 + i].weight = (float)(1.0 / pow(it[t0 + i].weight, TRACK_ZIPF));
            for (int64_t b = w->a_al_off[a]; b < w->a_al_off[a + 1]; b++)
                for (int64_t t = al_first[b]; t < al_first[b] + al_n[b]; t++) {
                    itrack *x = &it[t];
                    x->artist = a, x->album = (int32_t)b, x->feat = -1;
                    double u = rng_u01(&r);
                    int64_t nprev = t - t0;
                    size_t start = titles.n;
                    if (u < P_COVER && npool > 0) {
                        /* a cover: the song of another artist, popular ones (a popular
                         * artist's popular song) more often */
                        int64_t best = -1;
                        for (int tries = 0; tries < 4; tries++) {
                            int64_t c = orig_pool[rng_below(&r, (uint32_t)npool)];
                            if (it[c].artist != a && (best < 0 || w->a_pop[it[c].artist] * it[c].weight >
                                                                      w->a_pop[it[best].artist] * it[best].weight))
                                best = c;
                        }
                        if (best >= 0) {
                            x->song = it[best].song;
                            itrack *o = &it[x->song];
                            TRY(sb_put(&titles, titles.b + o->title_off, (size_t)o->title_len));
                            if (rng_u01(&r) < P_COVER_MARKED) TRY(sb_printf(&titles, "%s", COVER_MARKS[rng_below(&r, NELEM(COVER_MARKS))]));
                            if (rng_u01(&r) < 0.1) perturb_title(&titles, start, &r);
                            x->weight *= 0.3f;
                            goto titled;
                        }
                    }
                    if (u < P_COVER + P_OWN_VERSION && nprev > 0) {
                        /* a version of one of this artist's earlier originals, by popularity */
                        int64_t c = -1;
                        for (int tries = 0; tries < 8 && c < 0; tries++) {
                            int64_t j = t0 + rng_below(&r, (uint32_t)nprev);
                            if (it[j].song == j && rng_u01(&r) < it[j].weight) c = j;
                        }
                        if (c >= 0) {
                            double v = rng_u01(&r), cw = 0;
                            int kind = N_VKINDS - 1;
                            for (int q = 0; q < N_VKINDS; q++)
                                if (v < (cw += VKIND_W[q])) {
                                    kind = q;
                                    break;
                                }
                            x->song = (int32_t)c;
                            int32_t fa = (int32_t)alias_pick(&w->artist_alias, &r);
                            if (fa == a) fa = (a + 1) % A;
                            char feat[256], remixer[256];
                            snprintf(feat, sizeof feat, "%.*s", (int)(aname_off[fa + 1] - aname_off[fa]), names.b + aname_off[fa]);
                            int32_t ra = (int32_t)rng_below(&r, (uint32_t)A);
                            snprintf(remixer, sizeof remixer, "%.*s", (int)(aname_off[ra + 1] - aname_off[ra]), names.b + aname_off[ra]);
                            if (kind == V_FEAT) x->feat = fa;
                            TRY(make_version_title(&titles, &r, titles.b + it[c].title_off, (size_t)it[c].title_len, kind, feat, remixer));
                            if (rng_u01(&r) < 0.08) perturb_title(&titles, start, &r);
                            /* versions are less played than the original; a few take off */
                            x->weight = it[c].weight * (float)(0.15 * exp(0.7 * rng_normal(&r)));
                            if (rng_u01(&r) < 0.03) x->weight *= 6.0f;
                            goto titled;
                        }
                    }
                    x->song = (int32_t)t;
                    orig_pool[npool++] = t;
                    TRY(make_title(&titles, &r, a_cyr[a]));
                    if (rng_u01(&r) < P_DUET) {
                        int32_t fa = (int32_t)alias_pick(&w->artist_alias, &r);
                        if (fa != a) x->feat = fa;
                    }
                titled:
                    x->title_off = (int64_t)start;
                    x->title_len = (int32_t)(titles.n - start);
                }
        }
        free(orig_pool);
    }

    /* -- final order: albums by release key, tracks by (album key, album position) -- */
    ALLOC(keys, N); /* N > AL > A at every scale */
    ALLOC(al_perm, AL);
    for (int32_t b = 0; b < AL; b++) keys[b] = ((uint64_t)al_key[b] << 24) | (uint64_t)b;
    qsort(keys, (size_t)AL, sizeof *keys, cmp_u64);
    for (int32_t i = 0; i < AL; i++) al_perm[i] = (int32_t)(keys[i] & 0xffffff);
    ALLOC(perm, N); ALLOC(rank, N);
    for (int32_t t = 0; t < N; t++) keys[t] = ((uint64_t)al_key[it[t].album] << 24) | (uint64_t)t;
    qsort(keys, (size_t)N, sizeof *keys, cmp_u64);
    for (int32_t i = 0; i < N; i++) perm[i] = (int32_t)(keys[i] & 0xffffff), rank[perm[i]] = i;
    ALLOC(a_perm, A); /* artists by their first release */
    for (int32_t a = 0; a < A; a++) keys[a] = ((uint64_t)al_key[w->a_al_off[a]] << 24) | (uint64_t)a;
    qsort(keys, (size_t)A, sizeof *keys, cmp_u64);
    for (int32_t i = 0; i < A; i++) a_perm[i] = (int32_t)(keys[i] & 0xffffff);

    /* -- ids -- */
    int64_t *album_id = NULL, *artist_id = NULL;
    ALLOC(cat->track_id, N);
    ALLOC(tmp64, AL + A);
    album_id = tmp64, artist_id = tmp64 + AL;
    {
        int64_t *ids = mr_malloc(sizeof(int64_t) * ((size_t)(AL > A ? AL : A) + 1));
        if (!ids) {
            rc = MR_ENOMEM;
            goto fail;
        }
        rng_seed(&r, seed, S_IDS, 0);
        sparse_ids(&r, cat->track_id, N, MIN_TRACK_ID, MAX_TRACK_ID);
        sparse_ids(&r, ids, AL, 3, MAX_ALBUM_ID);
        for (int32_t i = 0; i < AL; i++) album_id[al_perm[i]] = ids[i];
        sparse_ids(&r, ids, A, 1, MAX_ARTIST_ID);
        for (int32_t i = 0; i < A; i++) artist_id[a_perm[i]] = ids[i];
        free(ids);
    }

    /* -- per-row model arrays -- */
    ALLOC(w->t, N); ALLOC(cat->true_group, N);
    ALLOC(w->al_release, AL);
    for (int32_t b = 0; b < AL; b++) w->al_release[b] = (int16_t)(al_key[b] / 1000 == 2022 ? al_key[b] % 1000 : -1);
    for (int32_t i = 0; i < N; i++) {
        const itrack *x = &it[perm[i]];
        w->t[i].id = (int32_t)cat->track_id[i];
        w->t[i].artist = x->artist;
        w->t[i].release = w->al_release[x->album];
        w->t[i].genre = w->a_genre[x->artist];
        cat->true_group[i] = cat->track_id[rank[x->song]];
    }
    /* artist -> rows (in internal order, so album order), cumulative weights */
    ALLOC(w->a_tr, N); ALLOC(w->a_tr_cum, N);
    for (int32_t a = 0; a < A; a++) {
        double c = 0;
        for (int64_t t = w->a_tr_off[a]; t < w->a_tr_off[a + 1]; t++) {
            w->a_tr[t] = rank[t];
            w->a_tr_cum[t] = (c += it[t].weight);
        }
    }
    ALLOC(w->al_tr_off, AL + 1); ALLOC(w->al_tr, N);
    for (int32_t b = 0; b < AL; b++) {
        w->al_tr_off[b + 1] = al_first[b] + al_n[b];
        for (int64_t t = al_first[b]; t < al_first[b] + al_n[b]; t++) w->al_tr[t] = rank[t];
    }
    w->al_tr_off[0] = 0;

    /* -- the list columns, with empty lists and dangling genres at the real rates -- */
    ALLOC(cat->album_off, N + 1); ALLOC(cat->artist_off, N + 1); ALLOC(cat->genre_off, N + 1);
    ALLOC(cat->album_ids, 2 * (int64_t)N); ALLOC(cat->artist_ids, 2 * (int64_t)N); ALLOC(cat->genre_ids, 4 * (int64_t)N);
    {
        /* which rows: empty albums / artists / genres / dangling; genres and
         * dangling disjoint (selected from one shuffled order) */
        uint8_t *m_al = mark; /* reuse: bit 1 empty album, 2 empty artist, 4 empty genre, 8 dangling */
        memset(m_al, 0, (size_t)N);
        rng_seed(&r, seed, S_SELECT, 0);
        uint8_t *tmpm = mr_calloc((size_t)N + 1, 1);
        if (!tmpm) {
            rc = MR_ENOMEM;
            goto fail;
        }
        select_k(&r, N, scaled(REAL_EMPTY_ALBUMS, scale), tmpm);
        for (int32_t i = 0; i < N; i++) m_al[i] |= tmpm[i] ? 1 : 0, tmpm[i] = 0;
        select_k(&r, N, scaled(REAL_EMPTY_ARTISTS, scale), tmpm);
        for (int32_t i = 0; i < N; i++) m_al[i] |= tmpm[i] ? 2 : 0, tmpm[i] = 0;
        int64_t ne = scaled(REAL_EMPTY_GENRES, scale), nd = scaled(REAL_DANGLING_TRACKS, scale);
        select_k(&r, N, ne + nd, tmpm);
        /* split the ne + nd selected rows at random into the two kinds */
        int64_t left_e = ne, left = ne + nd;
        for (int32_t i = 0; i < N; i++)
            if (tmpm[i]) {
                if (rng_u01(&r) * (double)left < (double)left_e) m_al[i] |= 4, left_e--;
                else m_al[i] |= 8;
                left--;
            }
        free(tmpm);
        int64_t na = 0, nr = 0, ng = 0;
        for (int32_t i = 0; i < N; i++) {
            const itrack *x = &it[perm[i]];
            rng_seed(&r, seed, S_LISTS, (uint64_t)i);
            cat->album_off[i] = na, cat->artist_off[i] = nr, cat->genre_off[i] = ng;
            if (!(m_al[i] & 1)) {
                cat->album_ids[na++] = album_id[x->album];
                int32_t a = x->artist;
                int64_t nal = w->a_al_off[a + 1] - w->a_al_off[a];
                if (nal > 1 && rng_u01(&r) < P_SECOND_ALBUM) {
                    int32_t b2 = (int32_t)(w->a_al_off[a] + rng_below(&r, (uint32_t)nal));
                    if (b2 != x->album) cat->album_ids[na++] = album_id[b2];
                }
            }
            if (!(m_al[i] & 2)) {
                cat->artist_ids[nr++] = artist_id[x->artist];
                if (x->feat >= 0 && x->feat != x->artist) cat->artist_ids[nr++] = artist_id[x->feat];
            }
            if (!(m_al[i] & 4)) {
                int16_t g = w->a_genre[x->artist], g2 = w->a_genre2[x->artist];
                cat->genre_ids[ng++] = genre_id[g];
                if (g2 >= 0) cat->genre_ids[ng++] = genre_id[g2];
                if (rng_u01(&r) < 0.05) {
                    int g3 = alias_pick(&w->genre_alias, &r);
                    if (g3 != g && g3 != g2) cat->genre_ids[ng++] = genre_id[g3];
                }
                if (m_al[i] & 8) cat->genre_ids[ng++] = genre_id[N_GENRES + rng_below(&r, N_DANGLING)];
            }
        }
        cat->album_off[N] = na, cat->artist_off[N] = nr, cat->genre_off[N] = ng;
    }

    /* -- catalog_names: albums, artists, genres, tracks, each in id order -- */
    {
        int64_t nn = (int64_t)AL + A + N_GENRES + N;
        cat->n_names = nn;
        ALLOC(cat->name_id, nn); ALLOC(cat->name_type, nn); ALLOC(cat->name_off, nn + 1);
        sbuf nb = {0};
        int64_t row = 0;
        for (int32_t i = 0; i < AL; i++, row++) {
            int32_t b = al_perm[i];
            rng_seed(&r, seed, S_ALBUM, 0x100000000ULL + (uint64_t)b);
            cat->name_id[row] = album_id[b], cat->name_type[row] = 0, cat->name_off[row] = (int64_t)nb.n;
            const itrack *f = &it[al_first[b]];
            /* a single is named after its track; albums sometimes after their first track */
            if (al_n[b] == 1 || rng_u01(&r) < 0.3) rc = sb_put(&nb, titles.b + f->title_off, (size_t)f->title_len);
            else if (rng_u01(&r) < 0.08)
                rc = sb_printf(&nb, "%s", (const char *[]){"Greatest Hits", "Best Of", "Live", "Deluxe Edition",
                                                             "Лучшее", "Избранное"}[rng_below(&r, 6)]);
            else rc = make_title(&nb, &r, a_cyr[al_artist[b]]);
            if (rc) {
                free(nb.b);
                goto fail;
            }
        }
        for (int32_t i = 0; i < A; i++, row++) {
            int32_t a = a_perm[i];
            cat->name_id[row] = artist_id[a], cat->name_type[row] = 1, cat->name_off[row] = (int64_t)nb.n;
            if ((rc = sb_put(&nb, names.b + aname_off[a], (size_t)(aname_off[a + 1] - aname_off[a])))) {
                free(nb.b);
                goto fail;
            }
        }
        /* genres in id order */
        int order[N_GENRES];
        for (int g = 0; g < N_GENRES; g++) order[g] = g;
        for (int i = 1; i < N_GENRES; i++)
            for (int j = i; j > 0 && genre_id[order[j - 1]] > genre_id[order[j]]; j--) {
                int t = order[j];
                order[j] = order[j - 1], order[j - 1] = t;
            }
        for (int i = 0; i < N_GENRES; i++, row++) {
            cat->name_id[row] = genre_id[order[i]], cat->name_type[row] = 2, cat->name_off[row] = (int64_t)nb.n;
            if ((rc = sb_put(&nb, GENRES[order[i]], strlen(GENRES[order[i]])))) {
                free(nb.b);
                goto fail;
            }
        }
        for (int32_t i = 0; i < N; i++, row++) {
            const itrack *x = &it[perm[i]];
            cat->name_id[row] = cat->track_id[i], cat->name_type[row] = 3, cat->name_off[row] = (int64_t)nb.n;
            if ((rc = sb_put(&nb, titles.b + x->title_off, (size_t)x->title_len))) {
                free(nb.b);
                goto fail;
            }
        }
        cat->name_off[nn] = (int64_t)nb.n;
        cat->name_bytes = nb.b ? nb.b : mr_calloc(1, 1);
    }

    /* -- sampling structures: genre and (genre, decade) artist lists, chart, new releases -- */
    {
        ALLOC(w->g_off, N_GENRES + 1); ALLOC(w->c_off, N_GENRES * N_DECADES + 1);
        int64_t *gc = mr_calloc(N_GENRES * N_DECADES + 1, sizeof(int64_t));
        int64_t *cc = mr_calloc(N_GENRES * N_DECADES + 1, sizeof(int64_t));
        if (!gc || !cc) {
            free(gc), free(cc);
            rc = MR_ENOMEM;
            goto fail;
        }
        for (int32_t a = 0; a < A; a++) {
            gc[w->a_genre[a]]++, cc[w->a_genre[a] * N_DECADES + w->a_decade[a]]++;
            if (w->a_genre2[a] >= 0) gc[w->a_genre2[a]]++, cc[w->a_genre2[a] * N_DECADES + w->a_decade[a]]++;
        }
        for (int g = 0; g < N_GENRES; g++) w->g_off[g + 1] = w->g_off[g] + gc[g], gc[g] = w->g_off[g];
        for (int c = 0; c < N_GENRES * N_DECADES; c++) w->c_off[c + 1] = w->c_off[c] + cc[c], cc[c] = w->c_off[c];
        ALLOC(w->g_art, w->g_off[N_GENRES]); ALLOC(w->g_cum, w->g_off[N_GENRES]);
        ALLOC(w->c_art, w->c_off[N_GENRES * N_DECADES]); ALLOC(w->c_cum, w->c_off[N_GENRES * N_DECADES]);
        for (int32_t a = 0; a < A; a++)
            for (int k = 0; k < 2; k++) {
                int g = k ? w->a_genre2[a] : w->a_genre[a];
                if (g < 0) continue;
                w->g_art[gc[g]++] = a;
                w->c_art[cc[g * N_DECADES + w->a_decade[a]]++] = a;
            }
        free(gc), free(cc);
        for (int g = 0; g < N_GENRES; g++) {
            double c = 0;
            for (int64_t i = w->g_off[g]; i < w->g_off[g + 1]; i++) w->g_cum[i] = (c += pow(w->a_pop[w->g_art[i]], TASTE_POP_EXP));
        }
        for (int q = 0; q < N_GENRES * N_DECADES; q++) {
            double c = 0;
            for (int64_t i = w->c_off[q]; i < w->c_off[q + 1]; i++) w->c_cum[i] = (c += pow(w->a_pop[w->c_art[i]], TASTE_POP_EXP));
        }
        /* chart: artist popularity times the track's share of its artist */
        double *tw = mr_malloc(sizeof(double) * (size_t)N);
        if (!tw) {
            rc = MR_ENOMEM;
            goto fail;
        }
        for (int32_t a = 0; a < A; a++) {
            double tot = w->a_tr_cum[w->a_tr_off[a + 1] - 1];
            for (int64_t t = w->a_tr_off[a]; t < w->a_tr_off[a + 1]; t++) tw[rank[t]] = pow(w->a_pop[a], CHART_POP_EXP) * it[t].weight / tot;
        }
        rc = alias_build(&w->chart, tw, N);
        /* new releases: rows are in release order already (ids follow release) */
        int32_t first_new = N;
        for (int32_t i = 0; i < N; i++)
            if (w->t[i].release >= 0) {
                first_new = i;
                break;
            }
        w->n_new = N - first_new;
        w->new_tr = mr_malloc(sizeof(int32_t) * (size_t)(w->n_new + 1));
        w->new_cum = mr_malloc(sizeof(double) * (size_t)(w->n_new + 1));
        if (rc || !w->new_tr || !w->new_cum) {
            free(tw);
            rc = rc ? rc : MR_ENOMEM;
            goto fail;
        }
        double c = 0;
        for (int32_t i = 0; i < w->n_new; i++) {
            int32_t row = first_new + i;
            rng_seed(&r, seed, S_LISTS, 0x100000000ULL + (uint64_t)row);
            /* hype: most releases fade, a few take off */
            w->new_tr[i] = row;
            /* exp(r / NEW_DECAY): within one day's window this is the decay
             * exp(-(d - r) / NEW_DECAY) up to a constant factor */
            w->new_cum[i] = (c += tw[row] * exp(HYPE_SIGMA * rng_normal(&r)) * exp(w->t[row].release / NEW_DECAY));
        }
        free(tw);
        int32_t j = 0;
        for (int d = 0; d <= MR_GEN_DAYS; d++) {
            while (j < w->n_new && w->t[w->new_tr[j]].release < d) j++;
            w->new_first[d] = j;
        }
    }
    build_time(w);

    /* -- users: ids with a few gaps, events per user, discovery listeners -- */
    {
        int32_t nu = scaled(REAL_USERS, scale), maxid = scaled(REAL_MAX_USER_ID, scale);
        if (maxid < nu - 1) maxid = nu - 1;
        uint8_t *gap = mr_calloc((size_t)maxid + 2, 1);
        if (!gap) {
            rc = MR_ENOMEM;
            goto fail;
        }
        rng_seed(&r, seed, S_USERIDS, 0);
        select_k(&r, (int64_t)maxid + 1, (int64_t)maxid + 1 - nu, gap);
        cat->n_users = nu;
        ALLOC(cat->user_id, nu); ALLOC(cat->user_events, nu); ALLOC(u_top, nu);
        w->n_blocks = (int64_t)maxid / MR_GEN_BLOCK_USERS + 1;
        ALLOC(w->block_first, w->n_blocks + 1);
        int32_t s = 0;
        for (int32_t id = 0; id <= maxid; id++) {
            if (id % MR_GEN_BLOCK_USERS == 0) w->block_first[id / MR_GEN_BLOCK_USERS] = s;
            if (!gap[id]) cat->user_id[s++] = id;
        }
        w->block_first[w->n_blocks] = s;
        free(gap);
        int64_t tot = 0;
#pragma omp parallel for schedule(static) reduction(+ : tot)
        for (int32_t i = 0; i < nu; i++) {
            uprof p;
            user_core(w, cat->user_id[i], &p);
            cat->user_events[i] = p.n;
            u_top[i] = p.g[0];
            tot += p.n;
        }
        cat->n_events = tot;
        /* users grouped by favourite genre with cumulative activity */
        ALLOC(g_ucum_off, N_GENRES + 1); ALLOC(g_users, nu); ALLOC(g_ucum, nu);
        for (int32_t i = 0; i < nu; i++) g_ucum_off[u_top[i] + 1]++;
        for (int g = 0; g < N_GENRES; g++) g_ucum_off[g + 1] += g_ucum_off[g];
        {
            int64_t fill[N_GENRES];
            for (int g = 0; g < N_GENRES; g++) fill[g] = g_ucum_off[g];
            for (int32_t i = 0; i < nu; i++) g_users[fill[u_top[i]]++] = i;
            for (int g = 0; g < N_GENRES; g++) {
                double c = 0;
                for (int64_t k = g_ucum_off[g]; k < g_ucum_off[g + 1]; k++) g_ucum[k] = (c += cat->user_events[g_users[k]]);
            }
        }
        double *all_cum = mr_malloc(sizeof(double) * (size_t)nu);
        ALLOC(fcount, nu);
        int32_t *f_user = mr_malloc(sizeof(int32_t) * (size_t)N);
        if (!all_cum || !f_user) {
            free(all_cum), free(f_user);
            rc = MR_ENOMEM;
            goto fail;
        }
        double c = 0;
        for (int32_t i = 0; i < nu; i++) all_cum[i] = (c += cat->user_events[i]);
        for (int32_t t = 0; t < N; t++) {
            rng_seed(&r, seed, S_FORCE, (uint64_t)t);
            int g = w->t[t].genre;
            int64_t ng = g_ucum_off[g + 1] - g_ucum_off[g];
            int32_t u = -1;
            for (int tries = 0; tries < 64 && u < 0; tries++) {
                int32_t cand = tries < 8 && ng > 0 ? g_users[g_ucum_off[g] + cum_pick(g_ucum + g_ucum_off[g], ng, rng_u01(&r))]
                                                   : (int32_t)cum_pick(all_cum, nu, rng_u01(&r));
                /* keep at least half of each history to the taste model */
                if (2 * (fcount[cand] + 1) <= cat->user_events[cand]) u = cand;
            }
            for (int32_t k = 0; k < nu && u < 0; k++) /* practically unreachable: any user with room */
                if (fcount[(t + k) % nu] < cat->user_events[(t + k) % nu]) u = (t + k) % nu;
            if (u < 0) {
                free(all_cum), free(f_user);
                rc = mr_err(MR_EINVAL, "scale %g leaves too few events to listen to every track once", scale);
                goto fail;
            }
            f_user[t] = u;
            fcount[u]++;
        }
        ALLOC(w->force_off, nu + 1); ALLOC(w->force_tr, N);
        for (int32_t i = 0; i < nu; i++) w->force_off[i + 1] = w->force_off[i] + fcount[i];
        for (int32_t i = 0; i < nu; i++) fcount[i] = 0;
        for (int32_t t = 0; t < N; t++) {
            int32_t u = f_user[t];
            w->force_tr[w->force_off[u] + fcount[u]++] = t;
        }
        free(all_cum), free(f_user);
    }

    free(it), free(titles.b), free(names.b), free(al_first), free(al_key), free(tmp64), free(aname_off);
    free(a_ntr), free(al_artist), free(al_n), free(rank), free(perm), free(al_perm);
    free(a_perm), free(u_top), free(fcount), free(genre_id), free(g_ucum_off);
    free(g_users), free(tmpw), free(g_ucum), free(mark), free(a_cyr), free(keys);
    *out = w;
    return 0;
fail:
    free(it), free(titles.b), free(names.b), free(al_first), free(al_key), free(tmp64), free(aname_off);
    free(a_ntr), free(al_artist), free(al_n), free(rank), free(perm), free(al_perm);
    free(a_perm), free(u_top), free(fcount), free(genre_id), free(g_ucum_off);
    free(g_users), free(tmpw), free(g_ucum), free(mark), free(a_cyr), free(keys);
    mr_gen_world_free(w);
    return rc ? rc : MR_ENOMEM;
}

/* ---- events ---- */

typedef struct {
    uint64_t *seen; /* bitmap over track rows */
    int32_t *len;   /* per session */
    int16_t *day;
    int64_t *fsess; /* discovery tracks: session << 32 | row */
    int32_t *rows;  /* rows heard by the current user, to clear the bitmap */
    int32_t nf_cap;
    int32_t fav[64];
    double fav_cum[64];
    int nfav;
    int32_t known[MAX_KNOWN]; /* artists this user found by exploring */
    int nknown;
    double mix[4];
} uctx;

static inline int seen_test(const uctx *c, int32_t t) { return (int)((c->seen[t >> 6] >> (t & 63)) & 1); }
static inline void seen_set(uctx *c, int32_t t) { c->seen[t >> 6] |= 1ULL << (t & 63); }

static int ev_push(mr_gen_events *ev, int32_t uid, int32_t tid, int32_t seq, int32_t day)
{
    if (ev->n == ev->cap) {
        int64_t cap = ev->cap ? ev->cap * 2 : 1 << 16;
        int32_t *a = mr_realloc(ev->user_id, sizeof(int32_t) * (size_t)cap);
        if (!a) return MR_ENOMEM;
        ev->user_id = a;
        if (!(a = mr_realloc(ev->track_id, sizeof(int32_t) * (size_t)cap))) return MR_ENOMEM;
        ev->track_id = a;
        if (!(a = mr_realloc(ev->track_seq, sizeof(int32_t) * (size_t)cap))) return MR_ENOMEM;
        ev->track_seq = a;
        if (!(a = mr_realloc(ev->day, sizeof(int32_t) * (size_t)cap))) return MR_ENOMEM;
        ev->day = a;
        ev->cap = cap;
    }
    ev->user_id[ev->n] = uid, ev->track_id[ev->n] = tid, ev->track_seq[ev->n] = seq, ev->day[ev->n] = day;
    ev->n++;
    return 0;
}

static inline int ok_track(const mr_gen_world *w, const uctx *c, int32_t t, int d)
{
    return w->t[t].release <= d && !seen_test(c, t);
}

static int32_t artist_track(const mr_gen_world *w, const uctx *c, int32_t a, int d, rng_t *r)
{
    int64_t o = w->a_tr_off[a], n = w->a_tr_off[a + 1] - o;
    int64_t k = 0;
    for (int tries = 0; tries < 3; tries++) {
        k = cum_pick(w->a_tr_cum + o, n, rng_u01(r));
        if (ok_track(w, c, w->a_tr[o + k], d)) return w->a_tr[o + k];
    }
    for (int64_t j = 1; j < n; j++) /* mostly heard: the next available one */
        if (ok_track(w, c, w->a_tr[o + (k + j) % n], d)) return w->a_tr[o + (k + j) % n];
    return -1;
}

static int genre_match(const uprof *p, int g)
{
    for (int i = 0; i < p->ng; i++)
        if (p->g[i] == g) return 1;
    return 0;
}

static int32_t chart_track(const mr_gen_world *w, const uctx *c, const uprof *p, int d, rng_t *r)
{
    for (int tries = 0; tries < 12; tries++) {
        int32_t t = alias_pick(&w->chart, r);
        if (!ok_track(w, c, t, d)) continue;
        if (genre_match(p, w->t[t].genre) || rng_u01(r) < 0.5) return t;
    }
    return -1;
}

static int32_t new_track(const mr_gen_world *w, const uctx *c, const uprof *p, int d, rng_t *r)
{
    int lo = w->new_first[d > NEW_WINDOW ? d - NEW_WINDOW : 0], hi = w->new_first[d + 1];
    if (hi <= lo) return -1;
    double base = lo ? w->new_cum[lo - 1] : 0.0, span = w->new_cum[hi - 1] - base;
    for (int tries = 0; tries < 16; tries++) {
        double x = base + rng_u01(r) * span;
        int a = lo, b = hi - 1;
        while (a < b) {
            int m = (a + b) / 2;
            if (w->new_cum[m] > x) b = m;
            else a = m + 1;
        }
        int32_t t = w->new_tr[a];
        if (!ok_track(w, c, t, d)) continue;
        if (genre_match(p, w->t[t].genre) || rng_u01(r) < 0.3) return t;
    }
    return -1;
}

/* Never fails while the user has heard fewer than all tracks: a random
 * probe, then a scan from a random start. */
static int32_t any_track(const mr_gen_world *w, const uctx *c, int d, rng_t *r)
{
    int32_t N = w->N;
    for (int tries = 0; tries < 64; tries++) {
        int32_t t = (int32_t)rng_below(r, (uint32_t)N);
        if (ok_track(w, c, t, d)) return t;
    }
    int32_t s = (int32_t)rng_below(r, (uint32_t)N);
    for (int32_t k = 0; k < N; k++)
        if (ok_track(w, c, (s + k) % N, d)) return (s + k) % N;
    for (int32_t k = 0; k < N; k++) /* nothing released yet is unheard: ignore the release day */
        if (!seen_test(c, (s + k) % N)) return (s + k) % N;
    return -1;
}

static int gen_user(const mr_gen_world *w, int32_t slot, uctx *c, mr_gen_events *ev)
{
    const mr_gen_catalog *cat = &w->cat;
    int32_t uid = cat->user_id[slot];
    uprof p;
    user_core(w, uid, &p);
    rng_t r;
    rng_seed(&r, w->seed, S_TASTE, (uint64_t)uid);

    /* favourite artists: more for heavier listeners */
    int nfav = 1 + (int)(sqrt((double)p.n) * (0.3 + 0.4 * rng_u01(&r)));
    if (nfav > 64) nfav = 64;
    double fc = 0;
    for (int i = 0; i < nfav; i++) {
        int32_t a = pick_taste_artist(w, &p, &r);
        for (int tries = 0; tries < 4; tries++) {
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= c->fav[j] == a;
            if (!dup) break;
            a = pick_taste_artist(w, &p, &r);
        }
        c->fav[i] = a;
        c->fav_cum[i] = (fc += 1.0 / (i + 1.0));
    }
    c->nfav = nfav;
    c->nknown = 0;
    double mix[4] = {SRC_FAV, SRC_GENRE, SRC_CHART, SRC_NEW * (p.dec >= N_DECADES - 1 ? 2.0 : 1.0)};
    double mt = 0;
    for (int i = 0; i < 4; i++) mt += (mix[i] *= 0.5 + rng_u01(&r));
    for (int i = 0; i < 4; i++) c->mix[i] = (i ? c->mix[i - 1] : 0.0) + mix[i] / mt;

    /* sessions: lengths, then days drawn from the user's active span */
    int64_t f0 = w->force_off[slot], nf = w->force_off[slot + 1] - f0;
    int32_t regular = p.n - (int32_t)nf, ns = 0;
    while (regular > 0) {
        int32_t L = 1 + rng_geom(&r, SESSION_MEAN - 1.0);
        if (L > regular) L = regular;
        c->len[ns++] = L;
        regular -= L;
    }
    if (ns == 0) c->len[ns++] = 0;
    {
        int32_t cnt[MR_GEN_DAYS] = {0};
        for (int32_t s = 0; s < ns; s++) cnt[day_of_tau(w, p.start + (1.0 - p.start) * rng_u01(&r))]++;
        int32_t s = 0;
        for (int d = 0; d < MR_GEN_DAYS; d++)
            while (cnt[d]--) c->day[s++] = (int16_t)d;
    }
    /* discovery tracks: into a session on or after their release */
    for (int64_t k = 0; k < nf; k++) {
        int32_t t = w->force_tr[f0 + k];
        int rel = w->t[t].release < 0 ? 0 : w->t[t].release;
        int32_t lo = 0, hi = ns;
        while (lo < hi) {
            int32_t m = (lo + hi) / 2;
            if (c->day[m] >= rel) hi = m;
            else lo = m + 1;
        }
        int32_t s;
        if (lo == ns) {
            s = ns - 1;
            c->day[s] = (int16_t)rel; /* the latest session moves later: still sorted */
        } else s = lo + (int32_t)rng_below(&r, (uint32_t)(ns - lo));
        c->fsess[k] = ((int64_t)s << 32) | t; /* (session, row), sorted below */
        seen_set(c, t);
    }
    qsort(c->fsess, (size_t)nf, sizeof *c->fsess, cmp_u64);
    int64_t fk = 0;
    int32_t seq = 0;
    for (int32_t s = 0; s < ns; s++) {
        int d = c->day[s];
        for (; fk < nf && (int32_t)(c->fsess[fk] >> 32) == s; fk++) {
            int32_t t = (int32_t)(c->fsess[fk] & 0xffffffff);
            c->rows[seq] = t;
            if (ev_push(ev, uid, w->t[t].id, ++seq, d)) return MR_ENOMEM;
        }
        double u = rng_u01(&r);
        int src = u < c->mix[0] ? 0 : u < c->mix[1] ? 1 : u < c->mix[2] ? 2 : 3;
        int32_t cur = -1;               /* current artist of the session */
        int64_t alb = -1, alb_pos = 0;  /* album being played in order */
        if (src == 0) {
            cur = c->fav[cum_pick(c->fav_cum, c->nfav, rng_u01(&r))];
            if (rng_u01(&r) < P_ALBUM_MODE) {
                int64_t nal = w->a_al_off[cur + 1] - w->a_al_off[cur];
                int64_t b = w->a_al_off[cur] + rng_below(&r, (uint32_t)nal);
                if (w->al_release[b] <= d) alb = b, alb_pos = w->al_tr_off[b];
            }
        }
        for (int32_t i = 0; i < c->len[s]; i++) {
            int32_t t = -1;
            if (src == 0) {
                while (alb >= 0 && t < 0) {
                    if (alb_pos >= w->al_tr_off[alb + 1]) alb = -1;
                    else if (!seen_test(c, w->al_tr[alb_pos])) t = w->al_tr[alb_pos++];
                    else alb_pos++;
                }
                if (t < 0) t = artist_track(w, c, cur, d, &r);
                if (t < 0) src = 1, cur = -1; /* the favourite is exhausted: explore the genre */
            }
            if (t < 0 && src == 1) {
                for (int tries = 0; tries < 3 && t < 0; tries++) {
                    if (cur < 0 || rng_u01(&r) < P_GENRE_MIX || tries > 0)
                        cur = c->nknown && rng_u01(&r) < P_KNOWN ? c->known[rng_below(&r, (uint32_t)c->nknown)]
                                                                 : pick_taste_artist(w, &p, &r);
                    t = artist_track(w, c, cur, d, &r);
                }
            }
            if (t < 0 && src == 3) t = new_track(w, c, &p, d, &r);
            if (t < 0 && (src == 2 || src == 3)) t = chart_track(w, c, &p, d, &r);
            if (t < 0) t = any_track(w, c, d, &r);
            if (t < 0) break; /* unreachable: histories are at most half the catalog */
            seen_set(c, t);
            if (src == 1 && i == 0) { /* remember artists found by exploring */
                if (c->nknown < MAX_KNOWN) c->known[c->nknown++] = w->t[t].artist;
                else c->known[rng_below(&r, MAX_KNOWN)] = w->t[t].artist;
            }
            c->rows[seq] = t;
            if (ev_push(ev, uid, w->t[t].id, ++seq, d)) return MR_ENOMEM;
        }
    }
    for (int32_t i = 0; i < seq; i++) c->seen[c->rows[i] >> 6] = 0;
    return seq == p.n ? 0 : mr_err(MR_EINVAL, "internal: user %d got %d events, expected %d", uid, seq, p.n);
}

int mr_gen_block(const mr_gen_world *w, int64_t b, mr_gen_events *ev)
{
    ev->n = 0;
    if (b < 0 || b >= w->n_blocks) return mr_err(MR_EINVAL, "block %lld out of range", (long long)b);
    uctx c = {0};
    size_t words = ((size_t)w->N + 63) / 64;
    int rc = 0;
    c.seen = mr_calloc(words, sizeof(uint64_t));
    c.len = mr_malloc(sizeof(int32_t) * ((size_t)w->ev_cap + 1));
    c.day = mr_malloc(sizeof(int16_t) * ((size_t)w->ev_cap + 1));
    c.fsess = mr_malloc(sizeof(int64_t) * ((size_t)w->ev_cap + 1));
    c.rows = mr_malloc(sizeof(int32_t) * ((size_t)w->ev_cap + 1));
    if (!c.seen || !c.len || !c.day || !c.fsess || !c.rows) rc = MR_ENOMEM;
    for (int32_t s = w->block_first[b]; !rc && s < w->block_first[b + 1]; s++) rc = gen_user(w, s, &c, ev);
    free(c.seen), free(c.len), free(c.day), free(c.fsess), free(c.rows);
    return rc;
}

void mr_gen_events_free(mr_gen_events *ev)
{
    free(ev->user_id), free(ev->track_id), free(ev->track_seq), free(ev->day);
    memset(ev, 0, sizeof *ev);
}

/* ---- writing the files ---- */

/* pandas metadata as pyarrow writes it (pandas reads the index back from it). */
static char *pandas_meta(const char *const *names, const char *const *ptypes, const char *const *ntypes, int n,
                         int range_rows_or_index) /* -1: __index_level_0__ column; else RangeIndex stop */
{
    sbuf s = {0};
    int rc = 0;
    if (range_rows_or_index < 0) rc |= sb_printf(&s, "{\"index_columns\": [\"__index_level_0__\"], ");
    else
        rc |= sb_printf(&s, "{\"index_columns\": [{\"kind\": \"range\", \"name\": null, \"start\": 0, \"stop\": %d, \"step\": 1}], ",
                        range_rows_or_index);
    rc |= sb_printf(&s, "\"column_indexes\": [{\"name\": null, \"field_name\": null, \"pandas_type\": \"unicode\", "
                        "\"numpy_type\": \"object\", \"metadata\": {\"encoding\": \"UTF-8\"}}], \"columns\": [");
    for (int i = 0; i < n; i++)
        rc |= sb_printf(&s, "%s{\"name\": %s%s%s, \"field_name\": \"%s\", \"pandas_type\": \"%s\", \"numpy_type\": \"%s\", \"metadata\": null}",
                        i ? ", " : "", strncmp(names[i], "__index", 7) ? "\"" : "", strncmp(names[i], "__index", 7) ? names[i] : "null",
                        strncmp(names[i], "__index", 7) ? "\"" : "", names[i], ptypes[i], ntypes[i]);
    rc |= sb_printf(&s, "], \"creator\": {\"library\": \"pyarrow\", \"version\": \"14.0.1\"}, \"pandas_version\": \"2.1.3\"}");
    if (rc) {
        free(s.b);
        return NULL;
    }
    return s.b;
}

static int open_writer(mr_pq_writer **pw, const char *path, const mr_pq_field *f, int nf, int64_t rg_rows,
                       const char *meta)
{
    mr_pq_write_opts o = mr_pq_write_opts_default();
    if (rg_rows > 0) o.row_group_rows = rg_rows;
    int rc = mr_pq_writer_open(pw, path, f, nf, &o);
    if (!rc && meta) rc = mr_pq_writer_kv(*pw, "pandas", meta);
    if (rc && *pw) {
        mr_pq_writer_abort(*pw);
        *pw = NULL;
    }
    return rc;
}

static int write_tracks(const mr_gen_world *w, const char *path)
{
    const mr_gen_catalog *c = &w->cat;
    int64_t n = c->n_tracks;
    static const mr_pq_field f[] = {{"track_id", MR_PQ_W_I64, 0, 1, 0},
                                    {"albums", MR_PQ_W_I64, 0, 1, 1},
                                    {"artists", MR_PQ_W_I64, 0, 1, 1},
                                    {"genres", MR_PQ_W_I64, 0, 1, 1}};
    const char *nm[] = {"track_id", "albums", "artists", "genres"};
    const char *pt[] = {"int64", "list[int64]", "list[int64]", "list[int64]"};
    const char *nt[] = {"int64", "object", "object", "object"};
    char *meta = pandas_meta(nm, pt, nt, 4, (int)n);
    mr_pq_col cols[4] = {
        {.n_rows = n, .n_slots = n, .values = c->track_id},
        {.n_rows = n, .n_slots = c->album_off[n], .values = c->album_ids, .list_offsets = c->album_off},
        {.n_rows = n, .n_slots = c->artist_off[n], .values = c->artist_ids, .list_offsets = c->artist_off},
        {.n_rows = n, .n_slots = c->genre_off[n], .values = c->genre_ids, .list_offsets = c->genre_off},
    };
    mr_pq_writer *pw = NULL;
    int rc = meta ? open_writer(&pw, path, f, 4, 0, meta) : MR_ENOMEM;
    free(meta);
    if (!rc && (rc = mr_pq_writer_write(pw, cols))) mr_pq_writer_abort(pw);
    else if (!rc) rc = mr_pq_writer_close(pw);
    return rc;
}

static int write_names(const mr_gen_world *w, const char *path)
{
    const mr_gen_catalog *c = &w->cat;
    int64_t n = c->n_names;
    static const mr_pq_field f[] = {{"id", MR_PQ_W_I64, 0, 1, 0},
                                    {"type", MR_PQ_W_STRING, 0, 1, 0},
                                    {"name", MR_PQ_W_STRING, 0, 1, 0}};
    const char *nm[] = {"id", "type", "name"};
    const char *pt[] = {"int64", "unicode", "unicode"};
    const char *nt[] = {"int64", "object", "object"};
    int64_t *toff = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
    char *tb = mr_malloc((size_t)n * 6 + 1);
    char *meta = pandas_meta(nm, pt, nt, 3, (int)n);
    int rc = toff && tb && meta ? 0 : MR_ENOMEM;
    if (!rc) {
        int64_t o = 0;
        for (int64_t i = 0; i < n; i++) {
            const char *t = mr_gen_type_names[c->name_type[i]];
            size_t L = strlen(t);
            toff[i] = o;
            memcpy(tb + o, t, L);
            o += (int64_t)L;
        }
        toff[n] = o;
        mr_pq_col cols[3] = {
            {.n_rows = n, .n_slots = n, .values = c->name_id},
            {.n_rows = n, .n_slots = n, .offsets = toff, .bytes = (uint8_t *)tb},
            {.n_rows = n, .n_slots = n, .offsets = c->name_off, .bytes = (uint8_t *)c->name_bytes},
        };
        mr_pq_writer *pw = NULL;
        rc = open_writer(&pw, path, f, 3, 0, meta);
        if (!rc && (rc = mr_pq_writer_write(pw, cols))) mr_pq_writer_abort(pw);
        else if (!rc) rc = mr_pq_writer_close(pw);
    }
    free(toff), free(tb), free(meta);
    return rc;
}

static int write_truth(const mr_gen_world *w, const char *path)
{
    const mr_gen_catalog *c = &w->cat;
    int64_t n = c->n_tracks;
    static const mr_pq_field f[] = {{"track_id", MR_PQ_W_I64, 0, 1, 0}, {"true_group", MR_PQ_W_I64, 0, 1, 0}};
    mr_pq_col cols[2] = {{.n_rows = n, .n_slots = n, .values = c->track_id},
                         {.n_rows = n, .n_slots = n, .values = c->true_group}};
    mr_pq_writer *pw = NULL;
    int rc = open_writer(&pw, path, f, 2, 0, NULL);
    if (!rc && (rc = mr_pq_writer_write(pw, cols))) mr_pq_writer_abort(pw);
    else if (!rc) rc = mr_pq_writer_close(pw);
    return rc;
}

/* Interactions: blocks are generated BATCH at a time on all threads while
 * one task writes the previous batch; rows reach the writer in block order
 * in chunks of exactly row_group_rows, so row groups never depend on the
 * thread count. */
#define BATCH 16

typedef struct {
    mr_pq_writer *pw;
    int64_t rg, n; /* rows per group, rows staged */
    int32_t *uid, *tid, *seq;
    int64_t *ts, *idx;
} stage_t;

static int stage_flush(stage_t *s)
{
    if (s->n == 0) return 0;
    int64_t n = s->n;
    mr_pq_col cols[5] = {
        {.n_rows = n, .n_slots = n, .values = s->uid}, {.n_rows = n, .n_slots = n, .values = s->tid},
        {.n_rows = n, .n_slots = n, .values = s->seq}, {.n_rows = n, .n_slots = n, .values = s->ts},
        {.n_rows = n, .n_slots = n, .values = s->idx},
    };
    s->n = 0;
    return mr_pq_writer_write(s->pw, cols);
}

static int stage_events(stage_t *s, const mr_gen_events *ev)
{
    for (int64_t i = 0; i < ev->n; i++) {
        int64_t k = s->n++;
        s->uid[k] = ev->user_id[i], s->tid[k] = ev->track_id[i], s->seq[k] = ev->track_seq[i];
        s->ts[k] = ((int64_t)MR_GEN_DAY0 + ev->day[i]) * 86400LL * 1000000000LL;
        s->idx[k] = ev->track_seq[i] - 1; /* the pandas index restarts at 0 for each user */
        if (s->n == s->rg) {
            int rc = stage_flush(s);
            if (rc) return rc;
        }
    }
    return 0;
}

static int write_interactions(const mr_gen_world *w, const char *path, int64_t rg_rows, int progress)
{
    static const mr_pq_field f[] = {{"user_id", MR_PQ_W_I32, 0, 1, 0},
                                    {"track_id", MR_PQ_W_I32, 0, 1, 0},
                                    {"track_seq", MR_PQ_W_I32, 16, 1, 0},
                                    {"started_at", MR_PQ_W_TS_NS, 0, 1, 0},
                                    {"__index_level_0__", MR_PQ_W_I64, 0, 1, 0}};
    const char *nm[] = {"user_id", "track_id", "track_seq", "started_at", "__index_level_0__"};
    const char *pt[] = {"int32", "int32", "int16", "datetime", "int64"};
    const char *nt[] = {"int32", "int32", "int16", "datetime64[ns]", "int64"};
    stage_t s = {.rg = rg_rows > 0 ? rg_rows : 1048576};
    char *meta = pandas_meta(nm, pt, nt, 5, -1);
    s.uid = mr_malloc(sizeof(int32_t) * (size_t)s.rg), s.tid = mr_malloc(sizeof(int32_t) * (size_t)s.rg);
    s.seq = mr_malloc(sizeof(int32_t) * (size_t)s.rg), s.ts = mr_malloc(sizeof(int64_t) * (size_t)s.rg);
    s.idx = mr_malloc(sizeof(int64_t) * (size_t)s.rg);
    mr_gen_events bufs[2][BATCH];
    memset(bufs, 0, sizeof bufs);
    int rc = meta && s.uid && s.tid && s.seq && s.ts && s.idx ? 0 : MR_ENOMEM;
    if (!rc) rc = open_writer(&s.pw, path, f, 5, s.rg, meta);
    mr_progress bar;
    if (progress) mr_progress_start(&bar, "gen: events", w->cat.n_events, "");
    int64_t nb = w->n_blocks, nbatch = (nb + BATCH - 1) / BATCH;
    int gen_rc[BATCH], wr_rc = 0;
    char errmsg[512] = "";
    for (int64_t k = 0; !rc && k <= nbatch; k++) {
        mr_gen_events *cur = bufs[k & 1], *prev = bufs[(k + 1) & 1];
        memset(gen_rc, 0, sizeof gen_rc);
#pragma omp parallel
#pragma omp single
        {
            if (k > 0) {
#pragma omp task
                {
                    for (int j = 0; j < BATCH && !wr_rc; j++) wr_rc = stage_events(&s, &prev[j]);
                    if (wr_rc) {
#pragma omp critical(gen_err)
                        snprintf(errmsg, sizeof errmsg, "%s", mr_errmsg());
                    }
                }
            }
            for (int j = 0; k < nbatch && j < BATCH; j++) {
#pragma omp task firstprivate(j)
                {
                    int64_t b = k * BATCH + j;
                    cur[j].n = 0;
                    if (b < nb) {
                        gen_rc[j] = mr_gen_block(w, b, &cur[j]);
                        if (gen_rc[j]) {
#pragma omp critical(gen_err)
                            snprintf(errmsg, sizeof errmsg, "%s", mr_errmsg());
                        }
                        if (progress) mr_progress_add(&bar, cur[j].n);
                    }
                }
            }
        }
        for (int j = 0; j < BATCH && !rc; j++) rc = gen_rc[j];
        if (!rc) rc = wr_rc;
        if (rc) mr_err_set_msg(errmsg);
    }
    if (progress) mr_progress_end(&bar);
    if (!rc) rc = stage_flush(&s);
    if (s.pw) {
        if (rc) mr_pq_writer_abort(s.pw);
        else rc = mr_pq_writer_close(s.pw);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < BATCH; j++) mr_gen_events_free(&bufs[i][j]);
    free(s.uid), free(s.tid), free(s.seq), free(s.ts), free(s.idx), free(meta);
    return rc;
}

static const char *const OUT_FILES[4] = {"tracks.parquet", "catalog_names.parquet", "interactions.parquet",
                                         "_truth/track_groups.parquet"};

static void remove_staging(const char *stage)
{
    for (int i = 0; i < 4; i++) {
        char *p = mr_path_join(stage, OUT_FILES[i]);
        if (p) unlink(p);
        free(p);
    }
    char *t = mr_path_join(stage, "_truth");
    if (t) rmdir(t);
    free(t);
    rmdir(stage);
}

static void human_bytes(char *buf, size_t cap, int64_t b)
{
    if (b >= 1000000000) snprintf(buf, cap, "%.1f GB", b / 1e9);
    else snprintf(buf, cap, "%.0f MB", b / 1e6);
}

int mr_gen_run(const mr_gen_opts *o, mr_gen_stats *st)
{
    double t0 = mr_now();
    mr_gen_stats dummy;
    if (!st) st = &dummy;
    memset(st, 0, sizeof *st);
    if (!(o->scale >= 0.001 && o->scale <= 10))
        return mr_err(MR_EINVAL, "--scale must be a number between 0.001 and 10 (1 = the real data size), got %g", o->scale);
    if (!o->out_dir || !*o->out_dir) return mr_err(MR_EINVAL, "no output directory given");
    /* refuse to overwrite before doing any work */
    for (int i = 0; i < 4 && !o->force; i++) {
        char *p = mr_path_join(o->out_dir, OUT_FILES[i]);
        if (!p) return MR_ENOMEM;
        int exists = mr_file_exists(p);
        if (exists) mr_err(MR_EINVAL, "%s already exists; pass --force to overwrite it", p);
        free(p);
        if (exists) return MR_EINVAL;
    }
    int rc = mr_ensure_writable_dir(o->out_dir);
    if (rc) return rc;
    int64_t need = mr_gen_estimate_bytes(o->scale), avail = mr_disk_free(o->out_dir);
    if (avail >= 0 && avail < need) {
        char nb[32], ab[32];
        human_bytes(nb, sizeof nb, need), human_bytes(ab, sizeof ab, avail);
        return mr_err(MR_EIO, "not enough disk space in %s for scale %g: it needs about %s, %s are free", o->out_dir,
                      o->scale, nb, ab);
    }

    char name[64];
    snprintf(name, sizeof name, ".gen-tmp-%ld", (long)getpid());
    char *stage = mr_path_join(o->out_dir, name);
    char *truth_dir = stage ? mr_path_join(stage, "_truth") : NULL;
    char *sp[4] = {0}, *fp[4] = {0};
    if (!stage || !truth_dir) rc = MR_ENOMEM;
    for (int i = 0; i < 4 && !rc; i++) {
        sp[i] = mr_path_join(stage, OUT_FILES[i]);
        fp[i] = mr_path_join(o->out_dir, OUT_FILES[i]);
        if (!sp[i] || !fp[i]) rc = MR_ENOMEM;
    }
    if (!rc) rc = mr_mkdirs(truth_dir);

    mr_gen_world *w = NULL;
    if (!rc) {
        double t = mr_now();
        rc = mr_gen_world_new(&w, o->scale, o->seed);
        if (!rc)
            MR_LOG(MR_LOG_INFO, "catalog and users built", MR_I("tracks", w->cat.n_tracks), MR_I("albums", w->cat.n_albums),
                   MR_I("artists", w->cat.n_artists), MR_I("users", w->cat.n_users), MR_I("events", w->cat.n_events),
                   MR_F("seconds", mr_now() - t));
    }
    if (!rc) rc = write_tracks(w, sp[0]);
    if (!rc) rc = write_names(w, sp[1]);
    if (!rc) rc = write_truth(w, sp[3]);
    if (!rc) {
        double t = mr_now();
        rc = write_interactions(w, sp[2], o->row_group_rows, o->progress);
        if (!rc) MR_LOG(MR_LOG_INFO, "interactions written", MR_I("events", w->cat.n_events), MR_F("seconds", mr_now() - t));
    }
    /* every file is complete: move them into place */
    if (!rc) {
        char *fin_truth = mr_path_join(o->out_dir, "_truth");
        rc = fin_truth ? mr_mkdirs(fin_truth) : MR_ENOMEM;
        free(fin_truth);
    }
    for (int i = 0; i < 4 && !rc; i++) {
        if (rename(sp[i], fp[i]) != 0)
            rc = mr_err(MR_EIO, "cannot move %s to %s: %s", sp[i], fp[i], strerror(errno));
        else st->bytes += mr_file_size(fp[i]);
    }
    if (stage) remove_staging(stage);
    if (!rc) {
        const mr_gen_catalog *c = &w->cat;
        st->n_tracks = c->n_tracks, st->n_albums = c->n_albums, st->n_artists = c->n_artists;
        st->n_genres = c->n_genres, st->n_catalog_rows = c->n_names, st->n_users = c->n_users;
        st->n_events = c->n_events;
        for (int32_t i = 0; i < c->n_tracks; i++) st->n_groups += c->true_group[i] == c->track_id[i];
    }
    st->seconds = mr_now() - t0;
    mr_gen_world_free(w);
    for (int i = 0; i < 4; i++) free(sp[i]), free(fp[i]);
    free(stage), free(truth_dir);
    return rc;
}
