/* sharing.c: data-sharing of the variables a task references (explicit clauses, depend
 * items, default(), the OpenMP rules in -fopenmp mode), checks on their types, and the
 * warning for shared locals that may die before the task runs. */
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static int is_array_type(CXType t)
{
    t = clang_getCanonicalType(t);
    return t.kind == CXType_ConstantArray || t.kind == CXType_IncompleteArray ||
           t.kind == CXType_VariableArray;
}

/* The local variable whose own storage a depend item names (x, a[i], s.m, a[lo:n] with a
 * an array), or NONE when the item reaches its storage through a pointer. */
static int root_var(tr_ctx *c, CXCursor cur, int section_base)
{
    cur = tr_strip(cur);
    enum CXCursorKind k = clang_getCursorKind(cur);
    if (k == CXCursor_DeclRefExpr) {
        if (section_base && !is_array_type(clang_getCursorType(cur)))
            return NONE;
        int r = ref_at(c, cursor_b(cur));
        /* a parameter declared as an array is a pointer: the data is not its storage */
        return r == NONE || c->vars[c->refs[r].var].decay ? NONE : c->refs[r].var;
    }
    tr_kids ch = tr_children(cur);
    if (k == CXCursor_ArraySubscriptExpr && ch.n == 2) {
        CXCursor base = tr_strip(ch.v[0]);
        if (!is_array_type(clang_getCursorType(base)))
            return NONE;
        return root_var(c, base, 0);
    }
    if (k == CXCursor_MemberRefExpr && ch.n == 1) {
        CXType bt = clang_getCanonicalType(clang_getCursorType(tr_strip(ch.v[0])));
        if (bt.kind == CXType_Pointer)
            return NONE;
        return root_var(c, ch.v[0], 0);
    }
    return NONE;
}

/* A variable named in a data-sharing list: a local (index) or a global (added). */
int list_var(tr_ctx *c, tr_pragma *p, const pr_item *it)
{
    tr_piece *pc = piece_of(p, it->text);
    if (!pc || !pc->has_cur)
        return NONE;
    CXCursor cur = tr_strip(pc->cur);
    if (clang_getCursorKind(cur) != CXCursor_DeclRefExpr)
        goto not_var;
    int r = ref_at(c, cursor_b(cur));
    if (r != NONE)
        return c->refs[r].var;
    CXCursor d = clang_getCursorReferenced(cur);
    if (clang_getCursorKind(d) != CXCursor_VarDecl)
        goto not_var;
    for (size_t i = 0; i < c->nvars; i++)
        if (c->vars[i].storage == ST_GLOBAL && clang_equalCursors(c->vars[i].cur, d))
            return (int)i;
    f_var v;
    memset(&v, 0, sizeof v);
    v.key = 0xffffffffu - (unsigned)c->nvars;
    v.name = xstrndup(p->text + it->text.b, it->text.e - it->text.b);
    v.cur = d;
    v.type = clang_getCursorType(d);
    v.storage = ST_GLOBAL;
    v.func = NONE;
    v.decl_b = v.decl_e = 0xffffffffu;
    CXType ct = clang_getCanonicalType(v.type);
    v.array = is_array_type(v.type);
    v.aggregate = v.array || ct.kind == CXType_Record;
    VEC_PUSH(c->vars, c->nvars, c->cvars, v);
    return (int)c->nvars - 1;
not_var:
    tr_diag_pragma(c, DIAG_ERROR, p, it->text, "'%.*s' is not a variable",
                   (int)(it->text.e - it->text.b), p->text + it->text.b);
    return NONE;
}

static tr_cap *find_cap(tr_cons *k, int var)
{
    for (unsigned i = 0; i < k->ncaps; i++)
        if (k->caps[i].var == var)
            return &k->caps[i];
    return NULL;
}

static tr_cap *add_cap(tr_cons *k, int var)
{
    tr_cap *cp = find_cap(k, var);
    if (cp)
        return cp;
    k->caps = xrealloc(k->caps, (k->ncaps + 1) * sizeof *k->caps);
    cp = &k->caps[k->ncaps++];
    memset(cp, 0, sizeof *cp);
    cp->var = var;
    return cp;
}

static int declared_in(const f_var *v, unsigned b, unsigned e)
{
    return v->storage != ST_GLOBAL && v->decl_b >= b && v->decl_b < e;
}

/* Is var v listed in a private/firstprivate clause of pragma pi? */
static int privatized_by(tr_ctx *c, int pi, int v)
{
    tr_pragma *p = &c->pragmas[pi];
    for (unsigned k = 0; k < p->dir.nclauses; k++) {
        const pr_clause *cl = &p->dir.clauses[k];
        if (cl->kind != PC_PRIVATE && cl->kind != PC_FIRSTPRIVATE)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            tr_piece *pc = piece_of(p, cl->items[j].text);
            if (pc && ref_at(c, pc->p2b) != NONE && c->refs[ref_at(c, pc->p2b)].var == v)
                return 1;
        }
    }
    return 0;
}

/* OpenMP: is v, as task ci sees it, shared by all implicit tasks of the team? */
static int team_shared(tr_ctx *c, int ci, int v)
{
    tr_cons *k = &c->cons[ci];
    int r = k->region;
    if (r == NONE)
        return 0;
    tr_cons *R = &c->cons[r];
    for (int u = k->task_ctx; u != NONE && c->cons[u].p2b > R->p2b; u = c->cons[u].task_ctx) {
        tr_cons *U = &c->cons[u];
        if (declared_in(&c->vars[v], U->stmt_b, U->stmt_e))
            return 0;
        tr_cap *cp = find_cap(U, v);
        if (!cp || cp->mode != CAP_SHARED)
            return 0;
    }
    if (declared_in(&c->vars[v], R->stmt_b, R->stmt_e))
        return 0;
    if (r == ci) /* combined parallel master taskloop */
        return !privatized_by(c, R->pragma, v);
    if (privatized_by(c, R->pragma, v))
        return 0;
    if (R->idiom_child != NONE && privatized_by(c, c->cons[R->idiom_child].pragma, v))
        return 0;
    return 1;
}

/* Types a task cannot name outside the function: local and unnamed ones. */
static int bad_type(CXType t, int depth)
{
    if (depth > 16)
        return 0;
    switch (t.kind) {
    case CXType_Pointer:
        return bad_type(clang_getPointeeType(t), depth + 1);
    case CXType_ConstantArray:
    case CXType_IncompleteArray:
    case CXType_VariableArray:
        return bad_type(clang_getArrayElementType(t), depth + 1);
    case CXType_Elaborated:
        return bad_type(clang_Type_getNamedType(t), depth + 1);
    case CXType_Typedef:
    case CXType_Record:
    case CXType_Enum: {
        CXCursor d = clang_getTypeDeclaration(t);
        if (t.kind != CXType_Typedef && clang_Cursor_isAnonymous(d))
            return 2;
        CXCursor sp = clang_getCursorSemanticParent(d);
        if (!clang_Cursor_isNull(sp) && clang_getCursorKind(sp) != CXCursor_TranslationUnit)
            return 1;
        return 0;
    }
    default:
        return 0;
    }
}

static void first_use(tr_ctx *c, tr_cons *k, int v, unsigned *at, unsigned *len)
{
    *at = c->pragmas[k->pragma].p2b;
    *len = 1;
    for (size_t i = ref_first(c, k->body_b); i < c->nrefs && c->refs[i].b < k->body_e; i++)
        if (c->refs[i].var == v) {
            *at = c->refs[i].b;
            *len = c->refs[i].e - c->refs[i].b;
            return;
        }
}

/* The state of one task's data-sharing computation: the variables listed in clauses
 * (mode by variable index) and those a depend item names as a whole object. */
typedef struct sharing {
    tr_ctx *c;
    int ci;
    tr_cons *k;
    tr_pragma *p;
    int omp;
    int *listed, *dep_root;
    size_t nslots;
} sharing;

/* Keeps the per-variable arrays as long as c->vars (list items may add variables). */
static void grow_slots(sharing *s)
{
    if (s->c->nvars < s->nslots)
        return;
    size_t n = s->c->nvars + 16;
    s->listed = xrealloc(s->listed, n * sizeof *s->listed);
    s->dep_root = xrealloc(s->dep_root, n * sizeof *s->dep_root);
    memset(s->listed + s->nslots, 0, (n - s->nslots) * sizeof *s->listed);
    memset(s->dep_root + s->nslots, 0, (n - s->nslots) * sizeof *s->dep_root);
    s->nslots = n;
}

/* 1. shared / private / firstprivate lists */
static void explicit_clauses(sharing *s)
{
    tr_ctx *c = s->c;
    tr_pragma *p = s->p;
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        int mode = cl->kind == PC_SHARED ? CAP_SHARED : cl->kind == PC_PRIVATE ? CAP_PRIVATE
                   : cl->kind == PC_FIRSTPRIVATE ? CAP_FIRSTPRIVATE : 0;
        if (!mode)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            int v = list_var(c, p, &cl->items[j]);
            if (v == NONE)
                continue;
            grow_slots(s);
            if (s->listed[v]) {
                tr_diag_pragma(c, DIAG_ERROR, p, cl->items[j].text,
                               "variable '%s' appears in more than one data-sharing clause",
                               c->vars[v].name);
                continue;
            }
            if (s->k->kind == PK_TASKLOOP && v == s->k->loop.var) {
                tr_diag_pragma(c, DIAG_ERROR, p, cl->items[j].text,
                               "the loop variable '%s' of a taskloop is private",
                               c->vars[v].name);
                continue;
            }
            s->listed[v] = mode;
        }
    }
}

/* 1b. reduction (taskloop) and in_reduction (task) items: shared, reached through the
 * private copy the runtime gives each task (gen_red.c) */
static void reduction_items(sharing *s)
{
    tr_ctx *c = s->c;
    tr_pragma *p = s->p;
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != PC_REDUCTION && cl->kind != PC_IN_REDUCTION)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            int v = list_var(c, p, &cl->items[j]);
            if (v == NONE)
                continue; /* reported with the reduction (gen_red.c) */
            grow_slots(s);
            if (s->listed[v] || (s->k->kind == PK_TASKLOOP && v == s->k->loop.var)) {
                tr_diag_pragma(c, DIAG_ERROR, p, cl->items[j].text,
                               "variable '%s' appears in more than one data-sharing or "
                               "reduction clause", c->vars[v].name);
                continue;
            }
            s->listed[v] = CAP_SHARED;
            tr_cap *cp = add_cap(s->k, v);
            cp->mode = CAP_SHARED;
            cp->reduce = 1;
        }
    }
}

/* 2. depend (and checkpoint) items naming a local's own storage share it (dagcc rule) */
static void depend_roots(sharing *s)
{
    if (s->omp)
        return;
    tr_pragma *p = s->p;
    for (unsigned q = 0; q < p->dir.nclauses; q++) {
        const pr_clause *cl = &p->dir.clauses[q];
        if (cl->kind != PC_DEPEND && cl->kind != PC_CHECKPOINT)
            continue;
        for (unsigned j = 0; j < cl->nitems; j++) {
            const pr_item *it = &cl->items[j];
            tr_piece *pc = piece_of(p, it->ndims ? it->base : it->text);
            if (!pc || !pc->has_cur)
                continue;
            int v = root_var(s->c, pc->cur, it->ndims > 0);
            if (v != NONE)
                s->dep_root[v] = 1;
        }
    }
}

/* Is the type of variable fv an OpenMP event handle (omp) or a dag_event_t? */
static int event_type_ok(const f_var *fv, int omp)
{
    CXString ts = clang_getTypeSpelling(clang_getCanonicalType(fv->type));
    CXString ns = clang_getTypeSpelling(fv->type);
    int ok = omp ? strstr(clang_getCString(ns), "omp_event_handle_t") != NULL ||
                       strstr(clang_getCString(ts), "omp_event_handle_t") != NULL
                 : strcmp(clang_getCString(ts), "struct dag_event") == 0;
    clang_disposeString(ts);
    clang_disposeString(ns);
    return ok;
}

/* 3. detach(ev): the event variable, captured whether or not the body names it */
static void detach_handle(sharing *s)
{
    tr_ctx *c = s->c;
    tr_pragma *p = s->p;
    tr_cons *k = s->k;
    const pr_clause *det = pr_find(&p->dir, PC_DETACH);
    if (!det || k->kind != PK_TASK)
        return;
    pr_item it;
    memset(&it, 0, sizeof it);
    it.text = det->expr;
    int v = list_var(c, p, &it);
    if (v == NONE)
        return;
    grow_slots(s);
    f_var *fv = &c->vars[v];
    if (!event_type_ok(fv, s->omp)) {
        tr_diag_pragma(c, DIAG_ERROR, p, det->expr,
                       "the event handle of 'detach' must be a variable of type %s",
                       s->omp ? "omp_event_handle_t" : "dag_event_t");
    } else if (s->listed[v]) {
        tr_diag_pragma(c, DIAG_ERROR, p, det->expr,
                       "the event handle '%s' of 'detach' cannot also appear in a "
                       "data-sharing clause", fv->name);
    } else if (pr_find(&p->dir, PC_IF)) {
        tr_diag_pragma(c, DIAG_ERROR, p, pr_find(&p->dir, PC_IF)->name,
                       "'if' cannot be combined with 'detach' (a detached task is "
                       "always deferred)");
    } else {
        /* -fopenmp: firstprivate, set at creation (the encountering thread stores a new
         * handle in the original). dag: the task's own uninitialised copy, set by
         * dag_task_detach() at the start of the body; a global or static one is shared,
         * set there too. */
        if (s->omp || fv->storage != ST_GLOBAL) {
            tr_cap *cp = add_cap(k, v);
            cp->mode = s->omp ? CAP_FIRSTPRIVATE
                              : fv->storage == ST_STATIC_LOCAL ? CAP_SHARED : CAP_PRIVATE;
        }
        k->detach = v + 1;
        if (s->omp)
            c->omp_events = 1;
    }
}

/* 4. every variable the body references: the rules of docs/pragmas.md in order */
static void referenced_vars(sharing *s)
{
    tr_ctx *c = s->c;
    tr_cons *k = s->k;
    const pr_clause *dflt = pr_find(&s->p->dir, PC_DEFAULT);
    for (size_t i = ref_first(c, k->body_b); i < c->nrefs && c->refs[i].b < k->body_e; i++) {
        int v = c->refs[i].var;
        f_var *fv = &c->vars[v];
        if (declared_in(fv, k->stmt_b, k->stmt_e) || v == k->loop.var || find_cap(k, v))
            continue;
        int mode = s->listed[v];
        if (!mode && s->dep_root[v])
            mode = CAP_SHARED;
        if (!mode && dflt)
            mode = dflt->value == DF_SHARED ? CAP_SHARED
                   : dflt->value == DF_PRIVATE ? CAP_PRIVATE
                   : dflt->value == DF_FIRSTPRIVATE ? CAP_FIRSTPRIVATE : 0;
        if (!mode && dflt && dflt->value == DF_NONE) {
            if (fv->storage == ST_STATIC_LOCAL) {
                mode = CAP_SHARED;
            } else {
                tr_diag_p2(c, DIAG_ERROR, c->refs[i].b, c->refs[i].e - c->refs[i].b,
                           "variable '%s' must be listed in a data-sharing clause because "
                           "of 'default(none)'", fv->name);
                s->listed[v] = CAP_FIRSTPRIVATE; /* report once */
                continue;
            }
        }
        if (!mode && fv->storage == ST_STATIC_LOCAL)
            mode = CAP_SHARED;
        if (!mode && s->omp && team_shared(c, s->ci, v))
            mode = CAP_SHARED;
        if (!mode)
            mode = CAP_FIRSTPRIVATE;
        tr_cap *cp = add_cap(k, v);
        cp->mode = mode;
    }
    /* listed but unreferenced globals still get their private copy checked; locals that
     * are listed but unused need nothing. */
    for (size_t v = 0; v < c->nvars; v++)
        if (s->listed[v] && c->vars[v].storage == ST_GLOBAL && s->listed[v] != CAP_SHARED) {
            tr_cap *cp = add_cap(k, (int)v);
            cp->mode = s->listed[v];
        }
}

/* 5. variables a variably modified type depends on: firstprivate unless shared, in
 * which case their values at creation size the type in the task */
static void vm_size_vars(sharing *s)
{
    tr_ctx *c = s->c;
    tr_cons *k = s->k;
    for (unsigned i = 0; i < k->ncaps; i++) {
        f_var *fv = &c->vars[k->caps[i].var];
        for (unsigned d = 0; d < fv->nvm_deps; d++) {
            int dv = fv->vm_deps[d];
            if (declared_in(&c->vars[dv], k->stmt_b, k->stmt_e))
                continue;
            tr_cap *cp = find_cap(k, dv);
            if (cp && cp->mode == CAP_SHARED) {
                /* as gcc and clang do: the type's sizes are taken at creation, the
                 * variable itself stays shared */
                cp->vmsize = 1;
                continue;
            }
            if (!cp) {
                cp = add_cap(k, dv);
                cp->mode = CAP_FIRSTPRIVATE;
                cp->implicit = 1;
                fv = &c->vars[k->caps[i].var];
            }
        }
    }
}

/* 6. how each capture is passed, and the types a task cannot capture */
static void capture_checks(sharing *s)
{
    tr_ctx *c = s->c;
    tr_cons *k = s->k;
    for (unsigned i = 0; i < k->ncaps; i++) {
        tr_cap *cp = &k->caps[i];
        f_var *fv = &c->vars[cp->var];
        cp->byptr = cp->mode == CAP_SHARED ||
                    (cp->mode == CAP_FIRSTPRIVATE && fv->aggregate && !fv->vm);
        if (fv->storage == ST_GLOBAL && cp->mode == CAP_SHARED && !cp->reduce)
            cp->byptr = 0;
        unsigned at, len;
        first_use(c, k, cp->var, &at, &len);
        if (fv->vm && fv->array && cp->mode == CAP_FIRSTPRIVATE) {
            tr_diag_p2(c, DIAG_ERROR, at, len,
                       "variable-length array '%s' cannot be firstprivate; share it "
                       "(shared(%s)) or pass a pointer", fv->name, fv->name);
            continue;
        }
        int bad = bad_type(fv->type, 0);
        if (bad == 1 && !fv->vm && !bad_type(clang_getCanonicalType(fv->type), 0)) {
            /* local typedefs of file-scope types: the argument block spells the type
             * they stand for */
            fv->type = clang_getCanonicalType(fv->type);
            bad = 0;
        }
        if (bad == 1 && !fv->vm && !cp->reduce && fv->storage != ST_GLOBAL &&
            clang_Type_getSizeOf(fv->type) > 0 && clang_Type_getAlignOf(fv->type) > 0) {
            /* the task function sees the type (localtypes.c); the argument block does
             * not name it */
            cp->localty = 1;
            if (cp->mode == CAP_FIRSTPRIVATE)
                cp->byptr = 1;
            bad = 0;
        }
        if (bad == 1)
            tr_diag_p2(c, DIAG_ERROR, at, len,
                       "the type of '%s' is declared inside a function; a task cannot "
                       "capture it as a %s (declare the type at file scope)", fv->name,
                       fv->vm ? "variably modified variable" : "reduction item");
        else if (bad)
            tr_diag_p2(c, DIAG_ERROR, at, len,
                       "the type of '%s' is an unnamed struct, union or enum; a task cannot "
                       "capture it (name the type with a tag or a typedef)", fv->name);
    }
}

void compute_sharing(tr_ctx *c, int ci)
{
    sharing s = {c, ci, &c->cons[ci], &c->pragmas[c->cons[ci].pragma], 0, NULL, NULL, 0};
    s.omp = s.p->dir.family == PR_OMP;
    grow_slots(&s);
    explicit_clauses(&s);
    reduction_items(&s);
    depend_roots(&s);
    const pr_clause *var = pr_find(&s.p->dir, PC_VARIANT);
    if (var)
        tr_diag_pragma(c, DIAG_ERROR, s.p, var->name,
                       "'variant' is allowed only on a function task (a statement task has "
                       "no function to stand in for)");
    detach_handle(&s);
    referenced_vars(&s);
    vm_size_vars(&s);
    capture_checks(&s);
    free(s.listed);
    free(s.dep_root);
}

/* ---- lifetimes --------------------------------------------------------------------- */

static int waits_before(tr_ctx *c, int ti, unsigned from, unsigned scope_end)
{
    tr_cons *t = &c->cons[ti];
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *w = &c->cons[i];
        if (!w->translate)
            continue;
        if (w->kind == PK_TASKWAIT && !pr_find(&c->pragmas[w->pragma].dir, PC_DEPEND) &&
            w->task_ctx == t->task_ctx && w->p2b >= from && w->p2b < scope_end)
            return 1;
        int group = w->kind == PK_TASKGROUP || w->kind == PK_PARALLEL ||
                    (w->kind == PK_TASKLOOP && !pr_find(&c->pragmas[w->pragma].dir, PC_NOGROUP));
        if (group && w->p2b <= t->p2b && from <= w->stmt_e && w->stmt_e <= scope_end &&
            (int)i != ti)
            return 1;
        if (group && (int)i == ti)
            return 1;
    }
    return 0;
}

static void check_one(tr_ctx *c, int ti, int v, unsigned from, unsigned at, unsigned len)
{
    f_var *fv = &c->vars[v];
    if (fv->storage != ST_AUTO && fv->storage != ST_PARAM)
        return;
    unsigned scope_end = fv->scope_e;
    int via_main = 1;
    for (int u = c->cons[ti].task_ctx; u != NONE; u = c->cons[u].task_ctx) {
        tr_cons *U = &c->cons[u];
        if (declared_in(fv, U->stmt_b, U->stmt_e))
            break;
        tr_cap *cp = find_cap(U, v);
        if (!cp || cp->mode != CAP_SHARED) {
            scope_end = U->body_e;
            via_main = 0;
            break;
        }
    }
    if (via_main && fv->func != NONE && c->funcs[fv->func].is_main &&
        scope_end >= c->funcs[fv->func].body_e)
        return;
    if (waits_before(c, ti, from, scope_end))
        return;
    if (tr_diag_p2(c, DIAG_WARNING, at, len,
                   "the task shares local variable '%s', whose lifetime may end before the "
                   "task runs", fv->name), 1)
        tr_diag_p2(c, DIAG_NOTE, fv->decl_b, (unsigned)strlen(fv->name),
                   "'%s' is declared here; wait for the task (taskwait or taskgroup) before "
                   "the end of its scope", fv->name);
}

void check_lifetimes(tr_ctx *c)
{
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        if (!k->translate || (k->kind != PK_TASK && k->kind != PK_TASKLOOP))
            continue;
        if (k->kind == PK_TASKLOOP && !pr_find(&c->pragmas[k->pragma].dir, PC_NOGROUP))
            continue;
        for (unsigned j = 0; j < k->ncaps; j++) {
            if (k->caps[j].mode != CAP_SHARED || k->caps[j].reduce) /* private copies */
                continue;
            unsigned at, len;
            first_use(c, k, k->caps[j].var, &at, &len);
            check_one(c, (int)i, k->caps[j].var, k->stmt_e, at, len);
        }
    }
}
