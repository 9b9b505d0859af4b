/* render.c: the output writer (#line bookkeeping) and the renderer: copies pass-2 text
 * with the edit list applied (shared-variable rewrites, hoisted code, and the code of
 * constructs and function-task calls, which it asks of the generators in c->gen), and
 * keeps the compiler's idea of file:line in step with the user's source. It calls no
 * generator directly, so gen.c and gen_call.c sit above it. */
#include <stdarg.h>
#include <stddef.h>
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
    return lower_bound_u(c->edits, c->nedits, sizeof *c->edits, offsetof(tr_edit, b), b);
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

const tr_cap *cap_of(const tr_ctx *c, int ctx, int var)
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
    const tr_cap *cp = cap_of(c, ctx, r->var);
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
            c->gen->call(c, w, ed->idx, ctx);
            pos = ed->e;
            break;
        case E_CONS: {
            copy_text(c, w, pos, ed->b, sync);
            const tr_cons *k = &c->cons[ed->idx];
            if (ed->b == ed->e && ed->b == k->stmt_e && ed->b != k->p2b)
                c->gen->close(c, w, ed->idx);
            else
                c->gen->open(c, w, ed->idx, ctx);
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

void w_end_line(writer *w)
{
    w_newline_if_needed(w);
}

void render_expr(tr_ctx *c, writer *w, tr_pragma *p, pr_span s, int ctx)
{
    tr_piece *pc = piece_of(p, s);
    w_gen(w, "(");
    if (pc)
        render_piece(c, w, pc, ctx);
    w_gen(w, ")");
}
