/* expect: 'detach' is not allowed on a function task */
#include <dag.h>
#pragma dag task detach(ev)
void f(dag_event_t ev);
