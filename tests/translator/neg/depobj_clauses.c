/* expect: 'depobj' takes exactly one of depend(type: item) with one item, update(type) or destroy */
#include <dag.h>
int main(void)
{
    int x = 0;
    dag_depobj_t o;
    #pragma dag depobj(o) depend(in: x) update(inout)
    return x;
}
