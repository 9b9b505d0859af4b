/* comm.c: the data-parallel gradient exchange. Each bucket is reduced by a detachable
 * task (inout on the bucket's gradients) that posts MPI_Iallreduce as soon as the
 * dependencies release it; a progress thread tests the requests and fulfils the tasks'
 * events, so workers never block on the network and the exchange of one bucket overlaps
 * the backward pass of the layers below it. Collectives must be posted in the same order
 * on every rank while tasks become ready in any order, so each task carries its
 * submission number and a task whose turn has not come leaves its request queued for the
 * task (or thread) that posts its predecessor. MPI itself is started by the runtime's
 * distributed layer (MPI_THREAD_MULTIPLE). Between GPUs the exchange goes through NCCL
 * instead (nccl.c); DAG_NN_ALLREDUCE=auto|nccl|mpi chooses (nn_exchange_open, below). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nn_model.h"

#ifdef DAG_NN_HAVE_MPI
#include <mpi.h>

#define NN_RING 4096

typedef struct {
    float *buf;
    int n, timed, posted;
    dag_event_t ev;
    double t_ready;
    MPI_Request req;
} nn_op_t;

struct nn_comm {
    MPI_Comm comm;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int stop;
    int blocking; /* DAG_NN_MPI_COLL=blocking: the progress thread calls MPI_Allreduce */
    unsigned long next_submit, next_post, next_done;
    nn_op_t ring[NN_RING]; /* ops by submission number mod NN_RING */
    double exposed_ms;
    long exposed_n;
};

/* post every op whose turn has come (lock held) */
static int post_ready(nn_comm_t *c) {
    int posted = 0;
    for (;;) {
        nn_op_t *o = &c->ring[c->next_post % NN_RING];
        if (c->next_post == c->next_submit || !o->buf) break;
        if (!c->blocking) /* blocking: the progress thread makes the call in this order */
            MPI_Iallreduce(MPI_IN_PLACE, o->buf, o->n, MPI_FLOAT, MPI_SUM, c->comm, &o->req);
        o->posted = 1;
        c->next_post++;
        posted = 1;
    }
    if (posted) pthread_cond_signal(&c->cv);
    return posted;
}

static void *progress(void *p) {
    nn_comm_t *c = p;
    double last = nn_now_ms(); /* the last time a request completed or was posted */
    pthread_mutex_lock(&c->lock);
    while (!c->stop || c->next_done != c->next_post) {
        if (c->next_done == c->next_post) {
            pthread_cond_wait(&c->cv, &c->lock);
            last = nn_now_ms();
            continue;
        }
        int done = 0;
        /* collectives complete in order: test the oldest ones */
        while (c->next_done != c->next_post) {
            nn_op_t *o = &c->ring[c->next_done % NN_RING];
            int flag = 0;
            if (c->blocking) {
                /* one collective at a time, in posting order; Open MPI's blocking
                 * all-reduce runs its shared-memory algorithms to the end inside the
                 * call instead of one libnbc round per test */
                float *buf = o->buf;
                int n = o->n;
                pthread_mutex_unlock(&c->lock);
                MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, c->comm);
                pthread_mutex_lock(&c->lock);
                flag = 1;
            } else {
                MPI_Test(&o->req, &flag, MPI_STATUS_IGNORE);
            }
            if (!flag) break;
            if (o->timed) {
                c->exposed_ms += nn_now_ms() - o->t_ready;
                c->exposed_n++;
            }
            dag_event_t ev = o->ev;
            o->buf = NULL, o->posted = 0;
            c->next_done++;
            done = 1;
            pthread_mutex_unlock(&c->lock);
            dag_event_fulfill(ev, 0);
            pthread_mutex_lock(&c->lock);
        }
        if (done) {
            last = nn_now_ms();
        } else {
            /* A non-blocking collective advances only inside MPI calls (Open MPI's libnbc
             * moves one round per test), so a request in flight is tested back to back:
             * sleeping 20 us asked for 50-80 us per round, and a 2 MiB all-reduce of many
             * rounds took 3.7 ms on the 16-core host. After 1 ms without progress (a peer
             * still computing) it sleeps between tests, so as not to take a worker's
             * core. */
            pthread_mutex_unlock(&c->lock);
            if (nn_now_ms() - last < 1.0) {
                sched_yield();
            } else {
                struct timespec ts = {0, 20000};
                nanosleep(&ts, NULL);
            }
            pthread_mutex_lock(&c->lock);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

dag_status_t nn_comm_create(nn_comm_t **out) {
    int init = 0, level = 0;
    MPI_Initialized(&init);
    if (!init) {
        fprintf(stderr, "dagnn: several ranks but MPI is not running (DAG_COMM=none?)\n");
        return DAG_ERR_UNSUPPORTED;
    }
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_MULTIPLE) {
        fprintf(stderr, "dagnn: the data-parallel exchange needs MPI_THREAD_MULTIPLE\n");
        return DAG_ERR_UNSUPPORTED;
    }
    nn_comm_t *c = calloc(1, sizeof *c);
    if (!c) return DAG_ERR_NOMEM;
    if (MPI_Comm_dup(MPI_COMM_WORLD, &c->comm) != MPI_SUCCESS) {
        free(c);
        return DAG_ERR_COMM;
    }
    const char *mode = getenv("DAG_NN_MPI_COLL");
    c->blocking = mode && !strcasecmp(mode, "blocking");
    if (mode && !c->blocking && strcasecmp(mode, "nonblocking")) {
        fprintf(stderr, "dagnn: DAG_NN_MPI_COLL=%s: expected blocking or nonblocking\n", mode);
        MPI_Comm_free(&c->comm);
        free(c);
        return DAG_ERR_INVALID;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, progress, c)) {
        MPI_Comm_free(&c->comm);
        free(c);
        return DAG_ERR_SYSTEM;
    }
    *out = c;
    return DAG_OK;
}

void nn_comm_destroy(nn_comm_t *c) {
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    MPI_Comm_free(&c->comm);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
    free(c);
}

typedef struct {
    nn_comm_t *c;
    float *buf;
    int n, timed;
    unsigned long seq;
} nn_ar_t;

static int k_allreduce(void *p) {
    nn_ar_t *a = p;
    nn_comm_t *c = a->c;
    dag_event_t ev;
    if (dag_task_detach(&ev) != DAG_OK) return DAG_ERR_STATE;
    pthread_mutex_lock(&c->lock);
    nn_op_t *o = &c->ring[a->seq % NN_RING];
    o->n = a->n, o->timed = a->timed, o->ev = ev, o->t_ready = nn_now_ms();
    o->buf = a->buf;
    post_ready(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

dag_status_t nn_comm_allreduce(nn_comm_t *c, float *buf, size_t n, int timed) {
    if (n > (size_t)1 << 30) return DAG_ERR_INVALID;
    /* ops in flight are bounded by the ring; wait for old ones before reusing a slot */
    pthread_mutex_lock(&c->lock);
    unsigned long seq = c->next_submit;
    int full = seq - c->next_done >= NN_RING;
    pthread_mutex_unlock(&c->lock);
    if (full) {
        dag_status_t st = dag_taskwait();
        if (st) return st;
    }
    nn_ar_t a = {c, buf, (int)n, timed, seq};
    dag_dep_t d = {buf, n * sizeof(float), DAG_INOUT};
    dag_task_attr_t at = {.label = "nn.allreduce", .file = __FILE__, .priority = 1,
                          .flags = DAG_TASK_DETACHABLE};
    pthread_mutex_lock(&c->lock);
    c->next_submit++;
    pthread_mutex_unlock(&c->lock);
    return dag_submit(k_allreduce, &a, sizeof a, &d, 1, &at);
}

void nn_comm_stats(nn_comm_t *c, double *ms, long *n) {
    pthread_mutex_lock(&c->lock);
    *ms = c->exposed_ms, *n = c->exposed_n;
    c->exposed_ms = 0, c->exposed_n = 0;
    pthread_mutex_unlock(&c->lock);
}

#else /* built without MPI: one process only */

dag_status_t nn_comm_create(nn_comm_t **c) {
    (void)c;
    fprintf(stderr, "dagnn: built without MPI, cannot exchange gradients between ranks\n");
    return DAG_ERR_UNSUPPORTED;
}
void nn_comm_destroy(nn_comm_t *c) { (void)c; }
dag_status_t nn_comm_allreduce(nn_comm_t *c, float *buf, size_t n, int timed) {
    (void)c, (void)buf, (void)n, (void)timed;
    return DAG_ERR_UNSUPPORTED;
}
void nn_comm_stats(nn_comm_t *c, double *ms, long *n) {
    (void)c;
    *ms = 0, *n = 0;
}
#endif

#ifndef DAG_NN_HAVE_NCCL /* built without CUDA: no NCCL exchange */
dag_status_t nn_nccl_create(nn_nccl_t **c, int forced, int rank, int nranks) {
    (void)nranks;
    *c = NULL;
    if (!forced) return DAG_OK;
    fprintf(stderr, "dagnn: rank %d: DAG_NN_ALLREDUCE=nccl: libdagnn was built without CUDA\n",
            rank);
    return DAG_ERR_UNSUPPORTED;
}
void nn_nccl_destroy(nn_nccl_t *c) { (void)c; }
dag_status_t nn_nccl_allreduce(nn_nccl_t *c, float *buf, size_t n, int timed) {
    (void)c, (void)buf, (void)n, (void)timed;
    return DAG_ERR_UNSUPPORTED;
}
void nn_nccl_stats(nn_nccl_t *c, double *ms, long *n) {
    (void)c;
    *ms = 0, *n = 0;
}
#endif

/* DAG_NN_ALLREDUCE: auto (NCCL when every rank has one GPU for the model and NCCL loads,
 * else MPI), nccl (an error when NCCL cannot run; on one rank a communicator of one,
 * which exercises the path), mpi */
dag_status_t nn_exchange_open(dag_nn_model_t *m) {
    const char *e = getenv("DAG_NN_ALLREDUCE");
    int mode = 0; /* 0 auto, 1 nccl, 2 mpi */
    if (e && *e && strcasecmp(e, "auto")) {
        if (!strcasecmp(e, "nccl")) mode = 1;
        else if (!strcasecmp(e, "mpi")) mode = 2;
        else {
            fprintf(stderr, "dagnn: DAG_NN_ALLREDUCE=%s: expected auto, nccl or mpi\n", e);
            return DAG_ERR_INVALID;
        }
    }
    if (m->cfg.local) return DAG_OK;
    int dp = m->cfg.parallel == DAG_NN_DATA_PARALLEL;
    dag_status_t st;
    if (dp && mode == 1) return nn_nccl_create(&m->nccl, 1, m->rank, m->nranks);
    if (m->nranks < 2) return DAG_OK;
    if (dp && mode == 0 && m->cfg.device != DAG_DEVICE_CPU &&
        (st = nn_nccl_create(&m->nccl, 0, m->rank, m->nranks)))
        return st;
    return m->nccl ? DAG_OK : nn_comm_create(&m->comm);
}

void nn_exchange_close(dag_nn_model_t *m) {
    if (m->comm) nn_comm_destroy(m->comm);
    if (m->nccl) nn_nccl_destroy(m->nccl);
    m->comm = NULL, m->nccl = NULL;
}

int nn_exchanging(const dag_nn_model_t *m) { return m->nccl || (m->replicas > 1 && m->comm); }

dag_status_t nn_exchange(dag_nn_model_t *m, float *buf, size_t n, int timed) {
    return m->nccl ? nn_nccl_allreduce(m->nccl, buf, n, timed)
                   : nn_comm_allreduce(m->comm, buf, n, timed);
}

void nn_exchange_stats(dag_nn_model_t *m, double *ms, long *n) {
    *ms = 0, *n = 0;
    if (m->nccl) nn_nccl_stats(m->nccl, ms, n);
    else if (m->comm) nn_comm_stats(m->comm, ms, n);
}

const char *dag_nn_allreduce_backend(const dag_nn_model_t *m) {
    return !m ? NULL : m->nccl ? "nccl" : m->comm && m->replicas > 1 ? "mpi" : "none";
}
