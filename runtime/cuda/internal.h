/* internal.h: the CUDA layer's shared state: devices and their streams, refcounted
 * events, regions with one copy per device (MSI), the caching allocator, the jobs that
 * carry a task through placement, launch and completion, and the performance models.
 * Internal: never installed. One mutex, cu.lock, protects everything marked [co]; it is
 * held while CUDA calls are *enqueued* (asynchronous) and never while waiting for one.
 */
#ifndef DAG_CUDA_INTERNAL_H
#define DAG_CUDA_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "dag/cuda.h"
#include "../core/runtime.h"
#include "../core/clock.h"     /* clock_now_ns */
#include "../core/rangehash.h" /* range_hash: the region table and the writer counts */
#include "../obs/obs.h" /* OBS_LANE_DEVICE */

#define CU_MAXDEV 16
#define CU_MAXSTREAMS 16
#define CU_MAXURGENT 8

/* Trace lanes (obs/obs.h): compute stream s of device d, and its copy engines. */
#define CU_LANES_PER_DEVICE 32
#define CU_STREAM_H2D 30
#define CU_STREAM_D2H 31
#define CU_LANE(d, s) (OBS_LANE_DEVICE + (d) * CU_LANES_PER_DEVICE + (s))
_Static_assert(CU_MAXSTREAMS + CU_MAXURGENT <= CU_STREAM_H2D, "compute streams and copy engines share lanes");
_Static_assert(CU_MAXSTREAMS + CU_MAXURGENT <= 32, "struct copy: krmask has a bit per stream");

/* An event shared by several holders (a copy's `ready`, a task's `done`, ...). [co] */
struct cev {
    cudaEvent_t e;
    int dev;
    int refs;
    int timing;
    atomic_int seen_done; /* a query or wait saw it complete (complete.c: device loss) */
    int stream;           /* a job's `done`: the compute stream it is recorded on, else -1 */
    struct cev *next; /* free list */
};

/* A device buffer from the caching allocator. While cached, `ev` holds the events of
 * the last operations that touched it: its next user's stream waits on them first. */
struct block {
    void *ptr;
    size_t size;
    struct cev *ev[2];
    struct block *next;
};

/* One region's copy on one device. [co]
 * valid: holds the region's current bytes. ready: completes when the last write to the
 * copy (transfer or kernel) is done; readers wait on it. rd: completes when the last
 * *transfer* reading it is done; the next writer waits on it too. kr[s]: the `done` event
 * of the last kernel launched on stream s that reads the copy (one per stream: a stream
 * runs in order, so its last reader covers the earlier ones). Anything that writes into
 * the buffer (a kernel, a copy in) waits on them: with chaining (DAG_CUDA_CHAIN) a writer
 * may be launched while the readers it depends on still run. Kernels that read the copy
 * also hold a pin until they complete, so the buffer is never freed under them. */
struct copy {
    struct block *blk;
    int valid;
    int pins;
    struct cev *ready, *rd;
    struct cev *kr[CU_MAXSTREAMS + CU_MAXURGENT];
    unsigned krmask;               /* bit s: kr[s] is set */
    uint64_t tick;                 /* last use, for LRU eviction */
    struct region *lru_prev, *lru_next; /* allocated copies of this device */
};

/* A byte range some task depended on: [addr, addr+len). Found by exact match (hash);
 * partial overlaps with other regions are found through the sorted array. [co]
 * Invariant: a byte's current value is in the dirty copy (valid on one device only,
 * host_valid == 0) of the region that covers it, if there is one, else on the host. At
 * most one region covering a byte is dirty, except bytes that none of their writers
 * changes (a task's merged dependencies: exec.c merge_overlaps), where the dirty copies
 * agree; every use flushes overlapping dirty regions first, and a write invalidates the
 * device copies of overlapping regions. */
struct region {
    void *addr;
    size_t len;
    struct region *hnext;
    int host_valid;
    struct cev *host_ready;        /* pending device-to-host copy into host memory */
    struct cev *host_rd;           /* the last host-to-device copy reading host memory:
                                      whatever writes the host bytes waits for it */
    int registered;                /* dag_cuda_register: survives top-level waits */
    int resident;                  /* DAG_CUDA_RESIDENT: results go home on demand only */
    int host_pin;                  /* 0 unknown, 1 page-locked already (the program's, or
                                      overlapping our registrations), 2 we registered, 3 we
                                      registered and keep (hostpin.c), -1 pageable */
    int nvalid_dev;
    int lost;                      /* 1 + the device whose lost context held its only
                                      copy: tasks using it fail (complete.c dev_lost) */
    struct copy c[];               /* cu.ndev entries */
};

struct stream {
    cudaStream_t s;
    int dev, idx;
    pthread_mutex_t launch;        /* one launch (start event .. done event) at a time */
    void *cublas, *cusolver;       /* created on first use (lib.c) */
    void *cublas_ws;               /* the cuBLAS handle's own workspace (lib.c) */
    void *work;
    size_t work_size;
    struct job *_Atomic head;      /* launched jobs, in stream order [co]; the progress
                                      thread peeks at head without the lock */
    struct job *tail;              /* [co] */
    int inflight;                  /* [co] */
};

struct device {
    int id;
    int nstreams;                  /* ordinary compute streams st[0 .. nstreams-1] */
    int nurgent;                   /* urgent streams st[nstreams ..] (highest priority) */
    int nall;                      /* nstreams + nurgent */
    struct stream st[CU_MAXSTREAMS + CU_MAXURGENT];
    cudaStream_t h2d, d2h;         /* copy engines */
    struct cev *free_ev[2];        /* [co] pooled events: without / with timing */
    struct block *cache;           /* [co] free blocks */
    size_t used, limit;            /* [co] bytes allocated (in use + cached); the cap */
    struct region *lru_head, *lru_tail; /* [co] least recently used first */
    int inflight;                  /* [co] launched, not completed */
    struct job *pend_head, *pend_tail; /* [co] placed here, waiting for room */
    double exp_end;                /* [co] expected time (ns) the queued work ends */
    const char *dead;              /* [co] why its context is unusable (a sticky error):
                                      it takes no more work (complete.c dev_lost) */
    int peer[CU_MAXDEV];           /* peer access to device i is enabled */
    char name[256];
};

/* A dependency as the job keeps it. */
struct jdep {
    void *addr;
    size_t len;
    unsigned mode;
    struct region *r; /* while launched */
    void *dptr;       /* device address while launched */
};

/* Per-task state (task.ext), made by on_submit. Freed by the submitting thread's sweep
 * (exec.c) once `finished` is set or the task is done (cancelled tasks never run). */
struct job {
    struct task *t;
    uint64_t seq;
    struct job *snext;             /* submitter's list */
    atomic_int finished;
    struct job *qnext;             /* stream FIFO or device pending list [co] */
    int dev, stream;               /* where it was launched */
    struct cev *start, *done;
    dag_event_t ev;
    int rc;
    int gpu_ok, cpu_ok;
    uint64_t key;                  /* performance model key */
    double predicted;              /* ns, added to the device's exp_end */
    int serial;                    /* a long kernel: stream 0 (launch.c grab_stream) */
    int pend_skips;                /* times passed over in the pending list (launch.c) */
    struct dag_cuda_ctx ctx;
    int place;                     /* prepare chose (t->prepared): -1 the CPU, else a device */
    int counted;                   /* its writes are in writers.c's counts [co] */
    int host_acquired;             /* prepare made the host copies current (or is) */
    int retryable;                 /* retry(n): its data is kept current on the host
                                      before each attempt, its writes voided on failure
                                      (exec.c cu_redo); `finished` stays 0 (the task's
                                      state says when it is done) */
    int fault_dev;                 /* the device of the last failed attempt, or -1 */
    struct cev **hw;               /* copies back the CPU body waits for [co] */
    int nhw;
    struct job *hwnext;            /* cu.hw_head list [co] */
    size_t ndeps;
    struct jdep deps[];
};

enum { SCHED_DMDA = 0, SCHED_EAGER, SCHED_CPU, SCHED_RANDOM };
enum { WB_AUTO = 0, WB_LAZY, WB_EAGER };
enum { PEND_PRIO = 0, PEND_FIFO };

struct cu_state {
    pthread_mutex_t lock;
    int ndev;
    struct device dev[CU_MAXDEV];
    int policy, writeback, inflight_per_stream;
    int pend_order;                /* PEND_*: which pending job launches next (launch.c) */
    int wait_all;                  /* DAG_CUDA_WAIT_ALL=1: stream_wait never skips (events.c) */
    size_t pin_min;
    size_t pin_keep;               /* bytes of registrations kept across waits (hostpin.c) */
    double serial_ns;              /* kernels expected to run longer go to stream 0 */
    int urgent;                    /* long prioritised kernels take the urgent stream */
    int chain;                     /* DAG_CUDA_CHAIN: 0 off; 1 successors released at
                                      launch, on their predecessor's stream if free; 2
                                      released at launch, streams chosen as without */
    atomic_ullong nchained;        /* successors released that way (stats.chained) */
    uint64_t rng;                  /* [co] DAG_SCHED=random */
    atomic_int seen_gpu;           /* a task with a CUDA variant was ever submitted */
    atomic_int njobs;              /* placed on a device and not finished */
    atomic_int npending;           /* of them, waiting in a pending list */
    struct job *hw_head;           /* [co] CPU tasks deferred until copies back complete */
    atomic_int nhostwait;          /* entries of hw_head (counted in njobs too) */
    /* regions [co] */
    struct region **hash;
    size_t hmask;
    atomic_size_t nregions;        /* = nsorted, read without the lock */
    struct region **sorted;        /* by address, for overlap queries */
    size_t nsorted, cap_sorted, maxlen;
    uint64_t tick;
    /* progress thread */
    pthread_t progress;
    pthread_cond_t cv;             /* signalled on launch, pend and stop [co] */
    int stop, sleeping;
    atomic_int polling;            /* a thread runs job_complete_ready (complete.c) */
    long inject_at;                /* DAG_FAULT_INJECT=cuda:N[:sticky]: the Nth device */
    int inject_sticky;             /* completion fails (as if its context were lost) */
    long ncompleted;               /* [co] device completions so far */
    atomic_int ndead;              /* devices lost (complete.c): lost regions may exist */
    dag_cuda_stats_t stats;        /* [co] */
};

extern struct cu_state cu;

/* `out` fetches too: OpenMP's out orders like inout and does not promise that the body
 * overwrites every byte, so skipping the fetch could write garbage back. */
static inline int mode_reads(unsigned m)
{
    (void)m;
    return 1;
}
static inline int mode_writes(unsigned m)
{
    return (m & DAG_MODE_MASK) != DAG_IN;
}

/* events.c */
struct cev *cev_get(int dev, int timing);   /* refs = 1, not recorded [co] */
struct cev *cev_ref(struct cev *e);         /* [co] */
void cev_put(struct cev *e);                /* [co]; NULL is fine */
struct cev *cev_record(int dev, cudaStream_t s); /* [co] */
/* Without the lock: 1 complete (or NULL), 0 still running, -1 failed (warns `what`). */
int cev_state(struct cev *e, const char *what);
void stream_wait(cudaStream_t s, struct cev *e);
void cu_warn(const char *what, cudaError_t err);

/* alloc.c [co] */
struct block *blk_alloc(int dev, size_t size);   /* NULL: nothing evictable left */
void blk_release(int dev, struct block *b, struct cev *e1, struct cev *e2);
void blk_trim(int dev);                          /* cudaFree the cache */
void lru_touch(int dev, struct region *r);
void lru_remove(int dev, struct region *r);

/* A growable list of event references to wait for once cu.lock is dropped. */
struct evlist {
    struct cev **v;
    int n, cap;
};
void evlist_add(struct evlist *l, struct cev *e); /* takes the reference; NULL ignored */

/* coherence.c [co] */
struct region *region_get(void *addr, size_t len, int create);
/* Make r valid on dev for a task that accesses it with `mode` from stream s: allocate,
 * transfer if needed, make s wait for everything the data depends on, pin the copy.
 * Returns the device address, or NULL (nothing changed) when device memory is short. */
void *co_acquire_dev(struct region *r, int dev, unsigned mode, cudaStream_t s);
void co_written_dev(struct region *r, int dev, struct cev *done);
/* After a kernel reading r on dev's stream `stream` was enqueued (done: its event). */
void co_read_dev(struct region *r, int dev, int stream, struct cev *done);
void co_read_done(struct region *r, int dev, int stream, struct cev *done); /* it completed */
/* Make the host bytes [addr, addr+len) current for a CPU task; w gets what to wait for. */
void co_acquire_host(void *addr, size_t len, unsigned mode, struct evlist *w);
/* The program wrote the host bytes itself (dag_cuda_host_modified). */
void co_host_written(void *addr, size_t len);
/* xtrace.c: copies as trace slices while tracing is on */
struct cev *xtrace_begin(int dev, cudaStream_t s);                          /* [co] */
void xtrace_end(struct cev *a, int dev, cudaStream_t s, int kind, size_t bytes); /* [co] */
int xtrace_poll(int wait);                                                  /* takes cu.lock */
struct cev *co_writeback(struct region *r);      /* returns a new ref to host_ready, or NULL */
int co_writeback_early(struct region *r);         /* only if asynchronous (page-locked) */
/* rt.host->home_*: bring [addr, addr+len) home in pieces for a transfer task; they take
 * cu.lock themselves (poll takes none) */
void *co_home_begin(void *addr, size_t len, size_t chunk);
long long co_home_poll(void *h);
void co_home_end(void *h);
void co_drop_copy(struct region *r, int dev);    /* invalidate + release the buffer */
/* A region overlapping [addr, addr+len) whose data was lost with a device, or NULL. */
struct region *co_lost(void *addr, size_t len);
/* A retryable task's failed attempt wrote r: the host bytes (the pre-task version) are
 * current again, every device copy is void. */
void co_rollback(struct region *r);
void region_forget(struct region *r);            /* drop every copy, unpin, remove */
size_t co_missing_bytes(void *addr, size_t len, int dev); /* for placement */
/* writers.c: submitted, unfinished writers per exact range (a write-back hint); its
 * own lock. wr_add counts d's written ranges (non-zero: some were counted). */
int wr_add(const struct jdep *d, size_t n);
int wr_done(void *addr, size_t len); /* 1: that was the last one */
void wr_fini(void);

/* hostpin.c [co] (keep/release take the lock) */
void co_host_pin(struct region *r);
void co_host_unpin(struct region *r);
void co_host_keep(void *base, size_t len);
void co_host_release(void *base, size_t len, int gone);
void co_host_pins_fini(void);
/* Enqueue a copy of len bytes between host and device memory on s (to_dev: host to
 * device), cut where the host bytes enter or leave a registration; returns the first
 * error. host_copy_done tells the registrations met which event ends the copy. */
cudaError_t host_copy(void *dev, void *host, size_t len, int to_dev, cudaStream_t s);
void host_copy_done(const void *host, size_t len, struct cev *e);
int region_pinned(const struct region *r);
void co_sync_events(struct cev **ev, int n);     /* outside the lock; puts the refs */

/* The public API of dag/cuda.h, as the plugin implements it (api.c, lib.c):
 * libdagrt's dag_cuda_* (core/plugin.c) forward here through entry.c's table. */
int cuapi_device_count(void);
cudaStream_t cuapi_stream(const struct dag_cuda_ctx *ctx);
int cuapi_device(const struct dag_cuda_ctx *ctx);
void *cuapi_ptr(const struct dag_cuda_ctx *ctx, const void *host_ptr);
void *cuapi_cublas(const struct dag_cuda_ctx *ctx);
void *cuapi_cusolver(const struct dag_cuda_ctx *ctx);
void *cuapi_workspace(const struct dag_cuda_ctx *ctx, size_t bytes);
struct dag_cuda_ctx *cuapi_current(void);
dag_status_t cuapi_register(void *ptr, size_t len, unsigned flags);
dag_status_t cuapi_host_sync(void *ptr, size_t len);
dag_status_t cuapi_unregister(void *ptr, size_t len);
dag_status_t cuapi_host_modified(void *ptr, size_t len);
void *cuapi_malloc_host(size_t size);
void cuapi_free_host(void *ptr);
dag_status_t cuapi_stats(dag_cuda_stats_t *out);
void cuapi_stats_reset(void);

/* lib.c: library handles and workspaces per stream */
void lib_release(int dev);
struct stream *ctx_stream(const struct dag_cuda_ctx *ctx); /* api.c */

/* The life of a job, file by file (each calls only the ones above it, plus events.c,
 * coherence.c, perfmodel.c and writers.c):
 *   exec.c      the seam (cu_ops): exec, on_wait
 *   cpu.c       prepare and the CPU body
 *   launch.c    launch on a device, or the pending list
 *   progress.c  the progress thread and idle-thread polling
 *   complete.c  completion
 *   jobs.c      on_submit, job lists, job_finish */
extern const struct rt_device_ops cu_ops;                                   /* exec.c */
extern const struct rt_host_ops cu_host_ops;                              /* device.c */
int cu_prepare(struct tctx *c, struct task *t);                            /* cpu.c */
int job_run_cpu(struct job *j);
int job_hostwait_poll(void);                     /* progress thread: resume CPU tasks */
int job_launch_or_pend(struct job *j);           /* launch.c [co]; < 0: j failed, 1:
                                                    launched, may release early */
/* j was launched: release its task's successors early (DAG_CUDA_CHAIN), while the task
 * cannot complete (its body runs, or cu.lock keeps the poller from completing it). */
void job_chain(struct tctx *c, struct task *t);
int job_may_chain(const struct job *j);          /* [co] */
void job_launch_pending(int dev, struct tctx *c); /* progress thread [co] */
extern RT_TLS struct dag_cuda_ctx *cu_tls_ctx;   /* the context of the running launcher */
int progress_start(void);                        /* progress.c */
void progress_stop(void);
int job_complete_ready(void);                    /* complete.c: by one poller at a time */
void cu_inject_parse(void);                      /* complete.c: DAG_FAULT_INJECT=cuda:N */
/* A job cannot use some of its data (lost with a device): reports it, returns
 * DAG_ERR_DEVICE; 0 when all is there. [co] */
int job_check_lost(struct job *j);
int cu_redo(struct tctx *c, struct task *t);     /* exec.c: rt.dev->redo */
dag_status_t cu_on_submit(struct tctx *c, struct task *t, const dag_dep_t *deps,
                          size_t ndeps);         /* jobs.c */
void job_writers_done(struct job *j);            /* [co] when it ran on a device */
void job_finish(struct job *j, int rc);
void jobs_sweep_all(void);

/* perfmodel.c [co] */
void pm_init(void);
void pm_fini(void);
int pm_place(struct job *j);                     /* -1: CPU, else device; -2: no usable
                                                    device left and no CPU variant */
void pm_record(uint64_t key, int arch, double ns);
uint64_t pm_key(const struct task *t, size_t bytes);
double pm_expect(uint64_t key, int arch, int *n);

#endif
