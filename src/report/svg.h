/* Inline SVG charts for the HTML report: no JavaScript, no network, readable
 * as they are in any browser. Each function writes one <svg> element.
 *
 * Axes are linear or log10 (log axes skip values <= 0). Ticks are "nice"
 * numbers (1, 2, 5 x 10^k) on linear axes and powers of ten on log axes.
 */
#ifndef MR_SVG_H
#define MR_SVG_H

#include <stdio.h>

typedef struct {
    const char *title;
    const char *xlabel, *ylabel;
    int logx, logy;
    int width, height; /* pixels; 0 = 640 x 320 */
} mr_chart;

/* One bar per label (labels may be NULL for numeric bins: x[] then gives the
 * left edge of each bin and x[n] the right edge of the last). */
void mr_svg_bars(FILE *f, const mr_chart *c, const char *const *labels, const double *x,
                 const double *values, int n);

/* Grouped bars: n_groups groups (e.g. K) of n_series bars (e.g. models);
 * values[s * n_groups + g]. A legend names the series. */
void mr_svg_grouped_bars(FILE *f, const mr_chart *c, const char *const *groups, int n_groups,
                         const char *const *series, int n_series, const double *values);

/* A line through (x[i], y[i]); points with non-positive values are skipped
 * on log axes. */
void mr_svg_line(FILE *f, const mr_chart *c, const double *x, const double *y, int n);

/* Escapes text for HTML element content and attribute values. */
void mr_html_text(FILE *f, const char *s, size_t len);

#endif
