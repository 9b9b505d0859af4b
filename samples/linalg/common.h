/* common.h: what the linalg samples share: arguments (n, nb, grid p x q, device), a
 * distribution, a clock, the residual ||A X - B|| / (||A|| ||X|| n eps) computed with
 * the library itself (so it never gathers the matrices), and the one-line report. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dag/linalg.h>

struct args {
    int n, nb, p, q, layers;
    const char *device;
};

/* usage: prog [n] [nb] [p] [q] [cpu|cuda|any] (p = q = 0: a near-square grid) */
static inline struct args parse(int argc, char **argv, int n, int nb)
{
    struct args a = {argc > 1 ? atoi(argv[1]) : n, argc > 2 ? atoi(argv[2]) : nb,
                     argc > 3 ? atoi(argv[3]) : 0, argc > 4 ? atoi(argv[4]) : 0, 1,
                     argc > 5 ? argv[5] : "any"};
    dag_la_options_t o;
    dag_la_get_options(&o);
    o.device = !strcmp(a.device, "cpu") ? DAG_DEVICE_CPU
             : !strcmp(a.device, "cuda") ? DAG_DEVICE_CUDA : DAG_DEVICE_ANY;
    dag_la_set_options(&o);
    return a;
}

static inline dag_dist_t grid(const struct args *a)
{
    dag_dist_t d = {.kind = DAG_DIST_2D, .p = a->p, .q = a->q};
    return d;
}

static inline double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* R := B - A X, then ||R||_F / (||A||_F ||X||_F n eps); R is overwritten (pass B's copy) */
static inline double residual(const dag_la_t *a, const dag_la_t *x, dag_la_t *r, int n)
{
    double na, nx, nr;
    if (dag_la_gemm('N', 'N', -1.0, a, x, 1.0, r) || dag_la_norm(a, 'F', &na) ||
        dag_la_norm(x, 'F', &nx) || dag_la_norm(r, 'F', &nr)) {
        fprintf(stderr, "residual: %s\n", dag_la_error());
        return 1e300;
    }
    return nr / (na * nx * n * DBL_EPSILON);
}

#define CHECK(call)                                                                        \
    do {                                                                                   \
        dag_status_t s_ = (call);                                                          \
        if (s_ != DAG_OK) {                                                                \
            fprintf(stderr, "%s: %s %s\n", #call, dag_strerror(s_), dag_la_error());       \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)
