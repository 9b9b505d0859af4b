/* OpenMP-compat: `task detach(event)` with omp_fulfill_event, in the patterns of the
 * OpenMP examples and runtime test suites: fulfilled by an asynchronous callback after
 * the body returned (omp_fulfill_event passed as a function pointer), inside the body,
 * from the generating thread right after the task construct, and before the task has
 * even started (its input is still being produced). Dependent tasks wait for fulfilment. */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

struct async {
    void (*done)(omp_event_handle_t);
    omp_event_handle_t ev;
    int *flag;
};

static void *async_main(void *arg)
{
    struct async *a = arg;
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    __atomic_store_n(a->flag, 1, __ATOMIC_RELEASE);
    a->done(a->ev);
    return NULL;
}

int main(void)
{
    int x = 0, y = 0, z = 0, w = 0, flag = 0, seen = -1, sum = -1, late = -1;
    pthread_t th;
    struct async a;
    #pragma omp parallel
    #pragma omp single
    {
        omp_event_handle_t ev1, ev2, ev3, ev4;
        /* 1: asynchronous completion after the body returned */
        #pragma omp task detach(ev1) depend(out: x) shared(a, th, flag)
        {
            x = 1;
            a.done = omp_fulfill_event;
            a.ev = ev1;
            a.flag = &flag;
            pthread_create(&th, NULL, async_main, &a);
        }
        #pragma omp task depend(in: x) shared(seen, flag)
        seen = __atomic_load_n(&flag, __ATOMIC_ACQUIRE);
        /* 2: fulfilled inside the body */
        #pragma omp task detach(ev2) depend(out: y)
        {
            y = 2;
            omp_fulfill_event(ev2);
        }
        /* 3: fulfilled by the generating thread once the task exists */
        #pragma omp task detach(ev3) depend(out: z)
        z = 3;
        omp_fulfill_event(ev3);
        #pragma omp task depend(in: y, z) shared(sum)
        sum = y + z;
        /* 4: fulfilled before the task starts: its input waits for task 1 (20 ms) */
        #pragma omp task depend(in: x) depend(out: w)
        w = x;
        #pragma omp task detach(ev4) depend(inout: w)
        w += 1;
        omp_fulfill_event(ev4);
        #pragma omp task depend(in: w) shared(late)
        late = w;
        #pragma omp taskwait
    }
    pthread_join(th, NULL);
    printf("x=%d seen=%d sum=%d late=%d\n", x, seen, sum, late);
    if (x != 1 || seen != 1 || sum != 5 || late != 2) {
        puts("FAIL");
        return 1;
    }
    puts("OK");
    return 0;
}
