/* sleep.c: the futex calls behind the event count of sleep.h. */
#define _GNU_SOURCE
#include "sleep.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void ec_wake(struct eventcount *ec, int all)
{
    atomic_fetch_add_explicit(&ec->seq, 1, SEQ_CST);
    syscall(SYS_futex, &ec->seq, FUTEX_WAKE_PRIVATE, all ? INT_MAX : 1, NULL, NULL, 0);
}

void ec_wait(struct eventcount *ec, unsigned key, long timeout_ns)
{
    struct timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};
    syscall(SYS_futex, &ec->seq, FUTEX_WAIT_PRIVATE, key, timeout_ns > 0 ? &ts : NULL, NULL, 0);
    atomic_fetch_sub_explicit(&ec->nwait, 1, RELAXED);
}
