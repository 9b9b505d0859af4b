/* ucx.c: the UCX transport (DAG_COMM=ucx): UCP tag matching on one worker with an
 * endpoint to every peer, bootstrapped through MPI (the job is started by mpirun: the
 * worker addresses are exchanged with MPI_Allgather). A 64-bit UCP tag carries the kind
 * (data, envelope or control), the sending rank and the engine's transport tag, so
 * messages from different peers and control traffic never match each other. A transfer's
 * envelope (what it is for) goes ahead of its data; the receiver posts the data receive
 * only once the envelope matched what it expects (xfer_env_check). Messages above max_msg
 * are split into chunks with one tag (UCP matches the messages of one endpoint in the
 * order they were sent). A dead peer fails the transfers that involve it instead of
 * hanging them: endpoints to other nodes use UCX's peer error handling; UCX 1.13's
 * shared-memory transports (posix, sysv, self) have none, so requesting it would move
 * same-node traffic to tcp over loopback (12 us instead of 0.8 us a hop here): those
 * endpoints use no error handling and the peer's process is watched with kill(pid, 0)
 * instead (DAG_UCX_ERR_MODE=auto; `peer` or `none` for every endpoint). The engine's
 * heartbeats remain the last resort. Errors return (never abort the job) except
 * through `abort`. After init, calls come from the engine's thread or a
 * task's thread, never two at once (xfer.c's lock): a serialized worker suffices. */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <ucp/api/ucp.h>

#include "comm.h"
#include "../core/runtime.h"


/* tag bits: 63 control, 62 envelope, 61..32 source rank, 31..0 the engine's tag (or
 * CTRL_TAG) */
#define TAG_CTRL ((uint64_t)1 << 63)
#define TAG_ENV ((uint64_t)1 << 62)
#define TAG_SRC_SHIFT 32
#define TAG_SRC_MASK ((uint64_t)0x3fffffff << TAG_SRC_SHIFT)
#define TAG_LOW_MASK ((uint64_t)0xffffffff)
#define CTRL_TAG 1
#define CTRL_SLOTS 64
#define PROGRESS_MAX 64   /* ucp_worker_progress calls per test, while it finds events */
#define CLOSE_TIMEOUT 5.0 /* seconds fini waits for the endpoints to flush and close */
#define PID_CHECK_S 0.02  /* interval between liveness checks of same-node peers */

static struct {
    ucp_context_h ctx;
    ucp_worker_h worker;
    ucp_ep_h *eps;                  /* per rank; NULL for this rank */
    ucs_status_t *dead;             /* per rank: the endpoint's error, UCS_OK while fine */
    char *told;                     /* per rank: its failure was reported */
    pid_t *lpid;                    /* per rank: its pid when on this node without UCX's
                                     * peer error handling (watched with kill(pid, 0)) */
    double lpid_checked;            /* when the pids were last checked */
    int rank, nranks;
    size_t chunk;
    MPI_Comm boot;                  /* private duplicate of MPI_COMM_WORLD for the exchange */
    void *rreq;                     /* the pre-posted control receive (NULL: to repost) */
    struct ctrl_msg rbuf;
    void *sreq[CTRL_SLOTS];         /* control sends in flight */
    struct ctrl_msg sbuf[CTRL_SLOTS];
} U;

static uint64_t data_tag(int src, int tag)
{
    return ((uint64_t)(uint32_t)src << TAG_SRC_SHIFT) | (uint32_t)tag;
}

static uint64_t ctrl_tag(int src)
{
    return TAG_CTRL | ((uint64_t)(uint32_t)src << TAG_SRC_SHIFT) | CTRL_TAG;
}

static void progress(void)
{
    for (int i = 0; i < PROGRESS_MAX && ucp_worker_progress(U.worker); i++)
        ;
}

/* Endpoint error handler (called from ucp_worker_progress): the peer died or the
 * connection broke; transfers with it now fail (u_test) instead of waiting forever. */
static void ep_failed(void *arg, ucp_ep_h ep, ucs_status_t status)
{
    (void)ep;
    int r = (int)(intptr_t)arg;
    if (U.dead && r >= 0 && r < U.nranks && U.dead[r] == UCS_OK)
        U.dead[r] = status == UCS_OK ? UCS_ERR_ENDPOINT_TIMEOUT : status;
}

/* Same-node peers without UCX error handling: a process that is gone is dead (checked
 * every PID_CHECK_S at most, while a transfer with one of them waits). */
static void check_local_peers(void)
{
    double now = comm_now();
    if (now - U.lpid_checked < PID_CHECK_S)
        return;
    U.lpid_checked = now;
    for (int r = 0; r < U.nranks; r++)
        if (U.lpid[r] && U.dead[r] == UCS_OK && kill(U.lpid[r], 0) && errno == ESRCH)
            U.dead[r] = UCS_ERR_CONNECTION_RESET;
}

/* Said once per peer, when a transfer fails because of it. */
static void report_dead(int peer)
{
    if (peer < 0 || peer >= U.nranks || U.told[peer] || U.dead[peer] == UCS_OK)
        return;
    U.told[peer] = 1;
    if (U.lpid[peer])
        fprintf(stderr, "dagrt[rank %d]: error: rank %d is unreachable (its process %ld on "
                "this node is gone)\n", U.rank, peer, (long)U.lpid[peer]);
    else
        fprintf(stderr, "dagrt[rank %d]: error: rank %d is unreachable (UCX: %s)\n", U.rank,
                peer, ucs_status_string(U.dead[peer]));
}

/* Cancels and releases the requests still in r[0..n) (a released request that is still
 * in flight is freed by UCX when it completes). */
static void drop(void **r, int n)
{
    for (int k = 0; k < n; k++)
        if (r[k]) {
            ucp_request_cancel(U.worker, r[k]);
            ucp_request_free(r[k]);
            r[k] = NULL;
        }
}

/* ---- start and stop ----------------------------------------------------------------- */

static void u_cleanup(void)
{
    if (U.worker)
        ucp_worker_destroy(U.worker);
    if (U.ctx)
        ucp_cleanup(U.ctx);
    free(U.eps);
    free(U.dead);
    free(U.told);
    free(U.lpid);
    U.lpid = NULL;
    U.worker = NULL;
    U.ctx = NULL;
    U.eps = NULL;
    U.dead = NULL;
    U.told = NULL;
}

/* Any source's control message. Always a request (no immediate completion): UCX 1.13
 * does not fill recv_info's sender tag when a receive completes at once, and the
 * sender's rank is only there. */
static int post_ctrl_recv(void)
{
    ucp_request_param_t p = {.op_attr_mask = UCP_OP_ATTR_FLAG_NO_IMM_CMPL};
    void *r = ucp_tag_recv_nbx(U.worker, &U.rbuf, sizeof U.rbuf, TAG_CTRL | CTRL_TAG,
                               TAG_CTRL | TAG_LOW_MASK, &p);
    U.rreq = UCS_PTR_IS_ERR(r) ? NULL : r;
    return U.rreq ? 0 : -1;
}

/* This rank's worker address, or len 0 when UCX could not start here. */
static void local_start(ucp_address_t **addr, size_t *len)
{
    *addr = NULL;
    *len = 0;
    ucp_config_t *cfg;
    if (ucp_config_read(NULL, NULL, &cfg) != UCS_OK)
        return;
    ucp_params_t pp = {
        .field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_TAG_SENDER_MASK |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_EPS | UCP_PARAM_FIELD_NAME,
        .features = UCP_FEATURE_TAG,
        .tag_sender_mask = TAG_SRC_MASK,
        .estimated_num_eps = (size_t)U.nranks,
        .name = "dagrt",
    };
    ucs_status_t s = ucp_init(&pp, cfg, &U.ctx);
    ucp_config_release(cfg);
    if (s != UCS_OK) {
        fprintf(stderr, "dagrt[rank %d]: error: ucp_init: %s\n", U.rank, ucs_status_string(s));
        U.ctx = NULL;
        return;
    }
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SERIALIZED};
    s = ucp_worker_create(U.ctx, &wp, &U.worker);
    if (s != UCS_OK) {
        fprintf(stderr, "dagrt[rank %d]: error: ucp_worker_create: %s\n", U.rank,
                ucs_status_string(s));
        U.worker = NULL;
        return;
    }
    s = ucp_worker_get_address(U.worker, addr, len);
    if (s != UCS_OK || *len == 0 || *len > INT_MAX) {
        fprintf(stderr, "dagrt[rank %d]: error: ucp_worker_get_address: %s\n", U.rank,
                ucs_status_string(s));
        if (s == UCS_OK)
            ucp_worker_release_address(U.worker, *addr);
        *addr = NULL;
        *len = 0;
    }
}

/* What each rank tells the others at start-up. */
struct peer_info {
    int64_t addr_len; /* 0: UCX could not start there (nobody connects) */
    int64_t pid;
    char host[64];
};

/* Endpoint error mode for peer r (DAG_UCX_ERR_MODE, see the top of the file). */
static int peer_mode(const char *mode, int local)
{
    if (!strcmp(mode, "peer"))
        return UCP_ERR_HANDLING_MODE_PEER;
    if (!strcmp(mode, "none") || local)
        return UCP_ERR_HANDLING_MODE_NONE;
    return UCP_ERR_HANDLING_MODE_PEER;
}

/* Every rank's worker address (collective); an endpoint to each peer. 0 or -1. */
static int connect_all(ucp_address_t *addr, size_t len)
{
    int n = U.nranks, ok = 1, all_ok = 0;
    struct peer_info me = {.addr_len = (int64_t)len, .pid = (int64_t)getpid()};
    gethostname(me.host, sizeof me.host - 1);
    struct peer_info *info = calloc((size_t)n, sizeof *info);
    int *lens = calloc((size_t)n, sizeof *lens), *offs = calloc((size_t)n, sizeof *offs);
    char *all = NULL;
    ok = info && lens && offs && len > 0; /* else nobody connects */
    if (MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, U.boot) != MPI_SUCCESS || !all_ok ||
        MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, info, (int)sizeof me, MPI_BYTE,
                      U.boot) != MPI_SUCCESS) {
        all_ok = 0;
        goto out;
    }
    all_ok = 0;
    size_t total = 0;
    for (int r = 0; r < n; r++) {
        if (info[r].addr_len <= 0 || total + (size_t)info[r].addr_len > INT_MAX)
            goto out; /* every rank sees the same lengths: all give up together */
        lens[r] = (int)info[r].addr_len;
        offs[r] = (int)total;
        total += (size_t)info[r].addr_len;
    }
    ok = (all = malloc(total)) != NULL;
    if (MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, U.boot) != MPI_SUCCESS || !all_ok ||
        MPI_Allgatherv(addr, lens[U.rank], MPI_BYTE, all, lens, offs, MPI_BYTE, U.boot) !=
            MPI_SUCCESS) {
        all_ok = 0;
        goto out;
    }
    const char *mode = getenv("DAG_UCX_ERR_MODE");
    if (!mode || (strcmp(mode, "peer") && strcmp(mode, "none")))
        mode = "auto";
    for (int r = 0; r < n && ok; r++) {
        if (r == U.rank)
            continue;
        int local = !strncmp(info[r].host, me.host, sizeof me.host);
        ucp_ep_params_t ep = {
            .field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS |
                          UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER,
            .address = (const ucp_address_t *)(all + offs[r]),
            .err_mode = (ucp_err_handling_mode_t)peer_mode(mode, local),
            .err_handler = {.cb = ep_failed, .arg = (void *)(intptr_t)r},
        };
        /* a peer on this node without UCX's error handling: watch its process instead
         * (if this process can see it: it is alive now, another pid namespace is not) */
        pid_t pid = (pid_t)info[r].pid;
        U.lpid[r] = local && ep.err_mode == UCP_ERR_HANDLING_MODE_NONE && kill(pid, 0) == 0
                        ? pid : 0;
        ucs_status_t s = ucp_ep_create(U.worker, &ep, &U.eps[r]);
        if (s != UCS_OK) {
            fprintf(stderr, "dagrt[rank %d]: error: ucp_ep_create to rank %d: %s\n", U.rank,
                    r, ucs_status_string(s));
            U.eps[r] = NULL;
            ok = 0;
        }
    }
    if (MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, U.boot) != MPI_SUCCESS)
        all_ok = 0;
out:
    free(all);
    free(info);
    free(lens);
    free(offs);
    return all_ok ? 0 : -1;
}

static void close_all(int force);

static dag_status_t u_init(int *rank, int *nranks)
{
    dag_status_t st = comm_mpi_boot();
    if (st)
        return st;
    if (!U.boot || U.boot == MPI_COMM_NULL) { /* kept: MPI cannot restart */
        if (MPI_Comm_dup(MPI_COMM_WORLD, &U.boot) != MPI_SUCCESS)
            return DAG_ERR_COMM;
        MPI_Comm_set_errhandler(U.boot, MPI_ERRORS_RETURN);
    }
    MPI_Comm_rank(U.boot, rank);
    MPI_Comm_size(U.boot, nranks);
    U.rank = *rank;
    U.nranks = *nranks;
    transport_ucx.serialized = 1;
    transport_ucx.tag_space = 1L << 31; /* the engine's tags fit the low 32 tag bits */
    U.chunk = (size_t)env_long("DAG_COMM_MAX_MSG", COMM_MAX_MSG_DEFAULT, 1, INT_MAX);
    transport_ucx.chunk = U.chunk;
    transport_ucx.staged_ok = 1; /* u_start/u_test post only chunks below op->ready */
    if (U.nranks < 2)
        return DAG_OK; /* no engine runs (and fini is not called) */
    U.eps = calloc((size_t)U.nranks, sizeof *U.eps);
    U.dead = calloc((size_t)U.nranks, sizeof *U.dead);
    U.told = calloc((size_t)U.nranks, 1);
    U.lpid = calloc((size_t)U.nranks, sizeof *U.lpid);
    for (int i = 0; i < CTRL_SLOTS; i++)
        U.sreq[i] = NULL;
    U.rreq = NULL;
    ucp_address_t *addr = NULL;
    size_t len = 0;
    if (U.eps && U.dead && U.told && U.lpid)
        local_start(&addr, &len);
    int rc = connect_all(addr, len); /* collective even when this rank failed */
    if (addr)
        ucp_worker_release_address(U.worker, addr);
    if (rc == 0 && post_ctrl_recv())
        rc = -1;
    if (rc) {
        if (U.worker)
            close_all(1);
        u_cleanup();
        return DAG_ERR_COMM;
    }
    /* for the tests: DAG_COMM=ucx really runs on UCX (no silent fallback); set before
     * any worker thread exists */
    setenv("DAG_COMM_ACTIVE", "ucx", 1);
    return DAG_OK;
}

/* Flush and close every endpoint (force: drop what is pending, for dead peers or after
 * a failure), progressing for at most CLOSE_TIMEOUT. */
static void close_all(int force)
{
    void **reqs = calloc((size_t)U.nranks, sizeof *reqs);
    if (!reqs)
        force = 1; /* nothing to wait with: drop what is pending */
    for (int r = 0; r < U.nranks; r++) {
        if (!U.eps || !U.eps[r])
            continue;
        ucp_request_param_t p = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
                                 .flags = force || U.dead[r] != UCS_OK ? UCP_EP_CLOSE_FLAG_FORCE
                                                                       : 0};
        void *q = ucp_ep_close_nbx(U.eps[r], &p);
        U.eps[r] = NULL;
        if (q && !UCS_PTR_IS_ERR(q)) {
            if (reqs)
                reqs[r] = q;
            else
                ucp_request_free(q); /* the worker's destruction reclaims it */
        }
    }
    if (!reqs)
        return;
    double t0 = comm_now();
    for (;;) {
        int pending = 0;
        ucp_worker_progress(U.worker);
        for (int r = 0; r < U.nranks; r++)
            if (reqs[r]) {
                if (ucp_request_check_status(reqs[r]) == UCS_INPROGRESS) {
                    pending = 1;
                    continue;
                }
                ucp_request_free(reqs[r]);
                reqs[r] = NULL;
            }
        if (!pending)
            break;
        if (comm_now() - t0 > CLOSE_TIMEOUT) {
            fprintf(stderr, "dagrt[rank %d]: warning: UCX endpoints did not close within "
                    "%.0f s\n", U.rank, CLOSE_TIMEOUT);
            for (int r = 0; r < U.nranks; r++)
                if (reqs[r])
                    ucp_request_free(reqs[r]); /* the worker's destruction reclaims them */
            break;
        }
        struct timespec ts = {0, 10000};
        nanosleep(&ts, NULL);
    }
    free(reqs);
}

static void u_fini(int broken)
{
    if (!U.worker)
        return;
    if (U.rreq) {
        ucp_request_cancel(U.worker, U.rreq);
        ucp_request_free(U.rreq);
        U.rreq = NULL;
    }
    for (int i = 0; i < CTRL_SLOTS; i++)
        if (U.sreq[i]) {
            if (broken)
                ucp_request_cancel(U.worker, U.sreq[i]);
            ucp_request_free(U.sreq[i]); /* freed by UCX once the flush completes it */
            U.sreq[i] = NULL;
        }
    close_all(broken);
    u_cleanup();
}

static void u_abort(int code)
{
    comm_mpi_abort(code);
}

/* ---- transfers ---------------------------------------------------------------------- */

/* Posts the chunks whose bytes may be read (op->ready: a staged send's data arrives from
 * a device piece by piece); later tests post the rest. r[0] is the envelope's request,
 * r[1 + k] chunk k's. */
static int post_chunks(struct comm_op *op)
{
    void **r = (void **)op->treq + 1;
    ucp_request_param_t p = {.op_attr_mask = 0}; /* contiguous bytes, no callback */
    for (; op->nposted < op->nreq; op->nposted++) {
        size_t k = (size_t)op->nposted, off = k * U.chunk;
        size_t len = op->len - off < U.chunk ? op->len - off : U.chunk;
        if (op->kind == OP_SEND && off + len > op->ready)
            return 0;
        void *q = op->kind == OP_SEND
                      ? ucp_tag_send_nbx(U.eps[op->peer], op->buf + off, len,
                                         data_tag(U.rank, op->tag), &p)
                      : ucp_tag_recv_nbx(U.worker, op->buf + off, len,
                                         data_tag(op->peer, op->tag), ~(uint64_t)0, &p);
        if (UCS_PTR_IS_ERR(q)) {
            fprintf(stderr, "dagrt[rank %d]: error: UCX %s of %zu bytes: %s\n", U.rank,
                    op->kind == OP_SEND ? "send" : "receive", len,
                    ucs_status_string(UCS_PTR_STATUS(q)));
            return -1;
        }
        r[k] = q; /* NULL: completed at once */
    }
    return 0;
}

/* The envelope: a sender's alone or packed with its data (comm_pack); a receiver's into
 * a buffer with room for a packed message, whatever this side expects. */
static int post_env(struct comm_op *op)
{
    void **r = op->treq;
    void *q;
    if (op->kind == OP_SEND) {
        ucp_request_param_t p = {.op_attr_mask = 0};
        size_t bytes = sizeof op->env;
        const void *buf = &op->env;
        if ((op->pack = comm_pack(op, &bytes))) {
            op->nreq = 0;
            buf = op->pack;
        }
        q = ucp_tag_send_nbx(U.eps[op->peer], buf, bytes, TAG_ENV | data_tag(U.rank, op->tag),
                             &p);
    } else {
        if (!(op->pack = comm_pack_get()))
            return -1;
        ucp_request_param_t p = {.op_attr_mask = UCP_OP_ATTR_FLAG_NO_IMM_CMPL};
        q = ucp_tag_recv_nbx(U.worker, op->pack, sizeof op->got + COMM_PACK_MAX,
                             TAG_ENV | data_tag(op->peer, op->tag), ~(uint64_t)0, &p);
    }
    if (UCS_PTR_IS_ERR(q))
        return -1;
    r[0] = q;
    return 0;
}

static int u_start(struct comm_op *op)
{
    if (op->peer < 0 || op->peer >= U.nranks || !U.eps[op->peer] ||
        U.dead[op->peer] != UCS_OK) {
        report_dead(op->peer);
        return -1;
    }
    size_t n = op->len ? (op->len + U.chunk - 1) / U.chunk : 1;
    if (n >= INT_MAX)
        return -1;
    void **r = comm_treq_alloc(op, (n + 1) * sizeof *r);
    if (!r)
        return -1;
    for (size_t k = 0; k <= n; k++)
        r[k] = NULL;
    op->treq = r;
    op->nreq = (int)n;
    op->nposted = 0;
    op->env_ok = 0;
    if (post_env(op) || (op->kind == OP_SEND && post_chunks(op))) {
        drop(r, op->nposted + 1);
        return -1;
    }
    return 0;
}

/* A receive's envelope: 2 matched (data receives may be posted), 1 the packed data is in
 * place, 0 not yet, or XFER_FAILED / XFER_MISMATCH. */
static int env_arrived(struct comm_op *op)
{
    void **r = op->treq;
    ucp_tag_recv_info_t info = {0};
    progress();
    ucs_status_t s = ucp_tag_recv_request_test(r[0], &info);
    if (s == UCS_INPROGRESS)
        return 0;
    ucp_request_free(r[0]);
    r[0] = NULL;
    if (s != UCS_OK)
        return XFER_FAILED;
    int u = comm_unpack(op, info.length);
    if (u == 0)
        op->env_ok = 1;
    return u == 0 ? 2 : u; /* 2: matched, the data follows */
}

static int u_test(struct comm_op *op)
{
    void **r = op->treq;
    if (op->kind == OP_RECV && !op->env_ok) {
        int e = env_arrived(op);
        if (e == XFER_MISMATCH || e == 1)
            return e;
        if (e == 0 && U.lpid[op->peer])
            check_local_peers();
        if (e < 0 || (e == 0 && U.dead[op->peer] != UCS_OK)) {
            report_dead(op->peer);
            drop(r, 1);
            return XFER_FAILED;
        }
        if (e == 0)
            return 0;
    }
    int failed = op->nposted < op->nreq && post_chunks(op);
    int pending = op->nposted < op->nreq;
    progress();
    for (int k = 0; k <= op->nreq; k++) {
        if (!r[k])
            continue;
        ucs_status_t s = ucp_request_check_status(r[k]);
        if (s == UCS_INPROGRESS) {
            pending = 1;
            continue;
        }
        ucp_request_free(r[k]);
        r[k] = NULL;
        if (s != UCS_OK) {
            if (!failed && U.dead[op->peer] == UCS_OK)
                fprintf(stderr, "dagrt[rank %d]: error: UCX %s with rank %d: %s\n", U.rank,
                        op->kind == OP_SEND ? "send" : "receive", op->peer,
                        ucs_status_string(s));
            failed = 1;
        }
    }
    /* a receive is not bound to the endpoint: fail it when its peer is known dead */
    if (!failed && pending && U.lpid[op->peer])
        check_local_peers();
    if (!failed && pending && U.dead[op->peer] != UCS_OK)
        failed = 1;
    if (failed) {
        report_dead(op->peer);
        drop(r, op->nreq + 1);
        return XFER_FAILED;
    }
    return pending ? 0 : 1;
}

static void u_cancel(struct comm_op *op)
{
    if (op->treq)
        drop(op->treq, op->nreq + 1);
}

/* ---- control messages --------------------------------------------------------------- */

static int u_ctrl_send(int peer, const struct ctrl_msg *m)
{
    if (peer < 0 || peer >= U.nranks || !U.eps[peer] || U.dead[peer] != UCS_OK)
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            progress();
        for (int i = 0; i < CTRL_SLOTS; i++) {
            if (U.sreq[i]) {
                if (ucp_request_check_status(U.sreq[i]) == UCS_INPROGRESS)
                    continue;
                ucp_request_free(U.sreq[i]);
                U.sreq[i] = NULL;
            }
            U.sbuf[i] = *m;
            ucp_request_param_t p = {.op_attr_mask = 0};
            void *q = ucp_tag_send_nbx(U.eps[peer], &U.sbuf[i], sizeof *m,
                                       ctrl_tag(U.rank), &p);
            if (UCS_PTR_IS_ERR(q))
                return -1;
            U.sreq[i] = q;
            return 0;
        }
    }
    return -1; /* every slot busy: a heartbeat is lost, which the timeout tolerates */
}

static int u_ctrl_poll(struct ctrl_msg *m, int *peer)
{
    if (!U.worker)
        return 0;
    progress();
    if (!U.rreq && post_ctrl_recv()) /* a repost failed earlier: retry */
        return 0;
    ucp_tag_recv_info_t info;
    ucs_status_t s = ucp_tag_recv_request_test(U.rreq, &info);
    if (s == UCS_INPROGRESS)
        return 0;
    ucp_request_free(U.rreq);
    U.rreq = NULL;
    if (s == UCS_OK) {
        *m = U.rbuf;
        *peer = (int)((info.sender_tag & TAG_SRC_MASK) >> TAG_SRC_SHIFT);
    }
    post_ctrl_recv(); /* on failure rreq stays NULL: retried at the next poll */
    return s == UCS_OK;
}

static int u_ctrl_idle(void)
{
    progress();
    for (int i = 0; i < CTRL_SLOTS; i++)
        if (U.sreq[i]) {
            if (ucp_request_check_status(U.sreq[i]) == UCS_INPROGRESS)
                return 0;
            ucp_request_free(U.sreq[i]);
            U.sreq[i] = NULL;
        }
    return 1;
}

struct transport transport_ucx = {
    .name = "ucx",
    .init = u_init,
    .start = u_start,
    .test = u_test,
    .cancel = u_cancel,
    .ctrl_send = u_ctrl_send,
    .ctrl_poll = u_ctrl_poll,
    .ctrl_idle = u_ctrl_idle,
    .fini = u_fini,
    .abort = u_abort,
};
