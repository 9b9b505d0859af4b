/* expect: the event handle 'ev' of 'detach' cannot also appear in a data-sharing clause */
#include <dag.h>
int main(void)
{
    dag_event_t ev;
    int x = 0;
    #pragma dag task detach(ev) shared(x, ev)
    x = 1;
    return x;
}
