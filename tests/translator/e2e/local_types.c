/* local_types.c: task bodies that use types and enumeration constants declared inside
 * the enclosing function (enum constants in array sizes, case labels and sizeof,
 * typedefs, struct/union tags with nested tags, a typedef of an unnamed struct, a pointer
 * to a forward-declared tag, names that shadow file-scope ones, references through a
 * macro, a captured variable shadowing an enumerator, a block-scope function declaration,
 * nested tasks and a taskloop): each result is compared with the same code run
 * sequentially in the function. */
#include <stdio.h>
#include <string.h>

struct pt { double unrelated; };  /* shadowed by main's struct pt */
static const int N = 1000;        /* shadowed by main's enumerator N */
#define TWICE(x) (2 * (x) + M)

static int classify(int v)
{
    enum kind { SMALL = 1, MEDIUM = 5, LARGE = 9 };
    typedef enum kind kind_t;
    int out = 0;
    #pragma dag task shared(out) firstprivate(v)
    {
        kind_t k;
        switch (v % 3) {
        case 0: k = SMALL; break;
        case 1: k = MEDIUM; break;
        default: k = LARGE; break;
        }
        out = (int)k * 100 + (int)sizeof(kind_t);
    }
    #pragma dag taskwait
    return out;
}

int main(void)
{
    enum { N = 4, M = N * 2 };
    typedef int myint;
    typedef int A, *B;
    struct pt { int x, y; struct inner { short s[N]; } in; };
    union bits { unsigned u; unsigned char b[sizeof(unsigned)]; };
    typedef struct { myint a[M]; B p; } rec_t;
    struct later;
    typedef struct later *later_p;
    int fails = 0;

    int out[M] = {0};
    long sizes[4] = {0};
    #pragma dag task shared(out, sizes)
    {
        myint a = M;
        struct pt p = {N, 7, {{1, 2, 3, 4}}};
        union bits ub;
        ub.u = 0x01020304u;
        rec_t r;
        A x = 3;
        r.p = &x;
        for (int i = 0; i < M; i++)
            r.a[i] = i * *r.p;
        later_p lp = NULL;
        out[0] = a + p.x + p.y + p.in.s[N - 1];
        out[1] = ub.b[0] + ub.b[1] + ub.b[2] + ub.b[3];
        out[2] = r.a[M - 1];
        out[3] = TWICE(N) + (lp == NULL);
        sizes[0] = (long)sizeof(struct pt);
        sizes[1] = (long)sizeof(struct inner);
        sizes[2] = (long)sizeof(rec_t);
        sizes[3] = (long)sizeof(myint[N][M]);
    }
    #pragma dag taskwait
    {
        struct pt p = {N, 7, {{1, 2, 3, 4}}};
        int want[4] = {M + N + 7 + p.in.s[N - 1], 1 + 2 + 3 + 4, (M - 1) * 3, TWICE(N) + 1};
        long wsz[4] = {(long)sizeof(struct pt), (long)sizeof(struct inner),
                       (long)sizeof(rec_t), (long)sizeof(myint[N][M])};
        for (int i = 0; i < 4; i++)
            if (out[i] != want[i] || sizes[i] != wsz[i]) {
                printf("case %d: %d/%ld, expected %d/%ld\n", i, out[i], sizes[i], want[i],
                       wsz[i]);
                fails++;
            }
    }

    /* a type declared in an outer task body, used by an inner task */
    int nested = 0;
    #pragma dag task shared(nested)
    {
        enum { K = 11 };
        typedef struct { int v[K]; } box_t;
        int got = 0;
        #pragma dag task shared(got)
        {
            box_t b;
            for (int i = 0; i < K; i++)
                b.v[i] = i + M;
            got = b.v[K - 1];
        }
        #pragma dag taskwait
        nested = got;
    }
    #pragma dag taskwait
    if (nested != 10 + M) {
        printf("nested: %d, expected %d\n", nested, 10 + M);
        fails++;
    }

    /* a taskloop whose chunks use a local typedef and enumerators */
    enum { LEN = 4096, CHUNK = 64 };
    typedef double elem_t;
    static elem_t v[LEN];
    #pragma dag taskloop grainsize(CHUNK) shared(v)
    for (int i = 0; i < LEN; i++) {
        elem_t t = (elem_t)i * N;
        v[i] = t + (elem_t)(i % CHUNK);
    }
    for (int i = 0; i < LEN; i++)
        if (v[i] != (double)i * N + i % CHUNK) {
            printf("taskloop: v[%d] = %g\n", i, v[i]);
            fails++;
            break;
        }

    for (int i = 0; i < 6; i++) {
        int want = (i % 3 == 0 ? 1 : i % 3 == 1 ? 5 : 9) * 100 + (int)sizeof(int);
        if (classify(i) != want) {
            printf("classify(%d) = %d, expected %d\n", i, classify(i), want);
            fails++;
        }
    }
    /* a captured variable that shadows an enumerator a copied typedef uses */
    typedef int arr_t[N];
    int shadow = 0;
    {
        int N = 3;
        #pragma dag task shared(shadow) firstprivate(N)
        {
            arr_t a = {N, N, N, N};
            shadow = a[0] + a[3] + (int)sizeof(arr_t);
        }
        #pragma dag taskwait
    }
    if (shadow != 3 + 3 + 4 * (int)sizeof(int)) {
        printf("shadow: %d\n", shadow);
        fails++;
    }
    /* a typedef a copied typedef needs, shadowed by a variable at the construct */
    typedef int T;
    typedef T pair_t[2];
    int pairs = 0;
    {
        int T = 5;
        #pragma dag task shared(pairs) firstprivate(T)
        {
            pair_t q = {T, T};
            pairs = q[0] + q[1];
        }
        #pragma dag taskwait
    }
    if (pairs != 10) {
        printf("pairs: %d\n", pairs);
        fails++;
    }

    /* a function declared inside main, defined after it */
    typedef long val_t;
    val_t twice_plus(val_t);
    long called = 0;
    #pragma dag task shared(called)
    called = twice_plus(20);
    #pragma dag taskwait
    if (called != twice_plus(20)) {
        printf("call: %ld\n", called);
        fails++;
    }
    (void)sizeof(struct pt);
    if (fails)
        return 1;
    printf("OK\n");
    return 0;
}

long twice_plus(long v)
{
    return 2 * v + N; /* the file-scope N */
}
