/* diag.h: compiler-style diagnostics ("file:line:col: error: ..." followed by the source
 * line and a caret), in the layout gcc uses so dagcc output reads like the compiler's.
 * Callers resolve locations; this module only formats, counts and filters. */
#ifndef DAGCC_DIAG_H
#define DAGCC_DIAG_H

#include <stdio.h>

typedef enum diag_level { DIAG_NOTE, DIAG_WARNING, DIAG_ERROR } diag_level;

typedef struct diag_loc {
    const char *file;      /* as the user named it */
    unsigned line, col;    /* 1-based; line 0 means "no location" */
    const char *line_text; /* the physical source line (not NUL-terminated), or NULL */
    unsigned line_len;
    unsigned caret_col;    /* 1-based byte column of the caret within line_text */
    unsigned caret_len;    /* underline length in bytes (>= 1) */
} diag_loc;

typedef struct diag_state {
    FILE *out;           /* stderr by default */
    int werror;          /* -Werror: warnings count as errors */
    int no_warnings;     /* -w */
    unsigned errors, warnings;
} diag_state;

void diag_init(diag_state *d, FILE *out);
/* Prints one diagnostic. Returns 1 if it was an error (after -Werror promotion). */
int diag_emit(diag_state *d, diag_level level, const diag_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
