/* analyze.c: turns translated pragmas into constructs: nesting, the OpenMP
 * parallel/single idiom, canonical taskloop loops, jump checks, function-task calls and
 * the edit list for emission. Data-sharing lives in sharing.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static void add_edit(tr_ctx *c, unsigned b, unsigned e, int kind, int idx, char *text,
                     int order)
{
    tr_edit ed = {b, e, kind, idx, text, order};
    VEC_PUSH(c->edits, c->nedits, c->cedits, ed);
}

static const char *fam(const tr_pragma *p)
{
    return p->dir.family == PR_DAG ? "dag" : "omp";
}

static int has_stmt(pr_kind k)
{
    return k != PK_TASKWAIT && k != PK_TASKYIELD && k != PK_DEPOBJ;
}

static int is_task(const tr_cons *k)
{
    return k->kind == PK_TASK || k->kind == PK_TASKLOOP;
}

/* ---- canonical loops ----------------------------------------------------------------- */

static int var_of_ref(tr_ctx *c, CXCursor cur)
{
    cur = tr_strip(cur);
    if (clang_getCursorKind(cur) != CXCursor_DeclRefExpr)
        return NONE;
    int r = ref_at(c, cursor_b(cur));
    return r == NONE ? NONE : c->refs[r].var;
}

/* The operator text between two operands, trimmed. */
static void op_between(tr_ctx *c, unsigned a, unsigned b, char *out, size_t n)
{
    size_t k = 0;
    for (unsigned i = a; i < b && k + 1 < n; i++) {
        char ch = c->p2.s[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            out[k++] = ch;
    }
    out[k] = '\0';
}

static int loop_fail(tr_ctx *c, tr_cons *k, const char *why)
{
    tr_pragma *p = &c->pragmas[k->pragma];
    tr_diag_p2(c, DIAG_ERROR, k->stmt_b, 3,
               "'#pragma %s taskloop' needs a canonical loop 'for (var = lb; var relop ub; "
               "var += step)': %s", fam(p), why);
    return -1;
}

static int read_loop(tr_ctx *c, tr_cons *k, CXCursor loop)
{
    tr_loop *L = &k->loop;
    if (clang_getCursorKind(loop) != CXCursor_ForStmt)
        return loop_fail(c, k, "the statement is not a 'for' loop");
    tr_kids ch = tr_children(loop);
    if (ch.n != 4)
        return loop_fail(c, k, "init, condition and increment are all required");
    CXCursor init = ch.v[0], cond = ch.v[1], inc = ch.v[2];
    L->body = ch.v[3];
    L->var = NONE;
    if (clang_getCursorKind(init) == CXCursor_DeclStmt) {
        tr_kids d = tr_children(init);
        if (d.n != 1 || clang_getCursorKind(d.v[0]) != CXCursor_VarDecl)
            return loop_fail(c, k, "declare exactly one loop variable");
        CXCursor ini = clang_Cursor_getVarDeclInitializer(d.v[0]);
        if (clang_Cursor_isNull(ini))
            return loop_fail(c, k, "the loop variable needs an initial value");
        unsigned key;
        clang_getFileLocation(clang_getCursorLocation(d.v[0]), NULL, NULL, NULL, &key);
        for (size_t i = 0; i < c->nvars; i++)
            if (c->vars[i].key == key)
                L->var = (int)i;
        L->lb_b = cursor_b(ini);
        L->lb_e = cursor_e(ini);
    } else {
        tr_kids a = tr_children(init);
        char op[8];
        if (a.n == 2)
            op_between(c, cursor_e(a.v[0]), cursor_b(a.v[1]), op, sizeof op);
        if (a.n != 2 || strcmp(op, "=") != 0)
            return loop_fail(c, k, "the init must assign the loop variable");
        L->var = var_of_ref(c, a.v[0]);
        L->lb_b = cursor_b(a.v[1]);
        L->lb_e = cursor_e(a.v[1]);
    }
    if (L->var == NONE)
        return loop_fail(c, k, "the loop variable must be a local variable");
    tr_kids cc = tr_children(cond);
    char rel[8] = "";
    if (cc.n == 2)
        op_between(c, cursor_e(cc.v[0]), cursor_b(cc.v[1]), rel, sizeof rel);
    int lhs = cc.n == 2 ? var_of_ref(c, cc.v[0]) == L->var : 0;
    int rhs = cc.n == 2 ? var_of_ref(c, cc.v[1]) == L->var : 0;
    static const char *const rels[] = {"<", "<=", ">", ">=", "!="};
    static const char *const flip[] = {">", ">=", "<", "<=", "!="};
    int ri = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(rel, rels[i]) == 0)
            ri = i;
    if (ri < 0 || lhs == rhs)
        return loop_fail(c, k, "the condition must compare the loop variable with <, <=, "
                               ">, >= or !=");
    CXCursor ub = lhs ? cc.v[1] : cc.v[0];
    strcpy(L->rel, lhs ? rels[ri] : flip[ri]);
    L->ub_b = cursor_b(ub);
    L->ub_e = cursor_e(ub);
    /* increment */
    enum CXCursorKind ik = clang_getCursorKind(inc);
    tr_kids ic = tr_children(inc);
    L->st_b = L->st_e = 0;
    if (ik == CXCursor_UnaryOperator && ic.n == 1 && var_of_ref(c, ic.v[0]) == L->var) {
        unsigned b = cursor_b(inc), e = cursor_e(inc);
        const char *s = c->p2.s;
        int plus = 0, minus = 0;
        for (unsigned i = b; i + 1 < e; i++) {
            plus |= s[i] == '+' && s[i + 1] == '+';
            minus |= s[i] == '-' && s[i + 1] == '-';
        }
        if (plus == minus)
            return loop_fail(c, k, "unrecognised increment");
        L->step_sign = plus ? 1 : -1;
    } else if ((ik == CXCursor_CompoundAssignOperator || ik == CXCursor_BinaryOperator) &&
               ic.n == 2 && var_of_ref(c, ic.v[0]) == L->var) {
        char op[8];
        op_between(c, cursor_e(ic.v[0]), cursor_b(ic.v[1]), op, sizeof op);
        if (strcmp(op, "+=") == 0 || strcmp(op, "-=") == 0) {
            L->step_sign = op[0] == '+' ? 1 : -1;
            L->st_b = cursor_b(ic.v[1]);
            L->st_e = cursor_e(ic.v[1]);
        } else if (strcmp(op, "=") == 0) {
            CXCursor rhs2 = tr_strip(ic.v[1]);
            tr_kids r = tr_children(rhs2);
            char op2[8] = "";
            if (r.n == 2)
                op_between(c, cursor_e(r.v[0]), cursor_b(r.v[1]), op2, sizeof op2);
            if (r.n == 2 && strcmp(op2, "+") == 0 && var_of_ref(c, r.v[0]) == L->var) {
                L->step_sign = 1;
                L->st_b = cursor_b(r.v[1]);
                L->st_e = cursor_e(r.v[1]);
            } else if (r.n == 2 && strcmp(op2, "+") == 0 && var_of_ref(c, r.v[1]) == L->var) {
                L->step_sign = 1;
                L->st_b = cursor_b(r.v[0]);
                L->st_e = cursor_e(r.v[0]);
            } else if (r.n == 2 && strcmp(op2, "-") == 0 && var_of_ref(c, r.v[0]) == L->var) {
                L->step_sign = -1;
                L->st_b = cursor_b(r.v[1]);
                L->st_e = cursor_e(r.v[1]);
            } else {
                return loop_fail(c, k, "unrecognised increment");
            }
        } else {
            return loop_fail(c, k, "unrecognised increment");
        }
    } else {
        return loop_fail(c, k, "unrecognised increment");
    }
    if (strcmp(L->rel, "!=") == 0 && L->st_b != L->st_e)
        return loop_fail(c, k, "a '!=' condition needs ++ or -- as increment");
    int up = L->rel[0] == '<';
    if (L->rel[0] != '!' && up != (L->step_sign > 0))
        return loop_fail(c, k, "the increment goes the wrong way for the condition");
    k->body_b = cursor_b(L->body);
    k->body_e = stmt_end_with_semi(c, L->body);
    return 0;
}

/* ---- constructs and nesting ------------------------------------------------------- */

static void build_constructs(tr_ctx *c)
{
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (!p->translate || p->status || p->file_scope || p->in_header)
            continue;
        f_probe *pr = &c->probes[i];
        tr_cons k;
        memset(&k, 0, sizeof k);
        k.pragma = (int)i;
        k.kind = p->dir.kind;
        k.p2b = p->p2b;
        k.p2e = p->p2e;
        k.parent = k.task_ctx = k.func = k.region = k.idiom_child = NONE;
        k.translate = p->translate == 1;
        k.loop.var = NONE;
        if (!pr->found) {
            tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                           "'#pragma %s %.*s' must be followed by a statement", fam(p),
                           (int)(p->dir.name.e - p->dir.name.b), p->text + p->dir.name.b);
            continue;
        }
        if (has_stmt(k.kind)) {
            k.stmt_b = pr->stmt_b;
            k.stmt_e = pr->stmt_e;
            k.body_b = k.stmt_b;
            k.body_e = k.stmt_e;
        } else {
            k.stmt_b = k.stmt_e = k.body_b = k.body_e = p->p2e;
            if (!pr->parent_compound && k.translate)
                tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                               "'#pragma %s %.*s' cannot be the body of an 'if', 'for', "
                               "'while' or 'do'; put it in braces", fam(p),
                               (int)(p->dir.name.e - p->dir.name.b), p->text + p->dir.name.b);
        }
        for (size_t f = 0; f < c->nfuncs; f++)
            if (k.p2b >= c->funcs[f].b && k.p2b < c->funcs[f].e)
                k.func = (int)f;
        p->cons = (int)c->ncons;
        VEC_PUSH(c->cons, c->ncons, c->ccons, k);
    }
    /* Nesting: constructs are in source order and properly nested. */
    int *stack = xmalloc((c->ncons + 1) * sizeof *stack);
    size_t sp = 0;
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        while (sp && c->cons[stack[sp - 1]].stmt_e <= k->p2b)
            sp--;
        k->parent = sp ? stack[sp - 1] : NONE;
        stack[sp++] = (int)i;
    }
    free(stack);
}

static void set_untranslated(tr_ctx *c, size_t i)
{
    tr_cons *k = &c->cons[i];
    k->translate = 0;
    for (size_t j = i + 1; j < c->ncons && c->cons[j].p2b < k->stmt_e; j++) {
        if (c->cons[j].translate && c->cons[j].kind == PK_TASK)
            tr_diag_pragma(c, DIAG_WARNING, &c->pragmas[c->cons[j].pragma],
                           c->pragmas[c->cons[j].pragma].dir.name,
                           "task left to the OpenMP runtime: it is inside a parallel region "
                           "whose body is not a single 'single' or 'master' region");
        c->cons[j].translate = 0;
    }
}

/* dagcc -fopenmp: `parallel` + `single|master` becomes the sequential task flow. */
static void omp_idioms(tr_ctx *c)
{
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        tr_pragma *p = &c->pragmas[k->pragma];
        if (p->dir.family != PR_OMP)
            continue;
        if (k->kind == PK_OTHER) {
            set_untranslated(c, i);
            continue;
        }
        if (!k->translate)
            continue;
        if (k->kind == PK_PARALLEL) {
            int ok = !pr_find(&p->dir, PC_COPYIN) && !pr_find(&p->dir, PC_REDUCTION);
            int child = NONE;
            if (ok && !(p->dir.combined & PF_MASTER)) {
                size_t j = i + 1;
                CXCursor s = c->probes[k->pragma].stmt;
                unsigned start = k->stmt_b;
                if (clang_getCursorKind(s) == CXCursor_CompoundStmt) {
                    tr_kids ch = tr_children(s);
                    start = ch.n == 1 ? cursor_b(ch.v[0]) : 0;
                }
                if (j < c->ncons && c->cons[j].p2b == start && start &&
                    (c->cons[j].kind == PK_SINGLE || c->cons[j].kind == PK_MASTER) &&
                    !pr_find(&c->pragmas[c->cons[j].pragma].dir, PC_COPYPRIVATE))
                    child = (int)j;
                ok = child != NONE;
            }
            if (!ok) {
                set_untranslated(c, i);
                continue;
            }
            k->idiom_child = child;
            if (child != NONE)
                c->cons[child].region = (int)i; /* marks it as the idiom's body */
        } else if (k->kind == PK_SINGLE || k->kind == PK_MASTER) {
            if (k->region == NONE)
                k->translate = 0; /* orphaned: OpenMP runs it with a team of one */
        }
    }
    /* region: the innermost enclosing translated parallel region */
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        if (k->kind == PK_SINGLE || k->kind == PK_MASTER)
            continue;
        k->region = NONE;
        for (int q = k->parent; q != NONE; q = c->cons[q].parent)
            if (c->cons[q].kind == PK_PARALLEL && c->cons[q].translate) {
                k->region = q;
                break;
            }
        if (k->kind == PK_TASKLOOP && (c->pragmas[k->pragma].dir.combined & PF_PARALLEL))
            k->region = (int)i;
    }
}

static void set_contexts(tr_ctx *c)
{
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        k->task_ctx = NONE;
        for (int q = k->parent; q != NONE; q = c->cons[q].parent) {
            tr_cons *o = &c->cons[q];
            if (is_task(o) && o->translate && k->p2b >= o->body_b && k->p2b < o->body_e) {
                k->task_ctx = q;
                break;
            }
        }
    }
}

/* ---- jumps ------------------------------------------------------------------------ */

static void check_jumps(tr_ctx *c)
{
    static const char *const names[] = {"break", "continue", "return", "goto"};
    for (size_t i = 0; i < c->njumps; i++) {
        const f_jump *j = &c->jumps[i];
        for (size_t q = 0; q < c->ncons; q++) {
            const tr_cons *k = &c->cons[q];
            if (!k->translate || !has_stmt(k->kind) || k->kind == PK_PARALLEL)
                continue;
            int in_body = j->b >= k->body_b && j->b < k->body_e;
            const char *what = NULL;
            if (j->kind == J_RETURN && in_body)
                what = "leave";
            else if ((j->kind == J_BREAK || j->kind == J_CONTINUE) &&
                     j->target_b == k->p2b && in_body)
                what = "leave";
            else if (j->kind == J_BREAK && k->kind == PK_TASKLOOP && j->target_b == k->stmt_b)
                what = "leave";
            else if (j->kind == J_GOTO && j->target_b) {
                int tin = j->target_b >= k->body_b && j->target_b < k->body_e;
                if (in_body != tin)
                    what = in_body ? "leave" : "enter";
            }
            if (what) {
                const tr_pragma *p = &c->pragmas[k->pragma];
                tr_diag_p2(c, DIAG_ERROR, j->b, (unsigned)strlen(names[j->kind]),
                           "'%s' cannot %s the structured block of '#pragma %s %.*s'",
                           names[j->kind], what, fam(p),
                           (int)(p->dir.name.e - p->dir.name.b), p->text + p->dir.name.b);
            }
        }
    }
}

/* ---- edits ------------------------------------------------------------------------- */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    strbuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    return sb_take(&b);
}

static int depth_of(const tr_ctx *c, int ci)
{
    int d = 0;
    for (int q = c->cons[ci].parent; q != NONE; q = c->cons[q].parent)
        d++;
    return d;
}

static char *original_text(tr_ctx *c, const tr_pragma *p)
{
    return xstrndup(c->src + p->b, p->e - p->b);
}

static int cmp_edit(const void *a, const void *b)
{
    const tr_edit *x = a, *y = b;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    if (x->e != y->e) /* an insertion (b == e) first, then the longest range */
        return x->b == x->e ? -1 : y->b == y->e ? 1 : (x->e > y->e ? -1 : 1);
    return x->order - y->order;
}

void sort_edits(tr_ctx *c)
{
    qsort(c->edits, c->nedits, sizeof *c->edits, cmp_edit);
}

static void main_edits(tr_ctx *c)
{
    for (size_t f = 0; f < c->nfuncs; f++) {
        f_func *fn = &c->funcs[f];
        if (!fn->is_main || !fn->body_e)
            continue;
        unsigned line = 0;
        CXSourceLocation l = clang_getLocationForOffset(c->tu2, c->file2, fn->body_e - 1);
        clang_getPresumedLocation(l, NULL, &line, NULL);
        for (size_t i = 0; i < c->njumps; i++) {
            const f_jump *j = &c->jumps[i];
            if (j->kind != J_RETURN || j->func != (int)f)
                continue;
            unsigned rl = 0;
            clang_getPresumedLocation(clang_getLocationForOffset(c->tu2, c->file2, j->b),
                                      NULL, &rl, NULL);
            if (j->has_value)
                add_edit(c, j->b + 6, j->b + 6, E_TEXT, 0,
                         xprintf(" __dagcc_main_exit(%u),", rl), 0);
            else
                add_edit(c, j->b, j->semi_e, E_TEXT, 0,
                         xprintf("{ __dagcc_main_exit(%u); return; }", rl), 0);
        }
        add_edit(c, fn->body_e - 1, fn->body_e - 1, E_TEXT, 0,
                 xprintf("__dagcc_main_exit(%u); ", line), 1000);
    }
}

/* The #include lines that bring in `#pragma dag` (c->incs): the compiler sees those
 * headers as they are, so -Wunknown-pragmas is off around them. */
static void include_edits(tr_ctx *c)
{
    for (size_t i = 0; i < c->nincs; i++) {
        unsigned off = c->incs[i];
        for (size_t s = 0; s < c->nsegs; s++) {
            const tr_seg *g = &c->segs[s];
            if (g->kind != 0 || off < g->orig || off - g->orig >= g->p2e - g->p2b)
                continue;
            unsigned ls = g->p2b + (off - g->orig);
            while (ls > 0 && c->p2.s[ls - 1] != '\n')
                ls--;
            unsigned le = line_after(c->p2.s, c->p2_main_end, ls);
            add_edit(c, ls, ls, E_HOIST, 0,
                     xstrdup("#pragma GCC diagnostic push\n"
                             "#pragma GCC diagnostic ignored \"-Wunknown-pragmas\"\n"), -4000);
            add_edit(c, le, le, E_HOIST, 0, xstrdup("#pragma GCC diagnostic pop\n"), -4000);
            break;
        }
    }
}

static void construct_edits(tr_ctx *c)
{
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        tr_pragma *p = &c->pragmas[k->pragma];
        if (!k->translate) {
            add_edit(c, k->p2b, k->p2e, E_TEXT, 0, original_text(c, p), 0);
            continue;
        }
        switch (k->kind) {
        case PK_TASK:
        case PK_TASKLOOP:
            add_edit(c, k->p2b, k->stmt_e, E_CONS, (int)i, NULL, 0);
            break;
        case PK_TASKWAIT:
        case PK_TASKYIELD:
        case PK_DEPOBJ:
            add_edit(c, k->p2b, k->p2e, E_CONS, (int)i, NULL, 0);
            break;
        case PK_TASKGROUP:
        case PK_PARALLEL:
        case PK_SINGLE:
        case PK_MASTER:
            add_edit(c, k->p2b, k->p2e, E_CONS, (int)i, NULL, 0);
            add_edit(c, k->stmt_e, k->stmt_e, E_CONS, (int)i, NULL, -depth_of(c, (int)i));
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (p->translate && !p->status && p->file_scope && !p->in_header) {
            strbuf b = {0};
            sb_printf(&b, "/* function task '%s' (dagcc) */", p->fname ? p->fname : "?");
            for (const char *s = c->p2.s + p->p2b; s < c->p2.s + p->p2e; s++)
                if (*s == '\n')
                    sb_putc(&b, '\n');
            add_edit(c, p->p2b, p->p2e, E_TEXT, 0, sb_take(&b), 0);
        }
    }
}

static int in_translated_flow(const tr_ctx *c, unsigned off)
{
    for (size_t i = 0; i < c->ncons; i++) {
        const tr_cons *k = &c->cons[i];
        if (k->translate && (is_task(k) || k->kind == PK_PARALLEL) && off >= k->body_b &&
            off < k->body_e)
            return 1;
    }
    return 0;
}

static void call_edits(tr_ctx *c)
{
    static const char *const omp_api[][2] = {{"omp_get_thread_num", "dag_worker_id"},
                                             {"omp_get_num_threads", "dag_num_threads"},
                                             {"omp_in_final", "dag_in_final"}};
    for (size_t i = 0; i < c->ncalls; i++) {
        f_call *k = &c->calls[i];
        if (k->func == NONE || c->funcs[k->func].name[0] == '_')
            continue;
        int ft = ftask_of(c, k->callee);
        if (ft != NONE) {
            const tr_pragma *p = &c->pragmas[ft];
            if (p->fret_kind == 1 && !k->void_ctx) {
                tr_diag_p2(c, DIAG_ERROR, k->b, k->callee_e - k->b,
                           "the result of task function '%s' cannot be used: the call "
                           "creates a task that runs later", k->callee);
                continue;
            }
            add_edit(c, k->b, k->e, E_CALL, (int)i, NULL, 0);
            continue;
        }
        if (!c->opt->omp || k->callee_e == k->b)
            continue;
        for (size_t a = 0; a < 3; a++)
            if (strcmp(k->callee, omp_api[a][0]) == 0 && in_translated_flow(c, k->b))
                add_edit(c, k->callee_b, k->callee_e, E_TEXT, 0, xstrdup(omp_api[a][1]), 0);
    }
    /* -fopenmp: every omp_fulfill_event of the file (calls and function pointers) takes
     * the runtime event handles made by `detach` (gen.c, through the prelude's
     * __dagcc_omp_fulfill_event, gen_call.c) */
    for (size_t i = 0; i < c->nfulfills; i++) {
        add_edit(c, c->fulfills[i][0], c->fulfills[i][1], E_TEXT, 0,
                 xstrdup("__dagcc_omp_fulfill_event"), 0);
        c->omp_events = 1;
    }
}

static int cmp_ref(const void *a, const void *b)
{
    const f_ref *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b;
}

void analyze(tr_ctx *c)
{
    qsort(c->refs, c->nrefs, sizeof *c->refs, cmp_ref);
    check_clause_types(c);
    build_constructs(c);
    if (c->opt->omp)
        omp_idioms(c);
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        if (k->translate && k->kind == PK_TASKLOOP)
            read_loop(c, k, c->probes[k->pragma].stmt);
    }
    if (c->diag.errors)
        return;
    set_contexts(c);
    check_jumps(c);
    for (size_t i = 0; i < c->ncons; i++)
        if (c->cons[i].translate && is_task(&c->cons[i])) {
            compute_sharing(c, (int)i);
            local_types(c, (int)i);
        }
    if (c->diag.errors)
        return;
    check_lifetimes(c);
    construct_edits(c);
    call_edits(c);
    int any = 0;
    for (size_t i = 0; i < c->nedits; i++)
        any |= c->edits[i].kind == E_CALL;
    for (size_t i = 0; i < c->ncons; i++)
        any |= c->cons[i].translate;
    if (any)
        main_edits(c);
    include_edits(c);
    for (size_t i = 0; i < c->nrefs; i++)
        add_edit(c, c->refs[i].b, c->refs[i].e, E_REF, (int)i, NULL, 0);
    sort_edits(c);
}
