/* rma.c: the MPI one-sided transport (DAG_COMM=rma), for comparison with the two-sided
 * one (mpi.c). Data moves with MPI_Put into a dynamic window (MPI_Win_create_dynamic)
 * that stays in one passive-target epoch (MPI_Win_lock_all) from init to fini. One
 * transfer is a rendezvous of three steps, each a small tagged message on a private
 * communicator (the op's tag, so the engine's tag rules keep them matched):
 *   receiver: attach its buffer (MPI_Win_attach; the receive task holds an out
 *             dependency, so the buffer is free) and send READY {address, length, what
 *             it expects there};
 *   sender:   on READY, check that it expects this transfer (else a flow mismatch is
 *             reported and nothing is put), MPI_Put the bytes in chunks of
 *             DAG_COMM_MAX_MSG, MPI_Win_flush the target, then send DONE;
 *   receiver: on DONE, MPI_Win_sync: the receive is complete.
 * Attachments are cached (DAG_COMM_RMA_CACHE entries, exact buffer ranges, least
 * recently used one detached first): a tile received again reuses its attachment, and
 * peers' cached views of the window stay valid (osc rdma re-reads a target's region table
 * after every attach or detach there; per-op attach cost ~4 us per transfer here).
 * READY and DONE use two communicators (a rank's READY for its receive from p and p's
 * DONE for p's receive from it may carry the same tag). osc rdma (Open MPI 4.1) allows
 * osc_rdma_max_attach regions and hangs, rather than fails, in an attach beyond it (the
 * error path keeps its region lock), so this file never attaches past that limit (read
 * through MPI_T; init raises it to 4096 when it starts MPI): a receive that finds every
 * attachment busy, or whose attach fails, says so in READY and goes two-sided through
 * mpi.c. Initialisation, control messages and abort are mpi.c's. Every state change
 * happens in start()/test(); the only blocking call is the flush of puts already
 * issued. Errors return. */
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "../core/runtime.h"

#define PUT_BUDGET ((size_t)64 << 20) /* bytes put per test() call, so heartbeats run */

/* READY: where the receiver's buffer is, and what it expects there (the sender checks it
 * before putting a byte: xfer_env_check). mode: 1 put here, 2 send it two-sided */
struct ready_msg {
    uint64_t addr;
    uint64_t len;
    int32_t mode;
    int32_t pad;
    struct comm_env env;
};
enum { MODE_PUT = 1, MODE_TWO_SIDED = 2 };

enum { S_WAIT_READY = 1, S_PUT, S_WAIT_DONE, S_TWO_SIDED };

struct rma_op {
    int state;
    int attached;          /* receiver: buf is attached to the window */
    int slot;              /* its cache entry, or -1: detach when done */
    MPI_Request req[2];    /* recv: READY send, DONE recv; send: READY recv, DONE send */
    struct ready_msg msg;  /* recv: what we announced; send: what the peer announced */
    size_t off;            /* send: bytes put and flushed */
    struct comm_op two;    /* fallback transfer through mpi.c (MODE_TWO_SIDED) */
};

static struct {
    MPI_Comm ready, done, wcomm;
    MPI_Win win;
    int have_win;
    size_t chunk;
    int warned;
    struct att { char *base; size_t len; int busy; uint64_t used; } *cache;
    int cache_max;
    int nattached, max_attached; /* attachments now, and the most the window takes */
    uint64_t clock;
} R;

/* ---- attachments -------------------------------------------------------------------- */

/* R.cache[i] holds an attachment when base is set; entries never move (ops keep slots) */
static void evict(int i)
{
    MPI_Win_detach(R.win, R.cache[i].base);
    R.cache[i].base = NULL;
    R.nattached--;
}

/* osc rdma's osc_rdma_max_attach (64 by default in Open MPI 4.1); none known: no limit */
static int max_attach(void)
{
    int provided, idx, count, n = INT_MAX;
    unsigned v;
    MPI_T_cvar_handle h;
    if (MPI_T_init_thread(MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return 64;
    if (MPI_T_cvar_get_index("osc_rdma_max_attach", &idx) == MPI_SUCCESS &&
        MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) == MPI_SUCCESS) {
        if (count == 1 && MPI_T_cvar_read(h, &v) == MPI_SUCCESS && v > 0 && v < INT_MAX)
            n = (int)v;
        MPI_T_cvar_handle_free(&h);
    }
    MPI_T_finalize();
    return n;
}

/* The least recently used idle entry (-1: none), or with want_free a free one first. */
static int victim(int want_free)
{
    int best = -1;
    for (int i = 0; i < R.cache_max; i++) {
        if (!R.cache[i].base) {
            if (want_free)
                return i;
            continue;
        }
        if (!R.cache[i].busy && (best < 0 || R.cache[i].used < R.cache[best].used))
            best = i;
    }
    return best;
}

/* Attach [buf, buf+len) or reuse its cached attachment: 0 or an MPI error code. */
static int attach(struct rma_op *s, char *buf, size_t len)
{
    s->slot = -1;
    for (int i = 0; i < R.cache_max; i++) {
        struct att *a = &R.cache[i];
        if (!a->base || a->busy || a->base >= buf + len || buf >= a->base + a->len)
            continue;
        if (a->base == buf && a->len == len) {
            a->busy = 1;
            s->slot = i;
            s->attached = 1;
            return MPI_SUCCESS;
        }
        evict(i); /* attachments may not overlap */
    }
    if (R.nattached >= R.max_attached) { /* give back an idle one, or go two-sided */
        int v = victim(0);
        if (v < 0)
            return MPI_ERR_RMA_ATTACH;
        evict(v);
    }
    int rc = MPI_Win_attach(R.win, buf, (MPI_Aint)len);
    if (rc != MPI_SUCCESS)
        return rc;
    s->attached = 1;
    R.nattached++;
    int v = victim(1);
    if (v < 0)
        return MPI_SUCCESS; /* every entry busy: this one is detached when done */
    if (R.cache[v].base)
        evict(v);
    R.cache[v] = (struct att){buf, len, 1, 0};
    s->slot = v;
    return MPI_SUCCESS;
}

static void detach(struct rma_op *s, char *buf)
{
    if (!s->attached)
        return;
    s->attached = 0;
    if (s->slot < 0) {
        MPI_Win_detach(R.win, buf);
        R.nattached--;
        return;
    }
    R.cache[s->slot].busy = 0;
    R.cache[s->slot].used = ++R.clock;
}

static dag_status_t r_init(int *rank, int *nranks)
{
    int inited = 0;
    MPI_Initialized(&inited);
    /* osc rdma's default of 64 attached regions is below the receives a rank may have
     * posted at once; a region costs a few bytes of shared state */
    if (!inited)
        setenv("OMPI_MCA_osc_rdma_max_attach", "4096", 0);
    dag_status_t st = transport_mpi.init(rank, nranks);
    if (st)
        return st;
    transport_rma.serialized = transport_mpi.serialized;
    transport_rma.tag_space = transport_mpi.tag_space;
    R.chunk = transport_mpi.chunk; /* DAG_COMM_MAX_MSG */
    transport_rma.chunk = R.chunk;
    transport_rma.staged_ok = 1;
    R.cache_max = (int)env_long("DAG_COMM_RMA_CACHE", 64, 0, 1 << 20);
    if (*nranks < 2)
        return DAG_OK;
    if (!R.ready) { /* kept across dag_init cycles, like mpi.c's (MPI cannot restart) */
        if (MPI_Comm_dup(MPI_COMM_WORLD, &R.ready) != MPI_SUCCESS ||
            MPI_Comm_dup(MPI_COMM_WORLD, &R.done) != MPI_SUCCESS ||
            MPI_Comm_dup(MPI_COMM_WORLD, &R.wcomm) != MPI_SUCCESS)
            return DAG_ERR_COMM;
        MPI_Comm_set_errhandler(R.ready, MPI_ERRORS_RETURN);
        MPI_Comm_set_errhandler(R.done, MPI_ERRORS_RETURN);
        MPI_Comm_set_errhandler(R.wcomm, MPI_ERRORS_RETURN);
    }
    if (MPI_Win_create_dynamic(MPI_INFO_NULL, R.wcomm, &R.win) != MPI_SUCCESS) {
        fprintf(stderr, "dagrt[rank %d]: error: MPI_Win_create_dynamic failed: this MPI "
                "has no one-sided support for dynamic windows here (Open MPI's osc rdma needs "
                "a BTL with RDMA, e.g. vader with CMA; OMPI_MCA_osc=ucx may work), use "
                "DAG_COMM=mpi\n", *rank);
        return DAG_ERR_COMM;
    }
    MPI_Win_set_errhandler(R.win, MPI_ERRORS_RETURN);
    if (MPI_Win_lock_all(MPI_MODE_NOCHECK, R.win) != MPI_SUCCESS) {
        MPI_Win_free(&R.win);
        return DAG_ERR_COMM;
    }
    R.have_win = 1;
    setenv("DAG_COMM_ACTIVE", "rma", 1); /* tests check that this transport runs */
    R.clock = 0;
    R.nattached = 0;
    R.max_attached = max_attach();
    if (R.cache_max > R.max_attached / 2) /* leave room for receives beyond the cache */
        R.cache_max = R.max_attached / 2;
    if (R.cache_max && !(R.cache = calloc((size_t)R.cache_max, sizeof *R.cache)))
        R.cache_max = 0;
    return DAG_OK;
}

/* Drop what an op holds: requests still posted, the attachment, a fallback transfer. */
static void release(struct comm_op *op)
{
    struct rma_op *s = op->treq;
    if (!s)
        return;
    for (int k = 0; k < 2; k++)
        if (s->req[k] != MPI_REQUEST_NULL) {
            MPI_Cancel(&s->req[k]);
            MPI_Request_free(&s->req[k]);
        }
    detach(s, op->buf);
    if (s->two.treq) {
        transport_mpi.cancel(&s->two);
        comm_treq_free(&s->two);
    }
}

/* The same transfer as a two-sided one through mpi.c, with state of its own. */
static int two_sided_start(struct comm_op *op, struct rma_op *s)
{
    s->two = (struct comm_op){.kind = op->kind, .peer = op->peer, .tag = op->tag,
                              .seq = op->seq, .buf = op->buf, .len = op->len,
                              .ready = op->ready, .env = op->env, .label = op->label,
                              .file = op->file, .line = op->line};
    s->state = S_TWO_SIDED;
    return transport_mpi.start(&s->two);
}

static int recv_start(struct comm_op *op, struct rma_op *s)
{
    s->msg = (struct ready_msg){.len = op->len, .mode = MODE_PUT, .env = op->env};
    if (op->len) {
        int rc = attach(s, op->buf, op->len);
        if (rc == MPI_SUCCESS) {
            MPI_Aint a;
            MPI_Get_address(op->buf, &a);
            s->msg.addr = (uint64_t)a;
        } else {
            if (!R.warned++) {
                char e[MPI_MAX_ERROR_STRING];
                int n = 0;
                MPI_Error_string(rc, e, &n);
                fprintf(stderr, "dagrt[rank %d]: note: a receive could not attach its buffer "
                        "to the window (%s; %d attached, limit %d): such receives go "
                        "two-sided\n", dist.rank, e, R.nattached, R.max_attached);
            }
            s->msg.mode = MODE_TWO_SIDED;
        }
    }
    if (s->msg.mode == MODE_TWO_SIDED) {
        if (two_sided_start(op, s)) /* the receives are posted before READY leaves */
            return -1;
    } else {
        s->state = S_WAIT_DONE;
        if (MPI_Irecv(NULL, 0, MPI_BYTE, op->peer, op->tag, R.done, &s->req[1]) != MPI_SUCCESS)
            return -1;
    }
    return MPI_Isend(&s->msg, (int)sizeof s->msg, MPI_BYTE, op->peer, op->tag, R.ready,
                     &s->req[0]) == MPI_SUCCESS ? 0 : -1;
}

static int r_start(struct comm_op *op)
{
    struct rma_op *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->req[0] = s->req[1] = MPI_REQUEST_NULL;
    op->treq = s;
    op->nreq = 0;
    int rc;
    if (op->kind == OP_RECV) {
        rc = recv_start(op, s);
    } else {
        s->state = S_WAIT_READY;
        rc = MPI_Irecv(&s->msg, (int)sizeof s->msg, MPI_BYTE, op->peer, op->tag, R.ready,
                       &s->req[0]) == MPI_SUCCESS ? 0 : -1;
    }
    if (rc)
        release(op); /* the engine frees op->treq */
    return rc;
}

/* Put what may be read of the buffer (op->ready: a staged send's bytes come home from a
 * device piece by piece), up to PUT_BUDGET bytes per call, and flush it. */
static int put_some(struct comm_op *op, struct rma_op *s)
{
    size_t budget = PUT_BUDGET > R.chunk ? PUT_BUDGET : R.chunk, sent = 0;
    size_t end = op->ready < op->len ? op->ready : op->len;
    while (s->off < end && sent < budget) {
        size_t n = end - s->off < R.chunk ? end - s->off : R.chunk;
        MPI_Aint disp = MPI_Aint_add((MPI_Aint)s->msg.addr, (MPI_Aint)s->off);
        if (MPI_Put(op->buf + s->off, (int)n, MPI_BYTE, op->peer, disp, (int)n, MPI_BYTE,
                    R.win) != MPI_SUCCESS)
            return -1;
        s->off += n;
        sent += n;
    }
    return sent && MPI_Win_flush(op->peer, R.win) != MPI_SUCCESS ? -1 : 0;
}

static int send_test(struct comm_op *op, struct rma_op *s)
{
    int flag = 0;
    switch (s->state) {
    case S_WAIT_READY:
        if (MPI_Test(&s->req[0], &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (!flag)
            return 0;
        if (xfer_env_check(op, &s->msg.env))
            return XFER_MISMATCH;
        if (s->msg.mode == MODE_TWO_SIDED)
            return two_sided_start(op, s) ? -1 : transport_mpi.test(&s->two);
        s->state = S_PUT;
        /* fall through */
    case S_PUT:
        if (put_some(op, s))
            return -1;
        if (s->off < op->len)
            return 0;
        s->state = S_WAIT_DONE;
        if (MPI_Isend(NULL, 0, MPI_BYTE, op->peer, op->tag, R.done, &s->req[1]) !=
            MPI_SUCCESS)
            return -1;
        /* fall through */
    case S_WAIT_DONE:
        if (MPI_Test(&s->req[1], &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        return flag;
    case S_TWO_SIDED:
        s->two.ready = op->ready;
        return transport_mpi.test(&s->two);
    }
    return -1;
}

static int recv_test(struct rma_op *s)
{
    int flag = 0;
    if (MPI_Testall(2, s->req, &flag, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        return -1;
    if (!flag)
        return 0;
    if (s->state == S_TWO_SIDED)
        return transport_mpi.test(&s->two);
    /* DONE came after the peer's flush: the bytes are in memory; sync this rank's view */
    MPI_Win_sync(R.win);
    return 1;
}

static int r_test(struct comm_op *op)
{
    struct rma_op *s = op->treq;
    int r = op->kind == OP_SEND ? send_test(op, s) : recv_test(s);
    if (r != 0)
        release(op); /* done or failed: detach, free the fallback's requests */
    return r;
}

static void r_cancel(struct comm_op *op)
{
    release(op);
}

static int r_ctrl_send(int peer, const struct ctrl_msg *m)
{
    return transport_mpi.ctrl_send(peer, m);
}

static int r_ctrl_poll(struct ctrl_msg *m, int *peer)
{
    return transport_mpi.ctrl_poll(m, peer);
}

static int r_ctrl_idle(void)
{
    return transport_mpi.ctrl_idle();
}

/* Every rank gets here after the goodbye exchange (entry.c), so the collective
 * MPI_Win_free is safe; the communicators stay for a later dag_init. */
static void r_fini(int broken)
{
    if (R.have_win) {
        for (int i = 0; i < R.cache_max; i++)
            if (R.cache[i].base)
                evict(i);
        free(R.cache);
        R.cache = NULL;
        MPI_Win_unlock_all(R.win);
        MPI_Win_free(&R.win);
        R.have_win = 0;
    }
    transport_mpi.fini(broken);
}

static void r_abort(int code)
{
    transport_mpi.abort(code);
}

struct transport transport_rma = {
    .name = "rma",
    .init = r_init,
    .start = r_start,
    .test = r_test,
    .cancel = r_cancel,
    .ctrl_send = r_ctrl_send,
    .ctrl_poll = r_ctrl_poll,
    .ctrl_idle = r_ctrl_idle,
    .fini = r_fini,
    .abort = r_abort,
};
