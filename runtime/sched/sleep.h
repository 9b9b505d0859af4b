/* sleep.h: an event count on a Linux futex. Idle workers and waiting threads sleep on it;
 * whoever makes work available or a waited condition true notifies it. The protocol:
 *   waiter:   key = ec_prepare(); if (condition or work) ec_cancel(); else ec_wait(key);
 *   notifier: publish work (any store); ec_notify_one()/ec_notify_all();
 * ec_prepare's seq_cst increment pairs with the seq_cst fence in ec_notify so that either
 * the notifier sees the waiter or the waiter's re-check sees the published work. */
#ifndef DAG_SLEEP_H
#define DAG_SLEEP_H

#include <stdint.h>
#include "../core/sync.h"

struct eventcount {
    _Alignas(CACHE_LINE) atomic_uint seq;
    atomic_int nwait;
};

void ec_wake(struct eventcount *ec, int all);
void ec_wait(struct eventcount *ec, unsigned key, long timeout_ns);

static inline unsigned ec_prepare(struct eventcount *ec)
{
    atomic_fetch_add_explicit(&ec->nwait, 1, SEQ_CST);
    return atomic_load_explicit(&ec->seq, SEQ_CST);
}

static inline void ec_cancel(struct eventcount *ec)
{
    atomic_fetch_sub_explicit(&ec->nwait, 1, RELAXED);
}

static inline void ec_notify(struct eventcount *ec, int all)
{
    FENCE_SC();
    if (unlikely(atomic_load_explicit(&ec->nwait, SC_TSAN(RELAXED)) > 0))
        ec_wake(ec, all);
}

#endif
