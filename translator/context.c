/* context.c: pass-1 placement of each pragma. Decides whether a pragma sits inside a
 * function body (statement context) or at file scope (a function task), reads the
 * function's signature for function tasks, and marks which pragmas get translated. */
#include <stdlib.h>
#include <string.h>

#include "tr.h"

typedef struct top {
    CXCursor cur;
    CXFile file;
    unsigned b, e, body_b, body_e;
} top;

typedef struct tops {
    top *v;
    size_t n, cap;
    CXTranslationUnit tu;
} tops;

static enum CXChildVisitResult find_body(CXCursor cur, CXCursor parent, CXClientData d)
{
    (void)parent;
    if (clang_getCursorKind(cur) == CXCursor_CompoundStmt) {
        *(CXCursor *)d = cur;
        return CXChildVisit_Break;
    }
    return CXChildVisit_Continue;
}

static enum CXChildVisitResult visit_top(CXCursor cur, CXCursor parent, CXClientData d)
{
    (void)parent;
    tops *t = d;
    top x;
    memset(&x, 0, sizeof x);
    x.cur = cur;
    CXSourceRange r = clang_getCursorExtent(cur);
    clang_getExpansionLocation(clang_getRangeStart(r), &x.file, NULL, NULL, &x.b);
    clang_getExpansionLocation(clang_getRangeEnd(r), NULL, NULL, NULL, &x.e);
    if (!x.file)
        return CXChildVisit_Continue;
    if (clang_getCursorKind(cur) == CXCursor_FunctionDecl && clang_isCursorDefinition(cur)) {
        CXCursor body = clang_getNullCursor();
        clang_visitChildren(cur, find_body, &body);
        if (!clang_Cursor_isNull(body)) {
            CXSourceRange br = clang_getCursorExtent(body);
            clang_getExpansionLocation(clang_getRangeStart(br), NULL, NULL, NULL, &x.body_b);
            clang_getExpansionLocation(clang_getRangeEnd(br), NULL, NULL, NULL, &x.body_e);
        }
    }
    VEC_PUSH(t->v, t->n, t->cap, x);
    return CXChildVisit_Continue;
}

static int same_file(CXFile a, CXFile b)
{
    return a && b && clang_File_isEqual(a, b);
}

static int is_vm(CXType t)
{
    t = clang_getCanonicalType(t);
    for (;;) {
        switch (t.kind) {
        case CXType_VariableArray:
        case CXType_DependentSizedArray:
            return 1;
        case CXType_ConstantArray:
        case CXType_IncompleteArray:
            t = clang_getCanonicalType(clang_getArrayElementType(t));
            break;
        case CXType_Pointer:
            t = clang_getCanonicalType(clang_getPointeeType(t));
            break;
        default:
            return 0;
        }
    }
}

/* Fills the function-task fields of p from the function declaration fn. */
static void read_signature(tr_ctx *c, tr_pragma *p, CXCursor fn)
{
    CXType ft = clang_getCursorType(fn);
    p->fname = spelling(clang_getCursorSpelling(fn));
    CXType rt = clang_getResultType(ft);
    p->fret = spelling(clang_getTypeSpelling(rt));
    CXType crt = clang_getCanonicalType(rt);
    p->fret_kind = crt.kind == CXType_Void ? 0 : crt.kind == CXType_Int ? 1 : 2;
    p->fvariadic = clang_isFunctionTypeVariadic(ft) != 0;
    p->fstatic = clang_Cursor_getStorageClass(fn) == CX_SC_Static;
    unsigned loc;
    clang_getExpansionLocation(clang_getCursorLocation(fn), NULL, NULL, NULL, &loc);
    p->fdecl_b = loc;
    if (ft.kind == CXType_FunctionNoProto) {
        tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                       "function task '%s' needs a prototype (declare its parameters)",
                       p->fname);
        return;
    }
    int n = clang_Cursor_getNumArguments(fn);
    p->nparams = n > 0 ? (unsigned)n : 0;
    p->params = xcalloc(p->nparams + 1, sizeof *p->params);
    for (unsigned i = 0; i < p->nparams; i++) {
        CXCursor a = clang_Cursor_getArgument(fn, i);
        CXType at = clang_getArgType(ft, i);
        p->params[i].name = spelling(clang_getCursorSpelling(a));
        p->params[i].type = spelling(clang_getTypeSpelling(at));
        p->params[i].vm = is_vm(at);
        if (!p->params[i].name[0])
            p->funnamed = 1;
    }
}

static void check_function_task(tr_ctx *c, tr_pragma *p)
{
    static const pr_clause_kind bad[] = {PC_SHARED, PC_PRIVATE, PC_FIRSTPRIVATE, PC_DEFAULT};
    const pr_clause *det = pr_find(&p->dir, PC_DETACH);
    if (det)
        tr_diag_pragma(c, DIAG_ERROR, p, det->name,
                       "'detach' is not allowed on a function task");
    const pr_clause *inr = pr_find(&p->dir, PC_IN_REDUCTION);
    if (inr)
        tr_diag_pragma(c, DIAG_ERROR, p, inr->name,
                       "'in_reduction' is not allowed on a function task (its parameters "
                       "are copies; write the task at the call)");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const pr_clause *cl = pr_find(&p->dir, bad[i]);
        if (cl)
            tr_diag_pragma(c, DIAG_ERROR, p, cl->name,
                           "'%s' is not allowed on a function task: its parameters are "
                           "passed by value", pr_clause_name(bad[i]));
    }
    if (!p->fname)
        return;
    if (p->fvariadic)
        tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                       "function task '%s' cannot be variadic", p->fname);
    if (p->fret_kind == 2)
        tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                       "function task '%s' must return void or int (an int result is the "
                       "task's status: non-zero marks it failed)", p->fname);
    if (p->funnamed && p->dir.nclauses)
        tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                       "the parameters of function task '%s' must be named so that its "
                       "clauses can refer to them", p->fname);
}

/* Should an omp directive that dagcc leaves alone still be probed, to learn the extent
 * of the region it opens (tasks inside it stay OpenMP tasks)? */
static int omp_region(const tr_pragma *p)
{
    const char *t = p->text + p->dir.name.b;
    unsigned n = p->dir.name.e - p->dir.name.b;
    if ((n >= 8 && !memcmp(t, "parallel", 8)) || (n >= 5 && !memcmp(t, "teams", 5)))
        return 1;
    if (n >= 6 && !memcmp(t, "target", 6)) {
        const char *rest = p->text + p->dir.name.e;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        return strncmp(rest, "enter", 5) && strncmp(rest, "exit", 4) &&
               strncmp(rest, "update", 6) && strncmp(rest, "data", 4);
    }
    return 0;
}

void context_pass1(tr_ctx *c)
{
    tops t = {NULL, 0, 0, c->tu1};
    clang_visitChildren(clang_getTranslationUnitCursor(c->tu1), visit_top, &t);
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (p->status)
            continue;
        CXFile pf = c->file1;
        if (p->in_header)
            pf = clang_getFile(c->tu1, p->header_path);
        int inside = 0;
        size_t next = t.n;
        for (size_t k = 0; k < t.n; k++) {
            if (!same_file(t.v[k].file, pf))
                continue;
            if (t.v[k].body_e && p->b >= t.v[k].body_b && p->b < t.v[k].body_e)
                inside = 1;
            if (t.v[k].b >= p->e && (next == t.n || t.v[k].b < t.v[next].b))
                next = k;
        }
        /* The directive name column in the pragma header, for messages. */
        const char *fam = p->dir.family == PR_DAG ? "dag" : "omp";
        int nlen = (int)(p->dir.name.e - p->dir.name.b);
        const char *nm = p->text + p->dir.name.b;
        if (p->in_header) {
            if (p->dir.family == PR_DAG && p->dir.kind == PK_TASK && !inside && next < t.n &&
                clang_getCursorKind(t.v[next].cur) == CXCursor_FunctionDecl) {
                p->file_scope = 1;
                p->translate = 1;
                read_signature(c, p, t.v[next].cur);
                check_function_task(c, p);
            } else if (p->dir.family == PR_DAG) {
                tr_diag_pragma(c, DIAG_WARNING, p, p->dir.name,
                               "'#pragma dag %.*s' in a header is ignored (only function "
                               "tasks may be declared in headers)", nlen, nm);
            }
            continue;
        }
        if (p->dir.kind == PK_OTHER) {
            if (inside && omp_region(p))
                p->translate = 2;
            continue;
        }
        if (p->dir.kind == PK_DECLARE_REDUCTION) {
            /* its functions replace it at file scope (gen_red.c) */
            if (inside)
                tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                               "'#pragma %s declare reduction' must appear at file scope "
                               "(dagcc)", fam);
            p->file_scope = 1;
            p->translate = !inside;
            continue;
        }
        if (inside) {
            p->translate = 1;
            continue;
        }
        if (p->dir.family == PR_DAG && p->dir.kind == PK_TASK) {
            if (next < t.n && clang_getCursorKind(t.v[next].cur) == CXCursor_FunctionDecl) {
                p->file_scope = 1;
                p->translate = 1;
                read_signature(c, p, t.v[next].cur);
                check_function_task(c, p);
            } else {
                tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                               "'#pragma dag task' at file scope must be followed by a "
                               "function declaration or definition");
            }
            continue;
        }
        tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                       "'#pragma %s %.*s' must appear inside a function body", fam, nlen, nm);
    }
    free(t.v);
}

/* The function-task pragma that declares function `name`, or NONE. */
int ftask_of(const tr_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->npragmas; i++) {
        const tr_pragma *p = &c->pragmas[i];
        if (p->translate && !p->status && p->file_scope && p->fname &&
            strcmp(p->fname, name) == 0)
            return (int)i;
    }
    return NONE;
}
