/* e2e: `detach(ev)`: the task completes only when its body has returned and its event has
 * been fulfilled: by a helper thread after the body returned, inside the body, through a
 * global event, and with a failure code. Dependent tasks wait for the fulfilment. */
#include <dag.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"

static atomic_int fulfilled;
static dag_event_t gev;

static void *later(void *arg) /* an "asynchronous operation" completing after 20 ms */
{
    dag_event_t *ev = arg;
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    atomic_store(&fulfilled, 1);
    CHECK(dag_event_fulfill(*ev, 0) == DAG_OK);
    return NULL;
}

int main(void)
{
    int x = 0, y = 0, z = 0, seen = -1, seen2 = -1;
    static dag_event_t slot;
    pthread_t th;
    /* two workers even on one core: main spins below while a worker starts task 3 */
    CHECK(dag_init(&(dag_config_t){.nthreads = 2}) == DAG_OK);
    /* 1: fulfilled by another thread after the body has returned */
    dag_event_t ev;
    #pragma dag task detach(ev) depend(out: x) shared(th)
    {
        x = 1;
        slot = ev;
        CHECK(pthread_create(&th, NULL, later, &slot) == 0);
    }
    #pragma dag task depend(in: x) shared(seen)
    seen = atomic_load(&fulfilled);
    /* 2: fulfilled inside the body */
    #pragma dag task detach(ev) depend(out: y)
    {
        y = 2;
        CHECK(dag_event_fulfill(ev, 0) == DAG_OK);
    }
    /* 3: a global event handle is set when the body starts */
    #pragma dag task detach(gev) depend(out: z)
    z = 3;
    #pragma dag task depend(in: y) depend(inout: z) shared(seen2)
    seen2 = y + z;
    #pragma dag taskwait depend(in: y)
    CHECK(y == 2);
    /* task 3 only completes once gev is fulfilled: fulfil it from here */
    while (!__atomic_load_n(&gev.task, __ATOMIC_ACQUIRE))
        sched_yield();
    CHECK(dag_event_fulfill(gev, 0) == DAG_OK);
    #pragma dag taskwait
    pthread_join(th, NULL);
    CHECK(x == 1 && seen == 1);
    CHECK(seen2 == 5);
    /* 4: a non-zero code marks the task failed and cancels its dependent task */
    int ran = 0;
    #pragma dag task detach(ev) depend(out: x) label("failing")
    CHECK(dag_event_fulfill(ev, 7) == DAG_OK);
    #pragma dag task depend(in: x) shared(ran)
    ran = 1;
    CHECK(dag_taskwait() == DAG_ERR_TASK_FAILED);
    dag_error_t e;
    CHECK(dag_last_error(&e) == DAG_OK && e.code == 7 && ran == 0);
    puts("OK");
    return 0;
}
