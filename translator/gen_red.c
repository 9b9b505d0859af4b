/* gen_red.c: C generated for OpenMP 5 task reductions and dependence objects: the
 * dag_reduction_t arrays of `taskloop reduction(...)` and `taskgroup task_reduction(...)`,
 * the private copies of `task in_reduction(...)`, the combiner and initializer functions
 * of `declare reduction`, and the runtime calls of `depobj`. The runtime side is
 * runtime/core/reduce.c and handles.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static const char *const red_ops[] = {"", "DAG_RED_SUM", "DAG_RED_PROD", "DAG_RED_MIN",
                                      "DAG_RED_MAX", "DAG_RED_BAND", "DAG_RED_BOR",
                                      "DAG_RED_BXOR", "DAG_RED_LAND", "DAG_RED_LOR",
                                      "DAG_RED_USER"};

static void where_of(tr_ctx *c, unsigned p2off, strbuf *b, unsigned *line)
{
    gen_loc(c, b, p2off, NULL, line);
}

/* Text with runs of blanks made single spaces, for type comparisons. */
static char *squeeze(const char *s, size_t n)
{
    strbuf b = {0};
    int sp = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\\') {
            sp = b.n > 0;
            continue;
        }
        if (sp)
            sb_putc(&b, ' ');
        sp = 0;
        sb_putc(&b, ch);
    }
    return sb_take(&b);
}

static int type_matches(const tr_pragma *d, unsigned k, CXType t)
{
    char *want = squeeze(d->text + d->dir.types[k].b, d->dir.types[k].e - d->dir.types[k].b);
    int ok = 0;
    for (int canon = 0; canon < 2 && !ok; canon++) {
        CXString s = clang_getTypeSpelling(canon ? clang_getCanonicalType(t) : t);
        const char *sp = clang_getCString(s);
        char *have = squeeze(sp, strlen(sp));
        ok = strcmp(have, want) == 0;
        free(have);
        clang_disposeString(s);
    }
    free(want);
    return ok;
}

/* The `declare reduction` for identifier `name` and type t: its pragma index (and the
 * index of the type in its list), or NONE. */
static int find_udr(tr_ctx *c, const char *name, size_t n, CXType t, unsigned *k)
{
    for (size_t i = 0; i < c->npragmas; i++) {
        const tr_pragma *d = &c->pragmas[i];
        if (d->dir.kind != PK_DECLARE_REDUCTION || !d->translate || d->status ||
            d->dir.arg.e - d->dir.arg.b != n || memcmp(d->text + d->dir.arg.b, name, n))
            continue;
        for (unsigned j = 0; j < d->dir.ntypes; j++)
            if (type_matches(d, j, t)) {
                *k = j;
                return (int)i;
            }
    }
    return NONE;
}

static int arithmetic(CXType t)
{
    t = clang_getCanonicalType(t);
    return (t.kind >= CXType_Bool && t.kind <= CXType_LongDouble) ||
           t.kind == CXType_Enum;
}

/* One dag_reduction_t initialiser for item it of reduction clause cl; 0 if invalid. */
static int red_entry(tr_ctx *c, strbuf *b, tr_pragma *p, const pr_clause *cl,
                     const pr_item *it, int ctx, int args_id)
{
    int v = list_var(c, p, it);
    if (v == NONE) {
        tr_diag_pragma(c, DIAG_ERROR, p, it->text, "a reduction list item must be a variable");
        return 0;
    }
    const f_var *fv = &c->vars[v];
    strbuf ref = {0};
    const tr_cap *cp = NULL;
    if (ctx >= 0)
        for (unsigned i = 0; i < c->cons[ctx].ncaps; i++)
            if (c->cons[ctx].caps[i].var == v)
                cp = &c->cons[ctx].caps[i];
    sb_printf(&ref, cp && cp->byptr ? "(*%s)" : "%s", fv->name);
    char fn[96] = "NULL, NULL";
    if (cl->value == RO_USER) {
        unsigned k = 0;
        int d = find_udr(c, p->text + cl->expr.b, cl->expr.e - cl->expr.b, fv->type, &k);
        if (d == NONE) {
            CXString ts = clang_getTypeSpelling(fv->type);
            tr_diag_pragma(c, DIAG_ERROR, p, cl->expr,
                           "no '#pragma %s declare reduction(%.*s : ...)' for the type '%s' "
                           "of '%s' before this point", p->dir.family == PR_DAG ? "dag" : "omp",
                           (int)(cl->expr.e - cl->expr.b), p->text + cl->expr.b,
                           clang_getCString(ts), fv->name);
            clang_disposeString(ts);
            sb_free(&ref);
            return 0;
        }
        snprintf(fn, sizeof fn, "__dagcc_udr_%d_%u_comb, %s", d, k,
                 pr_find(&c->pragmas[d].dir, PC_INITIALIZER) ? "" : "NULL");
        if (pr_find(&c->pragmas[d].dir, PC_INITIALIZER))
            snprintf(fn + strlen(fn), sizeof fn - strlen(fn), "__dagcc_udr_%d_%u_init", d, k);
    } else if (!arithmetic(fv->type) || fv->array) {
        CXString ts = clang_getTypeSpelling(fv->type);
        tr_diag_pragma(c, DIAG_ERROR, p, it->text,
                       "'%s' has type '%s'; a built-in reduction operator needs an arithmetic "
                       "type (declare a reduction for it)", fv->name, clang_getCString(ts));
        clang_disposeString(ts);
        sb_free(&ref);
        return 0;
    } else if ((cl->value == RO_BAND || cl->value == RO_BOR || cl->value == RO_BXOR) &&
               clang_getCanonicalType(fv->type).kind >= CXType_Float &&
               clang_getCanonicalType(fv->type).kind <= CXType_LongDouble) {
        tr_diag_pragma(c, DIAG_ERROR, p, it->text,
                       "a bitwise reduction operator needs an integer type ('%s')", fv->name);
        sb_free(&ref);
        return 0;
    }
    if (cl->value == RO_USER)
        sb_printf(b, "{&%s, sizeof %s, DAG_RED_USER, 0, %s, ", sb_str(&ref), sb_str(&ref), fn);
    else
        sb_printf(b, "{&%s, sizeof %s, %s, DAG_RED_TYPE_OF(%s), NULL, NULL, ", sb_str(&ref),
                  sb_str(&ref), red_ops[cl->value], sb_str(&ref));
    if (args_id >= 0)
        sb_printf(b, "__builtin_offsetof(struct __dagcc_args_%d, %s)}", args_id, fv->name);
    else
        sb_puts(b, "0}");
    sb_free(&ref);
    return 1;
}

int gen_reductions(tr_ctx *c, writer *w, tr_pragma *p, pr_clause_kind kind, int ctx,
                   const char *ind, int args_id)
{
    strbuf b = {0};
    int n = 0;
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != kind)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            sb_puts(&b, n ? ",\n" : "");
            sb_printf(&b, "%s    ", ind);
            n += red_entry(c, &b, p, cl, &cl->items[j], ctx, args_id);
        }
    }
    if (n)
        w_genf(w, "%sdag_reduction_t __dagcc_r[%d] = {\n%s};\n", ind, n, sb_str(&b));
    sb_free(&b);
    return n;
}

void gen_in_reductions(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *ind,
                       unsigned p2off, int status)
{
    strbuf where = {0};
    unsigned line;
    where_of(c, p2off, &where, &line);
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != PC_IN_REDUCTION)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            int v = list_var(c, p, &cl->items[j]);
            if (v == NONE)
                continue;
            const char *nm = c->vars[v].name;
            const tr_cap *cp = NULL;
            if (ctx >= 0)
                for (unsigned i = 0; i < c->cons[ctx].ncaps; i++)
                    if (c->cons[ctx].caps[i].var == v)
                        cp = &c->cons[ctx].caps[i];
            strbuf call = {0};
            sb_printf(&call, "dag_reduction_private(&%s%s%s, (void **)&__dagcc_a.%s)",
                      cp && cp->byptr ? "(*" : "", nm, cp && cp->byptr ? ")" : "", nm);
            if (status) /* status(lv): kept, and the task is not submitted */
                w_genf(w, "%sif (__dagcc_s == DAG_OK)\n%s    __dagcc_s = %s;\n", ind, ind,
                       sb_str(&call));
            else
                w_genf(w, "%s__dagcc_check(%s, \"in_reduction\", %s, %u);\n", ind, sb_str(&call),
                       sb_str(&where), line);
            sb_free(&call);
        }
    }
    sb_free(&where);
}

/* One function of a declared reduction for type ts: `__dagcc_udr_<pi>_<k>_<what>(void *x,
 * const void *y)` that names *x and *y by OpenMP's macro names (mx, my: omp_out/omp_in for
 * the combiner, omp_priv/omp_orig for the initializer) around the user's expression. */
static void udr_function(strbuf *b, int pi, unsigned k, const char *what, const char *mx,
                         const char *my, const char *ts, int tn, const char *file,
                         unsigned line, const char *expr, int en)
{
    sb_printf(b, "static __attribute__((unused)) void __dagcc_udr_%d_%u_%s(void *__dagcc_x, const void *__dagcc_y)\n"
                 "{\n    %.*s *__dagcc_px = __dagcc_x;\n"
                 "    %.*s *__dagcc_py = (%.*s *)(uintptr_t)__dagcc_y;\n"
                 "    (void)__dagcc_py;\n"
                 "#define %s (*__dagcc_px)\n#define %s (*__dagcc_py)\n",
              pi, k, what, tn, ts, tn, ts, tn, ts, mx, my);
    sb_printf(b, "#line %u \"", line);
    sb_put_c_escaped(b, file);
    sb_printf(b, "\"\n    %.*s;\n#undef %s\n#undef %s\n}\n", en, expr, mx, my);
}

char *gen_declare_reduction(tr_ctx *c, int pi)
{
    tr_pragma *d = &c->pragmas[pi];
    const pr_clause *ini = pr_find(&d->dir, PC_INITIALIZER);
    const char *file;
    unsigned line, col;
    presumed(c, d->p2b, &file, &line, &col);
    strbuf b = {0};
    sb_printf(&b, "/* declare reduction '%.*s' (dagcc) */\n", (int)(d->dir.arg.e - d->dir.arg.b),
              d->text + d->dir.arg.b);
    for (unsigned k = 0; k < d->dir.ntypes; k++) {
        int tn = (int)(d->dir.types[k].e - d->dir.types[k].b);
        const char *ts = d->text + d->dir.types[k].b;
        udr_function(&b, pi, k, "comb", "omp_out", "omp_in", ts, tn, file, line,
                     d->text + d->dir.combiner.b, (int)(d->dir.combiner.e - d->dir.combiner.b));
        if (ini)
            udr_function(&b, pi, k, "init", "omp_priv", "omp_orig", ts, tn, file, line,
                         d->text + ini->expr.b, (int)(ini->expr.e - ini->expr.b));
    }
    return sb_take(&b);
}

void gen_depobj(tr_ctx *c, writer *w, int ci, int ctx, const char *ind)
{
    static const char *const modes[] = {"", "DAG_IN", "DAG_OUT", "DAG_INOUT",
                                        "DAG_MUTEXINOUTSET", "DAG_INOUTSET"};
    tr_cons *k = &c->cons[ci];
    tr_pragma *p = &c->pragmas[k->pragma];
    strbuf where = {0};
    unsigned line;
    where_of(c, k->p2b, &where, &line);
    const pr_clause *cl;
    int nclauses = !!pr_find(&p->dir, PC_DEPEND) + !!pr_find(&p->dir, PC_UPDATE) +
                   !!pr_find(&p->dir, PC_DESTROY);
    if (nclauses != 1 || ((cl = pr_find(&p->dir, PC_DEPEND)) &&
                          (cl->nitems != 1 || cl->value == DM_DEPOBJ || cl->niters ||
                           p->dir.nclauses != 1))) {
        tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                       "'depobj' takes exactly one of depend(type: item) with one item, "
                       "update(type) or destroy");
        sb_free(&where);
        return;
    }
    if (pr_find(&p->dir, PC_DEPEND)) {
        int nd = 0;
        gen_deps(c, w, p, ctx, ind, &nd);
        w_genf(w, "%s__dagcc_check(dag_depobj_init((dag_depobj_t *)(void *)&", ind);
        render_expr(c, w, p, p->dir.arg, ctx);
        w_genf(w, ", &__dagcc_d[0]), \"depobj\", %s, %u);\n", sb_str(&where), line);
    } else if ((cl = pr_find(&p->dir, PC_UPDATE))) {
        w_genf(w, "%s__dagcc_check(dag_depobj_update(*(dag_depobj_t *)(void *)&", ind);
        render_expr(c, w, p, p->dir.arg, ctx);
        w_genf(w, ", %s), \"depobj\", %s, %u);\n", modes[cl->value], sb_str(&where), line);
    } else {
        w_genf(w, "%s__dagcc_check(dag_depobj_destroy((dag_depobj_t *)(void *)&", ind);
        render_expr(c, w, p, p->dir.arg, ctx);
        w_genf(w, "), \"depobj\", %s, %u);\n", sb_str(&where), line);
    }
    sb_free(&where);
}
