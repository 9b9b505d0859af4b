#!/bin/sh
# gen_big.sh: writes a large C file (N functions, each with tasks, a taskloop and waits)
# for the translation-speed benchmark. usage: gen_big.sh N > big.c
n=${1:-2000}
echo '#include <stddef.h>'
i=0
while [ $i -lt "$n" ]; do
cat <<EOT
void kernel_$i(double *a, double *b, size_t n, double f)
{
    double s = 0;
    #pragma dag task depend(inout: a[0:n]) firstprivate(f)
    for (size_t k = 0; k < n; k++)
        a[k] = a[k] * f + 1.0;
    #pragma dag task depend(in: a[0:n]) depend(out: b[0:n])
    {
        for (size_t k = 0; k < n; k++)
            b[k] = a[k] - $i;
    }
    #pragma dag taskloop grainsize(64) shared(s)
    for (size_t k = 0; k < n; k++)
        b[k] += 0.5;
    #pragma dag task depend(in: b[0:n]) shared(s)
    s = b[0];
    #pragma dag taskwait
    a[0] = s;
}

EOT
i=$((i + 1))
done
