/* emit.c: writes the translated file. Copies the pass-2 text with the edit list applied
 * (shared-variable rewrites, construct code, function-task calls), places the prelude,
 * the function-task wrappers and the outlined task functions, and keeps the compiler's
 * idea of file:line in step with the user's source through #line directives. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

/* ---- writer ------------------------------------------------------------------------ */

static void count_lines(writer *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            w->line++;
}

void w_gen(writer *w, const char *s)
{
    size_t n = strlen(s);
    sb_putn(&w->b, s, n);
    count_lines(w, s, n);
}

void w_genf(writer *w, const char *fmt, ...)
{
    strbuf t = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&t, fmt, ap);
    va_end(ap);
    w_gen(w, sb_str(&t));
    sb_free(&t);
}

static void w_newline_if_needed(writer *w)
{
    if (w->b.n && w->b.s[w->b.n - 1] != '\n') {
        sb_putc(&w->b, '\n');
        w->line++;
    }
}

void w_line(writer *w, const char *file, unsigned line)
{
    w_newline_if_needed(w);
    sb_printf(&w->b, "#line %u \"", line);
    sb_put_c_escaped(&w->b, file);
    sb_puts(&w->b, "\"\n");
    w->known = 1;
    w->line = line;
    w->file = file;
}

/* ---- locations ---------------------------------------------------------------------- */

static const char *intern(tr_ctx *c, const char *s)
{
    for (size_t i = 0; i < c->nnames; i++)
        if (strcmp(c->names[i], s) == 0)
            return c->names[i];
    VEC_PUSH(c->names, c->nnames, c->cnames, xstrdup(s));
    return c->names[c->nnames - 1];
}

void presumed(tr_ctx *c, unsigned p2off, const char **file, unsigned *line, unsigned *col)
{
    if (p2off > c->p2.n)
        p2off = (unsigned)c->p2.n;
    CXSourceLocation l = clang_getLocationForOffset(c->tu2, c->file2, p2off);
    CXString f;
    unsigned ln = 0, cl = 0;
    clang_getPresumedLocation(l, &f, &ln, &cl);
    const char *fs = clang_getCString(f);
    *file = intern(c, fs && *fs ? fs : c->path);
    clang_disposeString(f);
    *line = ln ? ln : 1;
    *col = cl ? cl : 1;
}

/* ---- rendering ---------------------------------------------------------------------- */

static size_t first_edit(const tr_ctx *c, unsigned b)
{
    size_t lo = 0, hi = c->nedits;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->edits[mid].b < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Does the text contain a line-control directive (#line, # 12 "f") the compiler will
 * honour? Then our own line count is no longer trustworthy. */
static int has_line_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '#' || (i && s[i - 1] != '\n' && s[i - 1] != ' ' && s[i - 1] != '\t'))
            continue;
        size_t j = i + 1;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if ((j + 4 <= n && memcmp(s + j, "line", 4) == 0) || (j < n && s[j] >= '0' &&
                                                              s[j] <= '9'))
            return 1;
    }
    return 0;
}

/* Makes the compiler's line for the next character that of pass-2 offset `off`. */
static void sync_at(tr_ctx *c, writer *w, unsigned off)
{
    const char *f;
    unsigned line, col;
    presumed(c, off, &f, &line, &col);
    if (!w->known || w->line != line || w->file != f)
        w_line(w, f, line);
}

static void copy_text(tr_ctx *c, writer *w, unsigned b, unsigned e, int sync)
{
    if (b >= e)
        return;
    if (sync)
        sync_at(c, w, b);
    sb_putn(&w->b, c->p2.s + b, e - b);
    count_lines(w, c->p2.s + b, e - b);
    if (has_line_control(c->p2.s + b, e - b))
        w->known = 0;
}

static const tr_cap *cap_in(const tr_ctx *c, int ctx, int var)
{
    if (ctx < 0)
        return NULL;
    const tr_cons *k = &c->cons[ctx];
    for (unsigned i = 0; i < k->ncaps; i++)
        if (k->caps[i].var == var)
            return &k->caps[i];
    return NULL;
}

static int is_probe_param(const tr_ctx *c, const f_var *v)
{
    return v->storage == ST_PARAM && v->func != NONE &&
           strncmp(c->funcs[v->func].name, "__dagcc_probe_", 14) == 0;
}

/* Applies one E_REF edit; returns 0 when the reference is left as written. */
static int emit_ref(tr_ctx *c, writer *w, const f_ref *r, int ctx)
{
    const f_var *v = &c->vars[r->var];
    if (c->subst && is_probe_param(c, v)) {
        if (!r->literal)
            return 0;
        w_gen(w, c->subst);
        w_gen(w, v->name);
        return 1;
    }
    const tr_cap *cp = cap_in(c, ctx, r->var);
    if (!cp || !cp->byptr)
        return 0;
    if (!r->literal) {
        tr_diag_p2(c, DIAG_ERROR, r->b, 1,
                   "shared variable '%s' is referenced inside a macro expansion in a task "
                   "body; pass it to the macro as an argument, or make it firstprivate",
                   v->name);
        return 0;
    }
    w_gen(w, "(*");
    w_gen(w, v->name);
    w_gen(w, ")");
    return 1;
}

void render(tr_ctx *c, writer *w, unsigned b, unsigned e, int ctx, int sync)
{
    unsigned pos = b;
    for (size_t i = first_edit(c, b); i < c->nedits; i++) {
        const tr_edit *ed = &c->edits[i];
        if (ed->b > e)
            break;
        if (ed->b == e) {
            /* Insertions at the end of the range belong to it only when they close a
             * construct opened inside it; the caller applies the others. */
            if (!(ed->e == e && ed->kind == E_CONS && c->cons[ed->idx].p2b >= b &&
                  c->cons[ed->idx].p2b < e))
                break;
        }
        if (ed->b < pos)
            continue; /* inside a range already replaced (rendered elsewhere) */
        if (ed->e > e)
            continue; /* straddles the range end: not ours */
        switch (ed->kind) {
        case E_REF: {
            const f_ref *r = &c->refs[ed->idx];
            copy_text(c, w, pos, ed->b, sync);
            pos = ed->b;
            if (sync)
                sync_at(c, w, ed->b);
            if (emit_ref(c, w, r, ctx))
                pos = ed->e;
            break;
        }
        case E_TEXT:
            copy_text(c, w, pos, ed->b, sync);
            w_gen(w, ed->text);
            pos = ed->e;
            break;
        case E_HOIST:
            copy_text(c, w, pos, ed->b, sync);
            w_newline_if_needed(w);
            w_gen(w, ed->text);
            w->known = 0;
            pos = ed->e;
            break;
        case E_CALL:
            copy_text(c, w, pos, ed->b, sync);
            gen_call(c, w, ed->idx, ctx);
            pos = ed->e;
            break;
        case E_CONS: {
            copy_text(c, w, pos, ed->b, sync);
            const tr_cons *k = &c->cons[ed->idx];
            if (ed->b == ed->e && ed->b == k->stmt_e && ed->b != k->p2b)
                gen_close(c, w, ed->idx);
            else
                gen_open(c, w, ed->idx, ctx);
            pos = ed->e;
            break;
        }
        default:
            break;
        }
    }
    copy_text(c, w, pos, e, sync);
}

void render_piece(tr_ctx *c, writer *w, const tr_piece *pc, int ctx)
{
    render(c, w, pc->p2b, pc->p2e, ctx, 0);
}

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

char *emit_output(tr_ctx *c, size_t *len)
{
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
    w_newline_if_needed(&w);
    *len = w.b.n;
    return sb_take(&w.b);
}
