#include "report/svg.h"

#include <math.h>
#include <string.h>

static const char *palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

void mr_html_text(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(s[i], f);
        }
    }
}

static void text_attr(FILE *f, const char *s)
{
    if (s) mr_html_text(f, s, strlen(s));
}

typedef struct {
    double lo, hi; /* data range, in axis units (log10 already applied for log) */
    int log;
    double p0, p1; /* pixel range */
} axis;

static double ax_pos(const axis *a, double v)
{
    double u = a->log ? log10(v) : v;
    double span = a->hi - a->lo;
    if (span <= 0) span = 1;
    return a->p0 + (u - a->lo) / span * (a->p1 - a->p0);
}

static double nice_step(double span, int target)
{
    double raw = span / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void fmt_num(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (a >= 1e9) snprintf(buf, n, "%.3gG", v / 1e9);
    else if (a >= 1e6) snprintf(buf, n, "%.3gM", v / 1e6);
    else if (a >= 1e4) snprintf(buf, n, "%.3gk", v / 1e3);
    else if (v == floor(v)) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.3g", v);
}

/* Sets up an axis over [lo, hi] (data units), widened to nice bounds. */
static void ax_init(axis *a, double lo, double hi, int log, double p0, double p1, int from_zero)
{
    a->log = log;
    a->p0 = p0;
    a->p1 = p1;
    if (log) {
        if (lo <= 0) lo = hi > 0 ? hi / 10 : 1;
        if (hi <= 0) hi = 1;
        a->lo = floor(log10(lo));
        a->hi = ceil(log10(hi));
        if (a->hi <= a->lo) a->hi = a->lo + 1;
        return;
    }
    if (from_zero && lo > 0) lo = 0;
    if (hi <= lo) hi = lo + 1;
    double st = nice_step(hi - lo, 5);
    a->lo = floor(lo / st) * st;
    a->hi = ceil(hi / st) * st;
}

/* Draws ticks and grid lines of a value axis (vertical if y). */
static void ax_ticks(FILE *f, const axis *a, int y, double other0, double other1)
{
    char buf[32];
    if (a->log) {
        for (double e = a->lo; e <= a->hi + 1e-9; e++) {
            double p = a->p0 + (e - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
            fmt_num(buf, sizeof buf, pow(10, e));
            if (y)
                fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/><text x='%.1f' y='%.1f' class='tick' text-anchor='end'>%s</text>\n",
                        other0, p, other1, p, other0 - 4, p + 4, buf);
            else
                fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/><text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>%s</text>\n",
                        p, other0, p, other1, p, other0 + 16, buf);
        }
        return;
    }
    double st = nice_step(a->hi - a->lo, 5);
    for (double v = a->lo; v <= a->hi + st * 1e-6; v += st) {
        double p = ax_pos(a, v);
        fmt_num(buf, sizeof buf, fabs(v) < st * 1e-9 ? 0 : v);
        if (y)
            fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/><text x='%.1f' y='%.1f' class='tick' text-anchor='end'>%s</text>\n",
                    other0, p, other1, p, other0 - 4, p + 4, buf);
        else
            fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/><text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>%s</text>\n",
                    p, other0, p, other1, p, other0 + 16, buf);
    }
}

typedef struct {
    double w, h, left, right, top, bottom;
} frame;

static frame open_svg(FILE *f, const mr_chart *c)
{
    frame fr = {c->width ? c->width : 640, c->height ? c->height : 320, 64, 16, 32, 0};
    fr.bottom = fr.h - 48;
    fr.right = fr.w - 16;
    fprintf(f, "<svg class='chart' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img'><title>",
            fr.w, fr.h, fr.w, fr.h);
    text_attr(f, c->title);
    fprintf(f, "</title>\n<text x='%.1f' y='18' class='ctitle'>", fr.left);
    text_attr(f, c->title);
    fprintf(f, "</text>\n");
    if (c->xlabel) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='alabel' text-anchor='middle'>", (fr.left + fr.right) / 2, fr.h - 8);
        text_attr(f, c->xlabel);
        fprintf(f, "</text>\n");
    }
    if (c->ylabel) {
        fprintf(f, "<text transform='translate(14 %.1f) rotate(-90)' class='alabel' text-anchor='middle'>", (fr.top + fr.bottom) / 2);
        text_attr(f, c->ylabel);
        fprintf(f, "</text>\n");
    }
    return fr;
}

static void close_svg(FILE *f, const frame *fr)
{
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='axis'/>\n", fr->left, fr->bottom, fr->right, fr->bottom);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='axis'/>\n</svg>\n", fr->left, fr->top, fr->left, fr->bottom);
}

static void minmax(const double *v, int n, int log, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i]) || (log && v[i] <= 0)) continue;
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
    if (*lo > *hi) *lo = *hi = log ? 1 : 0;
}

void mr_svg_bars(FILE *f, const mr_chart *c, const char *const *labels, const double *x,
                 const double *values, int n)
{
    frame fr = open_svg(f, c);
    double lo, hi;
    minmax(values, n, c->logy, &lo, &hi);
    axis ay;
    ax_init(&ay, c->logy ? lo : 0, hi, c->logy, fr.bottom, fr.top, 1);
    ax_ticks(f, &ay, 1, fr.left, fr.right);
    double base = c->logy ? fr.bottom : ax_pos(&ay, 0);
    if (labels || !x) {
        double slot = (fr.right - fr.left) / (n > 0 ? n : 1);
        for (int i = 0; i < n; i++) {
            double v = values[i];
            double top = (c->logy && v <= 0) ? base : ax_pos(&ay, v);
            double x0 = fr.left + i * slot + slot * 0.1;
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>", x0,
                    top < base ? top : base, slot * 0.8, fabs(base - top), palette[0]);
            if (labels) text_attr(f, labels[i]);
            fprintf(f, ": %.6g</title></rect>\n", v);
            if (labels && n <= 24) {
                fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='end' transform='rotate(-35 %.1f %.1f)'>",
                        x0 + slot * 0.4, fr.bottom + 14, x0 + slot * 0.4, fr.bottom + 14);
                text_attr(f, labels[i]);
                fprintf(f, "</text>\n");
            }
        }
    } else {
        double xlo, xhi;
        minmax(x, n + 1, c->logx, &xlo, &xhi);
        axis ax;
        ax_init(&ax, xlo, xhi, c->logx, fr.left, fr.right, 0);
        ax_ticks(f, &ax, 0, fr.bottom, fr.top);
        for (int i = 0; i < n; i++) {
            if (c->logx && x[i] <= 0) continue;
            double v = values[i];
            if (c->logy && v <= 0) continue;
            double x0 = ax_pos(&ax, x[i]), x1 = ax_pos(&ax, x[i + 1]), top = ax_pos(&ay, v);
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>[%.6g, %.6g): %.6g</title></rect>\n",
                    x0, top, x1 - x0 > 1 ? x1 - x0 - 0.5 : 0.5, base - top, palette[0], x[i], x[i + 1], v);
        }
    }
    close_svg(f, &fr);
}

void mr_svg_grouped_bars(FILE *f, const mr_chart *c, const char *const *groups, int n_groups,
                         const char *const *series, int n_series, const double *values)
{
    frame fr = open_svg(f, c);
    double lo, hi;
    minmax(values, n_groups * n_series, c->logy, &lo, &hi);
    axis ay;
    ax_init(&ay, c->logy ? lo : 0, hi, c->logy, fr.bottom, fr.top, 1);
    ax_ticks(f, &ay, 1, fr.left, fr.right);
    double base = c->logy ? fr.bottom : ax_pos(&ay, 0);
    double slot = (fr.right - fr.left) / (n_groups > 0 ? n_groups : 1);
    double bw = slot * 0.8 / (n_series > 0 ? n_series : 1);
    for (int g = 0; g < n_groups; g++) {
        for (int s = 0; s < n_series; s++) {
            double v = values[s * n_groups + g];
            if (!isfinite(v) || (c->logy && v <= 0)) continue;
            double top = ax_pos(&ay, v), x0 = fr.left + g * slot + slot * 0.1 + s * bw;
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>", x0,
                    top < base ? top : base, bw * 0.92, fabs(base - top), palette[s % 10]);
            text_attr(f, series[s]);
            fputs(" @ ", f);
            text_attr(f, groups[g]);
            fprintf(f, ": %.6g</title></rect>\n", v);
        }
        fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>", fr.left + g * slot + slot / 2, fr.bottom + 16);
        text_attr(f, groups[g]);
        fprintf(f, "</text>\n");
    }
    for (int s = 0; s < n_series; s++) {
        double lx = fr.right - 120, ly = fr.top + 4 + s * 16;
        fprintf(f, "<rect x='%.1f' y='%.1f' width='10' height='10' fill='%s'/><text x='%.1f' y='%.1f' class='tick'>",
                lx, ly, palette[s % 10], lx + 14, ly + 9);
        text_attr(f, series[s]);
        fprintf(f, "</text>\n");
    }
    close_svg(f, &fr);
}

void mr_svg_line(FILE *f, const mr_chart *c, const double *x, const double *y, int n)
{
    frame fr = open_svg(f, c);
    double xlo, xhi, ylo, yhi;
    minmax(x, n, c->logx, &xlo, &xhi);
    minmax(y, n, c->logy, &ylo, &yhi);
    axis ax, ay;
    ax_init(&ax, xlo, xhi, c->logx, fr.left, fr.right, 0);
    ax_init(&ay, ylo, yhi, c->logy, fr.bottom, fr.top, 0);
    ax_ticks(f, &ax, 0, fr.bottom, fr.top);
    ax_ticks(f, &ay, 1, fr.left, fr.right);
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", palette[0]);
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        if ((c->logx && x[i] <= 0) || (c->logy && y[i] <= 0)) continue;
        fprintf(f, "%.1f,%.1f ", ax_pos(&ax, x[i]), ax_pos(&ay, y[i]));
    }
    fprintf(f, "'/>\n");
    if (n <= 40)
        for (int i = 0; i < n; i++) {
            if ((c->logx && x[i] <= 0) || (c->logy && y[i] <= 0) || !isfinite(y[i])) continue;
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'><title>%.6g: %.6g</title></circle>\n",
                    ax_pos(&ax, x[i]), ax_pos(&ay, y[i]), palette[0], x[i], y[i]);
        }
    close_svg(f, &fr);
}
