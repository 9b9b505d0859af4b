/* scan.c: finds `#pragma dag|omp ...` directives and `_Pragma("dag|omp ...")` operators
 * in one file using libclang's raw tokens (so comments, strings and line splices are
 * handled by clang's lexer), and records #if/#endif nesting for prelude placement. */
#include <stdlib.h>
#include <string.h>

#include "tr.h"

static unsigned tok_off(CXTranslationUnit tu, CXToken t)
{
    unsigned off;
    clang_getFileLocation(clang_getTokenLocation(tu, t), NULL, NULL, NULL, &off);
    return off;
}

static unsigned tok_end(CXTranslationUnit tu, CXToken t)
{
    unsigned off;
    clang_getFileLocation(clang_getRangeEnd(clang_getTokenExtent(tu, t)), NULL, NULL, NULL,
                          &off);
    return off;
}

/* Does [a, b) contain a newline that is not a line splice? */
static int has_line_break(const char *s, unsigned a, unsigned b)
{
    for (unsigned i = a; i < b; i++) {
        if (s[i] != '\n')
            continue;
        unsigned j = i;
        if (j > a && s[j - 1] == '\r')
            j--;
        if (!(j > 0 && s[j - 1] == '\\'))
            return 1;
    }
    return 0;
}

static int first_on_line(const char *s, unsigned off)
{
    while (off > 0 && (s[off - 1] == ' ' || s[off - 1] == '\t'))
        off--;
    return off == 0 || s[off - 1] == '\n';
}

static int word_at(const char *s, unsigned b, unsigned e, const char *w)
{
    size_t n = strlen(w);
    return e - b == n && memcmp(s + b, w, n) == 0;
}

static int in_skipped(const tr_ctx *c, unsigned off, int main_file)
{
    if (!main_file)
        return 0;
    for (size_t i = 0; i < c->nskipped; i++)
        if (off >= c->skipped[i][0] && off < c->skipped[i][1])
            return 1;
    return 0;
}

int pragma_word_is(const char *s, unsigned len, const char *word)
{
    unsigned i = 0, n = (unsigned)strlen(word);
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\\' || s[i] == '\n' ||
                       s[i] == '\r'))
        i++;
    return len - i >= n && memcmp(s + i, word, n) == 0 &&
           (i + n == len || !(s[i + n] == '_' || (s[i + n] | 32) >= 'a'));
}

/* Namespace check on raw text: the first word is dag (or omp when enabled). */
static int ours(const tr_ctx *c, const char *s, unsigned len)
{
    return pragma_word_is(s, len, "dag") || (c->opt->omp && pragma_word_is(s, len, "omp"));
}

static void add_pragma(tr_ctx *c, tr_pragma *p)
{
    VEC_PUSH(c->pragmas, c->npragmas, c->cpragmas, *p);
}

/* Destringizes the _Pragma string literal [b, e) (quotes included). */
static void destringize(tr_pragma *p, const char *s, unsigned b, unsigned e)
{
    unsigned i = b;
    while (i < e && s[i] != '"')
        i++; /* skip an encoding prefix */
    i++;
    unsigned end = e - 1;
    p->text = xmalloc(end - i + 1);
    p->map = xmalloc((end - i + 2) * sizeof *p->map);
    unsigned n = 0;
    while (i < end) {
        if (s[i] == '\\' && i + 1 < end && (s[i + 1] == '"' || s[i + 1] == '\\'))
            i++;
        p->map[n] = i;
        p->text[n++] = s[i++];
    }
    p->map[n] = end;
    p->text[n] = '\0';
    p->len = n;
}

void scan_pragmas(tr_ctx *c, CXTranslationUnit tu, CXFile file, const char *s, size_t len,
                  int in_header, const char *header_path)
{
    if (!memmem(s, len, "pragma", 6) && !memmem(s, len, "#", 1))
        return;
    CXSourceRange all = clang_getRange(clang_getLocationForOffset(tu, file, 0),
                                       clang_getLocationForOffset(tu, file, (unsigned)len));
    CXToken *toks = NULL;
    unsigned n = 0;
    clang_tokenize(tu, all, &toks, &n);
    unsigned define_end = 0; /* tokens before this offset are in a #define */
    for (unsigned i = 0; i < n; i++) {
        if (clang_getTokenKind(toks[i]) == CXToken_Comment)
            continue;
        unsigned off = tok_off(tu, toks[i]);
        if (off >= len)
            continue;
        char ch = s[off];
        if (ch == '#' && clang_getTokenKind(toks[i]) == CXToken_Punctuation &&
            first_on_line(s, off) && i + 1 < n) {
            /* A directive: find the end of its logical line. */
            unsigned last = i, end = tok_end(tu, toks[i]);
            while (last + 1 < n) {
                unsigned nb = tok_off(tu, toks[last + 1]);
                if (has_line_break(s, end, nb))
                    break;
                last++;
                end = tok_end(tu, toks[last]);
            }
            unsigned kb = tok_off(tu, toks[i + 1]), ke = tok_end(tu, toks[i + 1]);
            if (last == i) {
                continue;
            } else if (word_at(s, kb, ke, "define")) {
                define_end = end;
            } else if (!in_header && (word_at(s, kb, ke, "if") || word_at(s, kb, ke, "ifdef") ||
                                      word_at(s, kb, ke, "ifndef"))) {
                grow_array((void **)&c->conds, &c->cconds, c->nconds, sizeof *c->conds);
                c->conds[c->nconds][0] = off;
                c->conds[c->nconds][1] = 1;
                c->nconds++;
            } else if (!in_header && word_at(s, kb, ke, "endif")) {
                grow_array((void **)&c->conds, &c->cconds, c->nconds, sizeof *c->conds);
                c->conds[c->nconds][0] = off;
                c->conds[c->nconds][1] = 0;
                c->nconds++;
            } else if (word_at(s, kb, ke, "pragma") && !in_skipped(c, off, !in_header) &&
                       ours(c, s + ke, end - ke)) {
                tr_pragma p;
                memset(&p, 0, sizeof p);
                p.b = off;
                p.e = end;
                p.len = end - ke;
                p.text = xstrndup(s + ke, p.len);
                p.map = xmalloc((p.len + 1) * sizeof *p.map);
                for (unsigned k = 0; k <= p.len; k++)
                    p.map[k] = ke + k;
                p.in_header = in_header;
                p.header_path = header_path ? xstrdup(header_path) : NULL;
                p.cons = NONE;
                add_pragma(c, &p);
            }
            i = last;
            continue;
        }
        if (ch == '_' && off >= define_end && i + 3 < n &&
            clang_getTokenKind(toks[i]) == CXToken_Identifier &&
            word_at(s, off, tok_end(tu, toks[i]), "_Pragma") &&
            s[tok_off(tu, toks[i + 1])] == '(' &&
            clang_getTokenKind(toks[i + 2]) == CXToken_Literal &&
            s[tok_off(tu, toks[i + 3])] == ')' && !in_skipped(c, off, !in_header)) {
            unsigned lb = tok_off(tu, toks[i + 2]), le = tok_end(tu, toks[i + 2]);
            tr_pragma p;
            memset(&p, 0, sizeof p);
            destringize(&p, s, lb, le);
            if (!ours(c, p.text, p.len)) {
                free(p.text);
                free(p.map);
                continue;
            }
            p.b = off;
            p.e = tok_end(tu, toks[i + 3]);
            p.in_header = in_header;
            p.header_path = header_path ? xstrdup(header_path) : NULL;
            p.cons = NONE;
            add_pragma(c, &p);
            i += 3;
        }
    }
    clang_disposeTokens(tu, toks, n);
}
