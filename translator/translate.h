/* translate.h: the translator's public entry point, used by the dagcc driver and the
 * dagcc-translate tool. It turns one C file with dag (and, in OpenMP mode, omp) task
 * pragmas into plain C that calls the runtime API of include/dag.h. */
#ifndef DAGCC_TRANSLATE_H
#define DAGCC_TRANSLATE_H

#include <stddef.h>
#include <stdio.h>

typedef struct tr_options {
    const char *input;               /* the C file, named as the user named it */
    const char *const *clang_args;   /* -I/-D/-std=... for libclang (may be NULL) */
    int nclang_args;
    int omp;                         /* OpenMP compatibility (dagcc -fopenmp) */
    int werror, no_warnings;         /* -Werror, -w */
    FILE *diag_out;                  /* where diagnostics go (stderr if NULL) */
} tr_options;

typedef struct tr_result {
    char *output;  /* translated C (malloc'd), or NULL on error */
    size_t len;
    int changed;   /* 0: the file needs no translation (output is still valid C) */
    unsigned errors, warnings;
} tr_result;

/* Returns 0 on success, 1 if errors were reported (output is NULL then), 2 if the input
 * could not be read or parsed at all. */
int tr_translate(const tr_options *opt, tr_result *res);
void tr_result_free(tr_result *res);

/* libclang's version string, for --version. Caller frees. */
char *tr_clang_version(void);

#endif
