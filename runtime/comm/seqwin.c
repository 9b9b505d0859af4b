/* seqwin.c: the tag windows of the transfers (xfer.c): which sequence numbers of one
 * (peer, direction) have completed, so that a transport tag (the sequence number modulo
 * the tag space) is never used by two transfers in flight at once.
 * Tags wrap after tag_space transfers of one pair. Transfer k may start only once every
 * transfer up to k - tag_space has completed, on both sides: then no two transfers with
 * one tag are ever in flight together, so a receive cannot match the wrong message. The
 * flow order guarantees progress (a transfer never waits for a later one). */
#include <stdlib.h>

#include "comm.h"

int seqwin_may_start(const struct seqwin *w, uint64_t seq, long tag_space)
{
    return seq < w->low + (uint64_t)tag_space;
}

void seqwin_done(struct seqwin *w, uint64_t seq)
{
    uint64_t i = seq - w->low;
    if (i >= w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap <= i)
            cap *= 2;
        uint8_t *d = calloc(cap, 1);
        if (!d)
            return; /* the window stays shut: transfers stall, the heartbeat still runs */
        for (size_t k = 0; k < w->cap; k++)
            d[(w->low + k) & (cap - 1)] = w->done[(w->low + k) & (w->cap - 1)];
        free(w->done);
        w->done = d;
        w->cap = cap;
    }
    w->done[seq & (w->cap - 1)] = 1;
    while (w->done[w->low & (w->cap - 1)]) {
        w->done[w->low & (w->cap - 1)] = 0;
        w->low++;
    }
}
