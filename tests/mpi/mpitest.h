/* mpitest.h: tiny helpers shared by the distributed tests (run under mpirun): a check
 * macro that names the rank, and a deterministic random generator every rank agrees on. */
#ifndef DAG_MPITEST_H
#define DAG_MPITEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>
#include <dag/dist.h>

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", dag_rank(), __FILE__,   \
                    __LINE__, #cond);                                                     \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr)                                                                    \
    do {                                                                                  \
        dag_status_t st_ = (expr);                                                        \
        if (st_ != DAG_OK) {                                                              \
            fprintf(stderr, "rank %d: %s:%d: %s: %s\n", dag_rank(), __FILE__, __LINE__,   \
                    #expr, dag_strerror(st_));                                            \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

/* DAG_COMM=ucx or rma must not fall back to MPI silently: those transports set
 * DAG_COMM_ACTIVE to their name once they started (runtime/comm/ucx.c, rma.c). Call
 * after dag_nranks(). */
static inline void check_transport(void)
{
    const char *want = getenv("DAG_COMM"), *got = getenv("DAG_COMM_ACTIVE");
    if (want && (!strcmp(want, "ucx") || !strcmp(want, "rma")) && dag_nranks() > 1 &&
        !(got && !strcmp(got, want))) {
        fprintf(stderr, "rank %d: DAG_COMM=%s but that transport did not start\n",
                dag_rank(), want);
        exit(1);
    }
}

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline int rng_int(uint64_t *s, int n)
{
    return (int)(rng_next(s) % (uint64_t)n);
}

#endif
