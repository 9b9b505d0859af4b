/* probe.c: builds the pass-2 buffer. Each translated pragma is replaced, on its own lines,
 * by C that libclang can check: `for (<clause expressions>; 0; )` in front of the
 * statement it applies to, or a probe function for function tasks. Pass 2 then yields
 * typed ASTs for clause expressions and the statements that pragmas apply to. */
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static void add_seg(tr_ctx *c, unsigned p2b, int kind, unsigned orig, int pragma,
                    unsigned src)
{
    if (c->p2.n == p2b)
        return;
    tr_seg s = {p2b, (unsigned)c->p2.n, kind, orig, pragma, src};
    VEC_PUSH(c->segs, c->nsegs, c->csegs, s);
}

static void copy_orig(tr_ctx *c, unsigned b, unsigned e)
{
    unsigned start = (unsigned)c->p2.n;
    sb_putn(&c->p2, c->src + b, e - b);
    add_seg(c, start, 0, b, 0, 0);
}

static void glue(tr_ctx *c, int pi, const char *s)
{
    unsigned start = (unsigned)c->p2.n;
    sb_puts(&c->p2, s);
    add_seg(c, start, 2, c->pragmas[pi].in_header ? 0 : c->pragmas[pi].b, pi, 0);
}

static void piece(tr_ctx *c, int pi, pr_span s)
{
    tr_pragma *p = &c->pragmas[pi];
    unsigned start = (unsigned)c->p2.n;
    sb_putn(&c->p2, p->text + s.b, s.e - s.b);
    add_seg(c, start, 1, 0, pi, s.b);
    tr_piece pc;
    memset(&pc, 0, sizeof pc);
    pc.src = s;
    pc.p2b = start;
    pc.p2e = (unsigned)c->p2.n;
    p->pieces = xrealloc(p->pieces, (p->npieces + 1) * sizeof *p->pieces);
    p->pieces[p->npieces++] = pc;
}

tr_piece *piece_of(tr_pragma *p, pr_span s)
{
    for (unsigned i = 0; i < p->npieces; i++)
        if (p->pieces[i].src.b == s.b && p->pieces[i].src.e == s.e)
            return &p->pieces[i];
    return NULL;
}

/* Writes the probe expressions of the items of a depend/checkpoint clause, n of them
 * written before; returns the new count. */
static int probe_dep_items(tr_ctx *c, int pi, const pr_clause *cl, int n)
{
    tr_pragma *p = &c->pragmas[pi];
    for (unsigned j = 0; j < cl->nitems; j++) {
        const pr_item *it = &cl->items[j];
        if (!it->ndims && it->text.e - it->text.b == 14 &&
            memcmp(p->text + it->text.b, "omp_all_memory", 14) == 0) {
            glue(c, pi, n++ ? ", (void)0" : "(void)0"); /* no object */
            continue;
        }
        glue(c, pi, n++ ? ", (void)&(" : "(void)&(");
        piece(c, pi, it->ndims ? it->base : it->text);
        glue(c, pi, ")");
        for (unsigned d = 0; d < it->ndims; d++) {
            glue(c, pi, "[");
            if (it->dims[d].lo.e > it->dims[d].lo.b)
                piece(c, pi, it->dims[d].lo);
            else
                glue(c, pi, "0");
            glue(c, pi, "]");
        }
        for (unsigned d = 0; d < it->ndims; d++)
            if (it->dims[d].is_section && it->dims[d].len.e > it->dims[d].len.b) {
                glue(c, pi, ", (void)(");
                piece(c, pi, it->dims[d].len);
                glue(c, pi, ")");
            }
    }
    return n;
}

/* Writes the comma-separated probe expressions of pragma pi; returns how many. */
static int probe_items(tr_ctx *c, int pi, int n)
{
    tr_pragma *p = &c->pragmas[pi];
    for (unsigned k = 0; k < p->dir.nclauses; k++) {
        const pr_clause *cl = &p->dir.clauses[k];
        switch (cl->kind) {
        case PC_DEPEND:
        case PC_CHECKPOINT:
        case PC_AFFINITY: /* a placement hint: items like depend's */
            if (!cl->niters) {
                n = probe_dep_items(c, pi, cl, n);
                break;
            }
            /* the iterators are declared around their items */
            glue(c, pi, n++ ? ", __extension__({ " : "__extension__({ ");
            for (unsigned t = 0; t < cl->niters; t++) {
                const pr_iter *it = &cl->iters[t];
                if (it->type.e > it->type.b)
                    piece(c, pi, it->type);
                else
                    glue(c, pi, "int");
                glue(c, pi, " ");
                piece(c, pi, it->name);
                glue(c, pi, " = (");
                piece(c, pi, it->begin);
                glue(c, pi, "); (void)(");
                piece(c, pi, it->end);
                glue(c, pi, "); ");
                if (it->step.e > it->step.b) {
                    glue(c, pi, "(void)(");
                    piece(c, pi, it->step);
                    glue(c, pi, "); ");
                }
                glue(c, pi, "(void)");
                piece(c, pi, it->name);
                glue(c, pi, "; ");
            }
            probe_dep_items(c, pi, cl, 0);
            glue(c, pi, "; 0; })");
            break;
        case PC_SHARED:
        case PC_PRIVATE:
        case PC_FIRSTPRIVATE:
        case PC_REDUCTION:
        case PC_IN_REDUCTION:
        case PC_TASK_REDUCTION:
            for (unsigned j = 0; j < cl->nitems; j++) {
                glue(c, pi, n++ ? ", (void)sizeof(" : "(void)sizeof(");
                piece(c, pi, cl->items[j].text);
                glue(c, pi, ")");
            }
            break;
        case PC_IF: case PC_FINAL: case PC_PRIORITY: case PC_NODE: case PC_GRAINSIZE:
        case PC_NUM_TASKS: case PC_COLLAPSE: case PC_NUM_THREADS: case PC_FILTER:
        case PC_DETACH: case PC_VARIANT: case PC_RETRY: case PC_DEVICE:
            if (cl->expr.e == cl->expr.b) /* device(any|cpu|cuda) */
                break;
            glue(c, pi, n++ ? ", (void)(" : "(void)(");
            piece(c, pi, cl->expr);
            glue(c, pi, ")");
            break;
        case PC_STATUS: /* a modifiable lvalue (its type: clauses.c) */
            glue(c, pi, n++ ? ", (void)((" : "(void)((");
            piece(c, pi, cl->expr);
            glue(c, pi, ") = 0)");
            break;
        default:
            break;
        }
    }
    return n;
}

static unsigned count_nl(const char *s, unsigned b, unsigned e)
{
    unsigned n = 0;
    for (unsigned i = b; i < e; i++)
        n += s[i] == '\n';
    return n;
}

static void stmt_probe(tr_ctx *c, int pi)
{
    tr_pragma *p = &c->pragmas[pi];
    unsigned start = (unsigned)c->p2.n;
    pr_kind k = p->dir.kind;
    if (k == PK_TASKWAIT || k == PK_TASKYIELD || k == PK_DEPOBJ) {
        glue(c, pi, "(void)(");
        if (k == PK_DEPOBJ) {
            glue(c, pi, "(void)&(");
            piece(c, pi, p->dir.arg);
            glue(c, pi, ")");
        }
        if (!probe_items(c, pi, k == PK_DEPOBJ) && k != PK_DEPOBJ)
            glue(c, pi, "0");
        glue(c, pi, ");");
    } else {
        glue(c, pi, "for (");
        probe_items(c, pi, 0);
        glue(c, pi, "; 0; )");
    }
    unsigned want = count_nl(c->src, p->b, p->e);
    unsigned have = count_nl(c->p2.s, start, (unsigned)c->p2.n);
    for (unsigned i = have; i < want; i++)
        glue(c, pi, "\n");
}

static void probe_function(tr_ctx *c, int pi)
{
    tr_pragma *p = &c->pragmas[pi];
    strbuf h = {0};
    sb_printf(&h, "static void __dagcc_probe_%d(", pi);
    for (unsigned i = 0; i < p->nparams; i++)
        sb_printf(&h, "%s__typeof__(%s) %s", i ? ", " : "", p->params[i].type,
                  p->params[i].name);
    if (!p->nparams)
        sb_puts(&h, "void");
    sb_puts(&h, ") { ");
    p->p2b = (unsigned)c->p2.n;
    glue(c, pi, sb_str(&h));
    if (probe_items(c, pi, 0))
        glue(c, pi, ";");
    glue(c, pi, " }\n");
    p->p2e = (unsigned)c->p2.n;
    p->probe_fn = 1;
    sb_free(&h);
}

void build_pass2(tr_ctx *c)
{
    unsigned last = 0;
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (p->in_header || !p->translate || p->status)
            continue;
        copy_orig(c, last, p->b);
        p->p2b = (unsigned)c->p2.n;
        if (p->file_scope) {
            /* Blank the pragma, keeping its lines. */
            unsigned nl = count_nl(c->src, p->b, p->e);
            glue(c, (int)i, " ");
            for (unsigned k = 0; k < nl; k++)
                glue(c, (int)i, "\n");
        } else {
            stmt_probe(c, (int)i);
        }
        p->p2e = (unsigned)c->p2.n;
        last = p->e;
    }
    copy_orig(c, last, (unsigned)c->srclen);
    c->p2_main_end = (unsigned)c->p2.n;
    int any = 0;
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (!p->translate || p->status || !p->file_scope || !p->fname)
            continue;
        if (!any++) {
            unsigned start = (unsigned)c->p2.n;
            sb_puts(&c->p2, "\n");
            add_seg(c, start, 2, (unsigned)c->srclen, (int)i, 0);
        }
        unsigned keep_b = p->p2b, keep_e = p->p2e;
        probe_function(c, (int)i);
        if (!p->in_header) { /* emission replaces the blanked pragma, not the probe */
            p->p2b = keep_b;
            p->p2e = keep_e;
        }
    }
}
