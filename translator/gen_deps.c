/* gen_deps.c: the dag_dep_t array of a task or taskwait: one entry per depend list item
 * (a whole object, a 1-D section, the hull of a section), or one per row of a
 * multi-dimensional section (dag pragmas), counted at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static void dim_lo(tr_ctx *c, writer *w, tr_pragma *p, const pr_dim *dm, int ctx)
{
    if (dm->lo.e > dm->lo.b)
        render_expr(c, w, p, dm->lo, ctx);
    else
        w_gen(w, "0");
}

/* `sizeof((base)[0]...[0])` with k subscripts: the size of item it's base after k
 * dimensions. */
static void sizeof_sub(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, unsigned k,
                       int ctx)
{
    w_gen(w, "sizeof((");
    render_expr(c, w, p, it->base, ctx);
    w_gen(w, ")");
    for (unsigned z = 0; z < k; z++)
        w_gen(w, "[0]");
    w_gen(w, ")");
}

/* The elements from the lower bound of dimension d of item it to the end of that array
 * dimension (a section `[lo:]`): `(sizeof(base[0]..) / sizeof(base[0]..[0]) - lo)`. */
static void rest_of_dim(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, unsigned d,
                        int ctx)
{
    w_gen(w, "(");
    sizeof_sub(c, w, p, it, d, ctx);
    w_gen(w, " / ");
    sizeof_sub(c, w, p, it, d + 1, ctx);
    w_gen(w, " - ");
    dim_lo(c, w, p, &it->dims[d], ctx);
    w_gen(w, ")");
}

static void subscripts(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, int ctx,
                       int last)
{
    for (unsigned d = 0; d < it->ndims; d++) {
        const pr_dim *dm = &it->dims[d];
        w_gen(w, "[");
        dim_lo(c, w, p, dm, ctx);
        if (last && dm->is_section) {
            w_gen(w, " + ");
            if (dm->len.e > dm->len.b)
                render_expr(c, w, p, dm->len, ctx);
            else
                rest_of_dim(c, w, p, it, d, ctx); /* to the end of the array dimension */
            w_gen(w, " - 1");
        }
        w_gen(w, "]");
    }
}

/* `(const void *)&item`: the address of a list item's first element */
static void gen_item_addr(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, int ctx)
{
    w_gen(w, "(const void *)&");
    if (!it->ndims) {
        render_expr(c, w, p, it->text, ctx);
        return;
    }
    render_expr(c, w, p, it->base, ctx);
    subscripts(c, w, p, it, ctx, 0); /* its first element */
}

void gen_affinity(tr_ctx *c, writer *w, tr_pragma *p, const pr_clause *cl, int ctx)
{
    if (!cl->niters) {
        gen_item_addr(c, w, p, &cl->items[0], ctx);
        return;
    }
    /* iterator(...): the first item at the iterators' first values; every bound is
     * evaluated once, as OpenMP evaluates them at the task's creation */
    w_gen(w, "__extension__({ ");
    for (unsigned t = 0; t < cl->niters; t++) {
        const pr_iter *it = &cl->iters[t];
        if (it->type.e > it->type.b)
            render_expr(c, w, p, it->type, ctx);
        else
            w_gen(w, "int");
        w_gen(w, " ");
        render_expr(c, w, p, it->name, ctx);
        w_gen(w, " = (");
        render_expr(c, w, p, it->begin, ctx);
        w_gen(w, "); (void)(");
        render_expr(c, w, p, it->end, ctx);
        w_gen(w, "); ");
        if (it->step.e > it->step.b) {
            w_gen(w, "(void)(");
            render_expr(c, w, p, it->step, ctx);
            w_gen(w, "); ");
        }
    }
    gen_item_addr(c, w, p, &cl->items[0], ctx);
    w_gen(w, "; })");
}

static int check_open_length(tr_ctx *c, tr_pragma *p, const pr_item *it)
{
    for (unsigned d = 0; d < it->ndims; d++) {
        if (!it->dims[d].is_section || it->dims[d].len.e > it->dims[d].len.b)
            continue;
        tr_piece *pc = piece_of(p, it->base);
        CXType t = pc && pc->has_cur ? clang_getCanonicalType(clang_getCursorType(pc->cur))
                                     : (CXType){CXType_Invalid, {0, 0}};
        for (unsigned z = 0; z < d && t.kind == CXType_ConstantArray; z++)
            t = clang_getCanonicalType(clang_getArrayElementType(t));
        if (t.kind != CXType_ConstantArray) {
            tr_diag_pragma(c, DIAG_ERROR, p, it->text,
                           "the length of an array section can be left out only for an "
                           "array of known size; write '[lower:length]'");
            return -1;
        }
    }
    return 0;
}

/* A multi-dimensional section whose rows get one dependence each (dag pragmas only):
 * two or more dimensions from the first section on. */
static int per_row(const tr_pragma *p, const pr_item *it)
{
    return p->dir.family == PR_DAG && it->ndims >= 2 && it->dims[0].is_section;
}

/* The number of elements dimension d of item it covers: the length, the rest of the
 * dimension for `[lo:]`, 1 for a plain subscript. */
static void dim_len(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, unsigned d,
                    int ctx)
{
    const pr_dim *dm = &it->dims[d];
    if (!dm->is_section) {
        w_gen(w, "1");
        return;
    }
    w_gen(w, "(size_t)");
    if (dm->len.e > dm->len.b) {
        render_expr(c, w, p, dm->len, ctx);
        return;
    }
    rest_of_dim(c, w, p, it, d, ctx);
}

/* The hull of item it (from its first to its last element) as `addr, len`. */
static void hull(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, int ctx)
{
    render_expr(c, w, p, it->base, ctx);
    subscripts(c, w, p, it, ctx, 0);
    w_gen(w, ", (");
    for (unsigned d = 0; d < it->ndims; d++) {
        if (!it->dims[d].is_section || it->dims[d].len.e == it->dims[d].len.b)
            continue;
        render_expr(c, w, p, it->dims[d].len, ctx);
        w_gen(w, " > 0 && ");
    }
    w_gen(w, "1) ? (size_t)((const char *)(&");
    render_expr(c, w, p, it->base, ctx);
    subscripts(c, w, p, it, ctx, 1);
    w_gen(w, " + 1) - (const char *)&");
    render_expr(c, w, p, it->base, ctx);
    subscripts(c, w, p, it, ctx, 0);
    w_gen(w, ") : 0");
}

/* Is the base of item it, subscripted d times (1 <= d), still an array? Only then are the
 * rows of a section parts of one object, and its hull a valid conservative range. */
static int rows_in_one_array(tr_pragma *p, const pr_item *it)
{
    tr_piece *pc = piece_of(p, it->base);
    if (!pc || !pc->has_cur)
        return 0;
    CXType t = clang_getCanonicalType(clang_getCursorType(pc->cur));
    for (unsigned d = 0; d < it->ndims; d++) {
        if (d > 0 && t.kind != CXType_ConstantArray && t.kind != CXType_VariableArray &&
            t.kind != CXType_IncompleteArray && t.kind != CXType_DependentSizedArray)
            return 0;
        t = clang_getCanonicalType(t.kind == CXType_Pointer ? clang_getPointeeType(t)
                                                            : clang_getArrayElementType(t));
    }
    return 1;
}

/* Declarations for per-row item number id: its dimension lengths __dagcc_<id>_n<d>, and
 * __dagcc_<id>_rows, the number of dependences it adds: one per row of the last dimension
 * (rows of a non-contiguous section are disjoint byte ranges, so tasks on disjoint column
 * blocks do not conflict), or 1 (its hull) when the section is contiguous anyway or has
 * more than DAGCC_MAX_ROWS rows. Rows reached through pointers (`double **p`) have no
 * hull: they always get one dependence each. */
/* The names of one generated dependence array: per-row counts <pfx>_<id>_rows, the
 * array, and its run-time count. */
typedef struct dep_names {
    const char *pfx, *arr, *cnt;
} dep_names;

#define DAGCC_MAX_ROWS 64
static void rows_decl(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, int ctx,
                      const char *ind, const dep_names *nm, int id)
{
    unsigned n = it->ndims, L = n - 1;
    for (unsigned d = 0; d < n; d++) {
        w_genf(w, "%ssize_t %s_%d_n%u = ", ind, nm->pfx, id, d);
        dim_len(c, w, p, it, d, ctx);
        w_gen(w, ";\n");
    }
    w_genf(w, "%ssize_t %s_%d_rows = %s_%d_n0", ind, nm->pfx, id, nm->pfx, id);
    for (unsigned d = 1; d < L; d++)
        w_genf(w, " * %s_%d_n%u", nm->pfx, id, d);
    w_gen(w, ";\n");
    if (!rows_in_one_array(p, it))
        return;
    /* contiguous (every dimension after the first covered whole) or too many rows */
    w_genf(w, "%sif (%s_%d_rows > %d || (1", ind, nm->pfx, id, DAGCC_MAX_ROWS);
    for (unsigned d = 1; d < n; d++) {
        w_genf(w, " &&\n%s    %s_%d_n%u * ", ind, nm->pfx, id, d);
        sizeof_sub(c, w, p, it, d + 1, ctx);
        w_gen(w, " == ");
        sizeof_sub(c, w, p, it, d, ctx);
    }
    w_genf(w, "))\n%s    %s_%d_rows = 1;\n", ind, nm->pfx, id);
}

static void rows_fill(tr_ctx *c, writer *w, tr_pragma *p, const pr_item *it, int ctx,
                      const char *ind, const dep_names *nm, int id, const char *mode)
{
    unsigned n = it->ndims, L = n - 1;
    int one = rows_in_one_array(p, it);
    strbuf in = {0};
    sb_printf(&in, "%s", ind);
    if (one) {
        w_genf(w, "%sif (%s_%d_rows == 1) {\n%s    %s[%s++] = (dag_dep_t){"
                  "(void *)(uintptr_t)&", ind, nm->pfx, id, ind, nm->arr, nm->cnt);
        hull(c, w, p, it, ctx);
        w_genf(w, ", %s};\n%s} else {\n", mode, ind);
        sb_puts(&in, "    ");
    }
    for (unsigned d = 0; d < L; d++) {
        w_genf(w, "%sfor (size_t __dagcc_i%u = 0; __dagcc_i%u < %s_%d_n%u; __dagcc_i%u++)\n",
               sb_str(&in), d, d, nm->pfx, id, d, d);
        sb_puts(&in, "    ");
    }
    w_genf(w, "%s%s[%s++] = (dag_dep_t){(void *)(uintptr_t)&", sb_str(&in), nm->arr,
           nm->cnt);
    render_expr(c, w, p, it->base, ctx);
    for (unsigned d = 0; d < n; d++) {
        w_gen(w, "[");
        dim_lo(c, w, p, &it->dims[d], ctx);
        if (d < L)
            w_genf(w, " + __dagcc_i%u", d);
        w_gen(w, "]");
    }
    w_genf(w, ", %s_%d_n%u * ", nm->pfx, id, L);
    sizeof_sub(c, w, p, it, n, ctx);
    w_genf(w, ", %s};\n", mode);
    if (one)
        w_genf(w, "%s}\n", ind);
    sb_free(&in);
}

/* Is item it the special list item omp_all_memory? */
static int all_memory(const tr_pragma *p, const pr_item *it)
{
    return !it->ndims && it->text.e - it->text.b == 14 &&
           memcmp(p->text + it->text.b, "omp_all_memory", 14) == 0;
}

/* The loops over the iterators of clause cl (one per iterator, nested), opened at ind;
 * returns the indentation inside them (caller frees). */
static char *iter_loops(tr_ctx *c, writer *w, tr_pragma *p, const pr_clause *cl, int ctx,
                        const char *ind)
{
    strbuf in = {0};
    sb_puts(&in, ind);
    for (unsigned t = 0; t < cl->niters; t++) {
        const pr_iter *it = &cl->iters[t];
        int nl = (int)(it->name.e - it->name.b);
        const char *nm = p->text + it->name.b;
        w_genf(w, "%sfor (", sb_str(&in));
        if (it->type.e > it->type.b)
            w_genf(w, "%.*s", (int)(it->type.e - it->type.b), p->text + it->type.b);
        else
            w_gen(w, "int");
        w_genf(w, " %.*s = ", nl, nm);
        render_expr(c, w, p, it->begin, ctx);
        if (it->step.e > it->step.b) {
            w_gen(w, "; (");
            render_expr(c, w, p, it->step, ctx);
            w_genf(w, ") > 0 ? %.*s < ", nl, nm);
            render_expr(c, w, p, it->end, ctx);
            w_genf(w, " : %.*s > ", nl, nm);
            render_expr(c, w, p, it->end, ctx);
            w_genf(w, "; %.*s += ", nl, nm);
            render_expr(c, w, p, it->step, ctx);
        } else {
            w_genf(w, "; %.*s < ", nl, nm);
            render_expr(c, w, p, it->end, ctx);
            w_genf(w, "; %.*s++", nl, nm);
        }
        w_gen(w, ")\n");
        sb_puts(&in, "    ");
    }
    return sb_take(&in);
}

/* One array of dependences, named by nm, from the clauses of kind `kind` (depend, or
 * checkpoint with every item DAG_OUT). Items: whole objects, sections (their hull or one
 * per row), dependence objects (`depend(depobj: o)`) and omp_all_memory (a range over
 * the whole address space, which overlaps every other dependence). */
static void gen_dep_array(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent,
                          int *ndeps, pr_clause_kind kind, const dep_names *nm)
{
    static const char *const modes[] = {"", "DAG_IN", "DAG_OUT", "DAG_INOUT",
                                        "DAG_MUTEXINOUTSET", "DAG_INOUTSET", ""};
    int n = 0, rows = 0, iters = 0;
    for (unsigned q = 0; q < p->dir.nclauses; q++)
        if (p->dir.clauses[q].kind == kind) {
            if (p->dir.clauses[q].niters) {
                iters++;
                continue;
            }
            n += (int)p->dir.clauses[q].nitems;
            for (unsigned j = 0; j < p->dir.clauses[q].nitems; j++)
                rows += per_row(p, &p->dir.clauses[q].items[j]);
        }
    *ndeps = rows || iters ? -1 : n; /* -1: the count is in nm->cnt */
    if (!n && !iters)
        return;
    /* clauses with iterators: their number of iterations, counted by running them */
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != kind || !cl->niters)
            continue;
        w_genf(w, "%ssize_t %s_it%u = 0;\n", indent, nm->pfx, q);
        char *in = iter_loops(c, w, p, cl, ctx, indent);
        w_genf(w, "%s%s_it%u++;\n", in, nm->pfx, q);
        free(in);
    }
    if (rows || iters) {
        /* per-row items first: their counts size the array */
        int id = 0;
        for (unsigned q = 0; q < p->dir.nclauses; q++) {
            const pr_clause *cl = &p->dir.clauses[q];
            for (unsigned j = 0; cl->kind == kind && j < cl->nitems; j++)
                if (per_row(p, &cl->items[j])) /* (open lengths: checked below) */
                    rows_decl(c, w, p, &cl->items[j], ctx, indent, nm, id++);
        }
        w_genf(w, "%sdag_dep_t %s[%d", indent, nm->arr, n - rows + 1); /* never 0 */
        for (int r = 0; r < id; r++)
            w_genf(w, " + %s_%d_rows", nm->pfx, r);
        for (unsigned q = 0; q < p->dir.nclauses; q++)
            if (p->dir.clauses[q].kind == kind && p->dir.clauses[q].niters)
                w_genf(w, " + %s_it%u * %u", nm->pfx, q, p->dir.clauses[q].nitems);
        w_genf(w, "];\n%ssize_t %s = 0;\n", indent, nm->cnt);
    } else {
        w_genf(w, "%sdag_dep_t %s[%d] = {\n", indent, nm->arr, n);
    }
    int id = 0;
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != kind)
            continue;
        int depobj = kind == PC_DEPEND && cl->value == DM_DEPOBJ;
        int dyn = rows || iters;
        char *saved_indent = NULL;
        if (cl->niters) {
            /* the items, once per iteration */
            saved_indent = (char *)indent;
            indent = iter_loops(c, w, p, cl, ctx, indent);
            w_genf(w, "%s{\n", indent);
        }
        char mode[64];
        snprintf(mode, sizeof mode, "%s%s", kind == PC_DEPEND ? modes[cl->value] : "DAG_OUT",
                 p->dir.family == PR_OMP ? " | DAG_DEP_BASEADDR" : "");
        for (unsigned j = 0; j < cl->nitems; j++) {
            const pr_item *it = &cl->items[j];
            if (it->ndims && check_open_length(c, p, it))
                continue;
            if (per_row(p, it) && !cl->niters) {
                rows_fill(c, w, p, it, ctx, indent, nm, id++, mode);
                continue;
            }
            if (dyn)
                w_genf(w, "%s%s[%s++] = ", indent, nm->arr, nm->cnt);
            else
                w_genf(w, "%s    ", indent);
            if (depobj) {
                w_gen(w, "dag_depobj_dep(*(dag_depobj_t *)(void *)&");
                render_expr(c, w, p, it->text, ctx);
                w_gen(w, dyn ? ");\n" : "),\n");
                continue;
            }
            if (all_memory(p, it)) {
                w_genf(w, "%s(void *)1, (size_t)-2, %s}%s\n", dyn ? "(dag_dep_t){" : "{",
                       kind == PC_DEPEND ? modes[cl->value] : "DAG_OUT", dyn ? ";" : ",");
                continue;
            }
            w_gen(w, dyn ? "(dag_dep_t){(void *)(uintptr_t)&" : "{(void *)(uintptr_t)&");
            if (!it->ndims) {
                render_expr(c, w, p, it->text, ctx);
                w_gen(w, ", sizeof");
                render_expr(c, w, p, it->text, ctx);
            } else if (it->ndims == 1 && it->dims[0].is_section &&
                       it->dims[0].len.e > it->dims[0].len.b) {
                render_expr(c, w, p, it->base, ctx);
                subscripts(c, w, p, it, ctx, 0);
                w_gen(w, ", (size_t)");
                render_expr(c, w, p, it->dims[0].len, ctx);
                w_gen(w, " * sizeof(");
                render_expr(c, w, p, it->base, ctx);
                w_gen(w, "[0])");
            } else {
                hull(c, w, p, it, ctx); /* the contiguous range covering the section */
            }
            w_genf(w, dyn ? ", %s};\n" : ", %s},\n", mode);
        }
        if (cl->niters) {
            size_t il = strlen(indent);
            w_genf(w, "%s}\n", indent);
            free((char *)indent);
            indent = saved_indent;
            (void)il;
        }
    }
    if (!rows && !iters)
        w_genf(w, "%s};\n", indent);
}

static const dep_names depend_names = {"__dagcc", "__dagcc_d", "__dagcc_nd"};
static const dep_names checkpoint_names = {"__dagcc_ck", "__dagcc_ck", "__dagcc_ck_nd"};

void gen_deps(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent, int *ndeps)
{
    gen_dep_array(c, w, p, ctx, indent, ndeps, PC_DEPEND, &depend_names);
}

void gen_checkpoints(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent,
                     int *nck)
{
    gen_dep_array(c, w, p, ctx, indent, nck, PC_CHECKPOINT, &checkpoint_names);
}

/* The dependence count argument for a gen_deps result. */
const char *dep_count(int nd, char *buf, size_t size)
{
    if (nd < 0)
        return "__dagcc_nd";
    snprintf(buf, size, "%d", nd);
    return buf;
}
