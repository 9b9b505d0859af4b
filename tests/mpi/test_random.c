/* test_random.c: randomised differential test of distributed DAGs. Each seed builds a
 * random program over the tiles of a registered matrix (random distribution): tasks read
 * 0-3 tiles and write one (inout, whole-tile out, or partial out), some pinned with the
 * node clause, some spanning two tiles, some replicated readers that accumulate into
 * private memory. Every rank replays the program sequentially on plain memory and checks
 * that the distributed result (fetched to every rank) is identical, bit for bit.
 * Usage: test_mpi_random [seeds] [tasks] [first_seed] */
#include <string.h>

#include "mpitest.h"

#define W 8 /* uint64 words per tile */

struct op {
    int kind;      /* 0: compute, 1: replicated reader */
    int out, pout; /* written tile, 1: partial (first half only) */
    int mode;      /* DAG_INOUT or DAG_OUT */
    int nin, in[3];
    int span;      /* the write covers tiles out and out+1 */
    int node;      /* -1 or the rank to run on */
    uint64_t salt;
};

struct args {
    uint64_t *out, *in[3];
    int nin, mode, pout, span;
    uint64_t salt;
};

/* Inputs are read in full before anything is written (an input may alias the output). */
static void apply(const struct args *a)
{
    int words = a->pout ? W / 2 : W * (a->span ? 2 : 1);
    uint64_t in[3][W];
    for (int i = 0; i < a->nin; i++)
        memcpy(in[i], a->in[i], sizeof in[i]);
    for (int k = 0; k < words; k++) {
        uint64_t v = a->mode == DAG_INOUT ? a->out[k] * 31 : 0;
        for (int i = 0; i < a->nin; i++)
            v += in[i][k % W] ^ (a->salt + (uint64_t)i);
        a->out[k] = v + a->salt;
    }
}

static int body(void *p)
{
    apply(p);
    return 0;
}

struct racc {
    uint64_t *acc;
    const uint64_t *src;
};

static int reader(void *p)
{
    struct racc *r = p;
    for (int k = 0; k < W; k++)
        *r->acc = *r->acc * 1000003 + r->src[k];
    return 0;
}

static int run_seed(uint64_t seed, int ntasks, int n)
{
    uint64_t rs = seed;
    int mt = 2 + rng_int(&rs, 10), nt = 1 + rng_int(&rs, 3), ntiles = mt * nt;
    dag_dist_t d = {.kind = (dag_dist_kind_t)(1 + rng_int(&rs, 4)), .block = 1 + rng_int(&rs, 2)};
    dag_matrix_t *m;
    CHECK_OK(dag_matrix_create(&m, mt, nt, W * sizeof(uint64_t), &d));
    uint64_t *ref = calloc((size_t)ntiles * W, sizeof *ref);
    uint64_t acc = 0, ref_acc = 0;
    CHECK(ref);
    for (int t = 0; t < ntasks; t++) {
        struct op o = {0};
        o.kind = rng_int(&rs, 10) == 0;
        o.out = rng_int(&rs, ntiles);
        o.nin = rng_int(&rs, 4);
        for (int i = 0; i < o.nin; i++)
            o.in[i] = rng_int(&rs, ntiles);
        int r = rng_int(&rs, 10);
        o.mode = r < 6 ? DAG_INOUT : DAG_OUT;
        o.pout = o.mode == DAG_OUT && r == 9;
        o.span = !o.pout && o.out + 1 < ntiles && rng_int(&rs, 8) == 0;
        o.node = rng_int(&rs, 5) == 0 ? rng_int(&rs, n) : -1;
        o.salt = rng_next(&rs);
        dag_task_attr_t at = {.label = o.kind ? "reader" : "compute", .file = __FILE__,
                              .line = __LINE__};
        if (o.node >= 0) {
            at.flags = DAG_TASK_ON_NODE;
            at.node = o.node;
        }
        if (o.kind) {
            int src = o.out;
            struct racc ra = {&acc, dag_tile(m, src / nt, src % nt)};
            dag_dep_t dd[2] = {{(void *)ra.src, W * 8, DAG_IN}, {&acc, 8, DAG_INOUT}};
            at.flags = 0; /* replicated: runs on every rank */
            CHECK_OK(dag_submit(reader, &ra, sizeof ra, dd, 2, &at));
            struct racc rr = {&ref_acc, ref + (size_t)src * W};
            reader(&rr);
            continue;
        }
        struct args a = {.out = dag_tile(m, o.out / nt, o.out % nt), .nin = o.nin,
                         .mode = o.mode, .pout = o.pout, .span = o.span, .salt = o.salt};
        dag_dep_t dd[4];
        size_t wlen = (size_t)(o.pout ? W / 2 : W * (o.span ? 2 : 1)) * 8;
        dd[0] = (dag_dep_t){a.out, wlen, (unsigned)o.mode};
        for (int i = 0; i < o.nin; i++) {
            a.in[i] = dag_tile(m, o.in[i] / nt, o.in[i] % nt);
            dd[1 + i] = (dag_dep_t){a.in[i], W * 8, DAG_IN};
        }
        CHECK_OK(dag_submit(body, &a, sizeof a, dd, (size_t)(1 + o.nin), &at));
        struct args b = a;
        b.out = ref + (size_t)o.out * W;
        for (int i = 0; i < o.nin; i++)
            b.in[i] = ref + (size_t)o.in[i] * W;
        apply(&b);
    }
    CHECK_OK(dag_dist_fetch(dag_tile(m, 0, 0), (size_t)ntiles * W * 8, -1));
    CHECK_OK(dag_taskwait());
    int bad = 0;
    for (int t = 0; t < ntiles && !bad; t++)
        if (memcmp(dag_tile(m, t / nt, t % nt), ref + (size_t)t * W, W * 8)) {
            fprintf(stderr, "rank %d: seed %llu: tile %d differs\n", dag_rank(),
                    (unsigned long long)seed, t);
            bad = 1;
        }
    if (acc != ref_acc) {
        fprintf(stderr, "rank %d: seed %llu: replicated readers differ\n", dag_rank(),
                (unsigned long long)seed);
        bad = 1;
    }
    CHECK_OK(dag_matrix_destroy(m));
    free(ref);
    return bad;
}

int main(int argc, char **argv)
{
    int seeds = argc > 1 ? atoi(argv[1]) : 200;
    int ntasks = argc > 2 ? atoi(argv[2]) : 200;
    uint64_t first = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    int n = dag_nranks(), bad = 0;
    check_transport();
    for (int s = 0; s < seeds; s++)
        bad += run_seed(first + (uint64_t)s, ntasks, n);
    dag_dist_stats_t st;
    CHECK_OK(dag_dist_stats(&st));
    if (dag_rank() == 0)
        printf("test_random: %d seeds x %d tasks on %d ranks: %s (rank 0: %llu run, %llu "
               "skipped, %llu sends, %llu recvs, %llu cache hits)\n", seeds, ntasks, n,
               bad ? "FAILED" : "ok", st.tasks_run, st.tasks_skipped, st.sends, st.recvs,
               st.cache_hits);
    return bad != 0;
}
