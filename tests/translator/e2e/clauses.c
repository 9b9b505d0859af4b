/* if, final, priority, label, device, private, firstprivate, default(none|shared). */
#include <string.h>
#include <dag.h>
#include "check.h"

static int in_final_seen;

int main(void)
{
    int a = 3, b = 4, r1 = 0, r2 = 0, r3 = 0;
    #pragma dag task if(0) shared(r1) label("undeferred")
    r1 = a + b;
    CHECK(r1 == 7); /* if(0): ran before the construct completed */
    #pragma dag task final(1) shared(r2)
    {
        r2 = dag_in_final();
        #pragma dag task shared(in_final_seen)
        in_final_seen = dag_in_final();
    }
    #pragma dag taskwait
    CHECK(r2 == 1 && in_final_seen == 1);
    #pragma dag task priority(10) device(cpu) default(none) shared(r3) firstprivate(a) private(b)
    {
        b = 10;
        r3 = a + b;
    }
    #pragma dag taskwait
    CHECK(r3 == 13 && b == 4);
    int arr[3] = {1, 2, 3}, got = 0;
    #pragma dag task firstprivate(arr) shared(got)
    {
        arr[0] = 100;
        got = arr[0] + arr[1] + arr[2];
    }
    #pragma dag taskwait
    CHECK(got == 105 && arr[0] == 1);
    int d = 0;
    #pragma dag task default(shared)
    d = 42;
    #pragma dag taskwait
    CHECK(d == 42);
    puts("OK");
    return 0;
}
