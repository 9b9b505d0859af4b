/* emit.c: writes the translated file: generates the outlined task functions, places them,
 * the prelude and the function-task wrappers in the edit list, and renders the whole
 * pass-2 text (render.c) with gen.c and gen_call.c as the generators of constructs and
 * calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

/* ---- placement ---------------------------------------------------------------------- */

static int cons_depth(const tr_ctx *c, int ci)
{
    int d = 0;
    for (int q = c->cons[ci].parent; q != NONE; q = c->cons[q].parent)
        d++;
    return d;
}

/* The pass-2 offset of original offset o (o must lie in copied text). */
static unsigned orig_to_p2(const tr_ctx *c, unsigned o)
{
    for (size_t i = 0; i < c->nsegs; i++) {
        const tr_seg *s = &c->segs[i];
        if (s->kind == 0 && o >= s->orig && o < s->orig + (s->p2e - s->p2b))
            return s->p2b + (o - s->orig);
    }
    return 0;
}

/* Moves a pass-2 insertion point out of any #if block of the main file, so that the
 * prelude is seen whatever the configuration. */
static unsigned outside_conditionals(const tr_ctx *c, unsigned p2off)
{
    unsigned o = p2_to_orig(c, p2off);
    unsigned outer = 0;
    int depth = 0;
    for (size_t i = 0; i < c->nconds && c->conds[i][0] < o; i++) {
        if (c->conds[i][1]) {
            if (depth++ == 0)
                outer = c->conds[i][0];
        } else if (depth > 0) {
            depth--;
        }
    }
    return depth > 0 ? orig_to_p2(c, outer) : p2off;
}

static void add_hoist(tr_ctx *c, unsigned at, char *text, int order)
{
    tr_edit ed = {at, at, E_HOIST, 0, text, order};
    VEC_PUSH(c->edits, c->nedits, c->cedits, ed);
}

static void place_code(tr_ctx *c)
{
    size_t nf = c->nfuncs;
    int *used = xcalloc(nf + 1, sizeof *used);
    /* functions with translated constructs or function-task calls */
    for (size_t i = 0; i < c->ncons; i++)
        if (c->cons[i].translate && c->cons[i].func != NONE)
            used[c->cons[i].func] = 1;
    int *hdr_wrapped = xcalloc(c->npragmas + 1, sizeof *hdr_wrapped);
    strbuf hdr = {0};
    for (size_t i = 0; i < c->nedits; i++) {
        if (c->edits[i].kind != E_CALL)
            continue;
        const f_call *k = &c->calls[c->edits[i].idx];
        if (k->func != NONE)
            used[k->func] = 1;
        int pi = ftask_of(c, k->callee);
        if (pi != NONE && c->pragmas[pi].in_header && !hdr_wrapped[pi]) {
            hdr_wrapped[pi] = 1;
            char *wr = gen_wrapper(c, pi);
            sb_puts(&hdr, wr);
            free(wr);
        }
    }
    for (size_t i = 0; i < c->nfulfills; i++)
        if ((int)c->fulfills[i][2] != NONE)
            used[c->fulfills[i][2]] = 1;
    /* the prelude goes before the first function that needs it */
    unsigned first = c->p2_main_end;
    for (size_t f = 0; f < nf; f++)
        if (used[f] && c->funcs[f].insert_at < first)
            first = c->funcs[f].insert_at;
    for (size_t i = 0; i < c->nfulfills; i++) /* a file-scope use (a function pointer) */
        if ((int)c->fulfills[i][2] == NONE && c->fulfills[i][3] < first)
            first = c->fulfills[i][3];
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        if (p->translate && !p->status && p->file_scope && !p->in_header && p->p2b < first)
            first = p->p2b;
    }
    strbuf pre = {0};
    char *prelude = gen_prelude(c);
    sb_puts(&pre, prelude);
    free(prelude);
    sb_puts(&pre, sb_str(&hdr));
    sb_free(&hdr);
    add_hoist(c, outside_conditionals(c, first), sb_take(&pre), -3000);
    /* outlined functions, deepest first, before their enclosing function */
    for (size_t f = 0; f < nf; f++) {
        if (!used[f])
            continue;
        strbuf b = {0};
        int maxd = -1;
        for (size_t i = 0; i < c->ncons; i++)
            if (c->cons[i].func == (int)f && c->cons[i].hoist) {
                int d = cons_depth(c, (int)i);
                maxd = d > maxd ? d : maxd;
            }
        if (maxd >= 0) {
            char *proto = gen_prototype(c, c->funcs[f].cur);
            sb_puts(&b, proto);
            free(proto);
        }
        for (int d = maxd; d >= 0; d--)
            for (size_t i = 0; i < c->ncons; i++)
                if (c->cons[i].func == (int)f && c->cons[i].hoist &&
                    cons_depth(c, (int)i) == d)
                    sb_puts(&b, c->cons[i].hoist);
        if (b.n)
            add_hoist(c, c->funcs[f].insert_at, sb_take(&b), -2000);
        sb_free(&b);
    }
    /* wrappers of function tasks declared in this file replace their pragma */
    for (size_t i = 0; i < c->nedits; i++) {
        tr_edit *ed = &c->edits[i];
        if (ed->kind != E_TEXT)
            continue;
        for (size_t pi = 0; pi < c->npragmas; pi++) {
            tr_pragma *p = &c->pragmas[pi];
            if (p->translate && !p->status && p->dir.kind == PK_DECLARE_REDUCTION &&
                ed->b == p->p2b && ed->e == p->p2e) {
                free(ed->text);
                ed->text = gen_declare_reduction(c, (int)pi);
                ed->kind = E_HOIST;
                continue;
            }
            if (!p->translate || p->status || !p->file_scope || p->in_header ||
                !p->fname || ed->b != p->p2b || ed->e != p->p2e)
                continue;
            char *wr = gen_wrapper(c, (int)pi);
            strbuf b = {0};
            sb_printf(&b, "/* function task '%s' (dagcc) */\n%s", p->fname, wr);
            free(wr);
            free(ed->text);
            ed->text = sb_take(&b);
            ed->kind = E_HOIST;
        }
    }
    free(used);
    free(hdr_wrapped);
}

static const tr_gen_hooks generators = {gen_open, gen_close, gen_call};

char *emit_output(tr_ctx *c, size_t *len)
{
    c->gen = &generators;
    for (size_t i = 0; i < c->ncons; i++)
        c->cons[i].id = (int)i;
    for (size_t i = 0; i < c->ncons; i++) {
        tr_cons *k = &c->cons[i];
        if (k->translate && (k->kind == PK_TASK || k->kind == PK_TASKLOOP))
            gen_hoist(c, (int)i);
    }
    place_code(c);
    sort_edits(c);
    writer w;
    memset(&w, 0, sizeof w);
    render(c, &w, 0, c->p2_main_end, NONE, 1);
    w_end_line(&w);
    *len = w.b.n;
    return sb_take(&w.b);
}
