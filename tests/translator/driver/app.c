/* app.c: the main program of the driver tests (multiple inputs, objects, libraries). */
#include <stdio.h>
#include "lib.h"

int main(void)
{
    int a[8] = {0}, b[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int r = 0; r < 5; r++)
        add_into(a, b, 8);
    #pragma dag taskwait
    printf("%s\n", a[7] == 5 ? "OK" : "FAIL");
    return a[7] == 5 ? 0 : 1;
}
