/* report.c: diagnostics of one translation: locations in the user's file (or a user
 * header) with the source line, pass-2 positions mapped back to the text they came
 * from, and libclang's own errors reported through the same channel. */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static void locate(const char *text, size_t len, unsigned off, diag_loc *loc)
{
    if (off > len)
        off = (unsigned)len;
    unsigned line = 1, ls = 0;
    for (unsigned i = 0; i < off; i++)
        if (text[i] == '\n') {
            line++;
            ls = i + 1;
        }
    unsigned le = off;
    while (le < len && text[le] != '\n')
        le++;
    loc->line = line;
    loc->col = off - ls + 1;
    loc->line_text = text + ls;
    loc->line_len = le - ls;
    loc->caret_col = loc->col;
}

static void vdiag_at(tr_ctx *c, diag_level lv, const char *file, const char *text,
                     size_t len, unsigned off, unsigned n, int presumed, const char *fmt,
                     va_list ap)
{
    diag_loc loc;
    memset(&loc, 0, sizeof loc);
    loc.file = file;
    locate(text, len, off, &loc);
    loc.caret_len = n ? n : 1;
    if (loc.caret_col + loc.caret_len > loc.line_len + 1)
        loc.caret_len = loc.line_len + 1 > loc.caret_col ? loc.line_len + 1 - loc.caret_col : 1;
    CXString fname = {0};
    if (presumed && c->tu1) {
        CXSourceLocation sl = clang_getLocationForOffset(c->tu1, c->file1, off);
        unsigned pl = 0, pc = 0;
        clang_getPresumedLocation(sl, &fname, &pl, &pc);
        if (pl) {
            loc.file = clang_getCString(fname);
            loc.line = pl;
        }
    }
    strbuf msg = {0};
    sb_vprintf(&msg, fmt, ap);
    diag_emit(&c->diag, lv, &loc, "%s", sb_str(&msg));
    sb_free(&msg);
    if (presumed && c->tu1)
        clang_disposeString(fname);
}

void tr_diag(tr_ctx *c, diag_level lv, unsigned off, unsigned len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag_at(c, lv, c->path, c->src, c->srclen, off, len, 1, fmt, ap);
    va_end(ap);
}

void tr_diag_pragma(tr_ctx *c, diag_level lv, const tr_pragma *p, pr_span s,
                    const char *fmt, ...)
{
    unsigned b = p->map[s.b < p->len ? s.b : p->len];
    unsigned e = p->map[s.e < p->len ? s.e : p->len];
    va_list ap;
    va_start(ap, fmt);
    if (p->in_header) {
        size_t hl = 0;
        char *ht = read_file(p->header_path, &hl);
        vdiag_at(c, lv, p->header_path, ht ? ht : "", ht ? hl : 0, b, e > b ? e - b : 1, 0,
                 fmt, ap);
        free(ht);
    } else {
        vdiag_at(c, lv, c->path, c->src, c->srclen, b, e > b ? e - b : 1, 1, fmt, ap);
    }
    va_end(ap);
}

static const tr_seg *seg_at(const tr_ctx *c, unsigned p2off)
{
    /* the first segment ending after p2off */
    size_t i = lower_bound_u(c->segs, c->nsegs, sizeof *c->segs, offsetof(tr_seg, p2e),
                             p2off + 1);
    return i < c->nsegs ? &c->segs[i] : (c->nsegs ? &c->segs[c->nsegs - 1] : NULL);
}

unsigned p2_to_orig(const tr_ctx *c, unsigned p2off)
{
    const tr_seg *s = seg_at(c, p2off);
    if (!s)
        return p2off;
    if (s->kind == 0) {
        unsigned d = p2off > s->p2b ? p2off - s->p2b : 0;
        return s->orig + d;
    }
    if (s->kind == 1) {
        const tr_pragma *p = &c->pragmas[s->pragma];
        unsigned t = s->src + (p2off > s->p2b ? p2off - s->p2b : 0);
        if (p->in_header)
            return p->b;
        return p->map[t < p->len ? t : p->len];
    }
    return s->orig;
}

void tr_diag_p2(tr_ctx *c, diag_level lv, unsigned p2off, unsigned len, const char *fmt, ...)
{
    const tr_seg *s = seg_at(c, p2off);
    va_list ap;
    va_start(ap, fmt);
    if (s && s->kind == 1 && c->pragmas[s->pragma].in_header) {
        const tr_pragma *p = &c->pragmas[s->pragma];
        unsigned t = s->src + (p2off > s->p2b ? p2off - s->p2b : 0);
        size_t hl = 0;
        char *ht = read_file(p->header_path, &hl);
        vdiag_at(c, lv, p->header_path, ht ? ht : "", ht ? hl : 0, p->map[t], len, 0, fmt, ap);
        free(ht);
    } else {
        vdiag_at(c, lv, c->path, c->src, c->srclen, p2_to_orig(c, p2off), len, 1, fmt, ap);
    }
    va_end(ap);
}

/* Prints libclang's errors; pass 2 errors are mapped back to the user's text. Returns
 * the number of errors. */
unsigned tr_report_clang(tr_ctx *c, CXTranslationUnit tu, int pass2)
{
    unsigned n = clang_getNumDiagnostics(tu), errors = 0;
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        if (sev < CXDiagnostic_Error) {
            clang_disposeDiagnostic(d);
            continue;
        }
        CXSourceLocation l = clang_getDiagnosticLocation(d);
        CXFile f;
        unsigned off = 0;
        clang_getFileLocation(l, &f, NULL, NULL, &off);
        CXString msg = clang_getDiagnosticSpelling(d);
        const char *m = clang_getCString(msg);
        int in_main = f && clang_Location_isFromMainFile(l);
        errors++;
        if (!in_main) {
            CXString fmt = clang_formatDiagnostic(d, CXDiagnostic_DisplaySourceLocation |
                                                         CXDiagnostic_DisplayColumn);
            fprintf(c->diag.out, "%s\n", clang_getCString(fmt));
            c->diag.errors++;
            clang_disposeString(fmt);
        } else if (!pass2) {
            tr_diag(c, DIAG_ERROR, off, 1, "%s", m);
        } else {
            int handled = 0;
            /* An error right after a statement probe: the pragma has no statement. */
            for (size_t k = 0; k < c->npragmas && !handled; k++) {
                tr_pragma *p = &c->pragmas[k];
                if (p->in_header || !p->translate || p->status || p->file_scope ||
                    p->p2e > off)
                    continue;
                pr_kind kd = p->dir.kind;
                if (kd == PK_TASKWAIT || kd == PK_TASKYIELD || kd == PK_DEPOBJ)
                    continue;
                unsigned j = p->p2e;
                while (j < off && (c->p2.s[j] == ' ' || c->p2.s[j] == '\t' ||
                                   c->p2.s[j] == '\n' || c->p2.s[j] == '\r'))
                    j++;
                if (j == off) {
                    tr_diag_pragma(c, DIAG_ERROR, p, p->dir.name,
                                   "'#pragma %s %.*s' must be followed by a statement",
                                   p->dir.family == PR_DAG ? "dag" : "omp",
                                   (int)(p->dir.name.e - p->dir.name.b),
                                   p->text + p->dir.name.b);
                    handled = 1;
                }
            }
            if (!handled) {
                const tr_seg *s = seg_at(c, off);
                if (s && s->kind == 2 && s > c->segs && s[-1].kind == 1 &&
                    s->p2e - s->p2b >= 6 && !memcmp(c->p2.s + s->p2b, ") = 0)", 6))
                    /* the probe `(void)((lv) = 0)` of status(lv) (probe.c) */
                    tr_diag_p2(c, DIAG_ERROR, s[-1].p2b, s[-1].p2e - s[-1].p2b,
                               "'status' needs a modifiable lvalue (%s)", m);
                else if (s && s->kind == 2 && (strstr(m, "address of") || strstr(m, "lvalue")))
                    tr_diag_p2(c, DIAG_ERROR, s->p2e < c->p2.n ? s->p2e : off, 1,
                               "depend item is not an lvalue or array section (%s)", m);
                else
                    tr_diag_p2(c, DIAG_ERROR, off, 1, "%s", m);
            }
        }
        clang_disposeString(msg);
        clang_disposeDiagnostic(d);
    }
    return errors;
}
