/* translate.c: drives one translation: pass 1 (parse the file as is, find pragmas and
 * their contexts), pass 2 (parse it again with pragma probes), analysis and emission.
 * Also owns diagnostics, mapping pass-2 positions back to the user's file. */
#include "translate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

void context_pass1(tr_ctx *c); /* context.c */

/* ---- locations and diagnostics ------------------------------------------------------ */

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
    size_t lo = 0, hi = c->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->segs[mid].p2e <= p2off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nsegs ? &c->segs[lo] : (c->nsegs ? &c->segs[c->nsegs - 1] : NULL);
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
static unsigned report_clang(tr_ctx *c, CXTranslationUnit tu, int pass2)
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
                if (kd == PK_TASKWAIT || kd == PK_TASKYIELD)
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
                if (s && s->kind == 2 && (strstr(m, "address of") || strstr(m, "lvalue")))
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

/* ---- parsing --------------------------------------------------------------------- */

static CXTranslationUnit parse(tr_ctx *c, struct CXUnsavedFile *uf, unsigned flags)
{
    int n = c->opt->nclang_args;
    const char **args = xmalloc((size_t)(n + 4) * sizeof *args);
    int k = 0;
    args[k++] = "-xc";
    for (int i = 0; i < n; i++)
        args[k++] = c->opt->clang_args[i];
    args[k++] = "-Wno-unknown-pragmas";
    args[k++] = "-ferror-limit=50";
    CXTranslationUnit tu = NULL;
    enum CXErrorCode ec = clang_parseTranslationUnit2(c->index, c->path, args, k, uf,
                                                      uf ? 1 : 0, flags, &tu);
    free(args);
    if (ec != CXError_Success)
        return NULL;
    return tu;
}

static void collect_skipped(tr_ctx *c)
{
    CXSourceRangeList *sr = clang_getSkippedRanges(c->tu1, c->file1);
    if (!sr)
        return;
    c->skipped = xcalloc(sr->count + 1, sizeof *c->skipped);
    for (unsigned i = 0; i < sr->count; i++) {
        clang_getFileLocation(clang_getRangeStart(sr->ranges[i]), NULL, NULL, NULL,
                              &c->skipped[i][0]);
        clang_getFileLocation(clang_getRangeEnd(sr->ranges[i]), NULL, NULL, NULL,
                              &c->skipped[i][1]);
    }
    c->nskipped = sr->count;
    clang_disposeSourceRangeList(sr);
}

typedef struct inc_ctx {
    tr_ctx *c;
} inc_ctx;

static void visit_inclusion(CXFile f, CXSourceLocation *stack, unsigned depth,
                            CXClientData data)
{
    tr_ctx *c = ((inc_ctx *)data)->c;
    if (depth == 0)
        return; /* the main file */
    CXSourceLocation l = clang_getLocationForOffset(c->tu1, f, 0);
    if (clang_Location_isInSystemHeader(l))
        return;
    (void)stack;
    size_t len = 0;
    const char *text = clang_getFileContents(c->tu1, f, &len);
    if (!text || !memmem(text, len, "dag", 3))
        return;
    CXString name = clang_getFileName(f);
    scan_pragmas(c, c->tu1, f, text, len, 1, clang_getCString(name));
    clang_disposeString(name);
}

static void parse_pragmas(tr_ctx *c)
{
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        pr_error err;
        int rc = pr_parse(p->text, p->len, c->opt->omp, &p->dir, &err);
        if (rc < 0) {
            p->status = -1;
            tr_diag_pragma(c, DIAG_ERROR, p, err.where, "%s", err.msg);
        } else if (rc > 0) {
            p->status = 1;
        }
    }
}

static void free_ctx(tr_ctx *c)
{
    for (size_t i = 0; i < c->npragmas; i++) {
        tr_pragma *p = &c->pragmas[i];
        free(p->text);
        free(p->map);
        free(p->header_path);
        pr_free(&p->dir);
        free(p->fname);
        free(p->fret);
        for (unsigned j = 0; j < p->nparams; j++) {
            free(p->params[j].name);
            free(p->params[j].type);
        }
        free(p->params);
        free(p->pieces);
    }
    free(c->pragmas);
    free(c->skipped);
    free(c->conds);
    sb_free(&c->p2);
    free(c->segs);
    for (size_t i = 0; i < c->nvars; i++) {
        free(c->vars[i].name);
        free(c->vars[i].vm_deps);
    }
    free(c->vars);
    free(c->refs);
    for (size_t i = 0; i < c->nfuncs; i++)
        free(c->funcs[i].name);
    free(c->funcs);
    for (size_t i = 0; i < c->ncalls; i++) {
        free(c->calls[i].callee);
        free(c->calls[i].args);
    }
    free(c->calls);
    free(c->jumps);
    free(c->fulfills);
    free(c->probes);
    for (size_t i = 0; i < c->ncons; i++) {
        free(c->cons[i].caps);
        free(c->cons[i].hoist);
    }
    for (size_t i = 0; i < c->nnames; i++)
        free(c->names[i]);
    free(c->names);
    free(c->cons);
    for (size_t i = 0; i < c->nedits; i++)
        free(c->edits[i].text);
    free(c->edits);
    if (c->tu2)
        clang_disposeTranslationUnit(c->tu2);
    if (c->tu1)
        clang_disposeTranslationUnit(c->tu1);
    if (c->index)
        clang_disposeIndex(c->index);
    free(c->src);
}

static int needs_translation(const tr_ctx *c)
{
    for (size_t i = 0; i < c->npragmas; i++)
        if (c->pragmas[i].translate)
            return 1;
    return 0;
}

int tr_translate(const tr_options *opt, tr_result *res)
{
    memset(res, 0, sizeof *res);
    tr_ctx ctx, *c = &ctx;
    memset(c, 0, sizeof ctx);
    c->opt = opt;
    c->path = opt->input;
    diag_init(&c->diag, opt->diag_out);
    c->diag.werror = opt->werror;
    c->diag.no_warnings = opt->no_warnings;
    c->src = read_file(c->path, &c->srclen);
    if (!c->src) {
        fprintf(c->diag.out, "dagcc: error: %s: %s\n", c->path, strerror(errno));
        return 2;
    }
    int rc = 0;
    c->index = clang_createIndex(0, 0);
    c->tu1 = parse(c, NULL, CXTranslationUnit_DetailedPreprocessingRecord |
                                CXTranslationUnit_KeepGoing);
    if (!c->tu1) {
        fprintf(c->diag.out, "dagcc: error: %s: libclang could not parse the file\n",
                c->path);
        rc = 2;
        goto out;
    }
    c->file1 = clang_getFile(c->tu1, c->path);
    if (report_clang(c, c->tu1, 0)) {
        rc = 1;
        goto out;
    }
    collect_skipped(c);
    scan_pragmas(c, c->tu1, c->file1, c->src, c->srclen, 0, NULL);
    inc_ctx ic = {c};
    clang_getInclusions(c->tu1, visit_inclusion, &ic);
    parse_pragmas(c);
    context_pass1(c);
    if (c->diag.errors) {
        rc = 1;
        goto out;
    }
    if (!needs_translation(c)) {
        res->output = xstrndup(c->src, c->srclen);
        res->len = c->srclen;
        goto out;
    }
    build_pass2(c);
    struct CXUnsavedFile uf = {c->path, c->p2.s, (unsigned long)c->p2.n};
    c->tu2 = parse(c, &uf, CXTranslationUnit_KeepGoing);
    if (!c->tu2) {
        fprintf(c->diag.out, "dagcc: error: %s: libclang could not parse the file\n",
                c->path);
        rc = 2;
        goto out;
    }
    c->file2 = clang_getFile(c->tu2, c->path);
    if (report_clang(c, c->tu2, 1)) {
        rc = 1;
        goto out;
    }
    collect_facts(c);
    analyze(c);
    if (c->diag.errors) {
        rc = 1;
        goto out;
    }
    res->output = emit_output(c, &res->len);
    res->changed = 1;
    if (c->diag.errors) {
        free(res->output);
        res->output = NULL;
        res->len = 0;
        rc = 1;
    }
out:
    if (rc == 1 && !c->diag.errors)
        c->diag.errors = 1;
    res->errors = c->diag.errors;
    res->warnings = c->diag.warnings;
    free_ctx(c);
    return rc;
}

void tr_result_free(tr_result *res)
{
    free(res->output);
    memset(res, 0, sizeof *res);
}

char *tr_clang_version(void)
{
    CXString v = clang_getClangVersion();
    char *s = xstrdup(clang_getCString(v));
    clang_disposeString(v);
    return s;
}
