/* la_check.h: the failure counters and CHECK / OK macros of the libdaglinalg test
 * programs (MPI programs that report every failed check with its rank and line, and exit
 * non-zero when any failed). Each program includes it once. */
#ifndef LA_CHECK_H
#define LA_CHECK_H

#include <stdio.h>

#include "dag/linalg.h"

static int fails, me;

#define CHECK(c, ...)                                                                      \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "[rank %d] %s:%d: FAIL %s: ", me, __FILE__, __LINE__, #c);     \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            fails++;                                                                       \
        }                                                                                  \
    } while (0)
#define OK(x)                                                                              \
    do {                                                                                   \
        dag_status_t s_ = (x);                                                             \
        CHECK(s_ == DAG_OK, "%s -> %s (%s)", #x, dag_strerror(s_), dag_la_error());       \
    } while (0)

#endif
