/* golden: detach(ev): DAG_TASK_DETACHABLE, dag_task_detach() on the task's own copy at the
 * start of the body; a global handle is set in place. */
#include <dag.h>

void start_io(int *buf, dag_event_t ev);
dag_event_t last;

void work(int *buf)
{
    dag_event_t ev;
    #pragma dag task detach(ev) depend(out: buf[0:4])
    start_io(buf, ev);
    #pragma dag task detach(last) depend(inout: buf[0:4])
    buf[0]++;
}
