/* stats.c: the DAG_STATS=1 summary printed when the runtime drains: tasks by label
 * (count, total, mean, where they ran), per-worker busy fraction, the critical path
 * (longest chain of task durations along dependency edges) against wall time, bytes
 * moved, and time spent in the runtime itself. Runs once, after the drain: may allocate.
 * Nested tasks count inside their parent's duration too; the critical path follows
 * dependency edges among siblings only (a parent's duration covers its children). */
#include <stdlib.h>
#include <string.h>

#include "obs.h"
#include "../core/hooks.h"

uint64_t graph_critical_path(const struct graph *g, long *path, size_t cap, size_t *npath)
{
    size_t n = g->nrec;
    if (npath)
        *npath = 0;
    if (!n)
        return 0;
    uint32_t *indeg = calloc(n, sizeof *indeg);
    size_t *start = calloc(n + 1, sizeof *start);
    long *adj = malloc(sizeof *adj * (g->nedge ? g->nedge : 1));
    long *src = malloc(sizeof *src * (g->nedge ? g->nedge : 1));
    uint64_t *dist = malloc(sizeof *dist * n);
    long *from = malloc(sizeof *from * n);
    long *queue = malloc(sizeof *queue * n);
    uint64_t best = 0;
    if (!indeg || !start || !adj || !src || !dist || !from || !queue)
        goto out;
    /* CSR adjacency from the edges whose ends are both known */
    for (size_t e = 0; e < g->nedge; e++) {
        long a = graph_find(g, g->edge[e].pred), b = graph_find(g, g->edge[e].succ);
        src[e] = a >= 0 && b >= 0 ? a : -1;
        adj[e] = b;
        if (src[e] >= 0) {
            start[a + 1]++;
            indeg[b]++;
        }
    }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    long *succ = malloc(sizeof *succ * (g->nedge ? g->nedge : 1));
    size_t *fill = malloc(sizeof *fill * n);
    if (!succ || !fill) {
        free(succ);
        free(fill);
        goto out;
    }
    memcpy(fill, start, sizeof *fill * n);
    for (size_t e = 0; e < g->nedge; e++)
        if (src[e] >= 0)
            succ[fill[src[e]]++] = adj[e];
    free(fill);
    /* Kahn's order; dist[v] = duration(v) + max dist over its predecessors */
    size_t qh = 0, qt = 0;
    for (size_t i = 0; i < n; i++) {
        const struct orec *r = &g->rec[i];
        dist[i] = r->kind == REC_TASK ? r->t1 - r->t0 : 0;
        from[i] = -1;
        if (!indeg[i])
            queue[qt++] = (long)i;
    }
    long arg = -1;
    while (qh < qt) {
        long u = queue[qh++];
        if (dist[u] > best || arg < 0) {
            best = dist[u];
            arg = u;
        }
        for (size_t k = start[u]; k < start[u + 1]; k++) {
            long v = succ[k];
            const struct orec *r = &g->rec[v];
            uint64_t d = dist[u] + (r->kind == REC_TASK ? r->t1 - r->t0 : 0);
            if (from[v] < 0 || d > dist[v]) {
                dist[v] = d;
                from[v] = u;
            }
            if (--indeg[v] == 0)
                queue[qt++] = v;
        }
    }
    free(succ);
    if (path && npath && arg >= 0) {
        size_t len = 0;
        for (long v = arg; v >= 0; v = from[v])
            len++;
        size_t k = len < cap ? len : cap;
        /* keep the last `cap` tasks of the path, in order */
        long v = arg;
        for (size_t i = len; i > 0; i--, v = from[v])
            if (i > len - k)
                path[i - (len - k) - 1] = v;
        *npath = k;
    }
out:
    free(indeg);
    free(start);
    free(adj);
    free(src);
    free(dist);
    free(from);
    free(queue);
    return best;
}

struct row {
    const char *label, *file;
    int line;
    uint64_t count, total, max;
    uint64_t cancelled;
    uint32_t *lanes; /* tasks per lane, nlanes + 1 (the last: other lanes) */
};

static int cmp_total(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

static void fmt_bytes(char *buf, size_t size, uint64_t b)
{
    if (b >= 1ull << 30)
        snprintf(buf, size, "%.2f GiB", (double)b / (1ull << 30));
    else if (b >= 1ull << 20)
        snprintf(buf, size, "%.2f MiB", (double)b / (1ull << 20));
    else if (b >= 1ull << 10)
        snprintf(buf, size, "%.2f KiB", (double)b / (1ull << 10));
    else
        snprintf(buf, size, "%llu B", (unsigned long long)b);
}

void stats_print(const struct graph *g, FILE *out)
{
    int nl = obs.nthreads;
    size_t cap = 64, nrows = 0;
    struct row *rows = calloc(cap, sizeof *rows);
    uint64_t ntasks = 0, work = 0, first = UINT64_MAX, last = 0, xfer[5] = {0};
    if (!rows)
        return;
    for (size_t i = 0; i < g->nrec; i++) {
        const struct orec *r = &g->rec[i];
        if (r->kind == REC_XFER) {
            xfer[r->line >= 0 && r->line < 5 ? r->line : 0] += r->id;
            continue;
        }
        if (r->kind == REC_SPAN)
            continue;
        /* rows are few: a linear search over distinct (label, file, line) is enough */
        size_t k = 0;
        while (k < nrows && !(rows[k].label == r->label && rows[k].file == r->file &&
                              rows[k].line == r->line))
            k++;
        if (k == nrows) {
            if (nrows == cap) {
                struct row *nr = realloc(rows, sizeof *rows * cap * 2);
                if (!nr)
                    break;
                rows = nr;
                memset(rows + cap, 0, sizeof *rows * cap);
                cap *= 2;
            }
            rows[k].label = r->label;
            rows[k].file = r->file;
            rows[k].line = r->line;
            rows[k].lanes = calloc((size_t)nl + 1, sizeof *rows[k].lanes);
            nrows++;
        }
        struct row *w = &rows[k];
        uint64_t d = r->t1 - r->t0;
        if (r->kind == REC_CANCEL) {
            w->cancelled++;
            continue;
        }
        w->count++;
        w->total += d;
        if (d > w->max)
            w->max = d;
        if (w->lanes)
            w->lanes[r->lane < nl ? r->lane : nl]++;
        ntasks++;
        work += d;
        if (r->t0 < first)
            first = r->t0;
        if (r->t1 > last)
            last = r->t1;
    }
    qsort(rows, nrows, sizeof *rows, cmp_total);
    double wall = (double)(g->t_end - g->t_begin) / 1e9;
    fprintf(out, "\ndagcc statistics (rank %d): %llu tasks on %d workers, wall %.3f s "
                 "(runtime start to drain)\n",
            obs.rank, (unsigned long long)ntasks, nl, wall);
    fprintf(out, "  %-40s %10s %11s %10s %10s  %s\n", "tasks by label", "count", "total ms",
            "mean us", "max us", "placement");
    for (size_t k = 0; k < nrows && k < 40; k++) {
        const struct row *w = &rows[k];
        char name[96], place[128] = "";
        const char *base = w->file ? strrchr(w->file, '/') : NULL;
        base = base ? base + 1 : w->file;
        if (w->label && base)
            snprintf(name, sizeof name, "%s (%s:%d)", w->label, base, w->line);
        else if (base)
            snprintf(name, sizeof name, "%s:%d", base, w->line);
        else
            snprintf(name, sizeof name, "%s", w->label ? w->label : "task");
        size_t pl = 0;
        for (int l = 0; w->lanes && l <= nl && w->count && pl < sizeof place - 24; l++)
            if (w->lanes[l])
                pl += (size_t)snprintf(place + pl, sizeof place - pl, "%s%s%d %.0f%%",
                                       pl ? " " : "", l < nl ? "w" : "other", l < nl ? l : 0,
                                       100.0 * w->lanes[l] / (double)w->count);
        fprintf(out, "  %-40.40s %10llu %11.3f %10.3f %10.3f  %s", name,
                (unsigned long long)w->count, (double)w->total / 1e6,
                w->count ? (double)w->total / (double)w->count / 1e3 : 0.0,
                (double)w->max / 1e3, place);
        if (w->cancelled)
            fprintf(out, " (%llu cancelled)", (unsigned long long)w->cancelled);
        fputc('\n', out);
    }
    if (nrows > 40)
        fprintf(out, "  ... %zu more labels\n", nrows - 40);

    /* workers: busy = top-level task bodies; the rest is sleep or the runtime itself
     * (queues, stealing, spinning, and on worker 0 the program between its calls) */
    uint64_t rt_ns = 0, alive_sum = 0;
    for (size_t i = 0; g->threads && i < g->nthreads; i++) {
        const struct obs_thread_stats *t = &g->threads[i];
        if (!t->alive_ns)
            continue;
        uint64_t other = t->alive_ns > t->busy_ns + t->sleep_ns
                             ? t->alive_ns - t->busy_ns - t->sleep_ns : 0;
        fprintf(out, "  %s %-3d busy %5.1f%%  asleep %5.1f%%  runtime/idle spin %5.1f%%%s\n",
                t->lane < nl ? "worker" : "thread", t->lane,
                100.0 * (double)t->busy_ns / (double)t->alive_ns,
                100.0 * (double)t->sleep_ns / (double)t->alive_ns,
                100.0 * (double)other / (double)t->alive_ns,
                t->lane == 0 ? " (includes the program outside tasks)" : "");
        if (t->lane != 0) {
            rt_ns += other;
            alive_sum += t->alive_ns;
        }
    }
    if (alive_sum)
        fprintf(out, "  time in the runtime (workers 1..n: scheduling, stealing, spinning): "
                     "%.3f s, %.1f%% of their time\n",
                (double)rt_ns / 1e9, 100.0 * (double)rt_ns / (double)alive_sum);

    long path[8];
    size_t np = 0;
    uint64_t cp = graph_critical_path(g, path, 8, &np);
    double span = last > first ? (double)(last - first) : 0;
    if (ntasks) {
        fprintf(out, "  critical path %.3f ms = %.1f%% of the %.3f ms from first task start to "
                     "last task end; work %.3f ms, parallelism (work/critical path) %.2f\n",
                (double)cp / 1e6, span > 0 ? 100.0 * (double)cp / span : 0.0, span / 1e6,
                (double)work / 1e6, cp ? (double)work / (double)cp : 0.0);
        if (np) {
            fputs("  critical path ends with:", out);
            for (size_t i = 0; i < np; i++) {
                char buf[128];
                fprintf(out, "%s %s", i ? " ->" : "", rec_name(&g->rec[path[i]], buf, sizeof buf));
            }
            fputc('\n', out);
        }
    }
    if (xfer[0] || xfer[1] || xfer[2] || xfer[3] || xfer[4]) {
        char a[32], b[32], c[32], d[32], e[32];
        fmt_bytes(a, sizeof a, xfer[HOOK_XFER_H2D]);
        fmt_bytes(b, sizeof b, xfer[HOOK_XFER_D2H]);
        fmt_bytes(c, sizeof c, xfer[HOOK_XFER_D2D]);
        fmt_bytes(d, sizeof d, xfer[HOOK_XFER_SEND]);
        fmt_bytes(e, sizeof e, xfer[HOOK_XFER_RECV]);
        fprintf(out, "  bytes moved: host->device %s, device->host %s, device->device %s, "
                     "sent to ranks %s, received %s\n", a, b, c, d, e);
    } else {
        fputs("  bytes moved: none (host only)\n", out);
    }
    if (g->dropped)
        fprintf(out, "  warning: %zu records lost (out of memory)\n", g->dropped);
    for (size_t k = 0; k < nrows; k++)
        free(rows[k].lanes);
    free(rows);
}
