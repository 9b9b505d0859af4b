/* check.h: a tiny assertion macro for the translator's end-to-end programs: on failure
 * it prints file:line and the expression and exits non-zero. */
#ifndef E2E_CHECK_H
#define E2E_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)
#endif
