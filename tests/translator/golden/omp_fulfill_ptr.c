/* golden: -fopenmp: omp_fulfill_event taken as a function pointer at file scope, before
 * any function: the prelude that declares the translator's fulfil function comes before
 * that declaration (it came before the first function only, and the initializer named
 * an undeclared function). */
#include <omp.h>

struct async_ops {
    void (*done)(omp_event_handle_t);
};
static const struct async_ops ops = {omp_fulfill_event};

void start(const struct async_ops *o, omp_event_handle_t ev);

void work(int *x)
{
    #pragma omp parallel
    #pragma omp single
    {
        omp_event_handle_t ev;
        #pragma omp task detach(ev) depend(out: x[0])
        start(&ops, ev);
        #pragma omp task depend(inout: x[0])
        x[0]++;
    }
}
