/* trace.c: writes the run's records as Chrome trace-event JSON (chrome://tracing, the
 * Perfetto UI): one process per rank, one thread lane per worker, CUDA stream or peer,
 * task slices named by label and source line, transfers as slices with their bytes, and
 * dependency edges as flow events.
 *
 * The layout is line-oriented so that per-rank files can be merged without a JSON
 * parser (dag-report --merge): line 1 is the header object with the rank, the clock and
 * t0_ns (the CLOCK_MONOTONIC time that ts 0 stands for) plus clock_offset_ns (to add to
 * reach rank 0's clock); then one event per line; the last line is "]}". Timestamps are
 * microseconds with nanosecond decimals; pid is the rank.
 */
#include <stdlib.h>
#include <string.h>

#include "obs.h"
#include "../core/hooks.h"

static const char *const xfer_names[] = {"H2D", "D2H", "D2D", "send", "recv"};

static void lane_name(int lane, char *buf, size_t size)
{
    const char *named = obs_lane_name_get(lane);
    if (named)
        snprintf(buf, size, "%s", named);
    else if (lane < obs.nthreads)
        snprintf(buf, size, lane ? "worker %d" : "worker %d (main)", lane);
    else if (lane >= OBS_LANE_COMM && lane < OBS_LANE_MAX)
        snprintf(buf, size, lane == OBS_LANE_COMM ? "comm" : "comm peer %d",
                 lane - OBS_LANE_COMM - 1);
    else if (lane >= OBS_LANE_DEVICE && lane < OBS_LANE_COMM) {
        int d = (lane - OBS_LANE_DEVICE) / 32, s = (lane - OBS_LANE_DEVICE) % 32;
        if (s >= 30)
            snprintf(buf, size, "cuda %d copy %s", d, s == 30 ? "H2D" : "D2H");
        else
            snprintf(buf, size, "cuda %d stream %d", d, s);
    } else if (lane == OBS_LANE_MAX)
        snprintf(buf, size, "other");
    else
        snprintf(buf, size, "thread %d", lane);
}

static inline double us(uint64_t t, uint64_t t0)
{
    return t >= t0 ? (double)(t - t0) / 1000.0 : -(double)(t0 - t) / 1000.0;
}

static void write_name(FILE *f, const struct orec *r)
{
    char buf[256];
    json_escape(f, rec_name(r, buf, sizeof buf));
    if (r->label && r->file) {
        const char *base = strrchr(r->file, '/');
        fputs(" (", f);
        json_escape(f, base ? base + 1 : r->file);
        fprintf(f, ":%d)", r->line);
    }
}

static void write_task(FILE *f, const struct orec *r, uint64_t t0)
{
    fprintf(f, "{\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":%u,\"name\":\"",
            us(r->t0, t0), (double)(r->t1 - r->t0) / 1000.0, obs.rank, r->lane);
    write_name(f, r);
    fprintf(f, "\",\"cat\":\"%s\",\"args\":{\"id\":\"0x%llx\"",
            r->kind == REC_SPAN ? "device" : "task", (unsigned long long)r->id);
    if (r->file) {
        fputs(",\"src\":\"", f);
        json_escape(f, r->file);
        fprintf(f, ":%d\"", r->line);
    }
    if (r->kind == REC_CANCEL)
        fputs(",\"cancelled\":true", f);
    else if (r->flags & RF_FAILED)
        fputs(",\"failed\":true", f);
    if (r->flags & RF_INLINE)
        fputs(",\"inline\":true", f);
    fputs("}},\n", f);
}

static void write_xfer(FILE *f, const struct orec *r, uint64_t t0)
{
    int k = r->line >= 0 && r->line < 5 ? r->line : 0;
    fprintf(f,
            "{\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":%u,\"name\":\"%s "
            "%llu B\",\"cat\":\"transfer\",\"args\":{\"bytes\":%llu,\"kind\":\"%s\"}},\n",
            us(r->t0, t0), (double)(r->t1 - r->t0) / 1000.0, obs.rank, r->lane, xfer_names[k],
            (unsigned long long)r->id, (unsigned long long)r->id, xfer_names[k]);
}

/* Flow arrows: "s" inside the producer's slice, "f" bound to the consumer's slice. */
static void write_flows(FILE *f, const struct graph *g, uint64_t t0)
{
    for (size_t e = 0; e < g->nedge; e++) {
        long a = graph_find(g, g->edge[e].pred), b = graph_find(g, g->edge[e].succ);
        if (a < 0 || b < 0)
            continue;
        const struct orec *p = &g->rec[a], *s = &g->rec[b];
        if (p->kind != REC_TASK || s->kind != REC_TASK)
            continue;
        unsigned long long id = ((unsigned long long)obs.rank << 40) | e;
        uint64_t ts = p->t1 > p->t0 ? p->t1 - 1 : p->t0;
        fprintf(f,
                "{\"ph\":\"s\",\"ts\":%.3f,\"pid\":%d,\"tid\":%u,\"name\":\"dep\",\"cat\":"
                "\"dep\",\"id\":\"0x%llx\"},\n",
                us(ts, t0), obs.rank, p->lane, id);
        fprintf(f,
                "{\"ph\":\"f\",\"bp\":\"e\",\"ts\":%.3f,\"pid\":%d,\"tid\":%u,\"name\":"
                "\"dep\",\"cat\":\"dep\",\"id\":\"0x%llx\"},\n",
                us(s->t0, t0), obs.rank, s->lane, id);
    }
}

dag_status_t trace_write(const struct graph *g, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return DAG_ERR_IO;
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    uint64_t t0 = g->t_begin;
    fprintf(f,
            "{\"otherData\":{\"generator\":\"dagcc %s\",\"format\":\"dagcc-trace-1\","
            "\"rank\":%d,\"nranks\":%d,\"clock\":\"CLOCK_MONOTONIC\",\"t0_ns\":%llu,"
            "\"clock_offset_ns\":%lld,\"wall_ns\":%llu,\"workers\":%d,\"dropped\":%zu},"
            "\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n",
            DAG_VERSION_STRING, obs.rank, obs.nranks, (unsigned long long)t0,
            (long long)obs.clock_offset_ns, (unsigned long long)(g->t_end - g->t_begin),
            obs.nthreads, g->dropped);
    fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"name\":\"process_name\",\"args\":"
               "{\"name\":\"rank %d\"}},\n",
            obs.rank, obs.rank);
    fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"name\":\"process_sort_index\",\"args\":"
               "{\"sort_index\":%d}},\n",
            obs.rank, obs.rank);
    /* name every lane that has an event, and every worker */
    unsigned char *seen = calloc(OBS_LANE_MAX + 1, 1);
    if (seen) {
        for (int i = 0; i < obs.nthreads && i <= OBS_LANE_MAX; i++)
            seen[i] = 1;
        for (size_t i = 0; i < g->nrec; i++)
            seen[g->rec[i].lane] = 1;
        for (int l = 0; l <= OBS_LANE_MAX; l++) {
            if (!seen[l])
                continue;
            char name[128];
            lane_name(l, name, sizeof name);
            fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":"
                       "{\"name\":\"",
                    obs.rank, l);
            json_escape(f, name);
            fputs("\"}},\n", f);
            fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_sort_index\","
                       "\"args\":{\"sort_index\":%d}},\n",
                    obs.rank, l, l);
        }
        free(seen);
    }
    for (size_t i = 0; i < g->nrec; i++) {
        const struct orec *r = &g->rec[i];
        if (r->kind == REC_XFER)
            write_xfer(f, r, t0);
        else
            write_task(f, r, t0);
    }
    write_flows(f, g, t0);
    /* a last event without a trailing comma keeps the array valid JSON */
    fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"name\":\"trace_end\",\"args\":{}}\n]}\n",
            obs.rank);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return DAG_ERR_IO;
    return DAG_OK;
}
