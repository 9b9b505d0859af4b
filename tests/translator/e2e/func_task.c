/* task on function declarations (OmpSs-2 style): every call becomes a task whose
 * clauses name the parameters; recursion; taskwait depend. */
#include "check.h"

#pragma dag task depend(out: *r)
static void fib(int n, long *r);

#pragma dag task depend(in: a[0:n]) depend(out: *sum)
static void total(const int *a, int n, long *sum)
{
    long s = 0;
    for (int i = 0; i < n; i++)
        s += a[i];
    *sum = s;
}

static void fib(int n, long *r)
{
    if (n < 2) {
        *r = n;
        return;
    }
    long x, y;
    fib(n - 1, &x);
    fib(n - 2, &y);
    #pragma dag taskwait
    *r = x + y;
}

#pragma dag task depend(inout: a[0:n]) label("scale")
void scale(int *a, int n, int f);
void scale(int *a, int n, int f)
{
    for (int i = 0; i < n; i++)
        a[i] *= f;
}

int main(void)
{
    long f = 0;
    fib(20, &f);
    int a[100];
    for (int i = 0; i < 100; i++)
        a[i] = 1;
    scale(a, 100, 3);
    long s = 0;
    total(a, 100, &s);
    #pragma dag taskwait depend(in: s)
    CHECK(s == 300);
    #pragma dag taskwait
    CHECK(f == 6765);
    puts("OK");
    return 0;
}
