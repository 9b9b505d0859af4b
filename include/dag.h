/* dag.h: the public C API of the dagcc runtime (libdagrt).
 *
 * This header is the one contract between code written by hand or emitted by the dagcc
 * translator and the runtime. Everything public is prefixed dag_ / DAG_; nothing here
 * exposes runtime internals. Extensions for devices and ranks live in include/dag/.
 */
#ifndef DAG_H
#define DAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAG_VERSION_MAJOR 0
#define DAG_VERSION_MINOR 1
#define DAG_VERSION_PATCH 0
#define DAG_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define DAG_API __attribute__((visibility("default")))
#else
#define DAG_API
#endif

/* ---------------------------------------------------------------------------------------
 * Status codes. Every API call returns one; DAG_OK is zero, errors are negative.
 * ------------------------------------------------------------------------------------- */
typedef enum dag_status {
    DAG_OK = 0,
    DAG_ERR_INVALID = -1,     /* a bad argument (null function, overflowing range, ...) */
    DAG_ERR_NOMEM = -2,       /* out of memory */
    DAG_ERR_TASK_FAILED = -3, /* a task body returned non-zero; see dag_last_error() */
    DAG_ERR_CANCELLED = -4,   /* a task was skipped because a predecessor failed */
    DAG_ERR_STATE = -5,       /* the call is not valid now (unbalanced taskgroup, ...) */
    DAG_ERR_UNSUPPORTED = -6, /* the feature is not built in or has no device to run on */
    DAG_ERR_SYSTEM = -7,      /* the operating system refused (threads, memory binding) */
    DAG_ERR_DEVICE = -8,      /* an accelerator reported an error */
    DAG_ERR_COMM = -9,        /* a message could not be delivered, or a rank died */
    DAG_ERR_MISMATCH = -10,   /* ranks submitted different task flows */
    DAG_ERR_TIMEOUT = -11,    /* a watchdog or timed wait expired */
    DAG_ERR_IO = -12          /* a file could not be read or written */
} dag_status_t;

/* A static, human-readable description of a status code. Never returns NULL. */
DAG_API const char *dag_strerror(dag_status_t status);

/* ---------------------------------------------------------------------------------------
 * Dependencies. A dependency names the byte range [addr, addr + len) and an access mode.
 * Two dependencies of sibling tasks conflict when their ranges overlap and at least one
 * of them writes (modes follow OpenMP 5.2). Zero-length ranges conflict with nothing.
 * ------------------------------------------------------------------------------------- */
typedef enum dag_mode {
    DAG_IN = 1,            /* read */
    DAG_OUT = 2,           /* write (ordered like inout, as in OpenMP) */
    DAG_INOUT = 3,         /* read and write */
    DAG_MUTEXINOUTSET = 4, /* members of a set run one at a time, in any order */
    DAG_INOUTSET = 5       /* members of a set run concurrently; ordered against others */
} dag_mode_t;

#define DAG_MODE_MASK 0xffu
/* OR-ed into dag_dep_t.mode: match this dependency by its start address alone, the way
 * libgomp and LLVM libomp match OpenMP list items. `len` still gives the data's extent
 * (used for data movement). The dagcc translator sets this for `-fopenmp` input only. */
#define DAG_DEP_BASEADDR 0x100u

typedef struct dag_dep {
    void *addr;
    size_t len;
    unsigned mode; /* dag_mode_t, optionally | DAG_DEP_BASEADDR */
} dag_dep_t;

/* ---------------------------------------------------------------------------------------
 * Tasks.
 * ------------------------------------------------------------------------------------- */

/* A task body. It receives the runtime's private copy of the argument block. Return 0 on
 * success; any other value marks the task failed: its dependent tasks are cancelled and
 * the failure reaches the next dag_taskwait()/dag_taskgroup_end() of its parent. */
typedef int (*dag_task_fn)(void *args);

/* dag_task_attr_t.flags: these bits only; dag_submit rejects any other with DAG_ERR_INVALID */
#define DAG_TASK_UNDEFERRED 0x1u /* if(false): the submitting thread waits for the task's
                                    dependencies, then runs it before dag_submit returns */
#define DAG_TASK_FINAL 0x2u      /* final(true): every descendant runs immediately, inline */
#define DAG_TASK_ON_NODE 0x4u    /* `node` is valid: run on that rank (distributed runs) */
#define DAG_TASK_DETACHABLE 0x8u /* the body may call dag_task_detach(): the task completes
                                    when its event is fulfilled, not when the body returns
                                    (OpenMP `detach`). Not combinable with UNDEFERRED. */

/* dag_task_attr_t.device */
#define DAG_DEVICE_ANY 0  /* the scheduler chooses among the task's implementations */
#define DAG_DEVICE_CPU 1  /* force the CPU implementation */
#define DAG_DEVICE_CUDA 2 /* force the CUDA implementation */

struct dag_cuda_ctx; /* defined in dag/cuda.h */

/* A CUDA implementation: enqueue the work on ctx's stream and return without waiting.
 * The argument block is the same as the CPU implementation's; pointers named in the
 * task's dependencies are translated to device addresses by dag_cuda_ptr(). */
typedef int (*dag_cuda_fn)(void *args, struct dag_cuda_ctx *ctx);

/* Completion events (OpenMP 5 `detach`). Inside the body of a task submitted with
 * DAG_TASK_DETACHABLE, dag_task_detach() returns an event; the task then completes, and
 * its successors are released, only when both its body has returned and the event has
 * been fulfilled, from any thread (a communication thread, a CUDA callback, ...).
 * Fulfilling with a non-zero code marks the task failed, as if its body had returned it.
 * Each event is fulfilled exactly once. */
typedef struct dag_event {
    void *task;
    unsigned long long seq;
} dag_event_t;

/* Optional task attributes. Zero-initialise and set what you need; NULL means defaults.
 * `label` and `file` must outlive the task (string literals are the intended use). */
typedef struct dag_task_attr {
    const char *label; /* name in traces, statistics and error messages */
    const char *file;  /* source location of the task construct */
    int line;
    int col;
    int priority;      /* higher runs earlier among ready tasks; 0 is the default */
    unsigned flags;    /* DAG_TASK_* */
    int device;        /* DAG_DEVICE_* */
    int node;          /* rank to run on, when flags has DAG_TASK_ON_NODE */
    dag_cuda_fn cuda;  /* CUDA implementation, or NULL */
    dag_event_t *event; /* with DAG_TASK_DETACHABLE: receives the task's completion event
                           at submission (the body need not call dag_task_detach) */
    int retries;        /* retry(n): re-run a failed body (error return or crash) up to n
                           more times, each time on the inputs it started with */
    const dag_dep_t *checkpoint; /* checkpoint(list): outputs persisted once the task is
                                    done (DAG_CHECKPOINT_DIR); read during dag_submit only */
    size_t ncheckpoint;
    const void *affinity; /* affinity(list): a placement hint, the address of data the task
                             works on. The task goes to the worker that last ran a task
                             naming the same data (64-byte line), so it finds that data in
                             its cache; any idle worker may still take it. NULL: none */
} dag_task_attr_t;

/* Submit a task as a child of the calling task (or of the thread's implicit task).
 * `args` (args_size bytes) is copied; `deps` is read during the call only. The task runs
 * once every earlier sibling whose dependencies conflict with it has completed. */
DAG_API dag_status_t dag_submit(dag_task_fn fn, const void *args, size_t args_size,
                        const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr);

DAG_API dag_status_t dag_task_detach(dag_event_t *event);
DAG_API dag_status_t dag_event_fulfill(dag_event_t event, int code);

/* Wait until every child of the calling task has completed; the waiting thread runs
 * tasks meanwhile. Returns DAG_ERR_TASK_FAILED if a child (or a descendant not waited
 * for) failed or was cancelled since the last wait; dag_last_error() tells which. */
DAG_API dag_status_t dag_taskwait(void);

/* Wait only for the earlier sibling tasks whose dependencies conflict with `deps`
 * (OpenMP 5 `taskwait depend(...)`). */
DAG_API dag_status_t dag_taskwait_deps(const dag_dep_t *deps, size_t ndeps);

/* A taskgroup waits, at its end, for every task created inside it and their
 * descendants. Groups nest; begin and end must pair within one task. */
DAG_API dag_status_t dag_taskgroup_begin(void);
DAG_API dag_status_t dag_taskgroup_end(void);

/* Checkpoint/restart: persist [addr, addr+len) whenever a task that writes it completes
 * (at most every DAG_CHECKPOINT_EVERY seconds); under DAG_RESTART=1 tasks whose outputs
 * the last good checkpoint covers are skipped and the data is restored. */
DAG_API dag_status_t dag_checkpoint_register(void *addr, size_t len);

/* Non-zero inside a final task (OpenMP omp_in_final). */
DAG_API int dag_in_final(void);

/* ---------------------------------------------------------------------------------------
 * Errors.
 * ------------------------------------------------------------------------------------- */
typedef struct dag_error {
    dag_status_t status;     /* DAG_ERR_TASK_FAILED, DAG_ERR_CANCELLED, ... */
    int code;                /* what the task body returned */
    const char *label;       /* the failing task's label (or "task") */
    const char *file;        /* its source location, or NULL */
    int line;
    int col;
    unsigned long ncancelled; /* dependent tasks that were skipped because of it */
    int signal;              /* SIGSEGV, SIGFPE or SIGBUS when the body crashed (code is
                                then 128 + signal), else 0 */
    int attempts;            /* times the body ran (retry(n): up to n + 1) */
} dag_error_t;

/* The first failure reported to the calling thread by its most recent wait. Returns
 * DAG_ERR_STATE (and leaves *err untouched) if no failure has been reported. */
DAG_API dag_status_t dag_last_error(dag_error_t *err);

/* Format a failure as "file:line: task 'label' failed with code N (M dependent tasks
 * cancelled)" into buf ("crashed with SIGSEGV" for a crash, "after K attempts" when it
 * was retried); returns buf. */
DAG_API char *dag_error_format(const dag_error_t *err, char *buf, size_t size);

/* ---------------------------------------------------------------------------------------
 * Runtime lifetime and configuration. The runtime starts implicitly at the first call
 * and drains every task at process exit; dag_init() / dag_finalize() make it explicit.
 * Every field of dag_config_t left zero takes its value from the environment variable in
 * brackets, then from the default:
 *   nthreads   [DAG_NUM_THREADS] workers including the calling thread; default: cores
 *   bind       [DAG_BIND] 'auto' (default: 'core' unless other processes hold the
 *              cores at dag_init, then 'none'), 'none', 'core' or 'pu'
 *   spin_us    [DAG_SPIN_US] how long an idle worker spins before sleeping (default 50)
 * ------------------------------------------------------------------------------------- */
#define DAG_BIND_DEFAULT 0
#define DAG_BIND_NONE 1
#define DAG_BIND_CORE 2
#define DAG_BIND_PU 3

typedef struct dag_config {
    int nthreads;
    int bind;
    int spin_us;
} dag_config_t;

/* Start the runtime. Returns DAG_ERR_STATE if it is already running. */
DAG_API dag_status_t dag_init(const dag_config_t *config);

/* Wait for every task, stop the workers and release all resources. The runtime can be
 * started again afterwards. Returns the first unreported task failure, if any. */
DAG_API dag_status_t dag_finalize(void);

/* Number of workers (including the thread that started the runtime). */
DAG_API int dag_num_threads(void);

/* Index of the calling worker in [0, dag_num_threads()), or -1 for other threads. */
DAG_API int dag_worker_id(void);


/* ---------------------------------------------------------------------------------------
 * Taskloops, task reductions, event handles and dependence objects (OpenMP 5 tasking;
 * the dagcc translator calls these; runtime/core/taskloop.c, reduce.c, handles.c).
 * ------------------------------------------------------------------------------------- */

/* Task reductions. A reduction names an original variable; each participating task gets
 * a private copy (initialised by `init`, or to the operator's identity), and the copies
 * are combined into the original when the taskgroup that declared the reduction ends.
 * Built-in operators work on arithmetic types (`type`, DAG_RED_TYPE_OF(x) names it);
 * DAG_RED_USER calls `combine(out, in)` (out = out op in) and `init(priv, orig)` (NULL:
 * zero bytes), as an OpenMP `declare reduction` does. */
typedef enum dag_red_op {
    DAG_RED_SUM = 1, DAG_RED_PROD, DAG_RED_MIN, DAG_RED_MAX, DAG_RED_BAND, DAG_RED_BOR,
    DAG_RED_BXOR, DAG_RED_LAND, DAG_RED_LOR, DAG_RED_USER
} dag_red_op_t;

typedef enum dag_red_type {
    DAG_RED_BOOL = 1, DAG_RED_CHAR, DAG_RED_SCHAR, DAG_RED_UCHAR, DAG_RED_SHORT,
    DAG_RED_USHORT, DAG_RED_INT, DAG_RED_UINT, DAG_RED_LONG, DAG_RED_ULONG, DAG_RED_LLONG,
    DAG_RED_ULLONG, DAG_RED_FLOAT, DAG_RED_DOUBLE, DAG_RED_LDOUBLE
} dag_red_type_t;

/* The dag_red_type_t of expression x (0 for other types). */
#define DAG_RED_TYPE_OF(x)                                                                \
    _Generic((x), _Bool: DAG_RED_BOOL, char: DAG_RED_CHAR, signed char: DAG_RED_SCHAR,    \
             unsigned char: DAG_RED_UCHAR, short: DAG_RED_SHORT,                          \
             unsigned short: DAG_RED_USHORT, int: DAG_RED_INT, unsigned: DAG_RED_UINT,    \
             long: DAG_RED_LONG, unsigned long: DAG_RED_ULONG, long long: DAG_RED_LLONG,  \
             unsigned long long: DAG_RED_ULLONG, float: DAG_RED_FLOAT,                    \
             double: DAG_RED_DOUBLE, long double: DAG_RED_LDOUBLE, default: 0)

typedef struct dag_reduction {
    void *orig;  /* the original variable */
    size_t size; /* its size in bytes */
    int op;      /* dag_red_op_t */
    int type;    /* dag_red_type_t, for built-in operators */
    void (*combine)(void *out, const void *in); /* DAG_RED_USER */
    void (*init)(void *priv, const void *orig); /* DAG_RED_USER; NULL: zero bytes */
    size_t args_offset; /* dag_taskloop: where in each chunk's argument block the runtime
                           stores the pointer to the chunk's private copy */
} dag_reduction_t;

typedef struct dag_redgroup dag_redgroup_t;

/* `taskgroup task_reduction(...)`: begins a taskgroup that declares reductions r[0..n)
 * (read during the call only). dag_reduction_end() ends the taskgroup (as
 * dag_taskgroup_end) and then combines every private copy into its original. */
DAG_API dag_status_t dag_reduction_begin(const dag_reduction_t *r, size_t n,
                                         dag_redgroup_t **group);
DAG_API dag_status_t dag_reduction_end(dag_redgroup_t *group);

/* `task in_reduction(x)`: a new private copy of `orig` for one task, registered with the
 * innermost active reduction group that declared `orig`. DAG_ERR_INVALID if none did. */
DAG_API dag_status_t dag_reduction_private(void *orig, void **priv);

/* Taskloops (libomp's __kmpc_taskloop). The loop runs var = lb, lb + step, ... while
 * `var rel ub`; dag_taskloop splits its iterations into chunks and submits one task per
 * chunk, each with its own copy of the argument block in which the dag_loop_range_t at
 * `range_offset` holds the chunk: iterations k in [first, last), var = lb + k * step. */
#define DAG_LOOP_LT 1 /* var <  ub */
#define DAG_LOOP_LE 2 /* var <= ub */
#define DAG_LOOP_GT 3 /* var >  ub */
#define DAG_LOOP_GE 4 /* var >= ub */
#define DAG_LOOP_NE 5 /* var != ub (the step must reach ub exactly) */

#define DAG_TASKLOOP_GRAINSIZE 0x1u /* `value` is the grainsize (iterations per task) */
#define DAG_TASKLOOP_NUM_TASKS 0x2u /* `value` is the number of tasks */
#define DAG_TASKLOOP_STRICT 0x4u    /* with GRAINSIZE: exactly `value` per task but the last */
#define DAG_TASKLOOP_NOGROUP 0x8u   /* no implicit taskgroup around the chunks */
#define DAG_TASKLOOP_SIGNED 0x10u   /* lb and ub hold values of a signed type */

typedef struct dag_loop_range {
    unsigned long long first, last;
} dag_loop_range_t;

typedef struct dag_taskloop {
    unsigned long long lb, ub; /* the bounds converted to unsigned long long */
    long long step;            /* non-zero; its sign must agree with rel */
    int rel;                   /* DAG_LOOP_* */
    unsigned flags;            /* DAG_TASKLOOP_* */
    unsigned long long value;  /* grainsize or number of tasks (0 counts as 1); neither
                                  flag: 4 x dag_num_threads() tasks */
    size_t range_offset;       /* offset of a dag_loop_range_t in the argument block */
    const dag_reduction_t *red; /* reduction(...): a private copy per chunk, combined
                                   when the loop's taskgroup ends (not with NOGROUP) */
    size_t nred;
} dag_taskloop_t;

/* The number of iterations of a loop (0 if it runs none). */
DAG_API unsigned long long dag_loop_count(const dag_taskloop_t *loop);

/* Runs the loop as tasks; `attr` (may be NULL) applies to every chunk task. Returns once
 * every chunk has completed (without NOGROUP), or once they are submitted. */
DAG_API dag_status_t dag_taskloop(dag_task_fn fn, const void *args, size_t args_size,
                                  const dag_taskloop_t *loop, const dag_task_attr_t *attr);

/* Event handles (OpenMP omp_event_handle_t): a heap-held dag_event_t that names a
 * detachable task's completion event from its creation on. Pass it as
 * dag_task_attr_t.event with DAG_TASK_DETACHABLE; dag_event_handle_fulfill() fulfils
 * the event and frees the handle (exactly once per handle). */
DAG_API dag_status_t dag_event_handle_new(dag_event_t **handle);
DAG_API dag_status_t dag_event_handle_fulfill(dag_event_t *handle, int code);

/* Dependence objects (OpenMP omp_depobj / `depend(depobj: o)`): a pointer-sized handle
 * holding one dependence. */
typedef struct dag_depobj_rec *dag_depobj_t;
DAG_API dag_status_t dag_depobj_init(dag_depobj_t *obj, const dag_dep_t *dep);
DAG_API dag_status_t dag_depobj_update(dag_depobj_t obj, unsigned mode);
DAG_API dag_status_t dag_depobj_destroy(dag_depobj_t *obj);
/* The dependence o holds (a zero-length one, matching nothing, if o is NULL). */
DAG_API dag_dep_t dag_depobj_dep(dag_depobj_t obj);

/* The calling thread offers to run other ready tasks (OpenMP taskyield). */
DAG_API dag_status_t dag_taskyield(void);

/* GPU data (libdagrt's CUDA layer; each call does nothing, successfully, where no GPU is
 * used). Host memory: dag_cuda_register pins [ptr, ptr+len) (unless it already is) and keeps
 * its device copies across dag_taskwait(); the program then declares its own host writes
 * between waits with dag_cuda_host_modified(), and calls dag_cuda_unregister (which
 * writes device results back) before it frees the memory. Unregistered regions are
 * pinned automatically when large (DAG_CUDA_PIN_MIN) and forgotten by the device at
 * every top-level dag_taskwait(). Call these with no task using the range. */
DAG_API dag_status_t dag_cuda_register(void *ptr, size_t len);
/* dag_cuda_register with flags. DAG_CUDA_RESIDENT: the region's results also stay on the
 * device across waits: neither dag_taskwait() nor the eager write-back copies them home
 * (the host bytes are then stale), as data stays on the device inside an OpenMP `target
 * data` region. They come home when a CPU task or dag_taskwait_deps() reads the exact
 * range, at dag_cuda_host_sync(), at dag_cuda_unregister() and at
 * dag_finalize(). Tasks must name the registered range exactly (a different range over the same bytes is reconciled through the host). */
#define DAG_CUDA_RESIDENT 0x1u
DAG_API dag_status_t dag_cuda_register_flags(void *ptr, size_t len, unsigned flags);
/* Bring the device results of the registered region [ptr, ptr+len) (the range it was
 * registered with) home and wait for them; it stays registered. No task may be writing
 * it. */
DAG_API dag_status_t dag_cuda_host_sync(void *ptr, size_t len);
DAG_API dag_status_t dag_cuda_unregister(void *ptr, size_t len);
DAG_API dag_status_t dag_cuda_host_modified(void *ptr, size_t len);

/* Pinned host memory from the runtime (cudaMallocHost); transfers from it run at full
 * PCIe speed. Free with dag_cuda_free_host. */
DAG_API void *dag_cuda_malloc_host(size_t size);
DAG_API void dag_cuda_free_host(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* DAG_H */
