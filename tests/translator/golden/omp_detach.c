/* golden: -fopenmp detach(ev): the generating thread stores a new handle in ev, the task
 * attaches it to its dag event when its body starts; omp_fulfill_event (calls and
 * function pointers) goes through the handle. */
#include <omp.h>

void async(void (*cb)(omp_event_handle_t), omp_event_handle_t ev);

void work(int *x)
{
    #pragma omp parallel
    #pragma omp single
    {
        omp_event_handle_t ev;
        #pragma omp task detach(ev) depend(out: x[0])
        async(omp_fulfill_event, ev);
        #pragma omp task detach(ev) depend(inout: x[0])
        x[0]++;
        omp_fulfill_event(ev);
    }
}
