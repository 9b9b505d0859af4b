/* pragma.c: tokenizer and parser for dagcc / OpenMP task directives. It recognises the
 * directive, checks which clauses it may carry and splits clause arguments into spans
 * (list items, array-section bounds); it never evaluates or type-checks C expressions. */
#include "pragma.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pragma_int.h"
#include "util.h"

/* ---- clause tables -------------------------------------------------------------- */

static const char *const clause_names[PC_COUNT] = {
    [PC_DEPEND] = "depend", [PC_SHARED] = "shared", [PC_FIRSTPRIVATE] = "firstprivate",
    [PC_PRIVATE] = "private", [PC_DEFAULT] = "default", [PC_IF] = "if",
    [PC_FINAL] = "final", [PC_PRIORITY] = "priority", [PC_LABEL] = "label",
    [PC_DEVICE] = "device", [PC_NODE] = "node", [PC_GRAINSIZE] = "grainsize",
    [PC_NUM_TASKS] = "num_tasks", [PC_NOGROUP] = "nogroup", [PC_COLLAPSE] = "collapse",
    [PC_NUM_THREADS] = "num_threads", [PC_PROC_BIND] = "proc_bind", [PC_FILTER] = "filter",
    [PC_NOWAIT] = "nowait", [PC_UNTIED] = "untied", [PC_MERGEABLE] = "mergeable",
    [PC_AFFINITY] = "affinity", [PC_ALLOCATE] = "allocate", [PC_REDUCTION] = "reduction",
    [PC_IN_REDUCTION] = "in_reduction", [PC_TASK_REDUCTION] = "task_reduction",
    [PC_LASTPRIVATE] = "lastprivate", [PC_COPYIN] = "copyin",
    [PC_COPYPRIVATE] = "copyprivate", [PC_DETACH] = "detach", [PC_SIMD] = "simd",
    [PC_VARIANT] = "variant", [PC_RETRY] = "retry", [PC_CHECKPOINT] = "checkpoint",
    [PC_UPDATE] = "update", [PC_DESTROY] = "destroy", [PC_INITIALIZER] = "initializer",
    [PC_STATUS] = "status",
};

static const char *const simd_clauses[] = {"safelen", "simdlen", "linear", "aligned",
                                           "nontemporal", "order", NULL};

const char *pr_clause_name(pr_clause_kind k)
{
    return k < PC_COUNT ? clause_names[k] : "?";
}

enum { NO = 0, OK = 1, IGNORED = 2, UNSUPPORTED = 3 };
#define BIT(k) (1ull << (k))

typedef struct allowed {
    unsigned long long ok, ignored, unsupported;
} allowed;

static allowed allowed_for(const pr_directive *d)
{
    const unsigned long long task_common = BIT(PC_SHARED) | BIT(PC_FIRSTPRIVATE) |
                                           BIT(PC_PRIVATE) | BIT(PC_DEFAULT) | BIT(PC_IF) |
                                           BIT(PC_FINAL) | BIT(PC_PRIORITY);
    const unsigned long long loop = BIT(PC_GRAINSIZE) | BIT(PC_NUM_TASKS) | BIT(PC_NOGROUP);
    allowed a = {0, 0, 0};
    if (d->family == PR_DAG) {
        const unsigned long long place = BIT(PC_LABEL) | BIT(PC_DEVICE) | BIT(PC_NODE);
        switch (d->kind) {
        case PK_TASK:
            a.ok = task_common | place | BIT(PC_DEPEND) | BIT(PC_DETACH) | BIT(PC_VARIANT) |
                   BIT(PC_RETRY) | BIT(PC_CHECKPOINT) | BIT(PC_IN_REDUCTION) |
                   BIT(PC_STATUS) | BIT(PC_AFFINITY);
            a.ignored = BIT(PC_UNTIED) | BIT(PC_MERGEABLE);
            break;
        case PK_TASKWAIT: a.ok = BIT(PC_DEPEND); break;
        case PK_TASKLOOP:
            a.ok = task_common | place | loop | BIT(PC_REDUCTION) | BIT(PC_STATUS);
            a.ignored = BIT(PC_UNTIED) | BIT(PC_MERGEABLE);
            break;
        case PK_TASKGROUP: a.ok = BIT(PC_TASK_REDUCTION); break;
        case PK_DEPOBJ: a.ok = BIT(PC_DEPEND) | BIT(PC_UPDATE) | BIT(PC_DESTROY); break;
        case PK_DECLARE_REDUCTION: a.ok = BIT(PC_INITIALIZER); break;
        default: break;
        }
        return a;
    }
    const unsigned long long par = BIT(PC_IF) | BIT(PC_NUM_THREADS) | BIT(PC_DEFAULT) |
                                   BIT(PC_PRIVATE) | BIT(PC_FIRSTPRIVATE) | BIT(PC_SHARED) |
                                   BIT(PC_REDUCTION) | BIT(PC_PROC_BIND) |
                                   BIT(PC_ALLOCATE) | BIT(PC_COPYIN);
    switch (d->kind) {
    case PK_TASK:
        a.ok = task_common | BIT(PC_DEPEND) | BIT(PC_DETACH) | BIT(PC_IN_REDUCTION) |
               BIT(PC_AFFINITY);
        a.ignored = BIT(PC_UNTIED) | BIT(PC_MERGEABLE) | BIT(PC_ALLOCATE);
        break;
    case PK_TASKWAIT:
        a.ok = BIT(PC_DEPEND);
        a.unsupported = BIT(PC_NOWAIT);
        break;
    case PK_TASKGROUP:
        a.ok = BIT(PC_TASK_REDUCTION);
        a.ignored = BIT(PC_ALLOCATE);
        break;
    case PK_TASKLOOP:
        a.ok = task_common | loop | BIT(PC_COLLAPSE) | BIT(PC_REDUCTION);
        a.ignored = BIT(PC_UNTIED) | BIT(PC_MERGEABLE) | BIT(PC_ALLOCATE);
        a.unsupported = BIT(PC_LASTPRIVATE) | BIT(PC_IN_REDUCTION);
        if (d->combined & PF_SIMD)
            a.ignored |= BIT(PC_SIMD);
        if (d->combined & PF_MASTER)
            a.ignored |= BIT(PC_FILTER);
        if (d->combined & PF_PARALLEL) {
            a.ignored |= BIT(PC_NUM_THREADS) | BIT(PC_PROC_BIND);
            a.unsupported |= BIT(PC_COPYIN);
        }
        break;
    case PK_PARALLEL:
        a.ok = par | ((d->combined & PF_MASTER) ? BIT(PC_FILTER) : 0);
        break;
    case PK_SINGLE:
        a.ok = BIT(PC_PRIVATE) | BIT(PC_FIRSTPRIVATE) | BIT(PC_COPYPRIVATE) |
               BIT(PC_NOWAIT) | BIT(PC_ALLOCATE);
        break;
    case PK_MASTER: a.ok = BIT(PC_FILTER); break;
    case PK_DEPOBJ: a.ok = BIT(PC_DEPEND) | BIT(PC_UPDATE) | BIT(PC_DESTROY); break;
    case PK_DECLARE_REDUCTION: a.ok = BIT(PC_INITIALIZER); break;
    default: break;
    }
    return a;
}

const char *pr_kind_name(const pr_directive *d)
{
    switch (d->kind) {
    case PK_TASK: return "task";
    case PK_TASKWAIT: return "taskwait";
    case PK_TASKGROUP: return "taskgroup";
    case PK_TASKLOOP: return "taskloop";
    case PK_PARALLEL: return "parallel";
    case PK_SINGLE: return "single";
    case PK_MASTER: return "master";
    case PK_TASKYIELD: return "taskyield";
    case PK_DEPOBJ: return "depobj";
    case PK_DECLARE_REDUCTION: return "declare reduction";
    default: return "directive";
    }
}

const pr_clause *pr_find(const pr_directive *d, pr_clause_kind k)
{
    for (unsigned i = 0; i < d->nclauses; i++)
        if (d->clauses[i].kind == k)
            return &d->clauses[i];
    return NULL;
}

void pr_free(pr_directive *d)
{
    for (unsigned i = 0; i < d->nclauses; i++) {
        for (unsigned j = 0; j < d->clauses[i].nitems; j++)
            free(d->clauses[i].items[j].dims);
        free(d->clauses[i].items);
        free(d->clauses[i].iters);
    }
    free(d->clauses);
    free(d->types);
    memset(d, 0, sizeof *d);
}

/* ---- argument parsing ----------------------------------------------------------- */

size_t prs_top_level(parser *p, size_t a, size_t b, char ch)
{
    int depth = 0, pending = 0;
    for (size_t i = a; i < b; i++) {
        const tok *t = &p->toks[i];
        if (t->kind != T_PUNCT)
            continue;
        char c = p->s[t->b];
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if (c == ')' || c == ']' || c == '}')
            depth--;
        else if (depth == 0 && c == '?')
            pending++;
        else if (depth == 0 && c == ':' && pending)
            pending--;
        else if (depth == 0 && c == ch)
            return i;
    }
    return b;
}

/* Finds the first top-level ':' in tokens [a, b) that does not belong to a '?'. */
static long section_colon(parser *p, size_t a, size_t b)
{
    size_t i = prs_top_level(p, a, b, ':');
    return i < b ? (long)i : -1;
}

/* Parses one list item (tokens [a, b)) of a depend clause. */
static int parse_dep_item(parser *p, size_t a, size_t b, pr_item *it)
{
    memset(it, 0, sizeof *it);
    if (a >= b)
        return prs_fail(p, p->toks[a].b, p->toks[a].e, "expected an expression in depend list");
    it->text = prs_span_of(p, a, b);
    /* Top-level bracket groups, in order. */
    size_t groups[64][2], ng = 0;
    int depth = 0;
    for (size_t i = a; i < b; i++) {
        const tok *t = &p->toks[i];
        if (t->kind != T_PUNCT)
            continue;
        char c = p->s[t->b];
        if (depth == 0 && c == '[') {
            long m = prs_matching(p, i);
            if (m < 0)
                return -1;
            if ((size_t)m >= b)
                return prs_fail(p, t->b, t->e, "unbalanced '['");
            if (ng == 64)
                return prs_fail(p, t->b, t->e, "too many subscripts");
            groups[ng][0] = i;
            groups[ng][1] = (size_t)m;
            ng++;
            i = (size_t)m;
            continue;
        }
        if (c == '(' || c == '{' || c == '[')
            depth++;
        else if (c == ')' || c == '}' || c == ']')
            depth--;
    }
    if (section_colon(p, a, b) >= 0) {
        const tok *t = &p->toks[section_colon(p, a, b)];
        return prs_fail(p, t->b, t->e, "unexpected ':' in depend item");
    }
    /* The trailing chain of adjacent groups that ends the item. */
    size_t chain = ng;
    if (ng && groups[ng - 1][1] == b - 1) {
        chain = ng - 1;
        while (chain > 0 && groups[chain - 1][1] + 1 == groups[chain][0])
            chain--;
    }
    size_t first_section = ng;
    for (size_t g = 0; g < ng; g++) {
        if (section_colon(p, groups[g][0] + 1, groups[g][1]) < 0)
            continue;
        if (g < chain) {
            const tok *t = &p->toks[groups[g][0]];
            return prs_fail(p, t->b, p->toks[groups[g][1]].e,
                        "an array section must be the last part of a depend item");
        }
        if (first_section == ng)
            first_section = g;
    }
    if (first_section == ng) {
        it->base = it->text;
        return 0;
    }
    if (groups[first_section][0] == a)
        return prs_fail(p, p->toks[a].b, p->toks[a].e, "expected an expression before '['");
    it->base = prs_span_of(p, a, groups[first_section][0]);
    it->ndims = (unsigned)(ng - first_section);
    it->dims = xcalloc(it->ndims, sizeof *it->dims);
    for (size_t g = first_section; g < ng; g++) {
        pr_dim *d = &it->dims[g - first_section];
        size_t lo = groups[g][0] + 1, hi = groups[g][1];
        long colon = section_colon(p, lo, hi);
        if (colon < 0) {
            if (lo == hi)
                return prs_fail(p, p->toks[groups[g][0]].b, p->toks[hi].e,
                            "expected an index or a section in '[]'");
            d->lo = prs_span_of(p, lo, hi);
            continue;
        }
        d->is_section = 1;
        d->lo = prs_span_of(p, lo, (size_t)colon);
        d->len = prs_span_of(p, (size_t)colon + 1, hi);
        if (section_colon(p, (size_t)colon + 1, hi) >= 0) {
            const tok *t = &p->toks[section_colon(p, (size_t)colon + 1, hi)];
            return prs_fail(p, t->b, t->e, "array sections take one ':' (use [lower:length])");
        }
    }
    return 0;
}

/* Splits tokens [a, b) at top-level commas; calls fn for each part. */
int prs_split_list(parser *p, size_t a, size_t b, pr_clause *c,
                      int (*fn)(parser *, size_t, size_t, pr_clause *))
{
    int depth = 0;
    size_t start = a;
    for (size_t i = a; i <= b; i++) {
        int at_end = i == b;
        if (!at_end && p->toks[i].kind == T_PUNCT) {
            char ch = p->s[p->toks[i].b];
            if (ch == '(' || ch == '[' || ch == '{')
                depth++;
            else if (ch == ')' || ch == ']' || ch == '}')
                depth--;
        }
        if (at_end || (depth == 0 && prs_punct_is(p, &p->toks[i], ','))) {
            if (start == i)
                return prs_fail(p, p->toks[i].b, p->toks[i].e, "expected a list item");
            if (fn(p, start, i, c))
                return -1;
            start = i + 1;
        }
    }
    return 0;
}

int prs_add_dep_item(parser *p, size_t a, size_t b, pr_clause *c)
{
    pr_item it;
    if (parse_dep_item(p, a, b, &it)) {
        free(it.dims); /* a failure after the dimensions were allocated */
        return -1;
    }
    c->items = xrealloc(c->items, (c->nitems + 1) * sizeof *c->items);
    c->items[c->nitems++] = it;
    return 0;
}

int prs_add_var_item(parser *p, size_t a, size_t b, pr_clause *c)
{
    if (b != a + 1 || p->toks[a].kind != T_IDENT)
        return prs_fail(p, p->toks[a].b, p->toks[b - 1].e,
                    "expected a variable name in '%s' clause", clause_names[c->kind]);
    pr_item it = {prs_span_of(p, a, b), prs_span_of(p, a, b), 0, NULL};
    c->items = xrealloc(c->items, (c->nitems + 1) * sizeof *c->items);
    c->items[c->nitems++] = it;
    return 0;
}

int prs_word_in(parser *p, const tok *t, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (prs_tok_is(p, t, words[i]))
            return i;
    return -1;
}

int prs_need_expr(parser *p, pr_clause *c, size_t a, size_t b)
{
    if (a >= b)
        return prs_fail(p, c->name.b, c->whole.e, "expected an expression in '%s' clause",
                    clause_names[c->kind]);
    c->expr = prs_span_of(p, a, b);
    return 0;
}

/* The iterator(...) modifier at token a of clause c's arguments [a, b), then the
 * separator sep ("expected 'sep' and <what>" otherwise): the token after it, or -1. */
static long iterator_prefix(parser *p, pr_clause *c, size_t a, size_t b, char sep,
                            const char *what)
{
    long after = prs_depend_iterator(p, c, a, b);
    if (after < 0)
        return -1;
    if ((size_t)after >= b || !prs_punct_is(p, &p->toks[after], sep)) {
        size_t k = after < (long)b ? (size_t)after : b - 1;
        prs_fail(p, p->toks[k].b, p->toks[k].e, "expected '%c' and %s after 'iterator(...)'",
                 sep, what);
        return -1;
    }
    return after + 1;
}

/* Parses the arguments of clause c, tokens [a, b) between its parentheses. */
static int parse_args(parser *p, pr_clause *c, size_t a, size_t b)
{
    const tok *t0 = &p->toks[a];
    switch (c->kind) {
    case PC_DEPEND: {
        static const char *const modes[] = {"in", "out", "inout", "mutexinoutset",
                                            "inoutset", NULL};
        if (a < b && prs_tok_is(p, t0, "iterator")) {
            long after = iterator_prefix(p, c, a, b, ',', "a dependence type");
            if (after < 0)
                return -1;
            a = (size_t)after;
            t0 = &p->toks[a];
        }
        int m = a < b ? prs_word_in(p, t0, modes) : -1;
        if (m < 0 && a < b && prs_tok_is(p, t0, "depobj") && !c->niters)
            m = DM_DEPOBJ - 1;
        if (m < 0) {
            if (a < b && (prs_tok_is(p, t0, "source") || prs_tok_is(p, t0, "sink") ||
                          prs_tok_is(p, t0, "depobj")))
                return prs_fail(p, t0->b, t0->e, "'depend(%.*s)' is not supported by dagcc",
                            (int)(t0->e - t0->b), p->s + t0->b);
            return prs_fail(p, t0->b, t0->e, "expected a dependence type (in, out, inout, "
                                         "mutexinoutset or inoutset)");
        }
        c->value = m + 1;
        if (a + 1 >= b || !prs_punct_is(p, &p->toks[a + 1], ':'))
            return prs_fail(p, t0->e, t0->e + 1, "expected ':' after the dependence type");
        return prs_split_list(p, a + 2, b, c, prs_add_dep_item);
    }
    case PC_SHARED:
    case PC_PRIVATE:
    case PC_FIRSTPRIVATE:
        if (a >= b)
            return prs_fail(p, c->name.b, c->whole.e, "expected a list of variables");
        return prs_split_list(p, a, b, c, prs_add_var_item);
    case PC_DEFAULT: {
        static const char *const kinds[] = {"shared", "none", "firstprivate", "private",
                                            NULL};
        int k = a + 1 == b ? prs_word_in(p, t0, kinds) : -1;
        if (k < 0)
            return prs_fail(p, t0->b, p->toks[b > a ? b - 1 : a].e,
                        "expected 'shared', 'none', 'firstprivate' or 'private'");
        c->value = k + 1;
        return 0;
    }
    case PC_DEVICE: {
        /* a keyword, or an expression evaluated at submission (a DAG_DEVICE_* value) */
        static const char *const kinds[] = {"any", "cpu", "cuda", NULL};
        int k = a + 1 == b ? prs_word_in(p, t0, kinds) : -1;
        if (k >= 0) {
            c->value = k + 1;
            return 0;
        }
        if (a >= b)
            return prs_fail(p, c->name.b, c->whole.e, "expected 'cpu', 'cuda', 'any' or an "
                            "expression in 'device' clause");
        return prs_need_expr(p, c, a, b);
    }
    case PC_VARIANT:
        /* variant(cuda: function) */
        if (a + 3 != b || !prs_tok_is(p, t0, "cuda") || !prs_punct_is(p, &p->toks[a + 1], ':') ||
            p->toks[a + 2].kind != T_IDENT)
            return prs_fail(p, c->name.b, c->whole.e,
                        "expected 'variant(cuda: function)'");
        c->value = DV_CUDA;
        c->expr = prs_span_of(p, a + 2, b);
        return 0;
    case PC_LABEL:
        if (a >= b)
            return prs_fail(p, c->name.b, c->whole.e, "expected a string literal in 'label'");
        for (size_t i = a; i < b; i++)
            if (p->toks[i].kind != T_STRING)
                return prs_fail(p, p->toks[i].b, p->toks[i].e,
                            "'label' takes a string literal");
        c->expr = prs_span_of(p, a, b);
        return 0;
    case PC_IF:
        if (a + 1 < b && t0->kind == T_IDENT && prs_punct_is(p, &p->toks[a + 1], ':')) {
            static const char *const mods[] = {"task", "taskloop", "parallel", NULL};
            if (prs_word_in(p, t0, mods) < 0)
                return prs_fail(p, t0->b, t0->e, "unknown 'if' modifier '%.*s'",
                            (int)(t0->e - t0->b), p->s + t0->b);
            a += 2;
        }
        return prs_need_expr(p, c, a, b);
    case PC_GRAINSIZE:
    case PC_NUM_TASKS:
        if (a + 1 < b && prs_tok_is(p, t0, "strict") && prs_punct_is(p, &p->toks[a + 1], ':')) {
            c->value = 1;
            a += 2;
        }
        return prs_need_expr(p, c, a, b);
    case PC_REDUCTION:
    case PC_IN_REDUCTION:
    case PC_TASK_REDUCTION:
        return prs_reduction_args(p, c, a, b);
    case PC_UPDATE: {
        static const char *const modes[] = {"in", "out", "inout", "mutexinoutset",
                                            "inoutset", NULL};
        int m = a + 1 == b ? prs_word_in(p, t0, modes) : -1;
        if (m < 0)
            return prs_fail(p, c->name.b, c->whole.e, "expected a dependence type (in, out, "
                            "inout, mutexinoutset or inoutset) in 'update'");
        c->value = m + 1;
        return 0;
    }
    case PC_INITIALIZER:
        return prs_need_expr(p, c, a, b);
    case PC_RETRY:
        if (a < b && prs_punct_is(p, t0, '-') && a + 2 == b && p->toks[a + 1].kind == T_NUMBER)
            return prs_fail(p, t0->b, p->toks[a + 1].e, "the count of 'retry' must not be "
                                                    "negative");
        return prs_need_expr(p, c, a, b);
    case PC_AFFINITY:
        /* affinity([iterator(...):] list): a placement hint, the first item's address
         * (with an iterator modifier: at the iterators' first values) */
        if (a >= b)
            return prs_fail(p, c->name.b, c->whole.e, "expected a list of items in 'affinity'");
        if (prs_tok_is(p, t0, "iterator")) {
            long after = iterator_prefix(p, c, a, b, ':', "a list of items");
            if (after < 0)
                return -1;
            a = (size_t)after;
        }
        return prs_split_list(p, a, b, c, prs_add_dep_item);
    case PC_CHECKPOINT:
        if (a >= b)
            return prs_fail(p, c->name.b, c->whole.e, "expected a list of items in 'checkpoint'");
        return prs_split_list(p, a, b, c, prs_add_dep_item);
    case PC_FINAL:
    case PC_PRIORITY:
    case PC_NODE:
    case PC_STATUS:
    case PC_COLLAPSE:
    case PC_NUM_THREADS:
    case PC_FILTER:
    case PC_DETACH:
        return prs_need_expr(p, c, a, b);
    default:
        c->expr = prs_span_of(p, a, b);
        return 0;
    }
}

static int takes_args(pr_clause_kind k)
{
    return !(k == PC_NOGROUP || k == PC_NOWAIT || k == PC_UNTIED || k == PC_MERGEABLE ||
             k == PC_DESTROY);
}

static int single_valued(pr_clause_kind k)
{
    switch (k) {
    case PC_DEFAULT: case PC_IF: case PC_FINAL: case PC_PRIORITY: case PC_LABEL:
    case PC_DEVICE: case PC_NODE: case PC_GRAINSIZE: case PC_NUM_TASKS: case PC_NOGROUP:
    case PC_COLLAPSE: case PC_NUM_THREADS: case PC_PROC_BIND: case PC_FILTER:
    case PC_NOWAIT: case PC_UNTIED: case PC_MERGEABLE: case PC_DETACH: case PC_VARIANT:
    case PC_RETRY: case PC_UPDATE: case PC_DESTROY: case PC_INITIALIZER: case PC_STATUS:
        return 1;
    default:
        return 0;
    }
}

static int parse_clauses(parser *p, pr_directive *d)
{
    allowed al = allowed_for(d);
    const char *fam = d->family == PR_DAG ? "dag" : "omp";
    for (;;) {
        if (prs_punct_is(p, prs_peek(p, 0), ','))
            p->pos++;
        const tok *t = prs_peek(p, 0);
        if (t->kind == T_END)
            return 0;
        if (t->kind != T_IDENT)
            return prs_fail(p, t->b, t->e, "expected a clause name");
        int k = -1;
        for (int i = 0; i < PC_COUNT; i++)
            if (prs_tok_is(p, t, clause_names[i]) && i != PC_SIMD)
                k = i;
        if (k < 0 && prs_word_in(p, t, simd_clauses) >= 0)
            k = PC_SIMD;
        unsigned long long bit = k >= 0 ? BIT(k) : 0;
        if (k < 0 || !(bit & (al.ok | al.ignored | al.unsupported))) {
            if (k == PC_STATUS && d->family == PR_OMP &&
                (d->kind == PK_TASK || d->kind == PK_TASKLOOP))
                return prs_fail(p, t->b, t->e, "'status' is a dagcc clause, not OpenMP: use "
                                "'#pragma dag %s ... status(...)' to keep a failed "
                                "submission's status instead of exiting", pr_kind_name(d));
            if (k < 0)
                return prs_fail(p, t->b, t->e, "unknown clause '%.*s' on '#pragma %s %.*s'",
                            (int)(t->e - t->b), p->s + t->b, fam,
                            (int)(d->name.e - d->name.b), p->s + d->name.b);
            return prs_fail(p, t->b, t->e, "clause '%.*s' is not allowed on '#pragma %s %.*s'",
                        (int)(t->e - t->b), p->s + t->b, fam,
                        (int)(d->name.e - d->name.b), p->s + d->name.b);
        }
        if (bit & al.unsupported)
            return prs_fail(p, t->b, t->e, "clause '%.*s' on '#pragma %s %.*s' is not supported "
                        "by dagcc", (int)(t->e - t->b), p->s + t->b, fam,
                        (int)(d->name.e - d->name.b), p->s + d->name.b);
        pr_clause c;
        memset(&c, 0, sizeof c);
        c.kind = (pr_clause_kind)k;
        c.name.b = t->b;
        c.name.e = t->e;
        c.whole = c.name;
        p->pos++;
        int has_paren = prs_punct_is(p, prs_peek(p, 0), '(');
        if (has_paren) {
            size_t open = p->pos;
            long close = prs_matching(p, open);
            if (close < 0)
                return -1;
            c.whole.e = p->toks[close].e;
            if (!takes_args(c.kind))
                return prs_fail(p, c.name.b, c.whole.e, "clause '%s' takes no arguments",
                            clause_names[k]);
            int rc = parse_args(p, &c, open + 1, (size_t)close);
            if (rc == 0 && single_valued(c.kind) && pr_find(d, c.kind))
                rc = prs_fail(p, c.name.b, c.whole.e, "'%s' appears more than once",
                          clause_names[k]);
            if (rc) {
                for (unsigned j = 0; j < c.nitems; j++)
                    free(c.items[j].dims);
                free(c.items);
                free(c.iters);
                return -1;
            }
            p->pos = (size_t)close + 1;
        } else if (takes_args(c.kind) && c.kind != PC_PROC_BIND) {
            return prs_fail(p, c.name.b, c.name.e, "expected '(' after '%s'", clause_names[k]);
        } else if (single_valued(c.kind) && pr_find(d, c.kind)) {
            return prs_fail(p, c.name.b, c.name.e, "'%s' appears more than once",
                        clause_names[k]);
        }
        if (bit & al.ignored)
            continue;
        d->clauses = xrealloc(d->clauses, (d->nclauses + 1) * sizeof *d->clauses);
        d->clauses[d->nclauses++] = c;
        if (pr_find(d, PC_GRAINSIZE) && pr_find(d, PC_NUM_TASKS))
            return prs_fail(p, c.name.b, c.whole.e,
                        "'grainsize' and 'num_tasks' cannot be used together");
    }
}

/* Reads the directive name words of an omp pragma. */
static int omp_directive(parser *p, pr_directive *d)
{
    const tok *t = prs_peek(p, 0);
    static const char *const after_parallel[] = {"for", "sections", "loop", "workshare",
                                                 "do", NULL};
    d->name.b = t->b;
    d->kind = PK_OTHER;
    if (t->kind != T_IDENT)
        return prs_fail(p, t->b, t->e, "expected an OpenMP directive name");
    p->pos++;
    if (prs_tok_is(p, t, "task"))
        d->kind = PK_TASK;
    else if (prs_tok_is(p, t, "taskwait"))
        d->kind = PK_TASKWAIT;
    else if (prs_tok_is(p, t, "taskgroup"))
        d->kind = PK_TASKGROUP;
    else if (prs_tok_is(p, t, "taskyield"))
        d->kind = PK_TASKYIELD;
    else if (prs_tok_is(p, t, "depobj"))
        d->kind = PK_DEPOBJ;
    else if (prs_tok_is(p, t, "declare") && prs_tok_is(p, prs_peek(p, 0), "reduction")) {
        d->kind = PK_DECLARE_REDUCTION;
        p->pos++;
    }
    else if (prs_tok_is(p, t, "single"))
        d->kind = PK_SINGLE;
    else if (prs_tok_is(p, t, "taskloop"))
        d->kind = PK_TASKLOOP;
    else if (prs_tok_is(p, t, "master") || prs_tok_is(p, t, "masked"))
        d->kind = PK_MASTER;
    else if (prs_tok_is(p, t, "parallel"))
        d->kind = PK_PARALLEL;
    const tok *n = prs_peek(p, 0);
    if (d->kind == PK_PARALLEL && n->kind == T_IDENT && !prs_punct_is(p, prs_peek(p, 1), '(')) {
        if (prs_word_in(p, n, after_parallel) >= 0) {
            d->kind = PK_OTHER;
        } else if (prs_tok_is(p, n, "master") || prs_tok_is(p, n, "masked")) {
            d->combined |= PF_MASTER;
            p->pos++;
            n = prs_peek(p, 0);
            if (prs_tok_is(p, n, "taskloop")) {
                d->kind = PK_TASKLOOP;
                d->combined |= PF_PARALLEL;
                p->pos++;
                n = prs_peek(p, 0);
            }
        }
    } else if (d->kind == PK_MASTER && prs_tok_is(p, n, "taskloop") &&
               !prs_punct_is(p, prs_peek(p, 1), '(')) {
        d->kind = PK_TASKLOOP;
        d->combined |= PF_MASTER;
        p->pos++;
        n = prs_peek(p, 0);
    }
    if (d->kind == PK_TASKLOOP && prs_tok_is(p, n, "simd") && !prs_punct_is(p, prs_peek(p, 1), '(')) {
        d->combined |= PF_SIMD;
        p->pos++;
    }
    d->name.e = p->toks[p->pos - 1].e;
    return 0;
}

int pr_parse(const char *text, size_t len, int omp, pr_directive *out, pr_error *err)
{
    memset(out, 0, sizeof *out);
    pr_error dummy;
    parser p = {text, (unsigned)len, NULL, 0, 0, 0, err ? err : &dummy, omp};
    memset(p.err, 0, sizeof *p.err);
    int rc = prs_tokenize(&p);
    if (rc == 0) {
        const tok *ns = prs_peek(&p, 0);
        if (prs_tok_is(&p, ns, "dag"))
            out->family = PR_DAG;
        else if (omp && prs_tok_is(&p, ns, "omp"))
            out->family = PR_OMP;
        else
            rc = 1;
    }
    if (rc == 0) {
        p.pos++;
        const tok *t = prs_peek(&p, 0);
        if (out->family == PR_DAG) {
            static const char *const names[] = {"task", "taskwait", "taskgroup", "taskloop",
                                                "taskyield", "depobj", "declare", NULL};
            static const pr_kind kinds[] = {PK_TASK, PK_TASKWAIT, PK_TASKGROUP, PK_TASKLOOP,
                                            PK_TASKYIELD, PK_DEPOBJ, PK_DECLARE_REDUCTION};
            int k = t->kind == T_IDENT ? prs_word_in(&p, t, names) : -1;
            if (t->kind == T_END)
                rc = prs_fail(&p, t->b, t->e, "expected a directive name after '#pragma dag'");
            else if (k < 0)
                rc = prs_fail(&p, t->b, t->e, "unknown directive '#pragma dag %.*s' (expected "
                          "task, taskwait, taskgroup, taskloop, taskyield, depobj or declare "
                          "reduction)", (int)(t->e - t->b),
                          text + t->b);
            else {
                out->kind = kinds[k];
                out->name.b = t->b;
                out->name.e = t->e;
                p.pos++;
                if (out->kind == PK_DECLARE_REDUCTION) {
                    const tok *r = prs_peek(&p, 0);
                    if (!prs_tok_is(&p, r, "reduction"))
                        rc = prs_fail(&p, r->b, r->e, "expected 'reduction' after '#pragma "
                                      "dag declare'");
                    out->name.e = r->e;
                    p.pos++;
                }
            }
        } else {
            rc = omp_directive(&p, out);
        }
    }
    if (rc == 0 && out->kind == PK_DEPOBJ)
        rc = prs_depobj_directive(&p, out);
    if (rc == 0 && out->kind == PK_DECLARE_REDUCTION)
        rc = prs_declare_reduction(&p, out);
    if (rc == 0 && out->kind != PK_OTHER)
        rc = parse_clauses(&p, out);
    free(p.toks);
    if (rc < 0) {
        pr_free(out);
        return -1;
    }
    if (rc > 0)
        memset(out, 0, sizeof *out);
    return rc;
}
