/* pragma_omp5.c: the OpenMP 5 argument forms of the pragma parser: reduction operators
 * and lists (reduction, in_reduction, task_reduction), depend iterators, the depobj
 * directive's object and `declare reduction(id : types : combiner)`. */
#include <stdlib.h>
#include <string.h>

#include "pragma_int.h"
#include "util.h"

/* Is span s of the text exactly word w? */
static int span_is(const parser *p, pr_span s, const char *w)
{
    size_t n = strlen(w);
    return s.e - s.b == n && memcmp(p->s + s.b, w, n) == 0;
}

/* An operator or identifier of a reduction in tokens [a, b): its pr_red_op. */
static int red_op(parser *p, pr_clause *c, size_t a, size_t b)
{
    static const char *const ops[] = {"+", "*", "min", "max", "&", "|", "^", "&&", "||", "-",
                                      NULL};
    static const int codes[] = {RO_SUM, RO_PROD, RO_MIN, RO_MAX, RO_BAND, RO_BOR, RO_BXOR,
                                RO_LAND, RO_LOR, RO_SUM};
    if (a >= b)
        return prs_fail(p, c->name.b, c->whole.e, "expected a reduction operator");
    pr_span s = prs_span_of(p, a, b);
    for (int i = 0; ops[i]; i++)
        if (span_is(p, s, ops[i]))
            return codes[i];
    if (a + 1 == b && p->toks[a].kind == T_IDENT) {
        c->expr = s;
        return RO_USER;
    }
    return prs_fail(p, s.b, s.e, "unknown reduction operator '%.*s' (expected +, *, -, &, "
                    "|, ^, &&, ||, min, max or a declared reduction)", (int)(s.e - s.b),
                    p->s + s.b);
}

int prs_reduction_args(parser *p, pr_clause *c, size_t a, size_t b)
{
    /* [modifier ,] operator : list */
    if (a + 1 < b && p->toks[a].kind == T_IDENT && prs_punct_is(p, &p->toks[a + 1], ',')) {
        static const char *const mods[] = {"default", "task", "inscan", NULL};
        int m = prs_word_in(p, &p->toks[a], mods);
        if (m < 0)
            return prs_fail(p, p->toks[a].b, p->toks[a].e, "unknown reduction modifier");
        if (m > 0)
            return prs_fail(p, p->toks[a].b, p->toks[a].e, "the '%s' reduction modifier is "
                            "not supported by dagcc", mods[m]);
        a += 2;
    }
    size_t colon = prs_top_level(p, a, b, ':');
    if (colon == b)
        return prs_fail(p, c->name.b, c->whole.e, "expected 'operator : list' in '%.*s'",
                        (int)(c->name.e - c->name.b), p->s + c->name.b);
    int op = red_op(p, c, a, colon);
    if (op < 0)
        return -1;
    c->value = op;
    if (colon + 1 >= b)
        return prs_fail(p, p->toks[colon].b, p->toks[colon].e, "expected a list of variables");
    return prs_split_list(p, colon + 1, b, c, prs_add_var_item);
}

static int add_iter(parser *p, size_t a, size_t b, pr_clause *c)
{
    size_t eq = prs_top_level(p, a, b, '=');
    if (eq == b || eq == a || p->toks[eq - 1].kind != T_IDENT)
        return prs_fail(p, p->toks[a].b, p->toks[b - 1].e,
                        "expected '[type] name = begin : end [: step]' in 'iterator'");
    pr_iter it;
    memset(&it, 0, sizeof it);
    it.type = prs_span_of(p, a, eq - 1);
    it.name = prs_span_of(p, eq - 1, eq);
    size_t c1 = prs_top_level(p, eq + 1, b, ':');
    size_t c2 = c1 < b ? prs_top_level(p, c1 + 1, b, ':') : b;
    if (c1 == b || c1 == eq + 1 || c1 + 1 >= c2 || (c2 < b && c2 + 1 >= b))
        return prs_fail(p, p->toks[a].b, p->toks[b - 1].e,
                        "expected 'begin : end [: step]' in 'iterator'");
    it.begin = prs_span_of(p, eq + 1, c1);
    it.end = prs_span_of(p, c1 + 1, c2);
    if (c2 < b)
        it.step = prs_span_of(p, c2 + 1, b);
    c->iters = xrealloc(c->iters, (c->niters + 1) * sizeof *c->iters);
    c->iters[c->niters++] = it;
    return 0;
}

long prs_depend_iterator(parser *p, pr_clause *c, size_t a, size_t b)
{
    if (a + 1 >= b || !prs_punct_is(p, &p->toks[a + 1], '('))
        return prs_fail(p, p->toks[a].b, p->toks[a].e, "expected '(' after 'iterator'"), -1;
    long close = prs_matching(p, a + 1);
    if (close < 0 || (size_t)close >= b)
        return -1;
    if ((size_t)close == a + 2)
        return prs_fail(p, p->toks[a].b, p->toks[close].e, "'iterator' needs at least one "
                        "iterator"), -1;
    if (prs_split_list(p, a + 2, (size_t)close, c, add_iter))
        return -1;
    return close + 1;
}

int prs_depobj_directive(parser *p, pr_directive *d)
{
    const tok *t = prs_peek(p, 0);
    if (!prs_punct_is(p, t, '('))
        return prs_fail(p, t->b, t->e, "expected '(' and a depend object after 'depobj'");
    long close = prs_matching(p, p->pos);
    if (close < 0)
        return -1;
    if ((size_t)close == p->pos + 1)
        return prs_fail(p, t->b, p->toks[close].e, "expected a depend object in 'depobj()'");
    d->arg = prs_span_of(p, p->pos + 1, (size_t)close);
    p->pos = (size_t)close + 1;
    return 0;
}

int prs_declare_reduction(parser *p, pr_directive *d)
{
    const tok *t = prs_peek(p, 0);
    if (!prs_punct_is(p, t, '('))
        return prs_fail(p, t->b, t->e, "expected '(' after 'declare reduction'");
    size_t open = p->pos;
    long close = prs_matching(p, open);
    if (close < 0)
        return -1;
    size_t c1 = prs_top_level(p, open + 1, (size_t)close, ':');
    size_t c2 = c1 < (size_t)close ? prs_top_level(p, c1 + 1, (size_t)close, ':') : (size_t)close;
    if (c1 == (size_t)close || c2 == (size_t)close || c1 == open + 1 || c2 == c1 + 1 ||
        c2 + 1 == (size_t)close)
        return prs_fail(p, t->b, p->toks[close].e,
                        "expected 'declare reduction(identifier : type-list : combiner)'");
    if (c1 != open + 2 || p->toks[open + 1].kind != T_IDENT)
        return prs_fail(p, p->toks[open + 1].b, p->toks[c1 - 1].e, "dagcc supports declared "
                        "reductions named by an identifier");
    d->arg = prs_span_of(p, open + 1, c1);
    for (size_t i = c1 + 1; i < c2;) {
        size_t e = prs_top_level(p, i, c2, ',');
        if (e == i)
            return prs_fail(p, p->toks[i].b, p->toks[i].e, "expected a type");
        d->types = xrealloc(d->types, (d->ntypes + 1) * sizeof *d->types);
        d->types[d->ntypes++] = prs_span_of(p, i, e);
        i = e + 1;
    }
    d->combiner = prs_span_of(p, c2 + 1, (size_t)close);
    p->pos = (size_t)close + 1;
    return 0;
}
