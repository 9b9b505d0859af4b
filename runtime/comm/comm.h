/* comm.h: the distributed layer's internal interfaces. Two parts:
 *   in libdagrt (always built): the data registry (registry.c) and the checking mode
 *     that guards non-owned tiles (guard.c), with the distributed barrier (barrier.c);
 *   in the plugin libdagrt_mpi.so: the life cycle (entry.c), the engine's thread
 *     (engine.c), transfers (xfer.c) with their tag windows (seqwin.c) and staging
 *     (stage.c), liveness (live.c: heartbeats, dead and stuck ranks), flow checkpoints
 *     (check.c), the failure state (fail.c), the flow interposer (flow.c), and the
 *     transports (mpi.c, rma.c, ucx.c).
 * Calls go one way: entry -> engine -> {xfer, live, check} -> fail, transports;
 * flow -> {xfer, check, stage}. Never installed.
 * Transport calls are serialised by the transfer lock (xfer.c), except init/fini. */
#ifndef DAG_COMM_H
#define DAG_COMM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "dag.h"
#include "dag/dist.h"
#include "../core/clock.h"      /* clock_now_ns */
#include "../core/visibility.h" /* DAG_INTERNAL: exported from libdagrt.so for libdagrt_mpi.so */

struct tctx;

/* ---- registry (registry.c): identical on every rank, mutated only by the flow ---- */

/* Coherence state of one tile; every rank computes the same values from the same flow.
 * `holders` lists the ranks holding the current version, in the order they got it
 * (holders[0] wrote it): the broadcast tree is built over this order. */
struct tile_state {
    int owner;       /* from the distribution */
    int nholders;    /* ranks with a valid copy of the current version */
    int *holders;    /* nranks entries, allocated on first transfer; NULL: {owner} only */
    int writer;      /* holders[0] when holders is NULL */
    int stale;       /* local only: this rank keeps the pages of an outdated copy */
    int guard;       /* local only, DAG_CHECK: the protection (GUARD_*) in flow order */
};

struct coll {
    int id;              /* registration order: the same on every rank */
    char *base;          /* local address of tile 0 */
    size_t tile_bytes;   /* bytes of a tile */
    size_t stride;       /* distance between tiles */
    size_t ntiles;
    int mt, nt, layers;
    int mapped;          /* memory is ours (mmap), not the program's */
    int kept;            /* announced to the device layer (rt.host->host_keep) */
    int guarded;         /* DAG_CHECK: protections applied (guard_coll) */
    dag_dist_t dist;
    struct tile_state *tiles;
};

struct dist_state {
    int rank, nranks, local_size;
    int active;          /* the engine runs: nranks > 1 */
    pthread_mutex_t lock; /* registry and flow state: the replicated flow is serial */
    struct coll **colls; /* sorted by base address */
    int ncolls, cap;
    int next_id;
    dag_dist_stats_t stats;
    size_t stale_bytes;  /* local: pages of outdated copies kept resident (flow.c) */
    size_t stale_max;    /* DAG_COMM_STALE_MB: beyond it outdated copies are given back */
};

DAG_INTERNAL extern struct dist_state dist;

/* Announce the runtime-owned tiles of every matrix to a device layer that has just
 * started (rt.host set): the matrices created before it, whose tiles may then stay
 * page-locked across waits like those created after (registry.c). */
DAG_INTERNAL void dist_host_announce(void);

DAG_INTERNAL struct coll *registry_find(const void *addr, size_t *tile);
void registry_clear(void);
int dist_owner(const dag_dist_t *d, int mt, int nt, int layers, int i, int j, int l);

/* ---- checking mode (guard.c, DAG_CHECK=1): a rank's pages of a tile are readable only
 * while it holds the current version, writable only while it wrote it last. A fault
 * there names the tile, its owner and the fix. */
enum { GUARD_NONE = 0, GUARD_READ = 1, GUARD_RW = 3 };
DAG_INTERNAL int guard_on(void);                        /* DAG_CHECK=1 and distributed */
DAG_INTERNAL int guard_coll_on(const struct coll *c);   /* its tiles are guarded */
DAG_INTERNAL void guard_tile(struct coll *c, size_t t, int prot); /* GUARD_* */
DAG_INTERNAL void guard_coll(struct coll *c); /* before its first task, or at a wait */

/* ---- clock: core/clock.h's clock_now_ns, in seconds ---- */
static inline double comm_now(void)
{
    return (double)clock_now_ns() * 1e-9;
}

/* ---- transfers and the transport interface ---- */

enum { OP_SEND = 1, OP_RECV = 2 };

/* DAG_COMM_MAX_MSG's default: messages are split in pieces of this size, the unit in
 * which data dirty on a GPU is brought home and sent (pipelined). */
#define COMM_MAX_MSG_DEFAULT (8L << 20)

/* What a message is for: sent ahead of the data (or, one-sided, in the receiver's READY),
 * compared with what the receiving side expects before any byte of data is delivered
 * (xfer_env_check): a flow mismatch is reported instead of handing out another tile. */
#define COMM_ENV_MAGIC 0x64616765u
struct comm_env {
    uint32_t magic;
    int32_t coll;         /* registration number of the data */
    int64_t tile;
    uint64_t len;         /* bytes of the tile on the side that wrote this */
    uint64_t task;        /* position in the flow of the task that needs/produced it */
    int32_t line;
    int32_t pad;
    char label[40];
    char file[56];
};

/* Transfers of at most COMM_PACK_MAX bytes travel in one message with their envelope
 * (packed): the receiver gets it into a buffer of its own (comm_op.pack), checks the
 * envelope and only then copies the data into the tile. Larger ones send the envelope
 * first and the data after it matched. A compile-time constant: every rank must agree. */
#define COMM_PACK_MAX 4096

/* One inferred transfer on this rank, owned by the engine from comm_post() until it
 * fulfils `ev`. */
struct comm_op {
    struct comm_op *next;
    int kind;
    int peer;
    int tag;              /* transport tag: seq modulo the tag space */
    uint64_t seq;         /* per (peer, direction) sequence number, the same on both sides */
    char *buf;
    size_t len;
    dag_event_t ev;
    const char *label;    /* the task that needs (recv) or produced (send) the data */
    const char *file;
    int line;
    int coll;
    long tile;
    void *treq;           /* transport state: malloc'ed, or tspace (comm_treq_free) */
    int nreq;
    int nposted;          /* mpi.c, ucx.c: data chunks posted so far */
    int env_ok;           /* recv: the peer's envelope arrived and matched */
    void *stage;          /* a send of data dirty on a device: rt.host->home_* handle */
    size_t ready;         /* bytes from buf a send may read now (== len unless staged);
                           * the engine raises it before start/test, a transport posts
                           * only chunks below it (or waits for len) */
    int *done;            /* xfer.c: set when the op completes (a poster watching it) */
    uint64_t t_post;      /* CLOCK_MONOTONIC ns when posted: the message's slice in traces */
    struct comm_env env;  /* ours: what this transfer is for */
    struct comm_env got;  /* recv: the sender's, as it arrived */
    char *pack;           /* mpi.c, ucx.c: envelope + packed data (malloc'ed) */
    _Alignas(16) char tspace[40]; /* a transport's requests when they fit (no malloc) */
};

/* Buffers of sizeof(struct comm_env) + COMM_PACK_MAX bytes for packed messages, kept for
 * reuse (xfer.c); only under the transport lock. */
char *comm_pack_get(void);
void comm_pack_put(char *p);

/* Room for a transport's per-op requests: tspace when they fit, else malloc (NULL). */
static inline void *comm_treq_alloc(struct comm_op *op, size_t bytes)
{
    return bytes <= sizeof op->tspace ? (void *)op->tspace : malloc(bytes);
}

static inline void comm_treq_free(struct comm_op *op)
{
    if (op->treq != (void *)op->tspace)
        free(op->treq);
    op->treq = NULL;
    if (op->pack)
        comm_pack_put(op->pack);
    op->pack = NULL;
}

/* A sender's packed message (envelope + data), or NULL when it goes unpacked. */
char *comm_pack(struct comm_op *op, size_t *bytes);
/* A receiver's message arrived in op->pack (`bytes` of it): 1 the data is in place,
 * 0 the envelope matched and the data follows, XFER_MISMATCH. */
int comm_unpack(struct comm_op *op, size_t bytes);

/* Small control messages: heartbeats, flow checkpoints, abort notices, goodbyes. */
enum { CTRL_HEARTBEAT = 1, CTRL_CHECK = 2, CTRL_ABORT = 3, CTRL_BYE = 4 };
struct ctrl_msg {
    int32_t type;
    int32_t arg;          /* CTRL_ABORT: the failed rank (or -1); CTRL_CHECK: final flag */
    uint64_t idx;         /* CTRL_CHECK: checkpoint number; CTRL_HEARTBEAT: sender's pid */
    uint64_t count;       /* CTRL_CHECK: tasks submitted */
    uint64_t hash;        /* CTRL_CHECK: hash of the flow so far; CTRL_HEARTBEAT: host;
                           * CTRL_ABORT: the status, negated */
};

/* test() results besides 1 (done) and 0 (pending) */
enum { XFER_FAILED = -1, XFER_MISMATCH = -2 };

struct transport {
    const char *name;
    /* init may start MPI; fills rank and nranks */
    dag_status_t (*init)(int *rank, int *nranks);
    int (*start)(struct comm_op *op);        /* post non-blocking; 0 or -1 */
    int (*test)(struct comm_op *op);         /* 1 done, 0 pending, XFER_FAILED/MISMATCH */
    void (*cancel)(struct comm_op *op);      /* drop a pending op after a failure */
    int (*ctrl_send)(int peer, const struct ctrl_msg *m);
    int (*ctrl_poll)(struct ctrl_msg *m, int *peer); /* 1: got one */
    int (*ctrl_idle)(void);                  /* 1: every control send completed */
    void (*fini)(int broken);
    void (*abort)(int code);
    long tag_space;                          /* distinct tags: set by init */
    size_t chunk;    /* set by init: a message is split in pieces of this size (staging) */
    int staged_ok;   /* start/test honour comm_op.ready (post only bytes below it) */
    int serialized;  /* set by init: calls from any thread are fine if never concurrent */
};

extern struct transport transport_mpi;
dag_status_t comm_mpi_boot(void);        /* mpi.c: starts MPI unless the program did */
void comm_mpi_abort(int code);           /* mpi.c: ends the job, non-zero whatever mpirun does */
extern struct transport transport_rma;   /* rma.c: MPI one-sided (DAG_COMM=rma) */
extern struct transport transport_ucx;   /* ucx.c: UCP (DAG_COMM=ucx), DAG_HAVE_UCX only */

/* ---- tag windows (seqwin.c) ---- */
/* Which sequence numbers of one (peer, direction) have completed: everything below
 * `low`, and done[] (a ring of cap entries starting at low) above it. */
struct seqwin {
    uint64_t low;
    uint8_t *done;
    size_t cap; /* power of two */
};
int seqwin_may_start(const struct seqwin *w, uint64_t seq, long tag_space);
void seqwin_done(struct seqwin *w, uint64_t seq);

/* ---- failure state (fail.c): the first failure wins ---- */
int comm_broken(void);                       /* dag_status_t of the first failure; 0: fine */
void comm_fail(int code, int peer, int tell); /* peer: the failed rank or -1; tell: notify */
int comm_fail_take_notice(int *peer);        /* once per failure: 1 if others must be told */
double comm_fail_since(void);                /* comm_now() of the failure */
void comm_fail_hurry(void);                  /* this rank cannot stop: end it soon */
int comm_fail_hurried(void);
void comm_fail_reset(const struct transport *tp); /* at start: tp ends the job */
void comm_end_job(const char *why);          /* after a failure: end every rank, non-zero */

/* A FIFO of nodes linked through their `next` member, guarded by `lock`: one side pushes,
 * the engine's thread takes the whole list at once (the transfers tasks queue, the flow
 * checkpoints). Macros, so that one code serves both node types; arguments are evaluated
 * more than once. */
#define COMM_FIFO_PUSH(lock, head, tail, item)                                              \
    do {                                                                                    \
        (item)->next = NULL;                                                                \
        pthread_mutex_lock(lock);                                                           \
        if (tail)                                                                           \
            (tail)->next = (item);                                                          \
        else                                                                                \
            (head) = (item);                                                                \
        (tail) = (item);                                                                    \
        pthread_mutex_unlock(lock);                                                         \
    } while (0)
#define COMM_FIFO_TAKE(lock, head, tail, out)                                               \
    do {                                                                                    \
        pthread_mutex_lock(lock);                                                           \
        (out) = (head);                                                                     \
        (head) = (tail) = NULL;                                                             \
        pthread_mutex_unlock(lock);                                                         \
    } while (0)

/* Flow mismatch reports (check.c, xfer.c): where a task was submitted, as " (file:line)"
 * or "" when unknown, and the advice every such report ends with. */
void comm_where(const char *file, int line, char *buf, size_t n);
#define COMM_FLOW_ADVICE "Every rank must submit the same tasks in the same order"

/* ---- transfers (xfer.c): the lists, the transport lock and progress ---- */
dag_status_t xfer_start(const struct transport *tp, int nranks);
void xfer_stop(void);
void comm_post(struct comm_op *op);          /* any thread; fulfils op->ev when done */
uint64_t comm_seq(int peer, int send);       /* next sequence number of the pair (flow lock) */
int comm_tag_of(uint64_t seq);
int xfer_env_check(const struct comm_op *op, const struct comm_env *theirs); /* 0: match */
void xfer_lock(void);                        /* the transport lock */
void xfer_unlock(void);
int xfer_trylock(void);                      /* 0: taken */
int xfer_queue_run(void);                    /* start what tasks queued; count */
int xfer_progress(void);                     /* test the active ones; count completed */
int xfer_pending(void);                      /* transfers started or deferred */
void xfer_fail_all(int code, int peer);      /* fail every pending one (report `peer`'s) */
int xfer_workers_polling(void);              /* an idle worker drives progress now */
void xfer_set_wake(void (*wake)(int kick));  /* engine.c: wake the thread (kick: poll) */
void xfer_enable_polling(void);              /* idle workers may poll from now (rt.poll) */

/* ---- staging (stage.c): sends of data dirty on a device ---- */
void stage_init(const struct transport *tp);
size_t comm_stage_chunk(void);               /* piece size for staged sends; 0: no staging */
void *comm_stage_begin(void *buf, size_t len); /* a staged send's handle, or NULL */
long long stage_poll(void *h);               /* bytes home, or -1 */
void stage_end(void *h);

/* ---- liveness (live.c): heartbeats, dead ranks, stuck task bodies ---- */
dag_status_t live_start(const struct transport *tp, int nranks);
void live_stop(void);
void live_heard(int peer, const struct ctrl_msg *m); /* any control message from peer */
void live_bye(int peer);
int live_said_bye(int peer);
void live_tick(double now);                  /* heartbeats out, silent/dead/stuck checks */
void live_shift(double gap);                 /* this thread was stalled for `gap` s */
double live_hb_interval(void);

/* ---- flow checkpoints (check.c): compared along the ring ---- */
void check_start(const struct transport *tp, void (*wake)(void)); /* wake: engine.c */
void check_stop(void);
void comm_checkpoint(uint64_t count, uint64_t hash, int final, const char *label,
                     const char *file, int line); /* any thread (the flow's) */
int check_run_queued(void);                  /* the engine's thread: send ours; count */
void check_from_pred(const struct ctrl_msg *m); /* rank-1's checkpoint arrived */
void check_tick(double now);                 /* report a difference found earlier */
int check_pending(void);                     /* a difference is still to be reported */

/* ---- the engine's thread (engine.c) ---- */
dag_status_t engine_start(const struct transport *tp);
void engine_stop(void);
void engine_on_ctrl(const struct ctrl_msg *m, int peer); /* also used after the thread */

/* ---- flow (flow.c) ---- */
dag_status_t flow_interpose(struct tctx *c, dag_task_fn fn, const void *args,
                            size_t args_size, const dag_dep_t *deps, size_t ndeps,
                            const dag_task_attr_t *attr);
void flow_reset(void);
void flow_sync_point(int final);             /* a top-level wait: checkpoint the flow */

/* ---- life cycle (entry.c), called from runtime/core through the plugin's entry table
 * (core/plugin.h) ---- */
int comm_detect(int *local_size);            /* mpi.c: launched by mpirun with > 1 rank? */
dag_status_t comm_start(void);               /* from dag_init under mpirun */
void comm_stop(void);                        /* from dag_finalize after the drain */
void comm_on_wait(struct tctx *c);
void comm_before_drain(void);

#endif
