/* golden: statement and block tasks, depend sections, shared rewrite, taskwait. */
#include <stddef.h>

void scale(double *v, size_t n, double f)
{
    double total = 0;
    #pragma dag task depend(inout: v[0:n]) label("scale")
    for (size_t i = 0; i < n; i++)
        v[i] *= f;
    #pragma dag task depend(in: v[0:n]) shared(total)
    {
        for (size_t i = 0; i < n; i++)
            total += v[i];
    }
    #pragma dag taskwait
    v[0] = total;
}
