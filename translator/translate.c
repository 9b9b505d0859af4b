/* translate.c: drives one translation: pass 1 (parse the file as is, find pragmas and
 * their contexts), pass 2 (parse it again with pragma probes), analysis and emission.
 * Diagnostics and position mapping are in report.c. */
#include "translate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tr.h"

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
    size_t len = 0;
    const char *text = clang_getFileContents(c->tu1, f, &len);
    if (!text || !memmem(text, len, "dag", 3))
        return;
    CXString name = clang_getFileName(f);
    size_t n0 = c->npragmas;
    scan_pragmas(c, c->tu1, f, text, len, 1, clang_getCString(name));
    clang_disposeString(name);
    /* `#pragma dag` in a header: the compiler will warn that it ignores it (an error with
     * -Werror) unless the including line in the main file is wrapped */
    int dag = 0;
    for (size_t i = n0; i < c->npragmas && !dag; i++)
        dag = pragma_word_is(c->pragmas[i].text, c->pragmas[i].len, "dag");
    CXFile mf;
    unsigned off;
    clang_getFileLocation(stack[depth - 1], &mf, NULL, NULL, &off);
    if (!dag || !mf || !clang_File_isEqual(mf, c->file1) || off >= c->srclen)
        return;
    for (size_t i = 0; i < c->nincs; i++)
        if (c->incs[i] == off)
            return;
    VEC_PUSH(c->incs, c->nincs, c->cincs, off);
}

unsigned line_after(const char *s, size_t n, unsigned off)
{
    unsigned i = off;
    while (i < n) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            const char *e = memmem(s + i + 2, n - i - 2, "*/", 2);
            i = e ? (unsigned)(e - s) + 2 : (unsigned)n;
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
            while (i < n && s[i] != '\n')
                i += s[i] == '\\' && i + 1 < n ? 2 : 1; /* continued: still the comment */
        } else if (s[i] == '"') {
            for (i++; i < n && s[i] != '"' && s[i] != '\n'; i++)
                ;
            i += i < n && s[i] == '"';
        } else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\n') {
            i += 2;
        } else if (s[i] == '\n') {
            return i + 1;
        } else {
            i++;
        }
    }
    return (unsigned)n;
}

static int cmp_u(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* The original file with the #include lines of c->incs wrapped (line numbers kept by
 * #line), for a file with nothing else to translate; caller frees. */
static char *wrap_includes_text(tr_ctx *c, size_t *len)
{
    qsort(c->incs, c->nincs, sizeof *c->incs, cmp_u);
    strbuf b = {0};
    unsigned pos = 0, line = 1;
    for (size_t i = 0; i < c->nincs; i++) {
        unsigned ls = c->incs[i];
        while (ls > 0 && c->src[ls - 1] != '\n')
            ls--;
        if (ls < pos)
            continue;
        unsigned le = line_after(c->src, c->srclen, ls);
        for (unsigned k = pos; k < ls; k++)
            line += c->src[k] == '\n';
        sb_putn(&b, c->src + pos, ls - pos);
        sb_puts(&b, "#pragma GCC diagnostic push\n"
                    "#pragma GCC diagnostic ignored \"-Wunknown-pragmas\"\n");
        sb_printf(&b, "#line %u \"", line);
        sb_put_c_escaped(&b, c->path);
        sb_puts(&b, "\"\n");
        sb_putn(&b, c->src + ls, le - ls);
        for (unsigned k = ls; k < le; k++)
            line += c->src[k] == '\n';
        if (le == c->srclen && (le == ls || c->src[le - 1] != '\n'))
            sb_putc(&b, '\n');
        sb_printf(&b, "#pragma GCC diagnostic pop\n#line %u \"", line);
        sb_put_c_escaped(&b, c->path);
        sb_puts(&b, "\"\n");
        pos = le;
    }
    sb_putn(&b, c->src + pos, c->srclen - pos);
    *len = b.n;
    return sb_take(&b);
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
    free(c->incs);
    free(c->probes);
    for (size_t i = 0; i < c->ncons; i++) {
        free(c->cons[i].caps);
        free(c->cons[i].hoist);
        free(c->cons[i].ltypes);
        for (unsigned j = 0; j < c->cons[i].nltd; j++)
            free(c->cons[i].ltd[j]);
        free(c->cons[i].ltd);
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
    if (tr_report_clang(c, c->tu1, 0)) {
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
        if (c->nincs) {
            res->output = wrap_includes_text(c, &res->len);
            res->changed = 1;
        } else {
            res->output = xstrndup(c->src, c->srclen);
            res->len = c->srclen;
        }
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
    if (tr_report_clang(c, c->tu2, 1)) {
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
