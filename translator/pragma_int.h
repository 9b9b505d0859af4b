/* pragma_int.h: the pragma parser's tokens and helpers, shared by pragma.c (directives
 * and clauses), pragma_lex.c (tokens) and pragma_omp5.c (OpenMP 5 argument forms: reduction operators, depend
 * iterators, depobj and declare reduction). Not used outside the parser. */
#ifndef DAGCC_PRAGMA_INT_H
#define DAGCC_PRAGMA_INT_H

#include "pragma.h"

typedef enum { T_END, T_IDENT, T_NUMBER, T_STRING, T_CHAR, T_PUNCT } tok_kind;

typedef struct tok {
    tok_kind kind;
    unsigned b, e;
} tok;

typedef struct parser {
    const char *s;
    unsigned len;
    tok *toks;
    size_t ntoks, cap;
    size_t pos;
    pr_error *err;
    int omp;
} parser;

/* pragma_lex.c */
int prs_tokenize(parser *p);
int prs_fail(parser *p, unsigned b, unsigned e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const tok *prs_peek(parser *p, size_t k);
int prs_tok_is(const parser *p, const tok *t, const char *word);
int prs_punct_is(const parser *p, const tok *t, char c);
/* Index of the token that closes the group opened at toks[open], or < 0 (error set). */
long prs_matching(parser *p, size_t open);
pr_span prs_span_of(parser *p, size_t a, size_t b); /* tokens [a, b) */
/* pragma.c */
/* The first token equal to punctuator ch outside brackets in tokens [a, b), or b; a ':'
 * that closes a top-level '?' does not count. */
size_t prs_top_level(parser *p, size_t a, size_t b, char ch);
int prs_word_in(parser *p, const tok *t, const char *const *words);
/* Calls fn for each comma-separated item of tokens [a, b). */
int prs_split_list(parser *p, size_t a, size_t b, pr_clause *c,
                   int (*fn)(parser *, size_t, size_t, pr_clause *));
int prs_add_dep_item(parser *p, size_t a, size_t b, pr_clause *c);
int prs_add_var_item(parser *p, size_t a, size_t b, pr_clause *c);
int prs_need_expr(parser *p, pr_clause *c, size_t a, size_t b);

/* pragma_omp5.c */
int prs_reduction_args(parser *p, pr_clause *c, size_t a, size_t b);
/* depend(iterator(...), ...): parses the iterator at tokens [a, ...); returns the index
 * of the token after its closing parenthesis, or < 0. */
long prs_depend_iterator(parser *p, pr_clause *c, size_t a, size_t b);
int prs_depobj_directive(parser *p, pr_directive *d);
int prs_declare_reduction(parser *p, pr_directive *d);

#endif
