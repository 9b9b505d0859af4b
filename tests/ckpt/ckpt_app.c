/* ckpt_app.c: the program the checkpoint/restart tests kill and restart. An nt x nt
 * matrix of tiles (dag_matrix_create, 2D block-cyclic over the ranks) is initialised by
 * tasks, then updated in place for `steps` sweeps: task (k, i, j) mixes tile (i, j) with
 * tiles (i+1, j) and (i, j+1) (wavefront dependencies, transfers between ranks). Every
 * tile is registered with dag_checkpoint_register; the sweep k = 0 also names its output
 * in checkpoint(list). Rank 0 prints a digest of the final matrix.
 *
 *   ckpt_app nt steps rounds tile_kib
 * Exit status: 0, or 3 when a runtime call failed (the message on stderr).
 * DAG_TEST_PIDFILE=path: each rank writes "<pid>\n" to path.<rank> at start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dag.h>
#include <dag/dist.h>

struct upd {
    uint64_t *t, *down, *right;
    size_t n;
    int rounds;
    uint64_t salt;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}

static int init_body(void *p)
{
    struct upd *a = p;
    for (size_t i = 0; i < a->n; i++)
        a->t[i] = mix(a->salt + i);
    return 0;
}

static int update_body(void *p)
{
    struct upd *a = p;
    for (int r = 0; r < a->rounds; r++)
        for (size_t i = 0; i < a->n; i++)
            a->t[i] = mix(a->t[i] + a->down[(i * 7) % a->n] + (a->right[i] ^ a->salt) + (uint64_t)r);
    return 0;
}

static void check(dag_status_t st, const char *what)
{
    if (st == DAG_OK)
        return;
    dag_error_t e;
    char buf[512] = "";
    if (dag_last_error(&e) == DAG_OK)
        dag_error_format(&e, buf, sizeof buf);
    fprintf(stderr, "ckpt_app: %s: %s %s\n", what, dag_strerror(st), buf);
    exit(3);
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 6;
    int steps = argc > 2 ? atoi(argv[2]) : 20;
    int rounds = argc > 3 ? atoi(argv[3]) : 4;
    size_t kib = argc > 4 ? (size_t)atol(argv[4]) : 64;
    if (nt < 2 || steps < 1 || rounds < 1 || kib < 1) {
        fprintf(stderr, "usage: ckpt_app nt steps rounds tile_kib\n");
        return 2;
    }
    int rank = dag_rank();
    const char *pf = getenv("DAG_TEST_PIDFILE");
    if (pf) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%d", pf, rank);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    size_t bytes = kib << 10, n = bytes / 8;
    dag_matrix_t *m;
    dag_dist_t dist = {.kind = DAG_DIST_2D};
    check(dag_matrix_create(&m, nt, nt, bytes, &dist), "dag_matrix_create");
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nt; j++)
            check(dag_checkpoint_register(dag_tile(m, i, j), bytes), "dag_checkpoint_register");
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nt; j++) {
            uint64_t *t = dag_tile(m, i, j);
            struct upd a = {t, t, t, n, rounds, (uint64_t)(i * nt + j) << 32};
            dag_dep_t d = {t, bytes, DAG_OUT};
            dag_task_attr_t at = {.label = "init", .file = __FILE__, .line = __LINE__};
            check(dag_submit(init_body, &a, sizeof a, &d, 1, &at), "submit init");
        }
    for (int k = 0; k < steps; k++)
        for (int i = 0; i < nt; i++)
            for (int j = 0; j < nt; j++) {
                uint64_t *t = dag_tile(m, i, j), *down = dag_tile(m, (i + 1) % nt, j),
                         *right = dag_tile(m, i, (j + 1) % nt);
                struct upd a = {t, down, right, n, rounds, (uint64_t)k * 1000003u + (uint64_t)i};
                dag_dep_t d[3] = {{t, bytes, DAG_INOUT}, {down, bytes, DAG_IN}, {right, bytes, DAG_IN}};
                dag_dep_t out = {t, bytes, DAG_INOUT};
                dag_task_attr_t at = {.label = "update", .file = __FILE__, .line = __LINE__};
                if (k == 0) {
                    at.checkpoint = &out;
                    at.ncheckpoint = 1;
                }
                check(dag_submit(update_body, &a, sizeof a, d, 3, &at), "submit update");
            }
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nt; j++)
            check(dag_dist_fetch(dag_tile(m, i, j), bytes, 0), "dag_dist_fetch");
    check(dag_taskwait(), "dag_taskwait");
    if (rank == 0) {
        uint64_t h = 0;
        for (int i = 0; i < nt; i++)
            for (int j = 0; j < nt; j++) {
                uint64_t *t = dag_tile(m, i, j);
                for (size_t x = 0; x < n; x++)
                    h = mix(h ^ t[x]);
            }
        printf("digest %016llx\n", (unsigned long long)h);
        fflush(stdout);
    }
    check(dag_matrix_destroy(m), "dag_matrix_destroy");
    return 0;
}
