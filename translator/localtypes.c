/* localtypes.c: the function-local types, enumeration constants and function declarations
 * an outlined task body uses. The body moves to a file-scope function, out of the scope of
 * the enclosing function's typedefs, struct/union/enum tags, enumerators and block-scope
 * function declarations; their declarations (and those they depend on) are copied, with
 * their original names, to the top of the task function, so the body sees the same names
 * as where it was written. A local type that
 * depends on a local variable or is variably modified cannot be copied (its size would be
 * recomputed in the task): that is an error at the body's first use of it. */
#include <stdlib.h>
#include <string.h>

#include "tr.h"

typedef struct lt_walk {
    tr_ctx *c;
    tr_cons *k;
    CXCursor *decls; /* needed declarations (each a child of the function) */
    unsigned ndecls, cdecls;
    unsigned (*uses)[2]; /* first use of each, in the body (for diagnostics) */
    unsigned b, e;       /* the range being walked */
    int in_decl;         /* walking a copied declaration, not the body */
    int names;           /* only collecting the typedef names of the copies */
    unsigned use_b, use_e;
    char **tdnames;      /* typedef names declared in the copied ranges */
    unsigned ntd, ctd;
} lt_walk;

/* The declaration a type or enumerator reference stands for, raised to the declaration
 * directly inside the function (an enumerator to its enum, a nested tag to its outermost
 * struct), or a null cursor when it is not function-local. */
static CXCursor local_decl_of(CXCursor d)
{
    CXCursor top = d;
    for (int depth = 0; depth < 64 && !clang_Cursor_isNull(top); depth++) {
        CXCursor sp = clang_getCursorSemanticParent(top);
        if (clang_Cursor_isNull(sp))
            break;
        enum CXCursorKind k = clang_getCursorKind(sp);
        if (k == CXCursor_TranslationUnit || k == CXCursor_InvalidFile)
            break;
        if (k == CXCursor_FunctionDecl)
            return top;
        top = sp;
    }
    return clang_getNullCursor();
}

static int is_local_var(CXCursor d)
{
    enum CXCursorKind k = clang_getCursorKind(d);
    if (k != CXCursor_VarDecl && k != CXCursor_ParmDecl)
        return 0;
    CXCursor sp = clang_getCursorSemanticParent(d);
    return !clang_Cursor_isNull(sp) && clang_getCursorKind(sp) == CXCursor_FunctionDecl;
}

static int variably_modified(CXType t, int depth)
{
    if (depth > 16)
        return 0;
    switch (t.kind) {
    case CXType_VariableArray:
    case CXType_DependentSizedArray:
        return 1;
    case CXType_Pointer:
        return variably_modified(clang_getPointeeType(t), depth + 1);
    case CXType_ConstantArray:
    case CXType_IncompleteArray:
        return variably_modified(clang_getArrayElementType(t), depth + 1);
    case CXType_Elaborated:
        return variably_modified(clang_Type_getNamedType(t), depth + 1);
    case CXType_Typedef:
        return variably_modified(
            clang_getTypedefDeclUnderlyingType(clang_getTypeDeclaration(t)), depth + 1);
    default:
        return 0;
    }
}

static void spell_of(CXCursor d, strbuf *b)
{
    CXString s = clang_getCursorSpelling(d);
    sb_puts(b, clang_getCString(s));
    clang_disposeString(s);
}

static void need(lt_walk *w, CXCursor ref, CXCursor d)
{
    tr_ctx *c = w->c;
    CXCursor def = clang_getCursorDefinition(d);
    if (!clang_Cursor_isNull(def) && cursor_b(def) < w->k->p2b)
        d = def;
    CXCursor top = local_decl_of(d);
    if (clang_getCursorKind(d) == CXCursor_FunctionDecl) {
        /* a function declared inside a function (defined nowhere before the task) */
        CXCursor lp = clang_getCursorLexicalParent(d);
        top = !clang_Cursor_isNull(lp) && clang_getCursorKind(lp) == CXCursor_FunctionDecl
                  ? d
                  : clang_getNullCursor();
    }
    if (clang_Cursor_isNull(top))
        return;
    unsigned db = cursor_b(top);
    if (db >= w->k->body_b && db < w->k->body_e)
        return; /* declared in the body itself */
    for (unsigned i = 0; i < w->ndecls; i++)
        if (clang_equalCursors(w->decls[i], top))
            return;
    CXFile f;
    clang_getExpansionLocation(clang_getRangeStart(clang_getCursorExtent(top)), &f, NULL,
                               NULL, NULL);
    unsigned ub = w->in_decl ? w->use_b : cursor_b(ref);
    unsigned ue = w->in_decl ? w->use_e : cursor_e(ref);
    if (!clang_File_isEqual(f, c->file2)) {
        strbuf n = {0};
        spell_of(top, &n);
        tr_diag_p2(c, DIAG_ERROR, ub, ue > ub ? ue - ub : 1,
                   "'%s' is declared inside a function in another file; a task body "
                   "cannot use it", sb_str(&n));
        sb_free(&n);
        return;
    }
    if (clang_getCursorKind(top) == CXCursor_TypedefDecl &&
        variably_modified(clang_getTypedefDeclUnderlyingType(top), 0)) {
        strbuf n = {0};
        spell_of(top, &n);
        tr_diag_p2(c, DIAG_ERROR, ub, ue > ub ? ue - ub : 1,
                   "the type '%s' is variably modified and declared inside the function; "
                   "a task body cannot use it (its size would be computed again in the "
                   "task: use a pointer to the array or a file-scope type)", sb_str(&n));
        sb_free(&n);
        return;
    }
    if (w->ndecls == w->cdecls) {
        w->cdecls = w->cdecls ? 2 * w->cdecls : 8;
        w->decls = xrealloc(w->decls, w->cdecls * sizeof *w->decls);
        w->uses = xrealloc(w->uses, w->cdecls * sizeof *w->uses);
    }
    w->uses[w->ndecls][0] = ub;
    w->uses[w->ndecls][1] = ue;
    w->decls[w->ndecls++] = top;
}

/* The local declarations a captured variable's type names. */
static void need_type(lt_walk *w, CXType t, int depth)
{
    if (depth > 16)
        return;
    switch (t.kind) {
    case CXType_Pointer:
        need_type(w, clang_getPointeeType(t), depth + 1);
        break;
    case CXType_ConstantArray:
    case CXType_IncompleteArray:
        need_type(w, clang_getArrayElementType(t), depth + 1);
        break;
    case CXType_Elaborated:
        need_type(w, clang_Type_getNamedType(t), depth + 1);
        break;
    case CXType_Typedef:
    case CXType_Record:
    case CXType_Enum:
        if (t.kind == CXType_Typedef || !clang_Cursor_isAnonymous(clang_getTypeDeclaration(t)))
            need(w, clang_getNullCursor(), clang_getTypeDeclaration(t));
        break;
    default:
        break;
    }
}

static enum CXChildVisitResult lt_visit(CXCursor cur, CXCursor parent, CXClientData data)
{
    (void)parent;
    lt_walk *w = data;
    unsigned b = cursor_b(cur), e = cursor_e(cur);
    if (e <= w->b || b >= w->e)
        return CXChildVisit_Continue;
    enum CXCursorKind k = clang_getCursorKind(cur);
    if (w->names) {
        if (k == CXCursor_TypedefDecl && b >= w->b && e <= w->e) {
            strbuf n = {0};
            spell_of(cur, &n);
            if (w->ntd == w->ctd) {
                w->ctd = w->ctd ? 2 * w->ctd : 8;
                w->tdnames = xrealloc(w->tdnames, w->ctd * sizeof *w->tdnames);
            }
            w->tdnames[w->ntd++] = sb_take(&n);
        }
        return CXChildVisit_Recurse;
    }
    if (k == CXCursor_TypeRef) {
        need(w, cur, clang_getCursorReferenced(cur));
    } else if (k == CXCursor_DeclRefExpr) {
        CXCursor d = clang_getCursorReferenced(cur);
        enum CXCursorKind dk = clang_getCursorKind(d);
        if (dk == CXCursor_EnumConstantDecl || dk == CXCursor_FunctionDecl) {
            need(w, cur, d);
        } else if (w->in_decl && is_local_var(d) && b >= w->b && e <= w->e) {
            strbuf v = {0};
            spell_of(d, &v);
            tr_diag_p2(w->c, DIAG_ERROR, w->use_b,
                       w->use_e > w->use_b ? w->use_e - w->use_b : 1,
                       "a type or constant declared inside the function refers to the local "
                       "variable '%s'; a task body cannot use it (declare it at file scope)",
                       sb_str(&v));
            tr_diag_p2(w->c, DIAG_NOTE, b, e - b, "'%s' referenced here", sb_str(&v));
            sb_free(&v);
        }
    }
    return CXChildVisit_Recurse;
}

static int by_begin(const void *a, const void *b)
{
    const unsigned *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] > y[1] ? -1 : x[1] < y[1];
}

void local_types(tr_ctx *c, int ci)
{
    tr_cons *k = &c->cons[ci];
    if (k->func < 0)
        return;
    CXCursor fn = c->funcs[k->func].cur;
    lt_walk w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.k = k;
    w.b = k->body_b;
    w.e = k->body_e;
    clang_visitChildren(fn, lt_visit, &w);
    /* the types of captured variables the task function declares */
    w.in_decl = 1;
    w.use_b = k->p2b;
    w.use_e = k->p2b + 1;
    for (unsigned i = 0; i < k->ncaps; i++) {
        const f_var *v = &c->vars[k->caps[i].var];
        if (!v->vm && v->storage != ST_GLOBAL)
            need_type(&w, v->type, 0);
    }
    /* what the copied declarations need in turn (the list grows while it is walked) */
    w.in_decl = 1;
    unsigned errors = c->diag.errors;
    for (unsigned i = 0; i < w.ndecls && c->diag.errors == errors; i++) {
        w.b = cursor_b(w.decls[i]);
        w.e = cursor_e(w.decls[i]);
        w.use_b = w.uses[i][0];
        w.use_e = w.uses[i][1];
        clang_visitChildren(w.decls[i], lt_visit, &w);
    }
    /* source order; a declaration inside another copied one (`typedef struct t {..} T`,
     * `typedef int A, *B`) goes with it */
    unsigned (*r)[2] = w.ndecls ? xmalloc(w.ndecls * sizeof *r) : NULL;
    for (unsigned i = 0; i < w.ndecls; i++) {
        r[i][0] = cursor_b(w.decls[i]);
        r[i][1] = cursor_e(w.decls[i]);
    }
    if (w.ndecls)
        qsort(r, w.ndecls, sizeof *r, by_begin);
    unsigned n = 0;
    for (unsigned i = 0; i < w.ndecls; i++) {
        if (n && r[i][0] < r[n - 1][1]) {
            if (r[i][1] > r[n - 1][1])
                r[n - 1][1] = r[i][1];
            continue;
        }
        r[n][0] = r[i][0];
        r[n][1] = r[i][1];
        n++;
    }
    k->ltypes = r;
    k->nltypes = n;
    /* the typedef names the copies declare: the task function uses each (an unused
     * local typedef is a warning under -Wall) */
    w.names = 1;
    for (unsigned i = 0; i < n; i++) {
        w.b = r[i][0];
        w.e = r[i][1];
        clang_visitChildren(fn, lt_visit, &w);
    }
    k->ltd = w.tdnames;
    k->nltd = w.ntd;
    free(w.decls);
    free(w.uses);
}

void gen_local_types(tr_ctx *c, writer *w, int ci)
{
    const tr_cons *k = &c->cons[ci];
    for (unsigned i = 0; i < k->nltypes; i++) {
        const char *file;
        unsigned line, col;
        presumed(c, k->ltypes[i][0], &file, &line, &col);
        w_end_line(w);
        w_line(w, file, line);
        render(c, w, k->ltypes[i][0], k->ltypes[i][1], ci, 1);
        w_gen(w, ";\n");
    }
    for (unsigned i = 0; i < k->nltd; i++)
        w_genf(w, "    (void)(%s *)0;\n", k->ltd[i]);
}

/* The copied typedefs are used in the task function; the originals may now be used only
 * by the moved body, so the construct uses them too (-Wunused-local-typedefs). */
void gen_local_type_uses(tr_ctx *c, writer *w, int ci, const char *ind)
{
    const tr_cons *k = &c->cons[ci];
    for (unsigned i = 0; i < k->nltd; i++) {
        int shadowed = 0; /* by a variable in scope at the construct */
        for (size_t j = 0; j < c->nvars && !shadowed; j++) {
            const f_var *v = &c->vars[j];
            shadowed = v->storage != ST_GLOBAL && v->func == k->func &&
                       v->decl_b < k->p2b && k->p2b < v->scope_e &&
                       strcmp(v->name, k->ltd[i]) == 0;
        }
        if (!shadowed)
            w_genf(w, "%s(void)(%s *)0;\n", ind, k->ltd[i]);
    }
}
