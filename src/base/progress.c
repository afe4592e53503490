#include "base/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "base/log.h"

static int bars_on = 1;

void mr_progress_enable(int on) { bars_on = on; }

static void fmt_count(char *buf, size_t n, double v, const char *unit)
{
    const char *suf[] = {"", "k", "M", "G", "T"};
    double base = unit[0] == 'B' ? 1024.0 : 1000.0;
    int i = 0;
    while (v >= base && i < 4) {
        v /= base;
        i++;
    }
    snprintf(buf, n, i ? "%.1f%s%s" : "%.0f%s%s", v, suf[i], unit);
}

static void draw(mr_progress *p, int final)
{
    double now = mr_now(), el = now - p->start;
    int64_t done = __atomic_load_n(&p->done, __ATOMIC_RELAXED);
    char d[32], t[32], r[32];
    fmt_count(d, sizeof d, (double)done, p->unit);
    fmt_count(r, sizeof r, el > 0 ? done / el : 0, p->unit);
    if (p->total > 0) {
        double frac = (double)done / (double)p->total;
        if (frac > 1) frac = 1;
        char bar[21];
        int fill = (int)(frac * 20);
        for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
        bar[20] = 0;
        fmt_count(t, sizeof t, (double)p->total, p->unit);
        double eta = done > 0 ? el * (p->total - done) / done : 0;
        fprintf(stderr, "\r%s  [%s] %3.0f%%  %s/%s  %s/s  %s %.0fs   ", p->label, bar, frac * 100, d,
                t, r, final ? "in" : "ETA", final ? el : eta);
    } else {
        fprintf(stderr, "\r%s  %s  %s/s  %.0fs   ", p->label, d, r, el);
    }
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

void mr_progress_start(mr_progress *p, const char *label, int64_t total, const char *unit)
{
    p->label = label;
    p->unit = unit ? unit : "";
    p->total = total;
    p->done = 0;
    p->start = p->last_draw = mr_now();
    p->active = bars_on && isatty(2);
}

void mr_progress_add(mr_progress *p, int64_t n)
{
    __atomic_add_fetch(&p->done, n, __ATOMIC_RELAXED);
    if (!p->active) return;
    double now = mr_now();
    if (now - p->last_draw < 0.1) return;
#pragma omp critical(mr_progress_draw)
    {
        if (now - p->last_draw >= 0.1) {
            p->last_draw = now;
            draw(p, 0);
        }
    }
}

void mr_progress_end(mr_progress *p)
{
    if (p->active) draw(p, 1);
    p->active = 0;
}
