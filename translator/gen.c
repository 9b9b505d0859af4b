/* gen.c: C generated for statement constructs: the argument struct and outlined
 * function of a task or taskloop (hoisted before the enclosing function), the code that
 * submits it, and the runtime calls for taskwait, taskgroup and OpenMP regions. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static const char *fam(const tr_pragma *p)
{
    return p->dir.family == PR_DAG ? "dag" : "omp";
}

void gen_type_decl(strbuf *b, CXType t, const char *name, int ptr)
{
    CXString s = clang_getTypeSpelling(t);
    const char *sp = clang_getCString(s);
    if (strpbrk(sp, "([")) {
        sb_printf(b, "__typeof__(%s) %s%s", sp, ptr ? "*" : "", name);
    } else {
        size_t n = strlen(sp);
        int star = n && sp[n - 1] == '*';
        sb_printf(b, "%s%s%s%s", sp, star ? "" : " ", ptr ? "*" : "", name);
    }
    clang_disposeString(s);
}

char *var_type_text(const f_var *v)
{
    strbuf b = {0};
    CXType t = v->decay ? clang_getArrayElementType(v->type) : v->type;
    CXString s = clang_getTypeSpelling(t);
    if (v->decay)
        sb_printf(&b, "__typeof__(%s) *", clang_getCString(s));
    else
        sb_puts(&b, clang_getCString(s));
    clang_disposeString(s);
    return sb_take(&b);
}

void var_decl(strbuf *b, const f_var *v, const char *name, int ptr)
{
    if (!v->decay) {
        gen_type_decl(b, v->type, name, ptr);
        return;
    }
    char *t = var_type_text(v);
    sb_printf(b, "__typeof__(%s) %s%s", t, ptr ? "*" : "", name);
    free(t);
}

/* How code in context ctx names variable v. */
static void ref_name(const tr_ctx *c, strbuf *b, int ctx, int v)
{
    const tr_cap *cp = cap_of(c, ctx, v);
    if (cp && cp->byptr)
        sb_printf(b, "(*%s)", c->vars[v].name);
    else
        sb_puts(b, c->vars[v].name);
}

static void indent_of(const tr_ctx *c, unsigned p2off, strbuf *ind)
{
    unsigned ls = p2off;
    while (ls > 0 && c->p2.s[ls - 1] != '\n')
        ls--;
    for (unsigned i = ls; i < p2off && (c->p2.s[i] == ' ' || c->p2.s[i] == '\t'); i++)
        sb_putc(ind, c->p2.s[i]);
}

/* A one-line copy of the pragma for a comment in the generated code. */
static void pragma_comment(const tr_pragma *p, strbuf *b)
{
    sb_printf(b, "/* #pragma ");
    int space = 0;
    for (unsigned i = 0; i < p->len; i++) {
        char ch = p->text[i];
        if (ch == '\\' && i + 1 < p->len && (p->text[i + 1] == '\n' || p->text[i + 1] == '\r'))
            continue;
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = 1;
            continue;
        }
        if (space && b->n && b->s[b->n - 1] != ' ')
            sb_putc(b, ' ');
        space = 0;
        if (ch == '/' && i + 1 < p->len && p->text[i + 1] == '*')
            sb_puts(b, "/ ");
        else if (ch == '*' && i + 1 < p->len && p->text[i + 1] == '/')
            sb_puts(b, "* ");
        else
            sb_putc(b, ch);
    }
    while (b->n && b->s[b->n - 1] == ' ')
        b->s[--b->n] = '\0';
    sb_puts(b, " */");
}

void gen_loc(tr_ctx *c, strbuf *b, unsigned p2off, const char **file, unsigned *line)
{
    const char *f;
    unsigned l, col;
    presumed(c, p2off, &f, &l, &col);
    if (strcmp(f, c->path) == 0) {
        sb_puts(b, "__dagcc_file");
    } else {
        sb_putc(b, '"');
        sb_put_c_escaped(b, f);
        sb_putc(b, '"');
    }
    if (file)
        *file = f;
    if (line)
        *line = l;
}

void gen_attr(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent,
              const char *label, unsigned p2off)
{
    strbuf b = {0};
    unsigned line;
    int nck = 0;
    char nb[16];
    gen_checkpoints(c, w, p, ctx, indent, &nck);
    const pr_clause *cl = pr_find(&p->dir, PC_LABEL);
    w_genf(w, "%sdag_task_attr_t __dagcc_t = {.label = ", indent);
    if (cl)
        w_genf(w, "%.*s", (int)(cl->expr.e - cl->expr.b), p->text + cl->expr.b);
    else
        w_genf(w, "\"%s\"", label);
    gen_loc(c, &b, p2off, NULL, &line);
    const char *f;
    unsigned l, col;
    presumed(c, p2off, &f, &l, &col);
    w_genf(w, ", .file = %s, .line = %u, .col = %u", sb_str(&b), line, col);
    sb_free(&b);
    if ((cl = pr_find(&p->dir, PC_PRIORITY))) {
        w_gen(w, ", .priority = ");
        render_expr(c, w, p, cl->expr, ctx);
    }
    if ((cl = pr_find(&p->dir, PC_AFFINITY)) && cl->nitems) {
        w_gen(w, ", .affinity = "); /* a placement hint: the first item's address */
        gen_affinity(c, w, p, cl, ctx);
    }
    const pr_clause *cif = pr_find(&p->dir, PC_IF), *cfin = pr_find(&p->dir, PC_FINAL);
    const pr_clause *cnode = pr_find(&p->dir, PC_NODE);
    const pr_clause *cdet = pr_find(&p->dir, PC_DETACH);
    if (cif || cfin || cnode || cdet) {
        w_gen(w, ", .flags = ");
        int first = 1;
        if (cif) {
            w_gen(w, "(");
            render_expr(c, w, p, cif->expr, ctx);
            w_gen(w, " ? 0u : DAG_TASK_UNDEFERRED)");
            first = 0;
        }
        if (cfin) {
            w_gen(w, first ? "(" : " | (");
            render_expr(c, w, p, cfin->expr, ctx);
            w_gen(w, " ? DAG_TASK_FINAL : 0u)");
            first = 0;
        }
        if (cnode) {
            w_gen(w, first ? "DAG_TASK_ON_NODE" : " | DAG_TASK_ON_NODE");
            first = 0;
        }
        if (cdet)
            w_gen(w, first ? "DAG_TASK_DETACHABLE" : " | DAG_TASK_DETACHABLE");
    }
    if ((cl = pr_find(&p->dir, PC_DEVICE)) && !cl->value) {
        w_gen(w, ", .device = "); /* device(expr): chosen at run time */
        render_expr(c, w, p, cl->expr, ctx);
    } else if (cl) {
        w_genf(w, ", .device = %s", cl->value == DV_CPU    ? "DAG_DEVICE_CPU"
                                    : cl->value == DV_CUDA ? "DAG_DEVICE_CUDA"
                                                           : "DAG_DEVICE_ANY");
    }
    if (cnode) {
        w_gen(w, ", .node = ");
        render_expr(c, w, p, cnode->expr, ctx);
    }
    if (pr_find(&p->dir, PC_VARIANT) && p->fname)
        w_genf(w, ", .cuda = __dagcc_fcuda_%s", p->fname);
    if ((cl = pr_find(&p->dir, PC_RETRY))) {
        tr_piece *pc = piece_of(p, cl->expr);
        if (pc && pc->has_cur) {
            /* a constant count is checked here (the runtime runs a negative one once) */
            CXEvalResult ev = clang_Cursor_Evaluate(pc->cur);
            if (ev && clang_EvalResult_getKind(ev) == CXEval_Int &&
                clang_EvalResult_getAsLongLong(ev) < 0)
                tr_diag_pragma(c, DIAG_ERROR, p, cl->expr,
                               "the count of 'retry' must not be negative (it is %lld)",
                               clang_EvalResult_getAsLongLong(ev));
            if (ev)
                clang_EvalResult_dispose(ev);
        }
        w_gen(w, ", .retries = ");
        render_expr(c, w, p, cl->expr, ctx);
    }
    if (nck)
        w_genf(w, ", .checkpoint = __dagcc_ck, .ncheckpoint = %s",
               nck < 0 ? "__dagcc_ck_nd" : (snprintf(nb, sizeof nb, "%d", nck), nb));
    w_gen(w, "};\n");
}

int gen_submit(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *ind,
               const char *call, const char *what, int declared)
{
    const pr_clause *st = pr_find(&p->dir, PC_STATUS);
    if (!st) {
        w_genf(w, "%s__dagcc_check(%s, \"%s\", __dagcc_t.file, __dagcc_t.line);\n", ind, call,
               what);
        return 0;
    }
    if (declared)
        w_genf(w, "%sif (__dagcc_s == DAG_OK)\n%s    __dagcc_s = %s;\n", ind, ind, call);
    else
        w_genf(w, "%sdag_status_t __dagcc_s = %s;\n", ind, call);
    w_genf(w, "%sif (__dagcc_s != DAG_OK) /* status(): kept, no exit */\n%s    ", ind, ind);
    render_expr(c, w, p, st->expr, ctx);
    w_gen(w, " = __dagcc_s;\n");
    return 1;
}

/* ---- tasks ------------------------------------------------------------------------- */

static int is_field(const tr_cap *cp)
{
    return cp->mode != CAP_PRIVATE;
}

static void field_decl(tr_ctx *c, strbuf *b, const tr_cap *cp)
{
    const f_var *v = &c->vars[cp->var];
    sb_puts(b, "    ");
    if (v->vm || (cp->localty && cp->mode == CAP_SHARED))
        sb_printf(b, "void *%s", v->name);
    else if (cp->localty)
        sb_printf(b, "_Alignas(%lld) unsigned char %s[%lld]",
                  clang_Type_getAlignOf(v->type), v->name, clang_Type_getSizeOf(v->type));
    else
        var_decl(b, v, v->name, cp->mode == CAP_SHARED || cp->reduce);
    sb_puts(b, ";\n");
    if (cp->vmsize) {
        strbuf nm = {0};
        sb_printf(&nm, "__dagcc_vm_%s", v->name);
        sb_puts(b, "    ");
        var_decl(b, v, sb_str(&nm), 0);
        sb_puts(b, ";\n");
        sb_free(&nm);
    }
}

/* The type text of a variably modified v in task ci, with every size variable that stays
 * shared replaced by its value at creation (__dagcc_vm_<name>); caller frees. */
static char *vm_type_text(tr_ctx *c, const tr_cons *k, const f_var *v)
{
    char *sp = var_type_text(v);
    strbuf out = {0};
    for (const char *q = sp; *q;) {
        if (!(isalpha((unsigned char)*q) || *q == '_')) {
            sb_putc(&out, *q++);
            continue;
        }
        const char *e = q;
        while (isalnum((unsigned char)*e) || *e == '_')
            e++;
        int sub = 0;
        for (unsigned i = 0; i < k->ncaps && !sub; i++) {
            const f_var *dv = &c->vars[k->caps[i].var];
            sub = k->caps[i].vmsize && strlen(dv->name) == (size_t)(e - q) &&
                  memcmp(dv->name, q, (size_t)(e - q)) == 0;
        }
        if (sub)
            sb_puts(&out, "__dagcc_vm_");
        sb_putn(&out, q, (size_t)(e - q));
        q = e;
    }
    free(sp);
    return sb_take(&out);
}

static void local_decl(tr_ctx *c, const tr_cons *k, strbuf *b, const tr_cap *cp)
{
    const f_var *v = &c->vars[cp->var];
    char *sp = v->vm ? vm_type_text(c, k, v) : var_type_text(v);
    if (cp->vmsize) {
        strbuf nm = {0};
        sb_printf(&nm, "__dagcc_vm_%s", v->name);
        sb_puts(b, "    ");
        var_decl(b, v, sb_str(&nm), 0);
        sb_printf(b, " = __dagcc_a->%s;\n", sb_str(&nm));
        sb_free(&nm);
    }
    sb_puts(b, "    ");
    if (cp->mode == CAP_PRIVATE) {
        if (v->vm)
            sb_printf(b, "__typeof__(%s) %s", sp, v->name);
        else
            var_decl(b, v, v->name, 0);
    } else if (v->vm) {
        sb_printf(b, "__typeof__(%s) %s%s = __dagcc_a->%s", sp, cp->byptr ? "*" : "",
                  v->name, v->name);
    } else if (cp->reduce && v->storage == ST_GLOBAL) {
        /* references to globals are not rewritten: a macro names the private copy */
        strbuf nm = {0};
        sb_printf(&nm, "__dagcc_rp_%s", v->name);
        var_decl(b, v, sb_str(&nm), 1);
        sb_printf(b, " = __dagcc_a->%s;\n#define %s (*%s)\n", v->name, v->name, sb_str(&nm));
        sb_free(&nm);
        free(sp);
        return;
    } else if (cp->localty) {
        var_decl(b, v, v->name, 1);
        sb_printf(b, " = (void *)__dagcc_a->%s", v->name);
    } else if (cp->byptr && cp->mode == CAP_FIRSTPRIVATE) {
        var_decl(b, v, v->name, 1);
        sb_printf(b, " = &__dagcc_a->%s", v->name);
    } else {
        var_decl(b, v, v->name, cp->byptr);
        sb_printf(b, " = __dagcc_a->%s", v->name);
    }
    sb_puts(b, ";\n");
    free(sp);
}

static int is_vm_dep(const tr_ctx *c, const tr_cons *k, int var)
{
    for (unsigned i = 0; i < k->ncaps; i++) {
        const f_var *v = &c->vars[k->caps[i].var];
        for (unsigned d = 0; d < v->nvm_deps; d++)
            if (v->vm_deps[d] == var)
                return 1;
    }
    return 0;
}

static void func_label(tr_ctx *c, const tr_cons *k, strbuf *b)
{
    unsigned line, col;
    const char *f;
    presumed(c, k->p2b, &f, &line, &col);
    sb_printf(b, "%s:%u", k->func != NONE ? c->funcs[k->func].name : "task", line);
}

void gen_hoist(tr_ctx *c, int ci)
{
    tr_cons *k = &c->cons[ci];
    tr_pragma *p = &c->pragmas[k->pragma];
    writer w;
    memset(&w, 0, sizeof w);
    const char *file;
    unsigned line, col;
    presumed(c, k->p2b, &file, &line, &col);
    w_line(&w, file, line);
    int nfields = 0;
    for (unsigned i = 0; i < k->ncaps; i++)
        nfields += is_field(&k->caps[i]);
    int loop = k->kind == PK_TASKLOOP;
    strbuf b = {0};
    if (nfields || loop) {
        sb_printf(&b, "struct __dagcc_args_%d {\n", k->id);
        for (unsigned i = 0; i < k->ncaps; i++)
            if (is_field(&k->caps[i]))
                field_decl(c, &b, &k->caps[i]);
        if (loop) {
            sb_puts(&b, "    ");
            var_decl(&b, &c->vars[k->loop.var], "__dagcc_lb", 0);
            sb_puts(&b, ";\n    long long __dagcc_st;\n"
                        "    dag_loop_range_t __dagcc_range;\n");
        }
        sb_puts(&b, "};\n");
    }
    sb_printf(&b, "static int __dagcc_task_%d(void *__dagcc_p)\n{\n", k->id);
    if (k->nltypes) {
        /* the local types in the outer block: a capture may have a name they shadow */
        w_gen(&w, sb_str(&b));
        b.n = 0;
        b.s[0] = '\0';
        gen_local_types(c, &w, ci);
        w_end_line(&w);
        w_line(&w, file, line);
        sb_puts(&b, "    {\n");
    }
    if (nfields || loop)
        sb_printf(&b, "    struct __dagcc_args_%d *__dagcc_a = __dagcc_p;\n", k->id);
    else
        sb_puts(&b, "    (void)__dagcc_p;\n");
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < k->ncaps; i++)
            if (is_vm_dep(c, k, k->caps[i].var) == !pass)
                local_decl(c, k, &b, &k->caps[i]);
    if (loop) {
        const f_var *lv = &c->vars[k->loop.var];
        sb_puts(&b, "    ");
        var_decl(&b, lv, lv->name, 0);
        sb_printf(&b, ";\n    for (unsigned long long __dagcc_k = __dagcc_a->__dagcc_range.first; "
                      "__dagcc_k < __dagcc_a->__dagcc_range.last; __dagcc_k++) {\n"
                      "        %s = __dagcc_a->__dagcc_lb + (long long)__dagcc_k * "
                      "__dagcc_a->__dagcc_st;\n"
                      /* a body that never reads the loop variable would get "set but not
                       * used" at the generated declaration (-Wall -Werror builds fail) */
                      "        (void)%s;\n", lv->name, lv->name);
    }
    if (k->detach) {
        /* detach(ev): the task completes when its body has returned and ev is fulfilled */
        const f_var *ev = &c->vars[k->detach - 1];
        const tr_cap *cp = cap_of(c, ci, k->detach - 1);
        strbuf nm = {0};
        sb_printf(&nm, "%s%s%s", cp && cp->byptr ? "(*" : "", ev->name,
                  cp && cp->byptr ? ")" : "");
        strbuf where = {0};
        unsigned dl;
        gen_loc(c, &where, k->p2b, NULL, &dl);
        if (p->dir.family == PR_OMP) /* the event exists from submission on */
            sb_printf(&b, "    (void)%s;\n", sb_str(&nm));
        else
            sb_printf(&b, "    __dagcc_check(dag_task_detach(&%s), \"detach\", %s, %u);\n",
                      sb_str(&nm), sb_str(&where), dl);
        sb_free(&nm);
        sb_free(&where);
    }
    w_gen(&w, sb_str(&b));
    sb_free(&b);
    render(c, &w, k->body_b, k->body_e, ci, 1);
    w_gen(&w, loop ? "\n    }\n    return 0;\n" : "\n    return 0;\n");
    w_gen(&w, k->nltypes ? "    }\n}\n" : "}\n");
    for (unsigned i = 0; i < k->ncaps; i++)
        if (k->caps[i].reduce && c->vars[k->caps[i].var].storage == ST_GLOBAL)
            w_genf(&w, "#undef %s\n", c->vars[k->caps[i].var].name);
    (void)p;
    k->hoist = sb_take(&w.b);
}

static void args_init(tr_ctx *c, writer *w, const tr_cons *k, int ctx, const char *ind,
                      int extra_loop)
{
    strbuf b = {0};
    int nfields = 0;
    for (unsigned i = 0; i < k->ncaps; i++)
        nfields += is_field(&k->caps[i]);
    if (!nfields && !extra_loop)
        return;
    sb_printf(&b, "%s    struct __dagcc_args_%d __dagcc_a = {", ind, k->id);
    int first = 1;
    for (unsigned i = 0; i < k->ncaps; i++) {
        const tr_cap *cp = &k->caps[i];
        const f_var *v = &c->vars[cp->var];
        if (!is_field(cp) || (cp->mode == CAP_FIRSTPRIVATE && (v->array || cp->localty)))
            continue;
        sb_printf(&b, "%s.%s = ", first ? "" : ", ", v->name);
        first = 0;
        if (v->vm || cp->localty)
            sb_puts(&b, "(void *)(uintptr_t)");
        if (cp->mode == CAP_SHARED || cp->reduce)
            sb_puts(&b, "&");
        ref_name(c, &b, ctx, cp->var);
        if (cp->vmsize) {
            sb_printf(&b, ", .__dagcc_vm_%s = ", v->name);
            ref_name(c, &b, ctx, cp->var);
        }
    }
    if (extra_loop)
        sb_printf(&b, "%s.__dagcc_lb = __dagcc_lb, .__dagcc_st = __dagcc_st",
                  first ? "" : ", ");
    sb_puts(&b, "};\n");
    for (unsigned i = 0; i < k->ncaps; i++) {
        const tr_cap *cp = &k->caps[i];
        const f_var *v = &c->vars[cp->var];
        if (cp->mode != CAP_FIRSTPRIVATE || !(v->array || cp->localty))
            continue;
        sb_printf(&b, "%s    __builtin_memcpy((void *)(uintptr_t)&__dagcc_a.%s, &", ind,
                  v->name);
        ref_name(c, &b, ctx, cp->var);
        sb_printf(&b, ", sizeof __dagcc_a.%s);\n", v->name);
    }
    w_gen(w, sb_str(&b));
    sb_free(&b);
}

static void submit_call(tr_ctx *c, writer *w, const tr_cons *k, int nfields, int ndeps,
                        const char *ind, int ctx)
{
    char nb[16];
    strbuf call = {0};
    sb_printf(&call, "dag_submit(__dagcc_task_%d, %s, %s, %s, %s, &__dagcc_t)", k->id,
              nfields ? "&__dagcc_a" : "NULL", nfields ? "sizeof __dagcc_a" : "0",
              ndeps ? "__dagcc_d" : "NULL", dep_count(ndeps, nb, sizeof nb));
    gen_submit(c, w, &c->pragmas[k->pragma], ctx, ind, sb_str(&call), "task",
               pr_find(&c->pragmas[k->pragma].dir, PC_IN_REDUCTION) != NULL);
    sb_free(&call);
}

static void gen_task(tr_ctx *c, writer *w, int ci, int ctx, const char *ind)
{
    tr_cons *k = &c->cons[ci];
    tr_pragma *p = &c->pragmas[k->pragma];
    strbuf ind4 = {0}, lab = {0};
    sb_printf(&ind4, "%s    ", ind);
    if (k->detach && p->dir.family == PR_OMP) {
        /* OpenMP: the original handle names the new event from the task's creation on */
        strbuf nm = {0};
        ref_name(c, &nm, ctx, k->detach - 1);
        strbuf where = {0};
        unsigned dl;
        gen_loc(c, &where, k->p2b, NULL, &dl);
        w_genf(w, "%sdag_event_t *__dagcc_evh;\n%s__dagcc_check(dag_event_handle_new("
                  "&__dagcc_evh), \"detach\", %s, %u);\n%s%s = (__typeof__(%s))(uintptr_t)"
                  "__dagcc_evh;\n", sb_str(&ind4), sb_str(&ind4), sb_str(&where), dl,
               sb_str(&ind4), sb_str(&nm), sb_str(&nm));
        sb_free(&where);
        sb_free(&nm);
    } else if (k->detach && c->vars[k->detach - 1].storage != ST_GLOBAL) {
        /* the task sets its own copy: keep -Wunused quiet about the original */
        strbuf nm = {0};
        ref_name(c, &nm, ctx, k->detach - 1);
        w_genf(w, "%s(void)&%s;\n", sb_str(&ind4), sb_str(&nm));
        sb_free(&nm);
    }
    gen_local_type_uses(c, w, ci, sb_str(&ind4));
    args_init(c, w, k, ctx, ind, 0);
    int status = pr_find(&p->dir, PC_STATUS) != NULL;
    int inred = pr_find(&p->dir, PC_IN_REDUCTION) != NULL;
    if (status && inred) /* a failed dag_reduction_private is kept as well */
        w_genf(w, "%sdag_status_t __dagcc_s = DAG_OK;\n", sb_str(&ind4));
    gen_in_reductions(c, w, p, ctx, sb_str(&ind4), k->p2b, status);
    int ndeps = 0;
    gen_deps(c, w, p, ctx, sb_str(&ind4), &ndeps);
    func_label(c, k, &lab);
    gen_attr(c, w, p, ctx, sb_str(&ind4), sb_str(&lab), k->p2b);
    if (k->detach && p->dir.family == PR_OMP)
        w_genf(w, "%s__dagcc_t.event = __dagcc_evh;\n", sb_str(&ind4));
    int nfields = 0;
    for (unsigned i = 0; i < k->ncaps; i++)
        nfields += is_field(&k->caps[i]);
    submit_call(c, w, k, nfields, ndeps, sb_str(&ind4), ctx);
    w_genf(w, "%s}", ind);
    sb_free(&ind4);
    sb_free(&lab);
}

static void gen_taskloop(tr_ctx *c, writer *w, int ci, int ctx, const char *ind)
{
    tr_cons *k = &c->cons[ci];
    tr_pragma *p = &c->pragmas[k->pragma];
    tr_loop *L = &k->loop;
    const f_var *lv = &c->vars[L->var];
    strbuf b = {0};
    var_decl(&b, lv, "__dagcc_lb", 0);
    w_genf(w, "%s    %s = (", ind, sb_str(&b));
    sb_free(&b);
    render(c, w, L->lb_b, L->lb_e, ctx, 0);
    var_decl(&b, lv, "__dagcc_ub", 0);
    w_genf(w, ");\n%s    %s = (", ind, sb_str(&b));
    sb_free(&b);
    render(c, w, L->ub_b, L->ub_e, ctx, 0);
    w_genf(w, ");\n%s    long long __dagcc_st = ", ind);
    if (L->st_b == L->st_e) {
        w_gen(w, L->step_sign > 0 ? "1" : "-1");
    } else {
        w_gen(w, L->step_sign > 0 ? "(" : "-(");
        render(c, w, L->st_b, L->st_e, ctx, 0);
        w_gen(w, ")");
    }
    w_gen(w, ";\n");
    strbuf ind4 = {0}, lab = {0};
    sb_printf(&ind4, "%s    ", ind);
    gen_local_type_uses(c, w, ci, sb_str(&ind4));
    args_init(c, w, k, ctx, ind, 1);
    func_label(c, k, &lab);
    gen_attr(c, w, p, ctx, sb_str(&ind4), sb_str(&lab), k->p2b);
    int nred = gen_reductions(c, w, p, PC_REDUCTION, ctx, sb_str(&ind4), k->id);
    /* the iteration space, chunking and implicit taskgroup: dag_taskloop (runtime) */
    static const char *const rels[][2] = {{"<", "DAG_LOOP_LT"}, {"<=", "DAG_LOOP_LE"},
                                          {">", "DAG_LOOP_GT"}, {">=", "DAG_LOOP_GE"},
                                          {"!=", "DAG_LOOP_NE"}};
    const char *rel = "DAG_LOOP_NE";
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++)
        if (!strcmp(L->rel, rels[i][0]))
            rel = rels[i][1];
    int ptr = clang_getCanonicalType(lv->type).kind == CXType_Pointer;
    const pr_clause *gs = pr_find(&p->dir, PC_GRAINSIZE), *nt = pr_find(&p->dir, PC_NUM_TASKS);
    if (ptr)
        /* a pointer: iterations counted from 0 in elements */
        w_genf(w, "%s    dag_taskloop_t __dagcc_l = {0, (unsigned long long)(__dagcc_ub - "
                  "__dagcc_lb), __dagcc_st, %s, DAG_TASKLOOP_SIGNED", ind, rel);
    else
        w_genf(w, "%s    dag_taskloop_t __dagcc_l = {(unsigned long long)__dagcc_lb, "
                  "(unsigned long long)__dagcc_ub, __dagcc_st, %s,\n%s        "
                  "((__typeof__(__dagcc_lb))-1 < 1 ? DAG_TASKLOOP_SIGNED : 0u)",
               ind, rel, ind);
    if (gs)
        w_gen(w, gs->value ? " | DAG_TASKLOOP_GRAINSIZE | DAG_TASKLOOP_STRICT"
                           : " | DAG_TASKLOOP_GRAINSIZE");
    else if (nt)
        w_gen(w, " | DAG_TASKLOOP_NUM_TASKS");
    if (pr_find(&p->dir, PC_NOGROUP))
        w_gen(w, " | DAG_TASKLOOP_NOGROUP");
    w_gen(w, ", ");
    if (gs || nt) {
        w_gen(w, "(unsigned long long)(");
        render_expr(c, w, p, (gs ? gs : nt)->expr, ctx);
        w_gen(w, ")");
    } else {
        w_gen(w, "0");
    }
    w_genf(w, ",\n%s        __builtin_offsetof(struct __dagcc_args_%d, __dagcc_range), ", ind,
           k->id);
    w_gen(w, nred ? "__dagcc_r, " : "NULL, ");
    w_genf(w, "%d};\n", nred);
    strbuf call = {0};
    sb_printf(&call, "dag_taskloop(__dagcc_task_%d, &__dagcc_a, sizeof __dagcc_a, &__dagcc_l, "
                     "&__dagcc_t)", k->id);
    gen_submit(c, w, p, ctx, sb_str(&ind4), sb_str(&call), "taskloop", 0);
    sb_free(&call);
    if (!(lv->decl_b >= k->stmt_b && lv->decl_b < k->stmt_e)) {
        /* the loop variable is private to the tasks; keep -Wunused quiet about it */
        strbuf nm = {0};
        sb_puts(&nm, "(void)&");
        sb_puts(&nm, cap_of(c, ctx, L->var) && cap_of(c, ctx, L->var)->byptr ? "*" : "");
        sb_puts(&nm, lv->name);
        w_genf(w, "%s    %s;\n", ind, sb_str(&nm));
        sb_free(&nm);
    }
    w_genf(w, "%s}", ind);
    sb_free(&ind4);
    sb_free(&lab);
}

/* Privatisation of OpenMP parallel/single private and firstprivate lists. */
static void privatize(tr_ctx *c, writer *w, tr_pragma *p)
{
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != PC_PRIVATE && cl->kind != PC_FIRSTPRIVATE)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            int n = (int)(cl->items[j].text.e - cl->items[j].text.b);
            const char *v = p->text + cl->items[j].text.b;
            if (cl->kind == PC_PRIVATE)
                w_genf(w, " __typeof__(%.*s) %.*s;", n, v, n, v);
            else
                w_genf(w, " __typeof__(%.*s) __dagcc_fp_%.*s = %.*s, %.*s = __dagcc_fp_%.*s;",
                       n, v, n, v, n, v, n, v, n, v);
        }
    }
    (void)c;
}

/* Between a task pragma and its statement there can be only blanks, comments,
 * preprocessor directives and the regions they skip (`#ifdef A / #pragma ... / #else /
 * #pragma ... / #endif` before one statement). The construct's code replaces that
 * text, so the directives are written again after it, keeping the conditionals whole. */
static void keep_directives(tr_ctx *c, writer *w, unsigned b, unsigned e)
{
    int any = 0;
    for (unsigned i = b; i < e && !any; i++)
        if (c->p2.s[i] == '#') {
            unsigned j = i;
            while (j > b && (c->p2.s[j - 1] == ' ' || c->p2.s[j - 1] == '\t'))
                j--;
            any = j == 0 || c->p2.s[j - 1] == '\n';
        }
    if (!any)
        return;
    w_gen(w, "\n");
    sb_putn(&w->b, c->p2.s + b, e - b);
    for (unsigned i = b; i < e; i++)
        w->line += c->p2.s[i] == '\n';
    w->known = 0; /* resynchronised at the next user text */
}

void gen_open(tr_ctx *c, writer *w, int ci, int ctx)
{
    tr_cons *k = &c->cons[ci];
    tr_pragma *p = &c->pragmas[k->pragma];
    strbuf ind = {0}, cm = {0}, where = {0};
    indent_of(c, k->p2b, &ind);
    pragma_comment(p, &cm);
    unsigned line;
    gen_loc(c, &where, k->p2b, NULL, &line);
    switch (k->kind) {
    case PK_TASK:
        w_genf(w, "{ %s\n", sb_str(&cm));
        gen_task(c, w, ci, ctx, sb_str(&ind));
        keep_directives(c, w, k->p2e, k->stmt_b);
        break;
    case PK_TASKLOOP:
        w_genf(w, "{ %s\n", sb_str(&cm));
        gen_taskloop(c, w, ci, ctx, sb_str(&ind));
        keep_directives(c, w, k->p2e, k->stmt_b);
        break;
    case PK_TASKWAIT: {
        if (!pr_find(&p->dir, PC_DEPEND)) {
            w_genf(w, "__dagcc_check(dag_taskwait(), \"taskwait\", %s, %u); %s", sb_str(&where),
                   line, sb_str(&cm));
            break;
        }
        w_genf(w, "{ %s\n", sb_str(&cm));
        strbuf i4 = {0};
        sb_printf(&i4, "%s    ", sb_str(&ind));
        int nd = 0;
        gen_deps(c, w, p, ctx, sb_str(&i4), &nd);
        char nb[16];
        w_genf(w, "%s__dagcc_check(dag_taskwait_deps(__dagcc_d, %s), \"taskwait\", %s, %u);\n"
                  "%s}", sb_str(&i4), dep_count(nd, nb, sizeof nb), sb_str(&where), line,
               sb_str(&ind));
        sb_free(&i4);
        break;
    }
    case PK_TASKYIELD:
        w_genf(w, "__dagcc_check(dag_taskyield(), \"taskyield\", %s, %u); %s", sb_str(&where),
               line, sb_str(&cm));
        break;
    case PK_DEPOBJ: {
        strbuf i4 = {0};
        sb_printf(&i4, "%s    ", sb_str(&ind));
        w_genf(w, "{ %s\n", sb_str(&cm));
        gen_depobj(c, w, ci, ctx, sb_str(&i4));
        w_genf(w, "%s}", sb_str(&ind));
        sb_free(&i4);
        break;
    }
    case PK_TASKGROUP:
        if (pr_find(&p->dir, PC_TASK_REDUCTION)) {
            strbuf i4 = {0};
            sb_printf(&i4, "%s    ", sb_str(&ind));
            w_genf(w, "{ %s\n", sb_str(&cm));
            int n = gen_reductions(c, w, p, PC_TASK_REDUCTION, ctx, sb_str(&i4), -1);
            w_genf(w, "%sdag_redgroup_t *__dagcc_rg;\n%s__dagcc_check(dag_reduction_begin("
                      "__dagcc_r, %d, &__dagcc_rg), \"taskgroup\", %s, %u);", sb_str(&i4),
                   sb_str(&i4), n, sb_str(&where), line);
            sb_free(&i4);
            break;
        }
        /* fall through */
    case PK_PARALLEL:
        w_genf(w, "{ %s __dagcc_check(dag_taskgroup_begin(), \"%s\", %s, %u);", sb_str(&cm),
               k->kind == PK_PARALLEL ? "parallel region" : "taskgroup", sb_str(&where), line);
        if (k->kind == PK_PARALLEL)
            privatize(c, w, p);
        break;
    case PK_SINGLE:
    case PK_MASTER:
        w_genf(w, "{ %s", sb_str(&cm));
        privatize(c, w, p);
        break;
    default:
        break;
    }
    (void)fam;
    sb_free(&ind);
    sb_free(&cm);
    sb_free(&where);
}

void gen_close(tr_ctx *c, writer *w, int ci)
{
    tr_cons *k = &c->cons[ci];
    strbuf where = {0};
    unsigned line;
    gen_loc(c, &where, k->p2b, NULL, &line);
    if (k->kind == PK_TASKGROUP && pr_find(&c->pragmas[k->pragma].dir, PC_TASK_REDUCTION))
        w_genf(w, " __dagcc_check(dag_reduction_end(__dagcc_rg), \"taskgroup\", %s, %u); }",
               sb_str(&where), line);
    else if (k->kind == PK_TASKGROUP || k->kind == PK_PARALLEL)
        w_genf(w, " __dagcc_check(dag_taskgroup_end(), \"%s\", %s, %u); }",
               k->kind == PK_PARALLEL ? "parallel region" : "taskgroup", sb_str(&where), line);
    else
        w_gen(w, " }");
    sb_free(&where);
}
