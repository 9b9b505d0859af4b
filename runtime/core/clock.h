/* clock.h: the runtime's one monotonic clock helper (CLOCK_MONOTONIC in nanoseconds), for
 * every layer that times something: idling and stealing (sched), tracing and statistics
 * (obs), transfers and devices (comm, cuda). Header-only, depends on libc alone. */
#ifndef DAG_CLOCK_H
#define DAG_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
