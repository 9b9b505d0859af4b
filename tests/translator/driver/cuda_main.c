/* cuda_main.c: a dag task program linked with a .cu file by dagcc (driver test). */
#include <stdio.h>
int gpu_count(void);
int main(void) {
    double x[4] = {1, 2, 3, 4};
    #pragma dag task depend(inout: x[0:4])
    for (int i = 0; i < 4; i++) x[i] += 1;
    #pragma dag taskwait
    printf("x3=%g gpus=%d\n", x[3], gpu_count());
    return 0;
}
