/* Track groups: base titles, then evidence-based joining within a title.
 * See groups.h for the rules; the numbers behind the defaults are in
 * docs/preprocess.md. Base titles are computed in parallel; the joining is
 * a union-find over tracks, bucketed by a 64-bit hash of the base title
 * (with an exact string comparison inside a bucket, so a hash collision
 * never joins two titles). */
#include "data/groups.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/vec.h"
#include "data/names.h"

/* ------------------------------------------------------------ base title */

typedef struct {
    const char *word;
    int marker;
} keyword;

/* Words that mark a bracketed part or a " - " tail as naming a version. */
static const keyword keywords[] = {
    {"remix", MR_VER_REMIX}, {"remixed", MR_VER_REMIX}, {"remixes", MR_VER_REMIX}, {"rmx", MR_VER_REMIX},
    {"mix", MR_VER_REMIX}, {"bootleg", MR_VER_REMIX}, {"vip", MR_VER_REMIX}, {"dub", MR_VER_REMIX},
    {"rework", MR_VER_REMIX}, {"flip", MR_VER_REMIX}, {"mashup", MR_VER_REMIX}, {"slowed", MR_VER_REMIX},
    {"sped", MR_VER_REMIX}, {"nightcore", MR_VER_REMIX}, {"reverb", MR_VER_REMIX}, {"ремикс", MR_VER_REMIX},
    {"микс", MR_VER_REMIX}, {"live", MR_VER_LIVE}, {"concert", MR_VER_LIVE}, {"концерт", MR_VER_LIVE},
    {"лайв", MR_VER_LIVE}, {"живое", MR_VER_LIVE}, {"живой", MR_VER_LIVE}, {"acoustic", MR_VER_ACOUSTIC},
    {"acoustique", MR_VER_ACOUSTIC}, {"akustik", MR_VER_ACOUSTIC}, {"unplugged", MR_VER_ACOUSTIC},
    {"акустика", MR_VER_ACOUSTIC}, {"акустическая", MR_VER_ACOUSTIC}, {"акустический", MR_VER_ACOUSTIC},
    {"cover", MR_VER_COVER}, {"covered", MR_VER_COVER}, {"кавер", MR_VER_COVER}, {"feat", MR_VER_FEAT},
    {"ft", MR_VER_FEAT}, {"featuring", MR_VER_FEAT}, {"version", MR_VER_OTHER}, {"ver", MR_VER_OTHER},
    {"versión", MR_VER_OTHER}, {"remaster", MR_VER_OTHER}, {"remastered", MR_VER_OTHER},
    {"remasterd", MR_VER_OTHER}, {"edit", MR_VER_OTHER}, {"instrumental", MR_VER_OTHER},
    {"инструментал", MR_VER_OTHER}, {"radio", MR_VER_OTHER}, {"extended", MR_VER_OTHER},
    {"original", MR_VER_OTHER}, {"demo", MR_VER_OTHER}, {"mono", MR_VER_OTHER}, {"stereo", MR_VER_OTHER},
    {"karaoke", MR_VER_OTHER}, {"караоке", MR_VER_OTHER}, {"минус", MR_VER_OTHER}, {"reprise", MR_VER_OTHER},
    {"deluxe", MR_VER_OTHER}, {"bonus", MR_VER_OTHER}, {"explicit", MR_VER_OTHER}, {"clean", MR_VER_OTHER},
    {"prod", MR_VER_OTHER}, {"версия", MR_VER_OTHER}, {"edition", MR_VER_OTHER}, {"orchestral", MR_VER_OTHER},
    {"remake", MR_VER_OTHER},
};

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int keyword_marker(const char *w, size_t n)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strlen(keywords[k].word) == n && !memcmp(keywords[k].word, w, n)) return keywords[k].marker;
    return 0;
}

/* Marker bits if the folded text s[0..n) names a version, else 0. */
static int version_marker(const char *s, size_t n)
{
    int m = 0, first = 1;
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_word_byte((unsigned char)s[i])) i++;
        size_t a = i;
        while (i < n && is_word_byte((unsigned char)s[i])) i++;
        if (i == a) break;
        const char *w = s + a;
        size_t wl = i - a;
        m |= keyword_marker(w, wl);
        /* "(с X)" (Russian "with"), "(w/ X)", "(при уч. X)" credit a guest */
        if (first && ((wl == 2 && !memcmp(w, "с", 2)) || (wl == 1 && w[0] == 'w' && i < n && s[i] == '/')))
            m |= MR_VER_FEAT;
        if (wl == 6 && !memcmp(w, "при", 6)) {
            size_t j = i;
            while (j < n && !is_word_byte((unsigned char)s[j])) j++;
            if (n - j >= 4 && !memcmp(s + j, "уч", 4)) m |= MR_VER_FEAT;
        }
        first = 0;
    }
    return m;
}

/* Letters and digits of s, words separated by one space; apostrophes join
 * ("don't" -> "dont"). Returns the new length (in place). */
static size_t squeeze(char *s, size_t n)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'') continue;
        if (is_word_byte(c)) {
            if (space && o) s[o++] = ' ';
            space = 0;
            s[o++] = (char)c;
        } else
            space = 1;
    }
    s[o] = 0;
    return o;
}

static int is_open(char c) { return c == '(' || c == '[' || c == '{'; }
static int is_close(char c) { return c == ')' || c == ']' || c == '}'; }

size_t mr_title_base(const char *name, size_t n, char *out, int *markers)
{
    int mk = 0;
    char *f = malloc(MR_NAME_FOLD_CAP(n));
    if (!f) {
        /* out of memory for one title: fall back to the plain fold */
        size_t k = mr_name_fold(name, n, out);
        if (markers) *markers = 0;
        return squeeze(out, k);
    }
    size_t fl = mr_name_fold(name, n, f);
    /* 1. bracketed parts, innermost first */
    size_t stack[32];
    int sp = 0;
    size_t o = 0;
    for (size_t i = 0; i < fl; i++) {
        char c = f[i];
        if (is_open(c)) {
            if (sp < 32) stack[sp++] = o;
            out[o++] = c;
        } else if (is_close(c)) {
            if (!sp) continue; /* a stray closer */
            size_t st = stack[--sp];
            int m = version_marker(out + st + 1, o - st - 1);
            if (m) {
                mk |= m;
                o = st;
            } else {
                out[st] = ' ';
                out[o++] = ' ';
            }
        } else
            out[o++] = c;
    }
    while (sp) { /* unclosed: the part runs to the end */
        size_t st = stack[--sp];
        int m = version_marker(out + st + 1, o - st - 1);
        if (m) {
            mk |= m;
            o = st;
        } else
            out[st] = ' ';
    }
    /* 2. a " - " tail naming a version */
    for (size_t i = 0; i + 2 < o; i++) {
        if (out[i] != ' ' || out[i + 1] != '-' || out[i + 2] != ' ') continue;
        size_t e = i + 3;
        while (e + 2 < o && !(out[e] == ' ' && out[e + 1] == '-' && out[e + 2] == ' ')) e++;
        if (e + 2 >= o) e = o;
        int m = version_marker(out + i + 3, e - i - 3);
        if (m) {
            mk |= m;
            o = i;
            break;
        }
    }
    /* 3. a trailing guest credit outside brackets */
    for (size_t i = 0; i < o;) {
        while (i < o && !is_word_byte((unsigned char)out[i])) i++;
        size_t a = i;
        while (i < o && is_word_byte((unsigned char)out[i])) i++;
        size_t wl = i - a;
        if (!wl) break;
        int feat = (wl == 4 && !memcmp(out + a, "feat", 4)) || (wl == 2 && !memcmp(out + a, "ft", 2) && i < o && out[i] == '.') ||
                   (wl == 9 && !memcmp(out + a, "featuring", 9));
        if (!feat && wl == 6 && !memcmp(out + a, "при", 6)) {
            size_t j = i;
            while (j < o && !is_word_byte((unsigned char)out[j])) j++;
            feat = o - j >= 4 && !memcmp(out + j, "уч", 4);
        }
        if (feat && a > 0) {
            mk |= MR_VER_FEAT;
            o = a;
            break;
        }
    }
    size_t k = squeeze(out, o);
    if (k == 0 && fl > 0) {
        /* only version words (a name like "(Remix)"): key on all of it */
        memcpy(out, f, fl);
        k = squeeze(out, fl);
    }
    free(f);
    if (markers) *markers = mk;
    return k;
}

/* ------------------------------------------------------------ union-find */

static int32_t uf_find(int32_t *p, int32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static int uf_union(int32_t *p, int32_t a, int32_t b)
{
    a = uf_find(p, a);
    b = uf_find(p, b);
    if (a == b) return 0;
    if (a < b) p[b] = a;
    else p[a] = b;
    return 1;
}

/* ------------------------------------------------------------- grouping */

typedef struct {
    uint64_t hash;
    int32_t track;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return (x->track > y->track) - (x->track < y->track);
}

typedef struct {
    int64_t artist;
    int32_t track;
} artist_track;

static int cmp_at(const void *a, const void *b)
{
    const artist_track *x = a, *y = b;
    if (x->artist != y->artist) return x->artist < y->artist ? -1 : 1;
    return (x->track > y->track) - (x->track < y->track);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* Working state for one title's tracks t[0..m). */
typedef struct {
    const mr_group_input *in;
    const mr_group_opts *opt;
    const uint8_t *mark;
    int32_t *parent;       /* global union-find */
    artist_track *pairs;   /* scratch, >= artist links of the bucket */
    int32_t *local;        /* scratch, >= m: local union-find by shared artist */
    int32_t *best;         /* scratch, >= m: per local root, best unmarked track */
    mr_group_stats *st;
} bucket_ctx;

static int64_t listens_of(const mr_group_input *in, int32_t t) { return in->listens ? in->listens[t] : 0; }

/* A version marker other than "cover". */
static int is_version(uint8_t mk) { return (mk & ~MR_VER_COVER) != 0; }

static void join_bucket(bucket_ctx *b, const int32_t *t, int32_t m, double chance)
{
    const mr_group_input *in = b->in;
    int32_t *lp = b->local;
    /* performers: local components of tracks sharing an artist */
    size_t na = 0;
    for (int32_t k = 0; k < m; k++) {
        lp[k] = k;
        for (int64_t j = in->artist_off[t[k]]; j < in->artist_off[t[k] + 1]; j++)
            b->pairs[na++] = (artist_track){in->artist_ids[j], k};
    }
    qsort(b->pairs, na, sizeof *b->pairs, cmp_at);
    for (size_t j = 1; j < na; j++)
        if (b->pairs[j].artist == b->pairs[j - 1].artist) uf_union(lp, b->pairs[j - 1].track, b->pairs[j].track);
    /* tracks without artists belong to no performer: they join the title's
     * original when the title is distinctive and has one performer (or its
     * performers are joined as covers) */
    int32_t n_perf = 0;
    for (int32_t k = 0; k < m; k++) {
        b->best[k] = -1;
        n_perf += uf_find(lp, k) == k && in->artist_off[t[k] + 1] > in->artist_off[t[k]];
    }
    int generic = n_perf >= b->opt->generic_performers || chance >= b->opt->generic_chance;
    b->st->generic_titles += generic;
    /* the representative of each performer: its most played unmarked track
     * (a marked one if it has only versions); the title's original: the
     * most played track not marked as a cover */
    int32_t orig = -1;
    for (int32_t k = 0; k < m; k++) {
        int32_t r = uf_find(lp, k), cur = b->best[r];
        int um = b->mark[t[k]] == 0, cm = cur >= 0 && b->mark[t[cur]] == 0;
        if (cur < 0 || (um && !cm) || (um == cm && listens_of(in, t[k]) > listens_of(in, t[cur]))) b->best[r] = k;
        if (!(b->mark[t[k]] & MR_VER_COVER) && (orig < 0 || listens_of(in, t[k]) > listens_of(in, t[orig])))
            orig = k;
    }
    /* within a performer */
    for (int32_t k = 0; k < m; k++) {
        int32_t rep = b->best[uf_find(lp, k)];
        if (rep == k) continue;
        if (!generic || is_version(b->mark[t[k]])) b->st->joined_by_artist += uf_union(b->parent, t[rep], t[k]);
    }
    /* across performers */
    int across = !generic && chance < b->opt->cover_chance;
    if (across && orig >= 0) {
        for (int32_t k = 0; k < m; k++)
            if (uf_find(lp, k) == k) b->st->joined_by_title += uf_union(b->parent, t[orig], t[b->best[k]]);
        return;
    }
    if (orig < 0) return;
    /* a marked cover of a title that other performers carry too covers the
     * famous one: join it only when the original is played more than
     * MR_GROUP_COVER_DOMINANCE times as much as every other performer's
     * unmarked track (without play counts, only when there is none) */
    int32_t ro = uf_find(lp, orig);
    int64_t second = -1;
    for (int32_t k = 0; k < m; k++)
        if (!(b->mark[t[k]] & MR_VER_COVER) && uf_find(lp, k) != ro && listens_of(in, t[k]) > second)
            second = listens_of(in, t[k]);
    int dominant = second < 0 || (in->listens && (double)listens_of(in, t[orig]) > MR_GROUP_COVER_DOMINANCE * (double)second);
    for (int32_t k = 0; k < m; k++) {
        int noart = in->artist_off[t[k] + 1] == in->artist_off[t[k]];
        if (b->mark[t[k]] & MR_VER_COVER) {
            if (dominant) b->st->joined_as_cover += uf_union(b->parent, t[orig], t[k]);
        } else if (noart && !generic && n_perf <= 1) b->st->joined_by_title += uf_union(b->parent, t[orig], t[k]);
    }
}

/* Word statistics of all base titles, for the chance of a coincidence. */
typedef struct {
    mr_imap words;         /* hash of a word -> occurrences */
    int64_t tokens;
    int64_t by_len[9];     /* titles of 1..8+ words */
} word_stats;

static int words_of(const char *s, int32_t n, uint64_t *h, int cap)
{
    int k = 0;
    for (int32_t i = 0; i < n;) {
        int32_t j = i;
        while (j < n && s[j] != ' ') j++;
        if (k < cap) h[k] = hash_bytes(s + i, (size_t)(j - i)) >> 1; /* non-negative keys */
        k++;
        i = j + 1;
    }
    return k;
}

static double title_chance(const word_stats *ws, const char *s, int32_t n)
{
    uint64_t h[64];
    int k = words_of(s, n, h, 64);
    if (k == 0) return 1e300;
    double p = (double)ws->by_len[k < 8 ? k : 8];
    for (int i = 0; i < k && i < 64; i++) {
        int32_t c = 0;
        mr_imap_get(&ws->words, (int64_t)h[i], &c);
        p *= (double)c / (double)ws->tokens;
    }
    return p;
}

int mr_track_groups(const mr_group_input *in, const mr_group_opts *opts, int32_t *group_id, mr_group_stats *st)
{
    mr_group_opts def = MR_GROUP_OPTS_DEFAULT;
    const mr_group_opts *opt = opts ? opts : &def;
    memset(st, 0, sizeof *st);
    int32_t n = in->n;
    if (n <= 0) return 0;
    int64_t total = in->name_off[n];
    char *keys = mr_malloc((size_t)MR_NAME_FOLD_CAP(total) + (size_t)n);
    int64_t *koff = mr_malloc((size_t)n * 8);
    int32_t *klen = mr_malloc((size_t)n * 4);
    uint8_t *mark = mr_malloc((size_t)n);
    keyed *kh = mr_malloc((size_t)n * sizeof *kh);
    int32_t *parent = mr_malloc((size_t)n * 4);
    int32_t *bucket = mr_malloc((size_t)n * 4);
    int64_t max_art = in->artist_off[n] > n ? in->artist_off[n] : n;
    artist_track *scratch = mr_malloc((size_t)(max_art + 1) * sizeof *scratch);
    if (!keys || !koff || !klen || !mark || !kh || !parent || !bucket || !scratch) {
        free(keys), free(koff), free(klen), free(mark), free(kh), free(parent), free(bucket), free(scratch);
        return MR_ENOMEM;
    }
    int64_t with_markers = 0, empty = 0;
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : with_markers, empty)
    for (int32_t i = 0; i < n; i++) {
        int64_t a = in->name_off[i], b = in->name_off[i + 1];
        koff[i] = 3 * a + i;
        int m = 0;
        size_t k = mr_title_base(in->name_bytes + a, (size_t)(b - a), keys + koff[i], &m);
        klen[i] = (int32_t)k;
        mark[i] = (uint8_t)m;
        with_markers += m != 0;
        empty += k == 0;
        kh[i].hash = hash_bytes(keys + koff[i], k);
        kh[i].track = i;
        parent[i] = i;
    }
    st->with_markers = with_markers;
    st->empty_titles = empty;
    /* word statistics over every non-empty title */
    word_stats ws;
    memset(&ws, 0, sizeof ws);
    int rc = mr_imap_init(&ws.words, 1 << 16);
    for (int32_t i = 0; !rc && i < n; i++) {
        if (!klen[i]) continue;
        uint64_t h[64];
        int k = words_of(keys + koff[i], klen[i], h, 64);
        ws.by_len[k < 8 ? k : 8]++;
        ws.tokens += k;
        for (int w = 0; w < k && w < 64 && !rc; w++) {
            int32_t c = 0;
            mr_imap_get(&ws.words, (int64_t)h[w], &c);
            rc = mr_imap_put(&ws.words, (int64_t)h[w], c + 1);
        }
    }
    int32_t *local = rc ? NULL : mr_malloc((size_t)n * 4), *best = rc ? NULL : mr_malloc((size_t)n * 4);
    if (!rc && (!local || !best)) rc = MR_ENOMEM;
    if (rc) {
        mr_imap_free(&ws.words);
        free(local), free(best);
        free(keys), free(koff), free(klen), free(mark), free(kh), free(parent), free(bucket), free(scratch);
        return rc;
    }
    bucket_ctx bc = {in, opt, mark, parent, scratch, local, best, st};
    qsort(kh, (size_t)n, sizeof *kh, cmp_keyed);
    for (int32_t i = 0; i < n;) {
        int32_t j = i + 1;
        while (j < n && kh[j].hash == kh[i].hash) j++;
        /* split the hash run into runs of equal strings */
        int32_t done = 0;
        while (done < j - i) {
            int32_t lead = -1, m = 0;
            for (int32_t q = i; q < j; q++) {
                int32_t t = kh[q].track;
                if (t < 0) continue;
                if (lead < 0) lead = t;
                else if (klen[t] != klen[lead] || memcmp(keys + koff[t], keys + koff[lead], (size_t)klen[t]))
                    continue;
                bucket[m++] = t;
                kh[q].track = -1 - t; /* taken */
            }
            done += m;
            if (m > 1 && klen[lead] > 0) join_bucket(&bc, bucket, m, title_chance(&ws, keys + koff[lead], klen[lead]));
        }
        i = j;
    }
    mr_imap_free(&ws.words);
    free(local), free(best);
    /* dense ids in order of each group's first track */
    int32_t g = 0;
    for (int32_t i = 0; i < n; i++) bucket[i] = -1;
    for (int32_t i = 0; i < n; i++) {
        int32_t r = uf_find(parent, i);
        if (bucket[r] < 0) bucket[r] = g++;
        group_id[i] = bucket[r];
    }
    st->n_groups = g;
    /* sizes */
    for (int32_t i = 0; i < g; i++) bucket[i] = 0;
    for (int32_t i = 0; i < n; i++) bucket[group_id[i]]++;
    for (int32_t i = 0; i < g; i++)
        if (bucket[i] > 1) st->n_multi++, st->tracks_in_multi += bucket[i];
    free(keys), free(koff), free(klen), free(mark), free(kh), free(parent), free(bucket), free(scratch);
    return 0;
}

/* ------------------------------------------------------------- scoring */

typedef struct {
    int64_t a, b;
} pair64;

static int cmp_pair(const void *x, const void *y)
{
    const pair64 *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

/* sum over runs of equal (a) or equal (a, b) of C(run, 2) */
static int64_t pair_count(const pair64 *v, int64_t n, int both)
{
    int64_t s = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && v[j].a == v[i].a && (!both || v[j].b == v[i].b)) j++;
        s += (j - i) * (j - i - 1) / 2;
        i = j;
    }
    return s;
}

int mr_group_score(int64_t n, const int32_t *pred, const int64_t *truth, double *precision, double *recall,
                   int64_t *tp_out, int64_t *pp_out, int64_t *tpairs_out)
{
    pair64 *v = mr_malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return MR_ENOMEM;
    for (int64_t i = 0; i < n; i++) v[i] = (pair64){pred[i], truth[i]};
    qsort(v, (size_t)n, sizeof *v, cmp_pair);
    int64_t tp = pair_count(v, n, 1), pp = pair_count(v, n, 0);
    for (int64_t i = 0; i < n; i++) v[i] = (pair64){truth[i], 0};
    qsort(v, (size_t)n, sizeof *v, cmp_pair);
    int64_t tpairs = pair_count(v, n, 0);
    free(v);
    *precision = pp ? (double)tp / (double)pp : 1.0;
    *recall = tpairs ? (double)tp / (double)tpairs : 1.0;
    if (tp_out) *tp_out = tp;
    if (pp_out) *pp_out = pp;
    if (tpairs_out) *tpairs_out = tpairs;
    return 0;
}
