/* golden: alternative task pragmas under #ifdef/#else before one statement: the
 * conditional stays whole around the generated code. */
#include <stdio.h>
int main(void)
{
    int x = 0;
#ifdef ALT
    #pragma dag task shared(x) label("alt")
#else
    #pragma dag task shared(x)
#endif
    x = 1;
    #pragma dag taskwait
    printf("%d\n", x);
    return 0;
}
