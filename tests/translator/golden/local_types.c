/* local_types.c: a task body that uses an enum, typedefs (one of an unnamed struct that
 * uses another local typedef) and a struct tag declared in the enclosing function; the
 * declarations are copied to the top of the outlined function, the typedefs are used on
 * both sides (-Wunused-local-typedefs), and a captured variable of a local typedef of a
 * file-scope type is passed with the type it stands for. */
#include <stdio.h>

int main(void)
{
    enum { N = 4, M = N * 2 };
    typedef int myint;
    typedef struct { myint a[M]; } rec_t;
    struct pt { int x, y; };
    myint base = 5;
    int out = 0;
    #pragma dag task shared(out) firstprivate(base)
    {
        rec_t r;
        struct pt p = {N, base};
        for (int i = 0; i < M; i++)
            r.a[i] = i;
        out = r.a[M - 1] + p.x + p.y;
    }
    #pragma dag taskwait
    printf("%d\n", out);
    return out == M - 1 + N + 5 ? 0 : 1;
}
