/* fail.c: the distributed layer's failure state and the end of a failed job. The first
 * failure (a dead or stuck rank, a flow mismatch, a transport error, another rank's
 * abort notice) wins; later ones are its consequences. The engine's thread reads it to
 * fail pending transfers and to tell the other ranks (engine.c); entry.c ends the job
 * with a non-zero status once the program stops (comm_end_job). */
#include <stdatomic.h>
#include <stdio.h>

#include "comm.h"

static struct {
    const struct transport *tp; /* ends the job */
    atomic_int code;     /* dag_status_t of the first failure; 0: fine */
    atomic_int notice;   /* 1 until the engine took the notice (tell the others) */
    int peer;            /* the failed rank, or -1 */
    int hurry;           /* this rank cannot stop by itself (a stuck task body) */
    double since;
} failure;

int comm_broken(void)
{
    return atomic_load(&failure.code);
}

void comm_fail(int code, int peer, int tell)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&failure.code, &expected, code))
        return;
    failure.peer = peer;
    failure.since = comm_now();
    atomic_store(&failure.notice, tell ? 1 : 2);
}

int comm_fail_take_notice(int *peer)
{
    int n = atomic_exchange(&failure.notice, 0);
    *peer = failure.peer;
    return n;
}

double comm_fail_since(void)
{
    return failure.since;
}

void comm_fail_hurry(void)
{
    failure.hurry = 1;
}

int comm_fail_hurried(void)
{
    return failure.hurry;
}

void comm_fail_reset(const struct transport *tp)
{
    failure.tp = tp;
    failure.hurry = 0;
    atomic_store(&failure.code, 0);
    atomic_store(&failure.notice, 0);
    failure.peer = -1;
}

void comm_end_job(const char *why)
{
    fprintf(stderr, "dagrt[rank %d]: error: ending the job after a failure (%s)\n", dist.rank,
            why);
    failure.tp->abort(1);
}
