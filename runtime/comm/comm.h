/* comm.h: the distributed layer's internal interfaces: the data registry (registry.c),
 * the flow interposer that infers transfers (flow.c), the communication engine and its
 * thread (engine.c) with its tag windows (tags.c), and the transports it drives (mpi.c,
 * rma.c, ucx.c).
 * Never installed.
 * Transport calls are serialised by the engine's lock (engine.c), except init/fini. */
#ifndef DAG_COMM_H
#define DAG_COMM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dag.h"
#include "dag/dist.h"

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
};

struct coll {
    int id;              /* registration order: the same on every rank */
    char *base;          /* local address of tile 0 */
    size_t tile_bytes;   /* bytes of a tile */
    size_t stride;       /* distance between tiles */
    size_t ntiles;
    int mt, nt, layers;
    int mapped;          /* memory is ours (mmap), not the program's */
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

#ifndef DAG_INTERNAL /* core/runtime.h: exported from libdagrt.so for libdagrt_mpi.so */
#define DAG_INTERNAL __attribute__((visibility("default")))
#endif
DAG_INTERNAL extern struct dist_state dist;

DAG_INTERNAL struct coll *registry_find(const void *addr, size_t *tile);
void registry_clear(void);
int dist_owner(const dag_dist_t *d, int mt, int nt, int layers, int i, int j, int l);

/* ---- transfers and the transport interface ---- */

enum { OP_SEND = 1, OP_RECV = 2 };

/* DAG_COMM_MAX_MSG's default: messages are split in pieces of this size, the unit in
 * which data dirty on a GPU is brought home and sent (pipelined). */
#define COMM_MAX_MSG_DEFAULT (8L << 20)

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
    int nposted;          /* mpi.c: chunks posted so far */
    void *stage;          /* a send of data dirty on a device: rt.dev->home_* handle */
    size_t ready;         /* bytes from buf a send may read now (== len unless staged);
                           * the engine raises it before start/test, a transport posts
                           * only chunks below it (or waits for len) */
    int *done;            /* engine.c: set when the op completes (a poster watching it) */
    uint64_t t_post;      /* CLOCK_MONOTONIC ns when posted: the message's slice in traces */
    _Alignas(16) char tspace[32]; /* a transport's requests when they fit (no malloc) */
};

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
}

/* Small control messages: heartbeats, flow checkpoints, abort notices, goodbyes. */
enum { CTRL_HEARTBEAT = 1, CTRL_CHECK = 2, CTRL_ABORT = 3, CTRL_BYE = 4 };
struct ctrl_msg {
    int32_t type;
    int32_t arg;          /* CTRL_ABORT: the failed rank (or -1); CTRL_CHECK: final flag */
    uint64_t idx;         /* CTRL_CHECK: checkpoint number */
    uint64_t count;       /* CTRL_CHECK: tasks submitted */
    uint64_t hash;        /* CTRL_CHECK: hash of the flow so far */
};

struct transport {
    const char *name;
    /* init may start MPI; fills rank and nranks */
    dag_status_t (*init)(int *rank, int *nranks);
    int (*start)(struct comm_op *op);        /* post non-blocking; 0 or -1 */
    int (*test)(struct comm_op *op);         /* 1 done, 0 pending, -1 failed */
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
extern struct transport transport_rma;   /* rma.c: MPI one-sided (DAG_COMM=rma) */
extern struct transport transport_ucx;   /* ucx.c: UCP (DAG_COMM=ucx), DAG_HAVE_UCX only */

/* ---- tag windows (tags.c) ---- */
/* Which sequence numbers of one (peer, direction) have completed: everything below
 * `low`, and done[] (a ring of cap entries starting at low) above it. */
struct seqwin {
    uint64_t low;
    uint8_t *done;
    size_t cap; /* power of two */
};
int seqwin_may_start(const struct seqwin *w, uint64_t seq, long tag_space);
void seqwin_done(struct seqwin *w, uint64_t seq);

/* ---- engine (engine.c) ---- */
dag_status_t comm_start(void);               /* from dag_init under mpirun */
void comm_stop(void);                        /* from dag_finalize after the drain */
void comm_post(struct comm_op *op);          /* any thread; fulfils op->ev when done */
void comm_checkpoint(uint64_t count, uint64_t hash, int final, const char *label,
                     const char *file, int line);
int comm_broken(void);                       /* non-zero once a failure was detected */
uint64_t comm_seq(int peer, int send);       /* next sequence number of the pair (flow lock) */
int comm_tag_of(uint64_t seq);
size_t comm_stage_chunk(void);               /* piece size for staged sends; 0: no staging */
void *comm_stage_begin(void *buf, size_t len); /* a staged send's handle, or NULL */
double comm_now(void);
uint64_t comm_now_ns(void);                  /* CLOCK_MONOTONIC in ns */

/* ---- flow (flow.c) ---- */
dag_status_t flow_interpose(struct tctx *c, dag_task_fn fn, const void *args,
                            size_t args_size, const dag_dep_t *deps, size_t ndeps,
                            const dag_task_attr_t *attr);
void flow_reset(void);
void flow_sync_point(int final);             /* a top-level wait: checkpoint the flow */

/* Called from runtime/core through the plugin's entry table (comm/entry.c, core/plugin.h). */
int comm_detect(int *local_size);            /* launched by mpirun with > 1 rank? */
void comm_on_wait(struct tctx *c);
void comm_before_drain(void);

#endif
