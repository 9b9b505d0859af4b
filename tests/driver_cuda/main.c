/* main.c: a C file with a task pragma that includes <dag/cuda.h> (driver test). */
#include <stdio.h>

#include <dag/cuda.h>

int main(void)
{
    double x[4] = {1, 2, 3, 4};
#pragma dag task depend(inout: x[0:4])
    for (int i = 0; i < 4; i++)
        x[i] += 1;
#pragma dag taskwait
    printf("x3=%g stream=%d\n", x[3], dag_cuda_stream(NULL) == NULL);
    return 0;
}
