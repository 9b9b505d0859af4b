/* local_types.c: OpenMP tasks and a taskloop whose bodies use an enum, typedefs, a
 * struct with a nested tag, a union and a typedef of an unnamed struct declared inside
 * the enclosing function (and inside an outer task, for a nested task), and a variable of
 * a local struct type captured firstprivate, compared with
 * gcc -fopenmp, where the bodies stay in their scope. */
#include <stdio.h>

struct cell { char unrelated; }; /* shadowed by the local struct cell */

static long run(int seed)
{
    enum shape { RECT = 3, TRI = 5, N = 6, M = N + RECT };
    typedef enum shape shape_t;
    typedef long acc_t;
    struct cell { int id; struct tag { shape_t s; } t; };
    union word { unsigned u; unsigned short h[2]; };
    typedef struct { acc_t sum; int n[M]; } stat_t;
    acc_t total[N] = {0};
    struct cell base = {seed * 10, {TRI}}; /* firstprivate in the tasks (shared in the
                                             parallel region, it would be shared there) */
    long check = 0;
    #pragma omp parallel
    #pragma omp single
    {
        for (int i = 0; i < N; i++) {
            #pragma omp task firstprivate(i, base) shared(total)
            {
                struct cell c = {i + seed, {i % 2 ? TRI : RECT}};
                union word w;
                w.u = (unsigned)(c.id * 65537);
                stat_t st = {0, {0}};
                for (int j = 0; j < M; j++) {
                    st.n[j] = j * c.t.s;
                    st.sum += st.n[j];
                }
                total[i] = st.sum + w.h[0] + (acc_t)sizeof(struct tag) + base.id +
                           base.t.s;
                base.id = -1; /* the task's copy */
            }
        }
        #pragma omp task shared(check)
        {
            enum { K = 7 };
            typedef int row_t[K];
            long got = 0;
            #pragma omp task shared(got)
            {
                row_t r;
                for (int j = 0; j < K; j++)
                    r[j] = j * seed;
                got = r[K - 1] + M;
            }
            #pragma omp taskwait
            check = got;
        }
        #pragma omp taskwait
        #pragma omp taskloop grainsize(16) shared(total) reduction(+: check)
        for (int j = 0; j < 64 * N; j++) {
            shape_t s = j % 3 ? RECT : TRI;
            check += (acc_t)s;
        }
    }
    long r = check + base.id;
    for (int i = 0; i < N; i++)
        r = r * 31 + total[i];
    return r;
}

int main(void)
{
    for (int seed = 1; seed <= 4; seed++)
        printf("%d %ld\n", seed, run(seed));
    return 0;
}
