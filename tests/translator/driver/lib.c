/* lib.c: a library source for the driver tests: a function task declared in lib.h. */
#include "lib.h"

void add_into(int *dst, const int *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] += src[i];
}
