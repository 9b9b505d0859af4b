/* ucx_pingpong.c: the raw UCX anchor of bench/mpi/run-transports.sh: one-way time of a
 * UCP tag ping-pong between ranks 0 and 1 (8 B and 4 MiB), set up as runtime/comm/ucx.c
 * does (MPI exchanges the worker addresses; same-node endpoints without peer error
 * handling, so UCX may use shared memory). Built by the script with mpicc and
 * pkg-config ucx (not part of the CMake build). Usage: mpirun -np 2 ucx_pingpong */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucp/api/ucp.h>

static ucp_worker_h worker;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int wait_req(void *r)
{
    if (UCS_PTR_IS_ERR(r))
        return -1;
    if (!r)
        return 0;
    ucs_status_t s;
    while ((s = ucp_request_check_status(r)) == UCS_INPROGRESS)
        ucp_worker_progress(worker);
    ucp_request_free(r);
    return s == UCS_OK ? 0 : -1;
}

/* best of 3 repetitions of `iters` round trips, halved */
static double pingpong(ucp_ep_h ep, int me, size_t bytes, int iters)
{
    char *buf = malloc(bytes);
    memset(buf, 1, bytes); /* populated pages, as a program's data */
    ucp_request_param_t p = {.op_attr_mask = 0};
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = now();
        for (int i = 0; i < iters; i++) {
            int rc = 0;
            if (me == 0) {
                rc |= wait_req(ucp_tag_send_nbx(ep, buf, bytes, 7, &p));
                rc |= wait_req(ucp_tag_recv_nbx(worker, buf, bytes, 7, ~0ull, &p));
            } else {
                rc |= wait_req(ucp_tag_recv_nbx(worker, buf, bytes, 7, ~0ull, &p));
                rc |= wait_req(ucp_tag_send_nbx(ep, buf, bytes, 7, &p));
            }
            if (rc) {
                fprintf(stderr, "ucx_pingpong: transfer failed\n");
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
        }
        double t = (now() - t0) / (2.0 * iters);
        MPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (t < best)
            best = t;
    }
    free(buf);
    return best;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int me, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    if (n != 2) {
        if (!me)
            fprintf(stderr, "ucx_pingpong: run with mpirun -np 2\n");
        MPI_Finalize();
        return 1;
    }
    ucp_config_t *cfg;
    ucp_context_h ctx;
    ucp_params_t pp = {.field_mask = UCP_PARAM_FIELD_FEATURES, .features = UCP_FEATURE_TAG};
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SINGLE};
    ucp_address_t *addr;
    size_t len;
    if (ucp_config_read(NULL, NULL, &cfg) != UCS_OK || ucp_init(&pp, cfg, &ctx) != UCS_OK ||
        ucp_worker_create(ctx, &wp, &worker) != UCS_OK ||
        ucp_worker_get_address(worker, &addr, &len) != UCS_OK) {
        fprintf(stderr, "ucx_pingpong: UCX did not start\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    ucp_config_release(cfg);
    int mylen = (int)len, lens[2];
    MPI_Allgather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, MPI_COMM_WORLD);
    char *all = malloc((size_t)lens[0] + (size_t)lens[1]);
    int offs[2] = {0, lens[0]};
    MPI_Allgatherv(addr, mylen, MPI_BYTE, all, lens, offs, MPI_BYTE, MPI_COMM_WORLD);
    ucp_ep_params_t ep = {.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS,
                          .address = (const ucp_address_t *)(all + offs[1 - me])};
    ucp_ep_h e;
    if (ucp_ep_create(worker, &ep, &e) != UCS_OK) {
        fprintf(stderr, "ucx_pingpong: no endpoint\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double t8 = pingpong(e, me, 8, 20000);
    size_t big = 4u << 20;
    double tb = pingpong(e, me, big, 200);
    if (!me)
        printf("raw UCX one-way 8 B %.2f us; bandwidth 4 MiB %.2f GB/s\n", t8 * 1e6,
               (double)big / tb / 1e9);
    ucp_request_param_t cp = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
                              .flags = UCP_EP_CLOSE_FLAG_FORCE};
    MPI_Barrier(MPI_COMM_WORLD);
    wait_req(ucp_ep_close_nbx(e, &cp));
    ucp_worker_release_address(worker, addr);
    ucp_worker_destroy(worker);
    ucp_cleanup(ctx);
    free(all);
    MPI_Finalize();
    return 0;
}
