/* pragma_lex.c: the pragma parser's tokenizer (identifiers, numbers, string and
 * character literals, one-character punctuation; comments and line splices skipped) and
 * token helpers: errors, lookahead, matching brackets, spans. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pragma_int.h"
#include "util.h"

int prs_fail(parser *p, unsigned b, unsigned e, const char *fmt, ...)
{
    p->err->where.b = b;
    p->err->where.e = e > b ? e : b + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Skips blanks, line splices and comments starting at i; returns the next offset. */
static unsigned skip_space(const char *s, unsigned len, unsigned i)
{
    while (i < len) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' || c == '\n') {
            i++;
        } else if (c == '\\' && i + 1 < len && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
            i += 2;
        } else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            const char *end = NULL;
            for (unsigned j = i + 2; j + 1 < len; j++)
                if (s[j] == '*' && s[j + 1] == '/') {
                    end = s + j;
                    break;
                }
            i = end ? (unsigned)(end - s) + 2 : len;
        } else if (c == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n')
                i++;
        } else {
            break;
        }
    }
    return i;
}

static int is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == '$';
}

static int is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

int prs_tokenize(parser *p)
{
    const char *s = p->s;
    unsigned len = p->len, i = 0;
    for (;;) {
        i = skip_space(s, len, i);
        tok t = {T_END, i, i};
        if (i >= len) {
            VEC_PUSH(p->toks, p->ntoks, p->cap, t);
            return 0;
        }
        char c = s[i];
        unsigned j = i;
        /* String and character literals, with optional encoding prefixes. */
        unsigned q = i;
        if (c == 'u' && q + 1 < len && s[q + 1] == '8')
            q += 2;
        else if (c == 'L' || c == 'u' || c == 'U')
            q += 1;
        if (q < len && (s[q] == '"' || s[q] == '\'') && (q == i || is_ident_start(c))) {
            char quote = s[q];
            j = q + 1;
            while (j < len && s[j] != quote && s[j] != '\n') {
                if (s[j] == '\\' && j + 1 < len)
                    j++;
                j++;
            }
            if (j >= len || s[j] != quote)
                return prs_fail(p, i, j, "missing terminating %c character", quote);
            t.kind = quote == '"' ? T_STRING : T_CHAR;
            j++;
        } else if (is_ident_start(c)) {
            while (j < len && is_ident_char(s[j]))
                j++;
            t.kind = T_IDENT;
        } else if (isdigit((unsigned char)c) ||
                   (c == '.' && i + 1 < len && isdigit((unsigned char)s[i + 1]))) {
            while (j < len) {
                if ((s[j] == '+' || s[j] == '-') && strchr("eEpP", s[j - 1]))
                    j++;
                else if (is_ident_char(s[j]) || s[j] == '.')
                    j++;
                else
                    break;
            }
            t.kind = T_NUMBER;
        } else {
            j = i + 1;
            t.kind = T_PUNCT;
        }
        t.e = j;
        VEC_PUSH(p->toks, p->ntoks, p->cap, t);
        i = j;
    }
}

const tok *prs_peek(parser *p, size_t k)
{
    size_t i = p->pos + k;
    return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}

int prs_tok_is(const parser *p, const tok *t, const char *word)
{
    size_t n = strlen(word);
    return t->kind != T_END && t->e - t->b == n && memcmp(p->s + t->b, word, n) == 0;
}

int prs_punct_is(const parser *p, const tok *t, char c)
{
    return t->kind == T_PUNCT && p->s[t->b] == c;
}

/* Index of the token that closes the group opened at toks[open] (one of ( [ {). */
long prs_matching(parser *p, size_t open)
{
    char stack[256];
    size_t depth = 0;
    for (size_t i = open; i < p->ntoks && p->toks[i].kind != T_END; i++) {
        const tok *t = &p->toks[i];
        if (t->kind != T_PUNCT)
            continue;
        char c = p->s[t->b];
        if (c == '(' || c == '[' || c == '{') {
            if (depth == sizeof stack)
                return prs_fail(p, t->b, t->e, "expressions nested too deeply"), -2;
            stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : '}';
        } else if (c == ')' || c == ']' || c == '}') {
            if (!depth || stack[depth - 1] != c)
                return prs_fail(p, t->b, t->e, "unbalanced '%c'", c), -2;
            if (--depth == 0)
                return (long)i;
        }
    }
    const tok *t = &p->toks[open];
    prs_fail(p, t->b, t->e, "expected '%c' to match this '%c'",
         p->s[t->b] == '(' ? ')' : p->s[t->b] == '[' ? ']' : '}', p->s[t->b]);
    return -2;
}

pr_span prs_span_of(parser *p, size_t a, size_t b) /* tokens [a, b) */
{
    pr_span s = {0, 0};
    if (a < b) {
        s.b = p->toks[a].b;
        s.e = p->toks[b - 1].e;
    } else {
        s.b = s.e = p->toks[a].b;
    }
    return s;
}
