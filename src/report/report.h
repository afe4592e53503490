/* The HTML report that replaces the reference pipeline's notebooks: data
 * overview, EDA and results in one self-contained file (inline CSS and SVG,
 * no JavaScript, no network). It reads whatever the earlier steps left in
 * the work directory; a section whose inputs are missing says so instead of
 * failing, so the report is useful after a partial run too. */
#ifndef MR_REPORT_H
#define MR_REPORT_H

/* Writes workdir/results/report.html atomically. */
int mr_report_write(const char *workdir, int n_examples, unsigned long long seed);

#endif
