/* dot.c: writes the run's task graph for GraphViz (DAG_DOT): one node per task that
 * ran or was cancelled, labelled with its label, source line, kind (undeferred, final,
 * mutexinoutset member, ...) and placement (worker or device lane), coloured by label,
 * inside one cluster per rank; one edge per dependency. Tasks run inline (without a
 * descriptor) have no edges and are left out to keep large graphs readable. */
#include <string.h>

#include "obs.h"

static void dot_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
}

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

dag_status_t dot_write(const struct graph *g, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return DAG_ERR_IO;
    fprintf(f, "// dagcc task graph (DAG_DOT): dot -Tsvg %s -o graph.svg\n", path);
    fprintf(f, "digraph dag {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", "
               "fontname=\"Helvetica\", fontsize=10];\n");
    fprintf(f, "  subgraph cluster_rank%d {\n    label=\"rank %d\";\n", obs.rank, obs.rank);
    for (size_t i = 0; i < g->nrec; i++) {
        const struct orec *r = &g->rec[i];
        if ((r->kind != REC_TASK && r->kind != REC_CANCEL) || (r->flags & RF_INLINE))
            continue;
        char buf[256];
        const char *name = rec_name(r, buf, sizeof buf);
        fprintf(f, "    t%llx [label=\"", (unsigned long long)r->id);
        dot_escape(f, name);
        if (r->file && r->label) {
            const char *base = strrchr(r->file, '/');
            fputs("\\n", f);
            dot_escape(f, base ? base + 1 : r->file);
            fprintf(f, ":%d", r->line);
        }
        if (r->flags & RF_UNDEFERRED)
            fputs("\\nundeferred", f);
        if (r->flags & RF_FINAL)
            fputs("\\nfinal", f);
        if (r->flags & RF_MUTEX)
            fputs("\\nmutexinoutset", f);
        if (r->flags & RF_DETACHABLE)
            fputs("\\ndetach", f);
        if (r->kind == REC_CANCEL)
            fputs("\\ncancelled", f);
        else
            fprintf(f, "\\n%s %u", r->lane < obs.nthreads ? "worker" : "thread", r->lane);
        unsigned h = hash_str(r->label ? r->label : r->file);
        const char *extra = r->kind == REC_CANCEL ? ", color=red, fontcolor=red"
                            : (r->flags & RF_FAILED) ? ", color=red, penwidth=2" : "";
        fprintf(f, "\", fillcolor=\"%.3f 0.35 0.95\"%s];\n", (h % 360) / 360.0, extra);
    }
    fputs("  }\n", f);
    for (size_t e = 0; e < g->nedge; e++)
        fprintf(f, "  t%llx -> t%llx;\n", (unsigned long long)g->edge[e].pred,
                (unsigned long long)g->edge[e].succ);
    fputs("}\n", f);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return DAG_ERR_IO;
    return DAG_OK;
}
