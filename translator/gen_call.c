/* gen_call.c: function tasks (every call becomes a task submission through a wrapper
 * that unpacks the arguments), prototypes that hoisted code needs, and the prelude each
 * translated file gets: the dag.h include and a few static helpers. */
#include <string.h>

#include "tr.h"

static void param_decl(strbuf *b, const tr_param *pa)
{
    if (strpbrk(pa->type, "(["))
        sb_printf(b, "__typeof__(%s) %s", pa->type, pa->name);
    else {
        size_t n = strlen(pa->type);
        sb_printf(b, "%s%s%s", pa->type, n && pa->type[n - 1] == '*' ? "" : " ", pa->name);
    }
}

char *gen_wrapper(tr_ctx *c, int pi)
{
    tr_pragma *p = &c->pragmas[pi];
    strbuf b = {0};
    /* A prototype, in case the function is defined after its first caller. */
    sb_printf(&b, "%s%s%s%s(", p->fstatic ? "static " : "", p->fret,
              p->fret[strlen(p->fret) - 1] == '*' ? "" : " ", p->fname);
    for (unsigned i = 0; i < p->nparams; i++) {
        if (i)
            sb_puts(&b, ", ");
        param_decl(&b, &p->params[i]);
    }
    sb_puts(&b, p->nparams ? ");\n" : "void);\n");
    if (p->nparams) {
        sb_printf(&b, "struct __dagcc_fargs_%s {\n", p->fname);
        for (unsigned i = 0; i < p->nparams; i++) {
            sb_puts(&b, "    ");
            if (p->params[i].vm)
                sb_printf(&b, "void *%s", p->params[i].name);
            else
                param_decl(&b, &p->params[i]);
            sb_puts(&b, ";\n");
        }
        sb_puts(&b, "};\n");
    }
    sb_printf(&b, "static int __dagcc_ftask_%s(void *__dagcc_p)\n{\n", p->fname);
    if (p->nparams)
        sb_printf(&b, "    struct __dagcc_fargs_%s *__dagcc_a = __dagcc_p;\n    ", p->fname);
    else
        sb_puts(&b, "    (void)__dagcc_p;\n    ");
    sb_printf(&b, "%s%s(", p->fret_kind == 1 ? "return " : "", p->fname);
    for (unsigned i = 0; i < p->nparams; i++)
        sb_printf(&b, "%s__dagcc_a->%s", i ? ", " : "", p->params[i].name);
    sb_puts(&b, p->fret_kind == 1 ? ");\n}\n" : ");\n    return 0;\n}\n");
    const pr_clause *var = pr_find(&p->dir, PC_VARIANT);
    if (var) {
        /* variant(cuda: g): g takes f's parameters and a trailing struct dag_cuda_ctx *,
         * and returns int (0: the work is enqueued on the context's stream) */
        sb_printf(&b, "static int __dagcc_fcuda_%s(void *__dagcc_p, struct dag_cuda_ctx "
                      "*__dagcc_ctx)\n{\n", p->fname);
        if (p->nparams)
            sb_printf(&b, "    struct __dagcc_fargs_%s *__dagcc_a = __dagcc_p;\n", p->fname);
        else
            sb_puts(&b, "    (void)__dagcc_p;\n");
        sb_printf(&b, "    return %.*s(", (int)(var->expr.e - var->expr.b),
                  p->text + var->expr.b);
        for (unsigned i = 0; i < p->nparams; i++)
            sb_printf(&b, "__dagcc_a->%s, ", p->params[i].name);
        sb_puts(&b, "__dagcc_ctx);\n}\n");
    }
    return sb_take(&b);
}

void gen_call(tr_ctx *c, writer *w, int ci, int ctx)
{
    f_call *k = &c->calls[ci];
    int pi = ftask_of(c, k->callee);
    tr_pragma *p = &c->pragmas[pi];
    w_gen(w, k->stmt_ctx ? "do { " : "__extension__({ "); /* do-while: `if (c) f(x); else` */
    if (p->nparams) {
        w_genf(w, "struct __dagcc_fargs_%s __dagcc_a = {", p->fname);
        for (unsigned i = 0; i < p->nparams && i < k->nargs; i++) {
            w_genf(w, "%s.%s = %s(", i ? ", " : "", p->params[i].name,
                   p->params[i].vm ? "(void *)(uintptr_t)" : "");
            render(c, w, k->args[i][0], k->args[i][1], ctx, 0);
            w_gen(w, ")");
        }
        w_gen(w, "}; ");
    }
    /* Clause expressions name the parameters: read them from the argument block. */
    const char *saved = c->subst;
    c->subst = "__dagcc_a.";
    int nd = 0;
    writer tmp;
    memset(&tmp, 0, sizeof tmp);
    gen_deps(c, &tmp, p, NONE, "", &nd);
    gen_attr(c, &tmp, p, NONE, "", p->fname, k->b);
    strbuf call = {0};
    char nb[16];
    sb_printf(&call, "dag_submit(__dagcc_ftask_%s, %s, %s, %s, %s, &__dagcc_t)", p->fname,
              p->nparams ? "&__dagcc_a" : "NULL", p->nparams ? "sizeof __dagcc_a" : "0",
              nd ? "__dagcc_d" : "NULL", dep_count(nd, nb, sizeof nb));
    /* status(lv): lv names the parameters too, read from the argument block (each
     * argument evaluated once) */
    gen_submit(c, &tmp, p, NONE, "", sb_str(&call), "task", 0);
    sb_free(&call);
    c->subst = saved;
    for (char *s = tmp.b.s; s && *s; s++)
        if (*s == '\n')
            *s = ' ';
    w_gen(w, sb_str(&tmp.b));
    sb_free(&tmp.b);
    w_gen(w, k->stmt_ctx ? "} while (0)" : "})");
}

char *gen_prototype(tr_ctx *c, CXCursor fn)
{
    (void)c;
    strbuf b = {0};
    CXType ft = clang_getCursorType(fn);
    if (clang_Cursor_getStorageClass(fn) == CX_SC_Static)
        sb_puts(&b, "static ");
    CXString rs = clang_getTypeSpelling(clang_getResultType(ft));
    CXString ns = clang_getCursorSpelling(fn);
    const char *r = clang_getCString(rs);
    if (strpbrk(r, "(["))
        sb_printf(&b, "__typeof__(%s) %s(", r, clang_getCString(ns));
    else
        sb_printf(&b, "%s%s%s(", r, r[strlen(r) - 1] == '*' ? "" : " ", clang_getCString(ns));
    clang_disposeString(rs);
    clang_disposeString(ns);
    if (ft.kind == CXType_FunctionProto) {
        int n = clang_Cursor_getNumArguments(fn);
        for (int i = 0; i < n; i++) {
            tr_param pa;
            CXString an = clang_getCursorSpelling(clang_Cursor_getArgument(fn, (unsigned)i));
            CXString at = clang_getTypeSpelling(clang_getArgType(ft, (unsigned)i));
            pa.name = (char *)clang_getCString(an);
            pa.type = (char *)clang_getCString(at);
            if (i)
                sb_puts(&b, ", ");
            param_decl(&b, &pa);
            clang_disposeString(an);
            clang_disposeString(at);
        }
        if (clang_isFunctionTypeVariadic(ft))
            sb_puts(&b, n ? ", ..." : "...");
        else if (n == 0)
            sb_puts(&b, "void");
    }
    sb_puts(&b, ");\n");
    return sb_take(&b);
}

char *gen_prelude(tr_ctx *c)
{
    strbuf b = {0};
    sb_puts(&b, "/* dagcc: runtime glue for this file (see docs/translator.md) */\n"
                "#ifndef __DAGCC_PRELUDE\n#define __DAGCC_PRELUDE 1\n"
                "#include <dag.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
                "static const char __dagcc_file[] __attribute__((unused)) = \"");
    sb_put_c_escaped(&b, c->path);
    sb_puts(&b, "\";\n"
                "static __attribute__((noinline, cold, unused)) void\n"
                "__dagcc_fail(dag_status_t s, const char *what, const char *file, int line)\n"
                "{\n"
                "    dag_error_t e;\n"
                "    char buf[512];\n"
                "    if ((s == DAG_ERR_TASK_FAILED || s == DAG_ERR_CANCELLED) &&\n"
                "        dag_last_error(&e) == DAG_OK)\n"
                "        fprintf(stderr, \"%s:%d: error: %s: %s\\n\", file, line, what,\n"
                "                dag_error_format(&e, buf, sizeof buf));\n"
                "    else\n"
                "        fprintf(stderr, \"%s:%d: error: %s: %s\\n\", file, line, what,\n"
                "                dag_strerror(s));\n"
                "    fflush(NULL);\n"
                "    _Exit(EXIT_FAILURE);\n"
                "}\n"
                "static inline __attribute__((unused)) void\n"
                "__dagcc_check(dag_status_t s, const char *what, const char *file, int line)\n"
                "{\n"
                "    if (__builtin_expect(s != DAG_OK, 0))\n"
                "        __dagcc_fail(s, what, file, line);\n"
                "}\n"
                "static inline __attribute__((unused)) void __dagcc_main_exit(int line)\n"
                "{\n"
                "    dag_status_t s = dag_finalize(); /* DAG_ERR_STATE: no task ever ran */\n"
                "    if (s != DAG_ERR_STATE)\n"
                "        __dagcc_check(s, \"end of main\", __dagcc_file, line);\n"
                "}\n"
                "#endif\n");
    if (c->omp_events)
        /* -fopenmp `detach`: an omp_event_handle_t is a runtime event handle */
        sb_puts(&b, "#ifndef __DAGCC_OMP_EVENTS\n#define __DAGCC_OMP_EVENTS 1\n"
                "static __attribute__((unused)) void __dagcc_omp_fulfill_event(uintptr_t h)\n"
                "{\n"
                "    __dagcc_check(dag_event_handle_fulfill((dag_event_t *)h, 0),\n"
                "                  \"omp_fulfill_event\", __dagcc_file, 0);\n"
                "}\n"
                "#endif\n");
    return sb_take(&b);
}
