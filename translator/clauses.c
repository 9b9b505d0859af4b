/* clauses.c: type checks of clause expressions that the pass-2 probe alone does not
 * make: status(lv) needs an lvalue of type dag_status_t or an integer type (the probe
 * `(lv) = 0` has already checked that it is assignable), device(expr) an integer
 * expression. Each pragma is checked once, in its own scope (function tasks: in terms of
 * their parameters), with errors at the clause's text. */
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static int is_integer(CXType t)
{
    return t.kind >= CXType_Bool && t.kind <= CXType_Int128;
}

/* The enum type t is dag_status_t (enum dag_status). */
static int is_status_enum(CXType t)
{
    CXString s = clang_getCursorSpelling(clang_getTypeDeclaration(t));
    int yes = strcmp(clang_getCString(s), "dag_status") == 0;
    clang_disposeString(s);
    return yes;
}

/* The expression of clause cl, typed (NULL if pass 2 gave it no cursor). */
static tr_piece *typed_piece(tr_pragma *p, const pr_clause *cl, CXType *canon, char **spell)
{
    tr_piece *pc = piece_of(p, cl->expr);
    if (!pc || !pc->has_cur)
        return NULL;
    CXType t = clang_getCursorType(pc->cur);
    *canon = clang_getCanonicalType(t);
    *spell = spelling(clang_getTypeSpelling(t));
    size_t n = strlen(*spell);
    if (n > 8 && !strncmp(*spell, "typeof(", 7) && (*spell)[n - 1] == ')') {
        /* a function task's probe declares its parameters as __typeof__(type) */
        memmove(*spell, *spell + 7, n - 8);
        (*spell)[n - 8] = '\0';
    }
    return pc;
}

static void check_status(tr_ctx *c, tr_pragma *p, const pr_clause *cl)
{
    CXType t;
    char *sp = NULL;
    if (!typed_piece(p, cl, &t, &sp))
        return;
    int ok = (is_integer(t) && t.kind != CXType_Bool) ||
             (t.kind == CXType_Enum && is_status_enum(t));
    if (!ok)
        tr_diag_pragma(c, DIAG_ERROR, p, cl->expr,
                       "'status' needs an lvalue of type dag_status_t or an integer type "
                       "(this one is '%s')", sp);
    free(sp);
}

static void check_device(tr_ctx *c, tr_pragma *p, const pr_clause *cl)
{
    CXType t;
    char *sp = NULL;
    tr_piece *pc = typed_piece(p, cl, &t, &sp);
    if (!pc)
        return;
    if (!is_integer(t) && t.kind != CXType_Enum) {
        tr_diag_pragma(c, DIAG_ERROR, p, cl->expr,
                       "'device' takes 'any', 'cpu', 'cuda' or an integer expression (a "
                       "DAG_DEVICE_* value); this one is '%s'", sp);
    } else {
        /* a constant is checked here; a value computed at run time is the caller's */
        CXEvalResult ev = clang_Cursor_Evaluate(pc->cur);
        if (ev && clang_EvalResult_getKind(ev) == CXEval_Int) {
            long long v = clang_EvalResult_getAsLongLong(ev);
            if (v < DV_ANY - 1 || v > DV_CUDA - 1)
                tr_diag_pragma(c, DIAG_ERROR, p, cl->expr,
                               "device(%lld) is not a device: use DAG_DEVICE_ANY (0), "
                               "DAG_DEVICE_CPU (1) or DAG_DEVICE_CUDA (2)", v);
        }
        if (ev)
            clang_EvalResult_dispose(ev);
    }
    free(sp);
}

void check_clause_types(tr_ctx *c)
{
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (!p->translate || p->status || p->dir.family != PR_DAG)
            continue;
        const pr_clause *cl;
        if ((cl = pr_find(&p->dir, PC_STATUS)))
            check_status(c, p, cl);
        if ((cl = pr_find(&p->dir, PC_DEVICE)) && !cl->value)
            check_device(c, p, cl);
    }
}
