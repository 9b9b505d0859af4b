/* children.h: waiting for a task's children (taskwait, and deps.c before a parent's
 * records are dropped), shared by task.c, deps.c and wait.c without making them call one
 * another: the scheduler below runs other tasks meanwhile. */
#ifndef DAG_CHILDREN_H
#define DAG_CHILDREN_H

#include "task.h"
#include "../sched/sched.h"

static inline int task_children_done(void *arg)
{
    return C_LOW(atomic_load_explicit(&((struct task *)arg)->counts, ACQUIRE)) == 0;
}

/* Returns when every child of t has finished its body. */
static inline void task_wait_children(struct tctx *c, struct task *t)
{
    if (!task_children_done(t))
        sched_wait(c, task_children_done, t);
}

#endif
