/* facts.c: one walk over the pass-2 AST of the main file, recording what analysis and
 * emission need: functions, local variables and every reference to them, calls, jumps,
 * the statements wrapped by pragma probes, and the cursors of clause expressions. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

typedef struct frame {
    CXCursor cur;
    enum CXCursorKind kind;
    unsigned b, e;
    unsigned nchild;
    CXCursor last;  /* last child visited */
    int var;        /* VarDecl/ParmDecl frame: its index */
    unsigned init_b, init_e;
    int probe;      /* ForStmt probe: pragma index */
} frame;

typedef struct walk {
    tr_ctx *c;
    frame *st;
    size_t depth, cap;
    int func;
    int *key_slots; /* open-addressing map from var key to index */
    size_t nslots;
    int *probe_at;  /* pragma index by probe start, sorted list */
    size_t nprobe_at;
    unsigned *piece_b; /* sorted piece starts with (pragma, piece) */
    unsigned (*piece_ref)[2];
    size_t npieces;
} walk;

static unsigned hash_key(unsigned k)
{
    k ^= k >> 16;
    k *= 0x45d9f3bu;
    k ^= k >> 16;
    return k;
}

static void map_put(walk *w, unsigned key, int idx)
{
    if ((size_t)(w->c->nvars + 1) * 2 > w->nslots) {
        size_t ns = w->nslots ? w->nslots * 2 : 1024;
        int *slots = xmalloc(ns * sizeof *slots);
        for (size_t i = 0; i < ns; i++)
            slots[i] = NONE;
        for (size_t i = 0; i < w->nslots; i++)
            if (w->key_slots[i] != NONE) {
                size_t h = hash_key(w->c->vars[w->key_slots[i]].key) & (ns - 1);
                while (slots[h] != NONE)
                    h = (h + 1) & (ns - 1);
                slots[h] = w->key_slots[i];
            }
        free(w->key_slots);
        w->key_slots = slots;
        w->nslots = ns;
    }
    size_t h = hash_key(key) & (w->nslots - 1);
    while (w->key_slots[h] != NONE)
        h = (h + 1) & (w->nslots - 1);
    w->key_slots[h] = idx;
}

static int map_get(const walk *w, unsigned key)
{
    if (!w->nslots)
        return NONE;
    size_t h = hash_key(key) & (w->nslots - 1);
    while (w->key_slots[h] != NONE) {
        if (w->c->vars[w->key_slots[h]].key == key)
            return w->key_slots[h];
        h = (h + 1) & (w->nslots - 1);
    }
    return NONE;
}

/* The key of a declaration: the offset of its name, if it is in the main file. */
static int decl_key(CXCursor decl, unsigned *key)
{
    CXSourceLocation l = clang_getCursorLocation(decl);
    if (!clang_Location_isFromMainFile(l))
        return 0;
    clang_getFileLocation(l, NULL, NULL, NULL, key);
    return 1;
}

static int type_vm(CXType t)
{
    t = clang_getCanonicalType(t);
    for (;;) {
        if (t.kind == CXType_VariableArray || t.kind == CXType_DependentSizedArray)
            return 1;
        if (t.kind == CXType_ConstantArray || t.kind == CXType_IncompleteArray)
            t = clang_getCanonicalType(clang_getArrayElementType(t));
        else if (t.kind == CXType_Pointer)
            t = clang_getCanonicalType(clang_getPointeeType(t));
        else
            return 0;
    }
}

static void add_var(walk *w, CXCursor cur, int storage)
{
    tr_ctx *c = w->c;
    f_var v;
    memset(&v, 0, sizeof v);
    if (!decl_key(cur, &v.key))
        return;
    v.name = spelling(clang_getCursorSpelling(cur));
    if (!v.name[0]) {
        free(v.name);
        return;
    }
    v.cur = cur;
    v.type = clang_getCursorType(cur);
    if (storage == ST_PARAM) {
        /* Parameters of array type are pointers: use the adjusted type. */
        CXCursor fn = clang_getCursorSemanticParent(cur);
        int n = clang_Cursor_getNumArguments(fn);
        for (int i = 0; i < n; i++)
            if (clang_equalCursors(clang_Cursor_getArgument(fn, (unsigned)i), cur)) {
                CXType at = clang_getArgType(clang_getCursorType(fn), (unsigned)i);
                if (at.kind != CXType_Invalid)
                    v.type = at;
            }
        CXType ct = clang_getCanonicalType(v.type);
        v.decay = ct.kind == CXType_ConstantArray || ct.kind == CXType_IncompleteArray ||
                  ct.kind == CXType_VariableArray;
    }
    v.storage = storage;
    v.func = w->func;
    v.decl_b = cursor_b(cur);
    v.decl_e = cursor_e(cur);
    v.scope_e = w->func >= 0 ? c->funcs[w->func].e : 0;
    for (size_t i = w->depth; i-- > 0;) {
        enum CXCursorKind k = w->st[i].kind;
        if (k == CXCursor_CompoundStmt || k == CXCursor_ForStmt) {
            v.scope_e = w->st[i].e;
            break;
        }
    }
    CXType ct = clang_getCanonicalType(v.type);
    v.vm = type_vm(v.type);
    v.array = !v.decay && (ct.kind == CXType_ConstantArray ||
                           ct.kind == CXType_IncompleteArray ||
                           ct.kind == CXType_VariableArray);
    v.aggregate = v.array || ct.kind == CXType_Record;
    VEC_PUSH(c->vars, c->nvars, c->cvars, v);
    map_put(w, v.key, (int)c->nvars - 1);
}

size_t ref_first(const tr_ctx *c, unsigned b)
{
    return lower_bound_u(c->refs, c->nrefs, sizeof *c->refs, offsetof(f_ref, b), b);
}

int ref_at(const tr_ctx *c, unsigned b)
{
    size_t i = ref_first(c, b);
    return i < c->nrefs && c->refs[i].b == b ? (int)i : NONE;
}

static int find_probe(const walk *w, unsigned off)
{
    size_t lo = 0, hi = w->nprobe_at;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        unsigned m = w->c->pragmas[w->probe_at[mid]].p2b;
        if (m < off)
            lo = mid + 1;
        else if (m > off)
            hi = mid;
        else
            return w->probe_at[mid];
    }
    return NONE;
}

static void match_piece(walk *w, CXCursor cur, unsigned b, unsigned e)
{
    size_t lo = lower_bound_u(w->piece_b, w->npieces, sizeof *w->piece_b, 0, b);
    for (; lo < w->npieces && w->piece_b[lo] == b; lo++) {
        tr_piece *pc = &w->c->pragmas[w->piece_ref[lo][0]].pieces[w->piece_ref[lo][1]];
        if (pc->p2e == e && !pc->has_cur) {
            pc->cur = cur;
            pc->has_cur = 1;
        }
    }
}

static frame *top_frame(walk *w)
{
    return w->depth ? &w->st[w->depth - 1] : NULL;
}

static void on_ref(walk *w, CXCursor cur, unsigned b)
{
    tr_ctx *c = w->c;
    CXCursor d = clang_getCursorReferenced(cur);
    enum CXCursorKind dk = clang_getCursorKind(d);
    if (dk != CXCursor_VarDecl && dk != CXCursor_ParmDecl)
        return;
    unsigned key;
    if (!decl_key(d, &key))
        return;
    int vi = map_get(w, key);
    if (vi == NONE)
        return;
    f_ref r;
    memset(&r, 0, sizeof r);
    r.var = vi;
    unsigned len = (unsigned)strlen(c->vars[vi].name);
    clang_getFileLocation(clang_getCursorLocation(cur), NULL, NULL, NULL, &r.b);
    (void)b;
    r.e = r.b + len;
    r.literal = r.e <= c->p2.n && memcmp(c->p2.s + r.b, c->vars[vi].name, len) == 0 &&
                (r.e == c->p2.n || !(c->p2.s[r.e] == '_' ||
                                     (unsigned)((c->p2.s[r.e] | 32) - 'a') < 26u ||
                                     (unsigned)(c->p2.s[r.e] - '0') < 10u));
    frame *p = top_frame(w);
    for (size_t i = w->depth; p && i-- > 0;) {
        enum CXCursorKind k = w->st[i].kind;
        if (k == CXCursor_UnexposedExpr || k == CXCursor_ParenExpr)
            continue;
        if (k == CXCursor_UnaryOperator && c->p2.s[w->st[i].b] == '&')
            r.addr_of = 1;
        break;
    }
    VEC_PUSH(c->refs, c->nrefs, c->crefs, r);
    /* A reference inside the type of a variable being declared: a VM dependency. */
    for (size_t i = w->depth; i-- > 0;) {
        frame *f = &w->st[i];
        if (f->kind != CXCursor_VarDecl && f->kind != CXCursor_ParmDecl)
            continue;
        if (f->var >= 0 && c->vars[f->var].vm && !(r.b >= f->init_b && r.b < f->init_e)) {
            f_var *v = &c->vars[f->var];
            v->vm_deps = xrealloc(v->vm_deps, (v->nvm_deps + 1) * sizeof *v->vm_deps);
            v->vm_deps[v->nvm_deps++] = vi;
        }
        break;
    }
}

static int stmt_context(walk *w, const frame *p, unsigned idx, CXCursor cur)
{
    switch (p->kind) {
    case CXCursor_CompoundStmt:
    case CXCursor_LabelStmt:
    case CXCursor_DefaultStmt:
        return 1;
    case CXCursor_IfStmt:
        return idx >= 1;
    case CXCursor_WhileStmt:
    case CXCursor_SwitchStmt:
        return idx == 1;
    case CXCursor_DoStmt:
        return idx == 0;
    case CXCursor_ForStmt:
    case CXCursor_CaseStmt:
        return clang_equalCursors(tr_last_child(p->cur), cur);
    default:
        (void)w;
        return 0;
    }
}

static void on_call(walk *w, CXCursor cur, unsigned b, unsigned e)
{
    tr_ctx *c = w->c;
    CXCursor fn = clang_getCursorReferenced(cur);
    if (clang_getCursorKind(fn) != CXCursor_FunctionDecl)
        return;
    f_call k;
    memset(&k, 0, sizeof k);
    k.callee = spelling(clang_getCursorSpelling(fn));
    k.b = b;
    k.e = e;
    k.callee_b = b;
    size_t n = strlen(k.callee);
    k.callee_e = memcmp(c->p2.s + b, k.callee, n) == 0 ? b + (unsigned)n : b;
    int na = clang_Cursor_getNumArguments(cur);
    k.nargs = na > 0 ? (unsigned)na : 0;
    k.args = xcalloc(k.nargs + 1, sizeof *k.args);
    for (unsigned i = 0; i < k.nargs; i++) {
        CXCursor a = clang_Cursor_getArgument(cur, i);
        k.args[i][0] = cursor_b(a);
        k.args[i][1] = cursor_e(a);
    }
    frame *p = top_frame(w);
    if (p) {
        k.stmt_ctx = stmt_context(w, p, p->nchild - 1, cur);
        k.void_ctx = k.stmt_ctx || (p->kind == CXCursor_CStyleCastExpr &&
                                    clang_getCursorType(p->cur).kind == CXType_Void);
    }
    k.func = w->func;
    VEC_PUSH(c->calls, c->ncalls, c->ccalls, k);
}

static void on_jump(walk *w, CXCursor cur, enum CXCursorKind kind, unsigned b, unsigned e)
{
    tr_ctx *c = w->c;
    f_jump j;
    memset(&j, 0, sizeof j);
    j.b = b;
    j.e = e;
    j.func = w->func;
    j.semi_e = stmt_end_with_semi(c, cur);
    if (kind == CXCursor_ReturnStmt) {
        j.kind = J_RETURN;
        j.has_value = !clang_Cursor_isNull(tr_last_child(cur));
    } else if (kind == CXCursor_GotoStmt) {
        j.kind = J_GOTO;
        CXCursor lr = tr_last_child(cur);
        CXCursor lab = clang_getCursorReferenced(lr);
        j.target_b = clang_Cursor_isNull(lab) ? 0 : cursor_b(lab);
    } else {
        j.kind = kind == CXCursor_BreakStmt ? J_BREAK : J_CONTINUE;
        for (size_t i = w->depth; i-- > 0;) {
            enum CXCursorKind k = w->st[i].kind;
            if (k == CXCursor_ForStmt || k == CXCursor_WhileStmt || k == CXCursor_DoStmt ||
                (k == CXCursor_SwitchStmt && j.kind == J_BREAK)) {
                j.target_b = w->st[i].b;
                break;
            }
        }
    }
    VEC_PUSH(c->jumps, c->njumps, c->cjumps, j);
}

/* Where code inserted before the construct at pass-2 offset b goes: the start of its
 * line when only blanks precede it there, else b. */
static unsigned line_start(const tr_ctx *c, unsigned b)
{
    unsigned ls = b;
    while (ls > 0 && (c->p2.s[ls - 1] == ' ' || c->p2.s[ls - 1] == '\t'))
        ls--;
    return ls == 0 || c->p2.s[ls - 1] == '\n' ? ls : b;
}

static enum CXChildVisitResult visit(CXCursor cur, CXCursor parent, CXClientData data);

static void descend(walk *w, CXCursor cur, enum CXCursorKind kind, unsigned b, unsigned e,
                    int var, int probe)
{
    grow_array((void **)&w->st, &w->cap, w->depth, sizeof *w->st);
    frame *f = &w->st[w->depth++];
    memset(f, 0, sizeof *f);
    f->cur = cur;
    f->kind = kind;
    f->b = b;
    f->e = e;
    f->var = var;
    f->probe = probe;
    f->last = clang_getNullCursor();
    f->init_b = f->init_e = 0;
    if (var >= 0) {
        CXCursor init = clang_Cursor_getVarDeclInitializer(cur);
        if (!clang_Cursor_isNull(init)) {
            f->init_b = cursor_b(init);
            f->init_e = cursor_e(init);
        }
    }
    clang_visitChildren(cur, visit, w);
    f = &w->st[--w->depth];
    if (probe != NONE && !clang_Cursor_isNull(f->last)) {
        f_probe *pr = &w->c->probes[probe];
        pr->found = 1;
        pr->stmt = f->last;
        pr->stmt_b = cursor_b(f->last);
        pr->stmt_e = stmt_end_with_semi(w->c, f->last);
    }
}

static enum CXChildVisitResult visit(CXCursor cur, CXCursor parent, CXClientData data)
{
    (void)parent;
    walk *w = data;
    tr_ctx *c = w->c;
    frame *p = top_frame(w);
    if (p) {
        p->nchild++;
        p->last = cur;
    } else if (!clang_Location_isFromMainFile(clang_getCursorLocation(cur))) {
        return CXChildVisit_Continue;
    }
    enum CXCursorKind kind = clang_getCursorKind(cur);
    unsigned b = cursor_b(cur), e = cursor_e(cur);
    if (w->npieces)
        match_piece(w, cur, b, e);
    int var = NONE, probe = NONE;
    switch (kind) {
    case CXCursor_FunctionDecl:
        if (!p && clang_isCursorDefinition(cur)) {
            f_func f;
            memset(&f, 0, sizeof f);
            f.name = spelling(clang_getCursorSpelling(cur));
            f.b = b;
            f.e = e;
            f.is_main = strcmp(f.name, "main") == 0;
            f.cur = cur;
            f.insert_at = line_start(c, b);
            VEC_PUSH(c->funcs, c->nfuncs, c->cfuncs, f);
            int saved = w->func;
            w->func = (int)c->nfuncs - 1;
            descend(w, cur, kind, b, e, NONE, NONE);
            w->func = saved;
            return CXChildVisit_Continue;
        }
        break;
    case CXCursor_CompoundStmt:
        if (p && p->kind == CXCursor_FunctionDecl && w->func >= 0) {
            c->funcs[w->func].body_b = b;
            c->funcs[w->func].body_e = e;
        }
        break;
    case CXCursor_VarDecl:
    case CXCursor_ParmDecl:
        if (w->func >= 0 && p) {
            enum CX_StorageClass sc = clang_Cursor_getStorageClass(cur);
            int st = kind == CXCursor_ParmDecl ? ST_PARAM
                     : (sc == CX_SC_Static || sc == CX_SC_Extern) ? ST_STATIC_LOCAL
                                                                 : ST_AUTO;
            size_t before = c->nvars;
            add_var(w, cur, st);
            if (c->nvars > before)
                var = (int)c->nvars - 1;
        }
        break;
    case CXCursor_DeclRefExpr:
        if (c->opt->omp && e - b == 17 && memcmp(c->p2.s + b, "omp_fulfill_event", 17) == 0 &&
            clang_getCursorKind(clang_getCursorReferenced(cur)) == CXCursor_FunctionDecl) {
            grow_array((void **)&c->fulfills, &c->cfulfills, c->nfulfills, sizeof *c->fulfills);
            c->fulfills[c->nfulfills][0] = b;
            c->fulfills[c->nfulfills][1] = e;
            c->fulfills[c->nfulfills][2] = (unsigned)w->func;
            c->fulfills[c->nfulfills++][3] = line_start(c, w->depth ? w->st[0].b : b);
            break;
        }
        on_ref(w, cur, b);
        break;
    case CXCursor_CallExpr:
        on_call(w, cur, b, e);
        break;
    case CXCursor_ForStmt:
        probe = find_probe(w, b);
        break;
    case CXCursor_CStyleCastExpr: {
        int pi = find_probe(w, b);
        if (pi != NONE && p) {
            f_probe *pr = &c->probes[pi];
            pr->found = 1;
            pr->stmt = cur;
            pr->stmt_b = b;
            pr->stmt_e = stmt_end_with_semi(c, cur);
            pr->parent_compound = p->kind == CXCursor_CompoundStmt;
        }
        break;
    }
    case CXCursor_ReturnStmt:
    case CXCursor_BreakStmt:
    case CXCursor_ContinueStmt:
    case CXCursor_GotoStmt:
        on_jump(w, cur, kind, b, e);
        break;
    default:
        break;
    }
    descend(w, cur, kind, b, e, var, probe);
    return CXChildVisit_Continue;
}

void collect_facts(tr_ctx *c)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.func = NONE;
    c->probes = xcalloc(c->npragmas + 1, sizeof *c->probes);
    w.probe_at = xmalloc((c->npragmas + 1) * sizeof *w.probe_at);
    size_t np = 0;
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (p->translate && !p->status) {
            if (!p->file_scope && !p->in_header)
                w.probe_at[w.nprobe_at++] = (int)i;
            np += p->npieces;
        }
    }
    w.piece_b = xmalloc((np + 1) * sizeof *w.piece_b);
    w.piece_ref = xmalloc((np + 1) * sizeof *w.piece_ref);
    for (size_t i = 0; i < c->npragmas; i++)
        for (unsigned k = 0; k < c->pragmas[i].npieces; k++) {
            /* insertion sort: pieces are produced almost in order */
            size_t j = w.npieces++;
            unsigned b = c->pragmas[i].pieces[k].p2b;
            while (j > 0 && w.piece_b[j - 1] > b) {
                w.piece_b[j] = w.piece_b[j - 1];
                w.piece_ref[j][0] = w.piece_ref[j - 1][0];
                w.piece_ref[j][1] = w.piece_ref[j - 1][1];
                j--;
            }
            w.piece_b[j] = b;
            w.piece_ref[j][0] = (unsigned)i;
            w.piece_ref[j][1] = k;
        }
    clang_visitChildren(clang_getTranslationUnitCursor(c->tu2), visit, &w);
    free(w.st);
    free(w.key_slots);
    free(w.probe_at);
    free(w.piece_b);
    free(w.piece_ref);
}
