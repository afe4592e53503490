/* musrec report: results/report.html.
 *
 * Three sections, each computed from the files of the steps before it:
 *   overview: every data file with rows, row groups, columns and types;
 *             empty lists in the raw tracks; what preprocess dropped (from
 *             its log); the split (split_info.json); the date range.
 *   EDA:      events per user (log-binned histogram), the popularity long
 *             tail (log-log), events per month, top tracks/artists/genres by
 *             name, track groups.
 *   results:  the model comparison table and charts, ALS loss per iteration
 *             (from the ALS log), ranker feature importance, and example
 *             users: recent listening beside their recommendations.
 * Large tables (events) are streamed one row group at a time, so the report
 * runs at full size in a few hundred MB.
 */
#include "report/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/vec.h"
#include "data/recs.h"
#include "data/tables.h"
#include "parquet/parquet.h"
#include "report/svg.h"

static char *wpath(const char *wd, const char *rel) { return mr_path_join(wd, rel); }

static void day_to_ymd(int32_t day, int *y, int *m, int *d)
{
    /* days since 1970-01-01 -> civil date (Howard Hinnant's algorithm) */
    int64_t z = (int64_t)day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void put_day(FILE *f, int32_t day)
{
    int y, m, d;
    day_to_ymd(day, &y, &m, &d);
    fprintf(f, "%04d-%02d-%02d", y, m, d);
}

static void put_count(FILE *f, int64_t v)
{
    char buf[32], out[48];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)(v < 0 ? -v : v)), k = 0;
    if (v < 0) out[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) out[k++] = ',';
        out[k++] = buf[i];
    }
    out[k] = 0;
    fputs(out, f);
}

static void h(FILE *f, const char *s) { mr_html_text(f, s, strlen(s)); }

static void missing(FILE *f, const char *what)
{
    fputs("<p class='missing'>Not available: ", f);
    h(f, what);
    fputs(" (run the step that writes it).</p>\n", f);
}

static const char *physical_name(mr_pq_physical p)
{
    static const char *n[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return p <= MR_PQ_FIXED_LEN_BYTE_ARRAY ? n[p] : "?";
}

static void put_type(FILE *f, const mr_pq_column_info *c)
{
    if (c->list_depth) fputs("LIST&lt;", f);
    fputs(physical_name(c->physical), f);
    switch (c->logical) {
    case MR_PQ_L_INT: fprintf(f, " INT(%d)", c->bit_width); break;
    case MR_PQ_L_STRING: fputs(" STRING", f); break;
    case MR_PQ_L_DATE: fputs(" DATE", f); break;
    case MR_PQ_L_TIMESTAMP: fprintf(f, " TIMESTAMP(%s)", c->unit == MR_PQ_NANOS ? "ns" : c->unit == MR_PQ_MICROS ? "us" : "ms"); break;
    default: break;
    }
    if (c->list_depth) fputs("&gt;", f);
    if (c->nullable) fputs("?", f);
}

/* ---------- overview ---------- */

static const char *data_files[] = {
    "data/raw/tracks.parquet", "data/raw/catalog_names.parquet", "data/raw/interactions.parquet",
    "data/preprocessed/items.parquet", "data/preprocessed/tracks_catalog_clean.parquet",
    "data/preprocessed/events.parquet", "data/preprocessed/users.parquet",
    "data/preprocessed/train_events.parquet", "data/preprocessed/test_events.parquet",
    "results/top_popular.parquet", "results/personal_als.parquet", "results/similar.parquet",
    "results/recommendations.parquet", "results/models_comparison.parquet",
};

static void overview_files(FILE *f, const char *wd)
{
    fputs("<h3>Files</h3>\n<table><tr><th>file</th><th>size</th><th>rows</th><th>row groups</th><th>columns</th></tr>\n", f);
    for (size_t i = 0; i < sizeof data_files / sizeof data_files[0]; i++) {
        char *p = wpath(wd, data_files[i]);
        mr_pq_reader *r = NULL;
        if (!p || !mr_file_exists(p)) {
            free(p);
            continue;
        }
        fputs("<tr><td>", f);
        h(f, data_files[i]);
        fprintf(f, "</td><td class='num'>%.1f MB</td>", mr_file_size(p) / 1e6);
        if (mr_pq_open(&r, p) != 0) {
            fputs("<td colspan='3' class='missing'>", f);
            h(f, mr_errmsg());
            fputs("</td></tr>\n", f);
            free(p);
            continue;
        }
        fputs("<td class='num'>", f);
        put_count(f, mr_pq_num_rows(r));
        fprintf(f, "</td><td class='num'>%d</td><td class='cols'>", mr_pq_num_row_groups(r));
        for (int c = 0; c < mr_pq_num_columns(r); c++) {
            const mr_pq_column_info *ci = mr_pq_column(r, c);
            fputs(c ? ", <b>" : "<b>", f);
            h(f, ci->name);
            fputs("</b> ", f);
            put_type(f, ci);
        }
        fputs("</td></tr>\n", f);
        mr_pq_close(r);
        free(p);
    }
    fputs("</table>\n", f);
}

static void overview_empty_lists(FILE *f, const char *wd)
{
    char *p = wpath(wd, "data/raw/tracks.parquet");
    mr_pq_reader *r = NULL;
    if (!p || mr_pq_open(&r, p) != 0) {
        free(p);
        return;
    }
    fputs("<h3>Empty lists in tracks.parquet</h3>\n<table><tr><th>column</th><th>empty lists</th><th>null lists</th><th>rows</th></tr>\n", f);
    for (int c = 0; c < mr_pq_num_columns(r); c++) {
        const mr_pq_column_info *ci = mr_pq_column(r, c);
        if (ci->list_depth != 1) continue;
        int64_t empty = 0, nulls = 0, rows = 0;
        int ok = 1;
        for (int rg = 0; ok && rg < mr_pq_num_row_groups(r); rg++) {
            mr_pq_col col = {0};
            if (mr_pq_read(r, rg, c, &col) != 0) {
                ok = 0;
                break;
            }
            for (int64_t i = 0; i < col.n_rows; i++) {
                if (col.list_valid && !col.list_valid[i]) nulls++;
                else if (col.list_offsets[i + 1] == col.list_offsets[i]) empty++;
            }
            rows += col.n_rows;
            mr_pq_col_free(&col);
        }
        if (!ok) continue;
        fputs("<tr><td>", f);
        h(f, ci->name);
        fputs("</td><td class='num'>", f);
        put_count(f, empty);
        fputs("</td><td class='num'>", f);
        put_count(f, nulls);
        fputs("</td><td class='num'>", f);
        put_count(f, rows);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    mr_pq_close(r);
    free(p);
}

/* Lines of the last run in logs/logs_<step>.json (after its last "start"). */
static cJSON *last_run_lines(const char *wd, const char *step)
{
    char rel[128];
    snprintf(rel, sizeof rel, "logs/logs_%s.json", step);
    char *p = wpath(wd, rel), *text = NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!p || mr_read_file(p, &text, NULL) != 0) {
        free(p);
        return arr;
    }
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        if (!j) continue;
        cJSON *msg = cJSON_GetObjectItem(j, "msg");
        if (cJSON_IsString(msg) && strcmp(msg->valuestring, "start") == 0) {
            cJSON_Delete(arr);
            arr = cJSON_CreateArray();
        }
        cJSON_AddItemToArray(arr, j);
    }
    free(text);
    free(p);
    return arr;
}

static int is_meta_key(const char *k)
{
    return !strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "step") || !strcmp(k, "msg");
}

/* The info-level messages of a step's last run, as a table. */
static void log_table(FILE *f, const char *wd, const char *step, const char *title)
{
    cJSON *lines = last_run_lines(wd, step);
    int shown = 0;
    cJSON *j;
    cJSON_ArrayForEach(j, lines)
    {
        cJSON *lvl = cJSON_GetObjectItem(j, "level"), *msg = cJSON_GetObjectItem(j, "msg");
        if (!cJSON_IsString(lvl) || !cJSON_IsString(msg) || strcmp(lvl->valuestring, "debug") == 0) continue;
        if (!shown++) {
            fputs("<h3>", f);
            h(f, title);
            fputs("</h3>\n<table><tr><th>message</th><th>values</th></tr>\n", f);
        }
        fputs("<tr><td>", f);
        h(f, msg->valuestring);
        fputs("</td><td>", f);
        int first = 1;
        for (cJSON *x = j->child; x; x = x->next) {
            if (is_meta_key(x->string) || cJSON_IsObject(x) || cJSON_IsArray(x)) continue;
            fputs(first ? "" : ", ", f);
            first = 0;
            h(f, x->string);
            fputs("=", f);
            if (cJSON_IsNumber(x)) {
                if (x->valuedouble == floor(x->valuedouble) && fabs(x->valuedouble) < 1e15) put_count(f, (int64_t)x->valuedouble);
                else fprintf(f, "%.4g", x->valuedouble);
            } else if (cJSON_IsString(x)) h(f, x->valuestring);
            else if (cJSON_IsBool(x)) fputs(cJSON_IsTrue(x) ? "true" : "false", f);
        }
        fputs("</td></tr>\n", f);
    }
    if (shown) fputs("</table>\n", f);
    cJSON_Delete(lines);
}

static void overview_split(FILE *f, const char *wd)
{
    char *p = wpath(wd, "data/preprocessed/split_info.json"), *text = NULL;
    if (!p || mr_read_file(p, &text, NULL) != 0) {
        free(p);
        return;
    }
    cJSON *j = cJSON_Parse(text);
    if (j) {
        fputs("<h3>Time split</h3>\n<table>", f);
        for (cJSON *x = j->child; x; x = x->next) {
            fputs("<tr><th>", f);
            h(f, x->string);
            fputs("</th><td class='num'>", f);
            if (cJSON_IsNumber(x)) {
                if (x->valuedouble == floor(x->valuedouble)) put_count(f, (int64_t)x->valuedouble);
                else fprintf(f, "%.6g", x->valuedouble);
            } else if (cJSON_IsString(x)) h(f, x->valuestring);
            else {
                char *s = cJSON_PrintUnformatted(x);
                if (s) h(f, s);
                free(s);
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        cJSON_Delete(j);
    }
    free(text);
    free(p);
}

/* ---------- EDA ---------- */

typedef struct {
    int32_t n_items;
    int64_t *listens;   /* per item_idx */
    int64_t month[12];
    int32_t day_min, day_max;
    int64_t n_events;
} event_stats;

/* Streams events.parquet once: listens per item, events per month. */
static int scan_events(const char *wd, int32_t n_items, event_stats *st)
{
    memset(st, 0, sizeof *st);
    st->day_min = INT32_MAX;
    st->day_max = INT32_MIN;
    char *p = wpath(wd, "data/preprocessed/events.parquet");
    mr_pq_reader *r = NULL;
    int rc = p ? mr_pq_open(&r, p) : MR_ENOMEM;
    free(p);
    if (rc) return rc;
    int ci, cd;
    if ((rc = mr_pq_require(r, "item_idx", &ci)) || (rc = mr_pq_require(r, "started_at", &cd))) {
        mr_pq_close(r);
        return rc;
    }
    st->n_items = n_items;
    st->listens = mr_calloc((size_t)n_items + 1, sizeof *st->listens);
    if (!st->listens) {
        mr_pq_close(r);
        return MR_ENOMEM;
    }
    for (int rg = 0; rg < mr_pq_num_row_groups(r) && !rc; rg++) {
        mr_pq_col items = {0}, days = {0};
        rc = mr_pq_read(r, rg, ci, &items);
        if (!rc) rc = mr_pq_read(r, rg, cd, &days);
        if (!rc) {
            const int32_t *it = items.values, *dy = days.values;
            for (int64_t i = 0; i < items.n_slots; i++) {
                if (it[i] >= 0 && it[i] < n_items) st->listens[it[i]]++;
                int y, m, d;
                day_to_ymd(dy[i], &y, &m, &d);
                st->month[m - 1]++;
                if (dy[i] < st->day_min) st->day_min = dy[i];
                if (dy[i] > st->day_max) st->day_max = dy[i];
            }
            st->n_events += items.n_slots;
        }
        mr_pq_col_free(&items);
        mr_pq_col_free(&days);
    }
    mr_pq_close(r);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void eda_users(FILE *f, const char *wd)
{
    char *p = wpath(wd, "data/preprocessed/users.parquet");
    mr_users u = {0};
    if (!p || mr_users_read(p, &u) != 0) {
        free(p);
        missing(f, "data/preprocessed/users.parquet");
        return;
    }
    free(p);
    int32_t mx = 1;
    double sum = 0;
    for (int32_t i = 0; i < u.n; i++) {
        if (u.n_events[i] > mx) mx = u.n_events[i];
        sum += u.n_events[i];
    }
    /* bins of doubling width: [1,2), [2,4), ... */
    enum { MAXB = 40 };
    double edges[MAXB + 1], counts[MAXB] = {0};
    int nb = 0;
    for (double e = 1; nb < MAXB && e <= mx; e *= 2) edges[nb++] = e;
    edges[nb] = edges[nb - 1] * 2;
    for (int32_t i = 0; i < u.n; i++) {
        int b = u.n_events[i] > 0 ? (int)floor(log2((double)u.n_events[i])) : 0;
        if (b >= nb) b = nb - 1;
        counts[b]++;
    }
    int32_t *sorted = mr_malloc((size_t)u.n * sizeof *sorted);
    int32_t median = 0;
    if (sorted && u.n > 0) {
        memcpy(sorted, u.n_events, (size_t)u.n * sizeof *sorted);
        qsort(sorted, (size_t)u.n, sizeof *sorted, cmp_i32);
        median = sorted[u.n / 2];
    }
    free(sorted);
    fputs("<p>", f);
    put_count(f, u.n);
    fprintf(f, " users; events per user: mean %.1f, median %d, max ", u.n ? sum / u.n : 0, median);
    put_count(f, mx);
    fputs(".</p>\n", f);
    mr_chart c = {.title = "Events per user", .xlabel = "events (log scale)", .ylabel = "users (log scale)", .logx = 1, .logy = 1};
    mr_svg_bars(f, &c, NULL, edges, counts, nb);
    mr_users_free(&u);
}

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

typedef struct {
    int64_t id, count;
    int32_t item; /* an item that names it */
    int64_t name_slot;
} named_count;

static int cmp_named(const void *a, const void *b)
{
    const named_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Top entities (artists or genres) by listens, via the item lists. */
static void eda_top_entities(FILE *f, const mr_items *it, const int64_t *listens, int artists)
{
    const int64_t *off = artists ? it->artist_off : it->genre_off;
    const int64_t *ids = artists ? it->artist_ids : it->genre_ids;
    const int64_t *noff = artists ? it->artist_name_off : it->genre_name_off;
    const char *nb = artists ? it->artist_name_bytes : it->genre_name_bytes;
    if (!off || !ids) return;
    mr_imap m;
    if (mr_imap_init(&m, 1024) != 0) return;
    named_count *nc = NULL;
    size_t n = 0, cap = 0;
    for (int32_t i = 0; i < it->n; i++) {
        for (int64_t k = off[i]; k < off[i + 1]; k++) {
            int32_t slot;
            if (!mr_imap_get(&m, ids[k], &slot)) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 1024;
                    named_count *x = mr_realloc(nc, cap * sizeof *nc);
                    if (!x) goto done;
                    nc = x;
                }
                slot = (int32_t)n;
                nc[n++] = (named_count){ids[k], 0, i, k};
                if (mr_imap_put(&m, ids[k], slot) != 0) goto done;
            }
            nc[slot].count += listens[i];
        }
    }
    qsort(nc, n, sizeof *nc, cmp_named);
    fprintf(f, "<table class='half'><tr><th>#</th><th>%s</th><th>listens</th></tr>\n", artists ? "artist" : "genre");
    for (size_t i = 0; i < n && i < 10; i++) {
        fprintf(f, "<tr><td>%zu</td><td>", i + 1);
        if (noff && nb && noff[nc[i].name_slot + 1] > noff[nc[i].name_slot])
            mr_html_text(f, nb + noff[nc[i].name_slot], (size_t)(noff[nc[i].name_slot + 1] - noff[nc[i].name_slot]));
        else fprintf(f, "id %lld", (long long)nc[i].id);
        fputs("</td><td class='num'>", f);
        put_count(f, nc[i].count);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
done:
    free(nc);
    mr_imap_free(&m);
}

static void put_item_name(FILE *f, const mr_items *it, int32_t i)
{
    if (i < 0 || i >= it->n) {
        fputs("?", f);
        return;
    }
    mr_html_text(f, it->name_bytes + it->name_off[i], (size_t)(it->name_off[i + 1] - it->name_off[i]));
}

static void put_item_artists(FILE *f, const mr_items *it, int32_t i)
{
    if (i < 0 || i >= it->n || !it->artist_name_off) return;
    for (int64_t k = it->artist_off[i]; k < it->artist_off[i + 1]; k++) {
        if (k > it->artist_off[i]) fputs(", ", f);
        mr_html_text(f, it->artist_name_bytes + it->artist_name_off[k],
                     (size_t)(it->artist_name_off[k + 1] - it->artist_name_off[k]));
    }
}

static void eda_groups(FILE *f, const mr_items *it)
{
    if (!it->group_id || it->n == 0) return;
    int32_t maxg = 0;
    for (int32_t i = 0; i < it->n; i++)
        if (it->group_id[i] > maxg) maxg = it->group_id[i];
    int32_t *size = mr_calloc((size_t)maxg + 1, sizeof *size);
    if (!size) return;
    for (int32_t i = 0; i < it->n; i++)
        if (it->group_id[i] >= 0) size[it->group_id[i]]++;
    int64_t groups = 0, multi = 0, in_multi = 0, hist[6] = {0};
    int32_t biggest = 0;
    for (int32_t g = 0; g <= maxg; g++) {
        if (!size[g]) continue;
        groups++;
        hist[size[g] >= 5 ? 5 : size[g]]++;
        if (size[g] > 1) {
            multi++;
            in_multi += size[g];
        }
        if (size[g] > size[biggest]) biggest = g;
    }
    fputs("<p>", f);
    put_count(f, it->n);
    fputs(" tracks in ", f);
    put_count(f, groups);
    fputs(" groups; ", f);
    put_count(f, multi);
    fputs(" groups join ", f);
    put_count(f, in_multi);
    fputs(" tracks that are versions of one song (remixes, live and acoustic versions, covers, feat. credits).</p>\n", f);
    const char *labels[] = {"1", "2", "3", "4", "5+"};
    double v[5];
    for (int i = 0; i < 5; i++) v[i] = (double)hist[i + 1];
    mr_chart c = {.title = "Track group sizes", .xlabel = "tracks in the group", .ylabel = "groups (log scale)", .logy = 1, .width = 420, .height = 260};
    mr_svg_bars(f, &c, labels, NULL, v, 5);
    if (size[biggest] > 1) {
        fputs("<p>Largest group:</p><ul>", f);
        int shown = 0;
        for (int32_t i = 0; i < it->n && shown < 8; i++) {
            if (it->group_id[i] != biggest) continue;
            fputs("<li>", f);
            put_item_name(f, it, i);
            fputs(" <span class='dim'>— ", f);
            put_item_artists(f, it, i);
            fputs("</span></li>", f);
            shown++;
        }
        fputs("</ul>\n", f);
    }
    free(size);
}

static void eda(FILE *f, const char *wd, mr_items *it, int have_items, event_stats *st, int have_events)
{
    fputs("<section><h2>Exploratory analysis</h2>\n", f);
    eda_users(f, wd);
    if (!have_events) {
        missing(f, "data/preprocessed/events.parquet");
        fputs("</section>\n", f);
        return;
    }
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    double mv[12];
    for (int i = 0; i < 12; i++) mv[i] = (double)st->month[i];
    mr_chart cm = {.title = "Events per month", .ylabel = "events"};
    mr_svg_bars(f, &cm, months, NULL, mv, 12);

    int64_t *sorted = mr_malloc((size_t)st->n_items * sizeof *sorted + 1);
    if (sorted && st->n_items > 0) {
        memcpy(sorted, st->listens, (size_t)st->n_items * sizeof *sorted);
        qsort(sorted, (size_t)st->n_items, sizeof *sorted, cmp_desc_i64);
        /* about 200 log-spaced ranks are enough for a smooth curve */
        double xs[256], ys[256];
        int np = 0;
        for (double r = 1; r <= st->n_items && np < 256; r = r * 1.06 + 1) {
            xs[np] = r;
            ys[np++] = (double)sorted[(int64_t)r - 1];
        }
        int64_t zero = 0;
        for (int32_t i = 0; i < st->n_items; i++) zero += st->listens[i] == 0;
        fputs("<p>Popularity is heavy-tailed: the top track has ", f);
        put_count(f, sorted[0]);
        fputs(" listeners, the median track ", f);
        put_count(f, sorted[st->n_items / 2]);
        fputs("; ", f);
        put_count(f, zero);
        fputs(" tracks have none.</p>\n", f);
        mr_chart cp = {.title = "Track popularity long tail", .xlabel = "track rank (log)", .ylabel = "listeners (log)", .logx = 1, .logy = 1};
        mr_svg_line(f, &cp, xs, ys, np);
    }
    free(sorted);
    if (!have_items) {
        missing(f, "data/preprocessed/items.parquet");
        fputs("</section>\n", f);
        return;
    }
    fputs("<h3>Top tracks</h3>\n<table><tr><th>#</th><th>track</th><th>artists</th><th>listeners</th></tr>\n", f);
    int32_t top[10];
    int nt = 0;
    for (int32_t i = 0; i < st->n_items && i < it->n; i++) {
        int pos = nt < 10 ? nt++ : 10;
        if (pos == 10 && st->listens[i] <= st->listens[top[9]]) continue;
        if (pos == 10) pos = 9;
        while (pos > 0 && st->listens[top[pos - 1]] < st->listens[i]) {
            top[pos] = top[pos - 1];
            pos--;
        }
        top[pos] = i;
    }
    for (int k = 0; k < nt; k++) {
        fprintf(f, "<tr><td>%d</td><td>", k + 1);
        put_item_name(f, it, top[k]);
        fputs("</td><td>", f);
        put_item_artists(f, it, top[k]);
        fputs("</td><td class='num'>", f);
        put_count(f, st->listens[top[k]]);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<div class='row'><div><h3>Top artists</h3>\n", f);
    eda_top_entities(f, it, st->listens, 1);
    fputs("</div><div><h3>Top genres</h3>\n", f);
    eda_top_entities(f, it, st->listens, 0);
    fputs("</div></div>\n<h3>Track groups</h3>\n", f);
    eda_groups(f, it);
    fputs("</section>\n", f);
}

/* ---------- results ---------- */

typedef struct {
    int n;
    char **model;
    int32_t *k;
    double *metric[8];
} comparison;

static const char *metric_names[] = {"precision", "recall", "map", "ndcg", "hit_rate", "mrr", "coverage", "novelty"};
enum { N_METRICS = 8 };

static void comparison_free(comparison *c)
{
    for (int i = 0; i < c->n; i++) free(c->model[i]);
    free(c->model);
    free(c->k);
    for (int m = 0; m < N_METRICS; m++) free(c->metric[m]);
}

static int read_comparison(const char *wd, comparison *out)
{
    memset(out, 0, sizeof *out);
    char *p = wpath(wd, "results/models_comparison.parquet");
    mr_pq_reader *r = NULL;
    int rc = p ? mr_pq_open(&r, p) : MR_ENOMEM;
    free(p);
    if (rc) return rc;
    int64_t n = mr_pq_num_rows(r);
    int cm, ck, cmet[N_METRICS];
    if ((rc = mr_pq_require(r, "model", &cm)) || (rc = mr_pq_require(r, "k", &ck))) goto done;
    for (int m = 0; m < N_METRICS; m++) cmet[m] = mr_pq_find(r, metric_names[m]);
    out->model = mr_calloc((size_t)n + 1, sizeof *out->model);
    out->k = mr_calloc((size_t)n + 1, sizeof *out->k);
    for (int m = 0; m < N_METRICS; m++) out->metric[m] = mr_calloc((size_t)n + 1, sizeof(double));
    if (!out->model || !out->k) {
        rc = MR_ENOMEM;
        goto done;
    }
    int64_t row = 0;
    for (int rg = 0; rg < mr_pq_num_row_groups(r) && !rc; rg++) {
        mr_pq_col cols[2 + N_METRICS];
        memset(cols, 0, sizeof cols);
        rc = mr_pq_read(r, rg, cm, &cols[0]);
        if (!rc) rc = mr_pq_read(r, rg, ck, &cols[1]);
        for (int m = 0; m < N_METRICS && !rc; m++)
            if (cmet[m] >= 0) rc = mr_pq_read(r, rg, cmet[m], &cols[2 + m]);
        for (int64_t i = 0; !rc && i < cols[0].n_rows && row < n; i++, row++) {
            int64_t a = cols[0].offsets[i], b = cols[0].offsets[i + 1];
            out->model[row] = mr_malloc((size_t)(b - a) + 1);
            if (!out->model[row]) {
                rc = MR_ENOMEM;
                break;
            }
            memcpy(out->model[row], cols[0].bytes + a, (size_t)(b - a));
            out->model[row][b - a] = 0;
            out->n = (int)row + 1;
            const mr_pq_column_info *ki = mr_pq_column(r, ck);
            out->k[row] = ki->physical == MR_PQ_INT64 ? (int32_t)((int64_t *)cols[1].values)[i] : ((int32_t *)cols[1].values)[i];
            for (int m = 0; m < N_METRICS; m++) {
                if (cmet[m] < 0) {
                    out->metric[m][row] = NAN;
                    continue;
                }
                const mr_pq_column_info *mi = mr_pq_column(r, cmet[m]);
                out->metric[m][row] = mi->physical == MR_PQ_FLOAT ? ((float *)cols[2 + m].values)[i] : ((double *)cols[2 + m].values)[i];
            }
        }
        for (int c = 0; c < 2 + N_METRICS; c++) mr_pq_col_free(&cols[c]);
    }
done:
    mr_pq_close(r);
    if (rc) comparison_free(out);
    return rc;
}

static void results_comparison(FILE *f, const char *wd)
{
    comparison c;
    if (read_comparison(wd, &c) != 0) {
        missing(f, "results/models_comparison.parquet");
        return;
    }
    fputs("<h3>Model comparison</h3>\n<table><tr><th>model</th><th>K</th>", f);
    for (int m = 0; m < N_METRICS; m++) fprintf(f, "<th>%s</th>", metric_names[m]);
    fputs("</tr>\n", f);
    for (int i = 0; i < c.n; i++) {
        fputs("<tr><td>", f);
        h(f, c.model[i]);
        fprintf(f, "</td><td class='num'>%d</td>", c.k[i]);
        for (int m = 0; m < N_METRICS; m++) fprintf(f, "<td class='num'>%.4f</td>", c.metric[m][i]);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    /* distinct models (in order of appearance) and Ks (ascending) */
    const char *models[16];
    int32_t ks[16];
    int nm = 0, nk = 0;
    for (int i = 0; i < c.n; i++) {
        int seen = 0;
        for (int j = 0; j < nm; j++) seen |= strcmp(models[j], c.model[i]) == 0;
        if (!seen && nm < 16) models[nm++] = c.model[i];
        seen = 0;
        for (int j = 0; j < nk; j++) seen |= ks[j] == c.k[i];
        if (!seen && nk < 16) ks[nk++] = c.k[i];
    }
    for (int a = 0; a < nk; a++)
        for (int b = a + 1; b < nk; b++)
            if (ks[b] < ks[a]) {
                int32_t t = ks[a];
                ks[a] = ks[b];
                ks[b] = t;
            }
    char klabels[16][16];
    const char *kl[16];
    for (int j = 0; j < nk; j++) {
        snprintf(klabels[j], sizeof klabels[j], "K=%d", ks[j]);
        kl[j] = klabels[j];
    }
    fputs("<div class='grid2'>\n", f);
    for (int m = 0; m < 4; m++) {
        double v[16 * 16];
        for (int s = 0; s < nm; s++)
            for (int g = 0; g < nk; g++) {
                v[s * nk + g] = NAN;
                for (int i = 0; i < c.n; i++)
                    if (c.k[i] == ks[g] && strcmp(c.model[i], models[s]) == 0) v[s * nk + g] = c.metric[m][i];
            }
        char title[64];
        snprintf(title, sizeof title, "%s@K by model", metric_names[m]);
        mr_chart ch = {.title = title, .xlabel = "K", .ylabel = metric_names[m], .width = 480, .height = 280};
        mr_svg_grouped_bars(f, &ch, kl, nk, models, nm, v);
    }
    fputs("</div>\n", f);
    comparison_free(&c);
}

static void results_als_loss(FILE *f, const char *wd)
{
    cJSON *lines = last_run_lines(wd, "als");
    double it[512], loss[512];
    int n = 0;
    cJSON *j;
    cJSON_ArrayForEach(j, lines)
    {
        cJSON *l = cJSON_GetObjectItem(j, "loss");
        cJSON *i = cJSON_GetObjectItem(j, "iteration");
        if (cJSON_IsNumber(l) && n < 512) {
            it[n] = cJSON_IsNumber(i) ? i->valuedouble : n + 1;
            loss[n++] = l->valuedouble;
        }
    }
    cJSON_Delete(lines);
    fputs("<h3>ALS training loss</h3>\n", f);
    if (n == 0) {
        fputs("<p class='missing'>No loss in logs/logs_als.json: run <code>musrec als --loss</code> "
              "(or set ALS_LOSS=1) to record it.</p>\n", f);
        return;
    }
    mr_chart c = {.title = "ALS loss per iteration", .xlabel = "iteration", .ylabel = "weighted loss", .width = 480, .height = 280};
    mr_svg_line(f, &c, it, loss, n);
}

static void results_importance(FILE *f, const char *wd)
{
    char *p = wpath(wd, "models/ranker_features.json"), *text = NULL;
    fputs("<h3>Ranker feature importance (gain)</h3>\n", f);
    if (!p || mr_read_file(p, &text, NULL) != 0) {
        free(p);
        missing(f, "models/ranker_features.json");
        return;
    }
    free(p);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON *imp = j ? cJSON_GetObjectItem(j, "importance_gain") : NULL;
    if (!cJSON_IsObject(imp)) {
        fputs("<p class='missing'>models/ranker_features.json has no importance_gain.</p>\n", f);
        cJSON_Delete(j);
        return;
    }
    const char *labels[64];
    double v[64];
    int n = 0;
    for (cJSON *x = imp->child; x && n < 64; x = x->next)
        if (cJSON_IsNumber(x)) {
            labels[n] = x->string;
            v[n++] = x->valuedouble;
        }
    /* largest first */
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (v[b] > v[a]) {
                double t = v[a];
                v[a] = v[b];
                v[b] = t;
                const char *s = labels[a];
                labels[a] = labels[b];
                labels[b] = s;
            }
    cJSON *chosen = cJSON_GetObjectItem(j, "objective");
    if (cJSON_IsString(chosen)) {
        fputs("<p>Objective chosen: <b>", f);
        h(f, chosen->valuestring);
        fputs("</b>.</p>\n", f);
    }
    mr_chart c = {.title = "Feature importance (total gain)", .ylabel = "gain", .height = 340};
    mr_svg_bars(f, &c, labels, NULL, v, n);
    cJSON_Delete(j);
}

/* Recent train listens of the chosen users, streamed from train_events. */
static void results_examples(FILE *f, const char *wd, const mr_items *it, int n_examples, unsigned long long seed)
{
    const char *srcs[] = {"results/recommendations.parquet", "results/personal_als.parquet"};
    const char *src = NULL;
    mr_recs recs = {0};
    for (int s = 0; s < 2 && !src; s++) {
        char *p = wpath(wd, srcs[s]);
        if (p && mr_file_exists(p) && mr_recs_read(p, &recs) == 0) src = srcs[s];
        free(p);
    }
    fputs("<h3>Example users</h3>\n", f);
    if (!src || recs.n_users == 0) {
        missing(f, "results/recommendations.parquet or results/personal_als.parquet");
        mr_recs_free(&recs);
        return;
    }
    if (n_examples > 8) n_examples = 8;
    if ((int64_t)n_examples > recs.n_users) n_examples = (int)recs.n_users;
    int64_t pick[8];
    uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (int e = 0; e < n_examples; e++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        pick[e] = (int64_t)((x >> 17) % (uint64_t)recs.n_users);
    }
    /* last 10 listens per picked user */
    enum { RECENT = 10 };
    int32_t recent[8][RECENT], rday[8][RECENT];
    int nrec[8] = {0};
    char *p = wpath(wd, "data/preprocessed/train_events.parquet");
    mr_pq_reader *r = NULL;
    if (p && mr_pq_open(&r, p) == 0) {
        int cu, ci, cd;
        if (!mr_pq_require(r, "user_idx", &cu) && !mr_pq_require(r, "item_idx", &ci) && !mr_pq_require(r, "started_at", &cd)) {
            for (int rg = 0; rg < mr_pq_num_row_groups(r); rg++) {
                mr_pq_col u = {0}, iv = {0}, dv = {0};
                if (mr_pq_read(r, rg, cu, &u) != 0) break;
                const int32_t *uu = u.values;
                int any = 0;
                for (int64_t i = 0; i < u.n_slots && !any; i++)
                    for (int e = 0; e < n_examples; e++) any |= uu[i] == recs.user_idx[pick[e]];
                if (any && mr_pq_read(r, rg, ci, &iv) == 0 && mr_pq_read(r, rg, cd, &dv) == 0) {
                    const int32_t *ii = iv.values, *dd = dv.values;
                    for (int64_t i = 0; i < u.n_slots; i++)
                        for (int e = 0; e < n_examples; e++) {
                            if (uu[i] != recs.user_idx[pick[e]]) continue;
                            /* events are sorted by day within a user: keep the last RECENT */
                            if (nrec[e] == RECENT) {
                                memmove(recent[e], recent[e] + 1, (RECENT - 1) * sizeof(int32_t));
                                memmove(rday[e], rday[e] + 1, (RECENT - 1) * sizeof(int32_t));
                                nrec[e]--;
                            }
                            recent[e][nrec[e]] = ii[i];
                            rday[e][nrec[e]++] = dd[i];
                        }
                }
                mr_pq_col_free(&u);
                mr_pq_col_free(&iv);
                mr_pq_col_free(&dv);
            }
        }
        mr_pq_close(r);
    }
    free(p);
    fputs("<p>Recommendations from <code>", f);
    h(f, src);
    fputs("</code> beside each user's most recent listening in train.</p>\n", f);
    for (int e = 0; e < n_examples; e++) {
        int64_t k = pick[e];
        fprintf(f, "<div class='row example'><div><h4>user_idx %d: recent listening</h4><ol>", recs.user_idx[k]);
        for (int i = nrec[e] - 1; i >= 0; i--) {
            fputs("<li>", f);
            put_item_name(f, it, recent[e][i]);
            fputs(" <span class='dim'>— ", f);
            put_item_artists(f, it, recent[e][i]);
            fputs(", ", f);
            put_day(f, rday[e][i]);
            fputs("</span></li>", f);
        }
        fputs("</ol></div><div><h4>recommended</h4><ol>", f);
        for (int64_t j = recs.off[k]; j < recs.off[k + 1] && j < recs.off[k] + 10; j++) {
            fputs("<li>", f);
            put_item_name(f, it, recs.item_idx[j]);
            fputs(" <span class='dim'>— ", f);
            put_item_artists(f, it, recs.item_idx[j]);
            fprintf(f, " (%.3f)</span></li>", recs.score[j]);
        }
        fputs("</ol></div></div>\n", f);
    }
    mr_recs_free(&recs);
}

static const char *css =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#222}"
    "h1{font-size:26px;margin-bottom:0}h2{border-bottom:2px solid #4e79a7;padding-bottom:4px;margin-top:36px}"
    "h3{margin:24px 0 8px}h4{margin:8px 0}.sub{color:#666;margin-top:4px}"
    "table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}td.cols{font-size:12px}"
    ".missing{color:#a33}.dim{color:#777}.row{display:flex;gap:32px;flex-wrap:wrap}.row>div{flex:1;min-width:300px}"
    ".grid2{display:flex;flex-wrap:wrap;gap:8px}svg.chart{max-width:100%;height:auto;margin:8px 0}"
    "svg .grid{stroke:#eee}svg .axis{stroke:#333}svg .tick{font-size:11px;fill:#444}"
    "svg .ctitle{font-size:14px;font-weight:600;fill:#222}svg .alabel{font-size:12px;fill:#444}"
    "nav a{margin-right:16px}ol{padding-left:22px;margin:4px 0}li{margin:1px 0}";

int mr_report_write(const char *workdir, int n_examples, unsigned long long seed)
{
    char *path = wpath(workdir, "results/report.html");
    if (!path) return MR_ENOMEM;
    mr_afile a;
    int rc = mr_afile_open(&a, path);
    free(path);
    if (rc) return rc;
    FILE *f = a.f;
    time_t now = time(NULL);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
               "<meta name='viewport' content='width=device-width,initial-scale=1'>"
               "<title>musrec report</title><style>%s</style></head><body>\n", css);
    fputs("<h1>musrec report</h1>\n<p class='sub'>Work directory <code>", f);
    h(f, workdir);
    fprintf(f, "</code>, generated %s.</p>\n<nav><a href='#overview'>Data overview</a><a href='#eda'>Exploratory analysis</a><a href='#results'>Results</a></nav>\n", ts);

    mr_items items = {0};
    char *ip = wpath(workdir, "data/preprocessed/items.parquet");
    int have_items = ip && mr_file_exists(ip) && mr_items_read(ip, &items) == 0;
    free(ip);
    event_stats st = {0};
    int have_events = scan_events(workdir, have_items ? items.n : 0, &st) == 0 && have_items;

    fputs("<section id='overview'><h2>Data overview</h2>\n", f);
    overview_files(f, workdir);
    if (have_events) {
        fputs("<p>Events cover ", f);
        put_day(f, st.day_min);
        fputs(" .. ", f);
        put_day(f, st.day_max);
        fputs(" (", f);
        put_count(f, st.n_events);
        fputs(" events after preprocessing).</p>\n", f);
    }
    overview_empty_lists(f, workdir);
    log_table(f, workdir, "preprocess", "Preprocessing: what was kept and dropped");
    overview_split(f, workdir);
    fputs("</section>\n<div id='eda'></div>\n", f);
    eda(f, workdir, &items, have_items, &st, have_events);
    fputs("<section id='results'><h2>Results</h2>\n", f);
    results_comparison(f, workdir);
    results_als_loss(f, workdir);
    results_importance(f, workdir);
    if (have_items) results_examples(f, workdir, &items, n_examples, seed);
    fputs("</section>\n</body></html>\n", f);
    free(st.listens);
    if (have_items) mr_items_free(&items);
    return mr_afile_commit(&a);
}
