/* xtrace.c: host<->device and peer copies as trace slices (the observability `transfer`
 * hook), only while tracing is on. Each copy is bracketed by two timed events; their
 * times are placed on the host clock through one reference event per device, recorded
 * and synchronised once, so a slice shows when the copy engine really ran it, not when
 * the completion was noticed. Completed copies are reported by the progress thread
 * (xtrace_poll) and the rest at shutdown. Never blocks a worker. */
#include <stdlib.h>

#include "internal.h"
#include "../core/hooks.h"

#define COPY_LANE(dev, d2h) CU_LANE(dev, (d2h) ? CU_STREAM_D2H : CU_STREAM_H2D)

struct xt {
    struct xt *next;
    struct cev *a, *b;
    int dev, kind, lane;
    size_t bytes;
};

static struct xt *head, **tail = &head; /* [co] in enqueue order */
static atomic_int npending;
static struct cev *ref[CU_MAXDEV];      /* [co] */
static uint64_t ref_ns[CU_MAXDEV];

/* [co] Returns the start event of a copy about to be enqueued on s, or NULL. */
struct cev *xtrace_begin(int dev, cudaStream_t s)
{
    if (!rt.hooks || !rt.hooks->transfer)
        return NULL;
    if (!ref[dev]) {
        struct cev *r = cev_get(dev, 1);
        if (!r || cudaEventRecord(r->e, s) != cudaSuccess ||
            cudaEventSynchronize(r->e) != cudaSuccess) {
            cev_put(r);
            return NULL;
        }
        ref_ns[dev] = clock_now_ns();
        ref[dev] = r;
    }
    struct cev *a = cev_get(dev, 1);
    if (a && cudaEventRecord(a->e, s) != cudaSuccess) {
        cev_put(a);
        a = NULL;
    }
    return a;
}

/* [co] The copy started by xtrace_begin (a) has been enqueued on s. */
void xtrace_end(struct cev *a, int dev, cudaStream_t s, int kind, size_t bytes)
{
    if (!a)
        return;
    struct xt *x = malloc(sizeof *x);
    struct cev *b = x ? cev_get(dev, 1) : NULL;
    if (!b || cudaEventRecord(b->e, s) != cudaSuccess) {
        cev_put(a);
        cev_put(b);
        free(x);
        return;
    }
    *x = (struct xt){NULL, a, b, dev, kind,
                     COPY_LANE(dev, kind == HOOK_XFER_D2H), bytes};
    *tail = x;
    tail = &x->next;
    atomic_fetch_add_explicit(&npending, 1, RELAXED);
}

static uint64_t at(const struct xt *x, struct cev *e)
{
    float ms = 0;
    cudaEventElapsedTime(&ms, ref[x->dev]->e, e->e);
    return ref_ns[x->dev] + (uint64_t)((double)ms * 1e6);
}

/* Reports finished copies; with wait, waits for all of them. Returns 1 while some are
 * pending (the progress thread keeps polling). */
int xtrace_poll(int wait)
{
    if (!atomic_load_explicit(&npending, RELAXED))
        return 0;
    pthread_mutex_lock(&cu.lock);
    struct xt **p = &head;
    while (*p) {
        struct xt *x = *p;
        cudaSetDevice(x->dev);
        cudaError_t err = wait ? cudaEventSynchronize(x->b->e) : cudaEventQuery(x->b->e);
        if (err == cudaErrorNotReady) {
            p = &x->next;
            continue;
        }
        if (err == cudaSuccess)
            hooks_transfer(NULL, x->kind, x->bytes, at(x, x->a), at(x, x->b), x->lane);
        cudaGetLastError();
        *p = x->next;
        cev_put(x->a);
        cev_put(x->b);
        free(x);
        atomic_fetch_sub_explicit(&npending, 1, RELAXED);
    }
    tail = p;
    if (wait)
        for (int d = 0; d < CU_MAXDEV; d++) {
            cev_put(ref[d]);
            ref[d] = NULL;
        }
    pthread_mutex_unlock(&cu.lock);
    return atomic_load_explicit(&npending, RELAXED) != 0;
}
