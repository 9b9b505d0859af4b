/* mpi.c: the MPI transport: non-blocking point-to-point on private duplicates of
 * MPI_COMM_WORLD for data, envelopes and control, so none collides with the program's own
 * MPI traffic. A transfer is an envelope (what it is for: struct comm_env) and the data
 * with the same tag; the receiver posts the data receive only once the envelope arrived
 * and matched (xfer_env_check), so a mismatched message is never delivered. Up to
 * COMM_PACK_MAX bytes travel in the envelope's message and are copied into the tile
 * after the check (comm_unpack). Messages
 * above max_msg are split into chunks sent with the same tag, which MPI's non-overtaking
 * rule keeps in order. Errors return (never abort
 * the job) except through `abort`. After init, calls come from the engine's thread or a
 * task's thread, never two at once (xfer.c's lock). */
#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "../core/runtime.h"

#define CTRL_TAG 1
#define CTRL_SLOTS 64

static struct {
    MPI_Comm data, ctrl, env;
    size_t chunk;
    MPI_Request rreq;               /* the pre-posted control receive */
    struct ctrl_msg rbuf;
    MPI_Request sreq[CTRL_SLOTS];   /* control sends in flight */
    struct ctrl_msg sbuf[CTRL_SLOTS];
} M;

static void finalize_at_exit(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Finalize();
}

/* Starts MPI unless the program did (then it is the program's to finalize). Shared with
 * the UCX transport (ucx.c), which bootstraps through MPI. */
dag_status_t comm_mpi_boot(void)
{
    int inited = 0, fin = 0;
    MPI_Finalized(&fin);
    if (fin)
        return DAG_ERR_STATE; /* MPI cannot start twice in one process */
    MPI_Initialized(&inited);
    if (!inited) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
            return DAG_ERR_COMM;
        atexit(finalize_at_exit); /* runs after the runtime's drain (registered later) */
        if (provided < MPI_THREAD_SERIALIZED)
            fprintf(stderr, "dagrt: warning: MPI provides thread level %d only\n", provided);
    }
    return DAG_OK;
}

static dag_status_t m_init(int *rank, int *nranks)
{
    dag_status_t st = comm_mpi_boot();
    if (st)
        return st;
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    transport_mpi.serialized = level >= MPI_THREAD_SERIALIZED;
    if (M.data == MPI_COMM_NULL || !M.data) {
        MPI_Comm_dup(MPI_COMM_WORLD, &M.data);
        MPI_Comm_dup(MPI_COMM_WORLD, &M.ctrl);
        MPI_Comm_dup(MPI_COMM_WORLD, &M.env);
        MPI_Comm_set_errhandler(M.data, MPI_ERRORS_RETURN);
        MPI_Comm_set_errhandler(M.ctrl, MPI_ERRORS_RETURN);
        MPI_Comm_set_errhandler(M.env, MPI_ERRORS_RETURN);
    }
    int *ub, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
    transport_mpi.tag_space = flag && *ub > 0 ? (long)*ub + 1 : 32768;
    MPI_Comm_rank(M.data, rank);
    MPI_Comm_size(M.data, nranks);
    /* well below INT_MAX: one chunk is copied inside one progress call, and the engine
     * cannot exchange heartbeats meanwhile */
    M.chunk = (size_t)env_long("DAG_COMM_MAX_MSG", COMM_MAX_MSG_DEFAULT, 1, INT_MAX);
    transport_mpi.chunk = M.chunk;
    transport_mpi.staged_ok = 1;
    for (int i = 0; i < CTRL_SLOTS; i++)
        M.sreq[i] = MPI_REQUEST_NULL;
    M.rreq = MPI_REQUEST_NULL;
    if (*nranks > 1 &&
        MPI_Irecv(&M.rbuf, (int)sizeof M.rbuf, MPI_BYTE, MPI_ANY_SOURCE, CTRL_TAG, M.ctrl,
                  &M.rreq) != MPI_SUCCESS)
        return DAG_ERR_COMM;
    return DAG_OK;
}

/* Posts the chunks whose bytes may be read (op->ready: a staged send's data arrives
 * from a device piece by piece); the rest are posted by later tests. r[0] is the
 * envelope's request, r[1 + k] chunk k's. */
static int post_chunks(struct comm_op *op)
{
    MPI_Request *r = (MPI_Request *)op->treq + 1;
    for (; op->nposted < op->nreq; op->nposted++) {
        size_t k = (size_t)op->nposted, off = k * M.chunk;
        int len = (int)(op->len - off < M.chunk ? op->len - off : M.chunk);
        if (op->kind == OP_SEND && off + (size_t)len > op->ready)
            return 0;
        int rc = op->kind == OP_SEND
                     ? MPI_Isend(op->buf + off, len, MPI_BYTE, op->peer, op->tag, M.data, &r[k])
                     : MPI_Irecv(op->buf + off, len, MPI_BYTE, op->peer, op->tag, M.data, &r[k]);
        if (rc != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static int m_start(struct comm_op *op)
{
    size_t n = op->len ? (op->len + M.chunk - 1) / M.chunk : 1;
    MPI_Request *r = comm_treq_alloc(op, (n + 1) * sizeof *r);
    if (!r)
        return -1;
    for (size_t k = 0; k <= n; k++)
        r[k] = MPI_REQUEST_NULL;
    op->treq = r;
    op->nreq = (int)n;
    op->nposted = 0;
    op->env_ok = 0;
    if (op->kind == OP_RECV) { /* room for a packed message, whatever this side expects */
        if (!(op->pack = comm_pack_get()))
            return -1;
        return MPI_Irecv(op->pack, (int)(sizeof op->got + COMM_PACK_MAX), MPI_BYTE, op->peer,
                         op->tag, M.env, &r[0]) == MPI_SUCCESS ? 0 : -1;
    }
    size_t bytes;
    if ((op->pack = comm_pack(op, &bytes))) { /* one message: envelope and data */
        op->nreq = 0;
        return MPI_Isend(op->pack, (int)bytes, MPI_BYTE, op->peer, op->tag, M.env, &r[0]) ==
                       MPI_SUCCESS ? 0 : -1;
    }
    if (MPI_Isend(&op->env, (int)sizeof op->env, MPI_BYTE, op->peer, op->tag, M.env, &r[0]) !=
        MPI_SUCCESS)
        return -1;
    return post_chunks(op);
}

static int m_test(struct comm_op *op)
{
    int flag = 0;
    MPI_Request *r = op->treq;
    if (op->kind == OP_RECV && !op->env_ok) { /* nothing is delivered before it matched */
        MPI_Status st;
        int count = 0;
        if (MPI_Test(&r[0], &flag, &st) != MPI_SUCCESS)
            return XFER_FAILED;
        if (!flag)
            return 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        int u = comm_unpack(op, count > 0 ? (size_t)count : 0);
        if (u != 0)
            return u; /* packed: done, or a mismatch */
        op->env_ok = 1;
    }
    if (op->nposted < op->nreq && post_chunks(op))
        return XFER_FAILED;
    if (MPI_Testall(op->nposted + 1, r, &flag, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        return XFER_FAILED;
    return flag && op->nposted == op->nreq ? 1 : 0;
}

static void m_cancel(struct comm_op *op)
{
    MPI_Request *r = op->treq;
    for (int k = 0; k <= op->nreq; k++)
        if (r[k] != MPI_REQUEST_NULL) {
            MPI_Cancel(&r[k]);
            MPI_Request_free(&r[k]);
        }
}

static int m_ctrl_send(int peer, const struct ctrl_msg *m)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < CTRL_SLOTS; i++) {
            int done = 1;
            if (M.sreq[i] != MPI_REQUEST_NULL)
                MPI_Test(&M.sreq[i], &done, MPI_STATUS_IGNORE);
            if (!done)
                continue;
            M.sbuf[i] = *m;
            return MPI_Isend(&M.sbuf[i], (int)sizeof *m, MPI_BYTE, peer, CTRL_TAG, M.ctrl,
                             &M.sreq[i]) == MPI_SUCCESS ? 0 : -1;
        }
    }
    return -1; /* every slot busy: a heartbeat is lost, which the timeout tolerates */
}

static int m_ctrl_poll(struct ctrl_msg *m, int *peer)
{
    int flag = 0;
    MPI_Status s;
    if (M.rreq == MPI_REQUEST_NULL || MPI_Test(&M.rreq, &flag, &s) != MPI_SUCCESS || !flag)
        return 0;
    *m = M.rbuf;
    *peer = s.MPI_SOURCE;
    if (MPI_Irecv(&M.rbuf, (int)sizeof M.rbuf, MPI_BYTE, MPI_ANY_SOURCE, CTRL_TAG, M.ctrl,
                  &M.rreq) != MPI_SUCCESS)
        M.rreq = MPI_REQUEST_NULL;
    return 1;
}

static int m_ctrl_idle(void)
{
    int flag = 0;
    MPI_Testall(CTRL_SLOTS, M.sreq, &flag, MPI_STATUSES_IGNORE);
    return flag;
}

static void m_fini(int broken)
{
    (void)broken;
    if (M.rreq != MPI_REQUEST_NULL) {
        MPI_Cancel(&M.rreq);
        MPI_Request_free(&M.rreq);
    }
    /* the communicators stay: a later dag_init reuses them (MPI cannot restart) */
}

/* Under `mpirun --enable-recovery` (Open MPI 4.1) mpirun exits with status 0 whatever
 * its processes do, MPI_Abort included: ask the launcher itself to stop (SIGTERM to this
 * process's mpirun or orted, which then ends the job with a non-zero status), after a
 * moment for the other ranks' messages to get out. */
static void stop_launcher(void)
{
    const char *rec = getenv("OMPI_MCA_orte_enable_recovery");
    if (!rec || strcmp(rec, "1"))
        return;
    char path[64], name[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)getppid());
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(name, sizeof name, f))
        name[0] = 0;
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, "mpirun") && strcmp(name, "mpiexec") && strcmp(name, "orterun") &&
        strcmp(name, "orted"))
        return;
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    kill(getppid(), SIGTERM);
}

void comm_mpi_abort(int code)
{
    fflush(stderr);
    stop_launcher();
    MPI_Abort(MPI_COMM_WORLD, code);
    _exit(code ? code : 1); /* MPI_Abort may return under recovery */
}

static void m_abort(int code)
{
    comm_mpi_abort(code);
}

struct transport transport_mpi = {
    .name = "mpi",
    .init = m_init,
    .start = m_start,
    .test = m_test,
    .cancel = m_cancel,
    .ctrl_send = m_ctrl_send,
    .ctrl_poll = m_ctrl_poll,
    .ctrl_idle = m_ctrl_idle,
    .fini = m_fini,
    .abort = m_abort,
};

/* Launched by mpirun (or the program started MPI itself) with more than one rank? Reads
 * the launcher's environment only, so that a plain run never starts MPI. */
int comm_detect(int *local_size)
{
    const char *s = getenv("DAG_COMM");
    if (s && !strcmp(s, "none"))
        return 0;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    const char *l = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!l)
        l = getenv("MPI_LOCALNRANKS");
    *local_size = l ? atoi(l) : 1;
    if (*local_size < 1)
        *local_size = 1;
    dist.local_size = *local_size;
    if (n && atoi(n) > 1)
        return 1;
    int inited = 0, fin = 0, size = 1;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (inited && !fin) {
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        return size > 1;
    }
    return 0;
}
