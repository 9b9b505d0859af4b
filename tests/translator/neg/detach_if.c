/* expect: 'if' cannot be combined with 'detach' */
#include <dag.h>
int main(void)
{
    dag_event_t ev;
    int x = 0;
    #pragma dag task detach(ev) if(x) shared(x)
    x = 1;
    return x;
}
