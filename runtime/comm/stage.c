/* stage.c: sends of data dirty on a device. The device layer brings the data home piece
 * by piece (rt.host->home_*), and the transports post each piece as it lands (comm_op.ready).
 * DAG_COMM_TEST_STAGE=1 (tests) stages every send with a stand-in whose pieces land one
 * per poll, so the transports' partial posting runs on machines without a GPU. */
#include <stdlib.h>

#include "comm.h"
#include "../core/runtime.h"

static struct {
    size_t chunk; /* piece size; 0: no staging (DAG_COMM_STAGE=0 or the transport can't) */
    int fake;     /* DAG_COMM_TEST_STAGE */
} staging;

struct fake_stage {
    size_t len, chunk, done;
};

void stage_init(const struct transport *tp)
{
    /* sends of data dirty on a GPU: home in pieces of the transport's message size, each
     * sent as it lands (0: the send waits until the whole tile is home) */
    int on = tp->staged_ok && tp->chunk && env_long("DAG_COMM_STAGE", 1, 0, 1);
    staging.chunk = on ? tp->chunk : 0;
    staging.fake = on && env_long("DAG_COMM_TEST_STAGE", 0, 0, 1);
}

size_t comm_stage_chunk(void)
{
    return staging.chunk;
}

void *comm_stage_begin(void *buf, size_t len)
{
    if (!staging.chunk)
        return NULL;
    if (staging.fake) {
        struct fake_stage *f = calloc(1, sizeof *f);
        if (f) {
            f->len = len;
            f->chunk = staging.chunk;
        }
        return f;
    }
    return rt.host && rt.host->home_begin ? rt.host->home_begin(buf, len, staging.chunk) : NULL;
}

long long stage_poll(void *h)
{
    if (!staging.fake)
        return rt.host->home_poll(h);
    struct fake_stage *f = h;
    f->done = f->len - f->done > f->chunk ? f->done + f->chunk : f->len;
    return (long long)f->done;
}

void stage_end(void *h)
{
    if (staging.fake)
        free(h);
    else if (rt.host && rt.host->home_end)
        rt.host->home_end(h);
}
