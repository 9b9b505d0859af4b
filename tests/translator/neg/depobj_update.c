/* expect: expected a dependence type (in, out, inout, mutexinoutset or inoutset) in 'update' */
#include <dag.h>
int main(void)
{
    int x = 0;
    dag_depobj_t o;
    #pragma dag depobj(o) depend(in: x)
    #pragma dag depobj(o) update(sink)
    return x;
}
