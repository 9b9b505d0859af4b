/* test_random.c: randomised differential testing of dependency resolution. Each seed
 * generates a program of tasks over overlapping byte ranges of one shared array (exact
 * repeats, nested and partial overlaps, all five modes, nested child tasks, priorities,
 * undeferred tasks, taskwaits on data, taskgroups), runs it on the runtime with 1..4
 * workers and compares the final memory with a sequential execution byte for byte.
 * Task bodies make every byte depend on the order of conflicting accesses: reads hash
 * their inputs, writes store a function of that hash, inoutset members add atomically
 * and mutexinoutset members add without atomics (so a broken exclusion shows up as a
 * lost update, and as a race under TSan).
 * DAG_TEST_SEEDS sets the number of seeds per thread count (default 1000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MEM 4096
#define MAXDEPS 4
#define MAXCHILD 6

struct op {
    uint32_t id;
    uint8_t kind;  /* OP_TASK, OP_WAIT, OP_WAITDEPS, OP_GROUP_BEGIN, OP_GROUP_END */
    uint8_t ndeps;
    uint8_t nchild;
    uint8_t undeferred;
    int8_t priority;
    uint16_t lo[MAXDEPS], len[MAXDEPS];
    uint8_t mode[MAXDEPS];
    struct op *child; /* nchild child tasks, ranges inside deps[0] (an inout) */
};

enum { OP_TASK, OP_WAIT, OP_WAITDEPS, OP_GROUP_BEGIN, OP_GROUP_END };

static uint8_t mem[MEM], ref[MEM];

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

/* The body shared by the runtime and the sequential reference. `par` selects how
 * children run. */
static int body(struct op *o, uint8_t *m, int par);

static int task_entry(void *p)
{
    return body(*(struct op **)p, mem, 1);
}

static void dep_of(const struct op *o, int i, uint8_t *m, dag_dep_t *d)
{
    d->addr = m + o->lo[i];
    d->len = o->len[i];
    d->mode = o->mode[i];
}

static int submit_op(struct op *o, uint8_t *m)
{
    dag_dep_t deps[MAXDEPS];
    for (int i = 0; i < o->ndeps; i++)
        dep_of(o, i, m, &deps[i]);
    dag_task_attr_t attr = {.priority = o->priority, .flags = o->undeferred ? DAG_TASK_UNDEFERRED : 0};
    return dag_submit(task_entry, &o, sizeof o, deps, o->ndeps, &attr);
}

static int body(struct op *o, uint8_t *m, int par)
{
    uint64_t h = mix(o->id, 12345);
    for (int i = 0; i < o->ndeps; i++)
        if (o->mode[i] == DAG_IN || o->mode[i] == DAG_INOUT)
            for (int k = 0; k < o->len[i]; k++)
                h = mix(h, m[o->lo[i] + k]);
    for (int i = 0; i < o->ndeps; i++) {
        uint8_t *p = m + o->lo[i];
        switch (o->mode[i]) {
        case DAG_OUT:
        case DAG_INOUT:
            for (int k = 0; k < o->len[i]; k++)
                p[k] = (uint8_t)(mix(h, (uint64_t)k) >> 56);
            break;
        case DAG_INOUTSET:
            for (int k = 0; k < o->len[i]; k++)
                __atomic_fetch_add(&p[k], (uint8_t)(o->id * 7 + k) | 1, __ATOMIC_RELAXED);
            break;
        case DAG_MUTEXINOUTSET:
            for (int k = 0; k < o->len[i]; k++)
                p[k] = (uint8_t)(p[k] + ((o->id * 13 + k) | 1));
            break;
        }
    }
    if (o->nchild) {
        for (int c = 0; c < o->nchild; c++) {
            if (par) {
                if (submit_op(&o->child[c], m))
                    return 99;
            } else {
                body(&o->child[c], m, 0);
            }
        }
        if (par && dag_taskwait())
            return 98;
    }
    return 0;
}

static void gen_range(uint16_t *lo, uint16_t *len, uint32_t base, uint32_t span)
{
    uint32_t r = rnd(10);
    if (span >= 64 && r < 5) { /* one of a fixed set of tiles: exact repeats */
        uint32_t tiles = span / 64;
        *lo = (uint16_t)(base + rnd(tiles) * 64);
        *len = 64;
    } else if (span >= 64 && r < 8) { /* nested inside a tile */
        uint32_t t = base + rnd(span / 64) * 64;
        uint32_t a = rnd(64), b = rnd(64);
        if (a > b) {
            uint32_t x = a;
            a = b;
            b = x;
        }
        *lo = (uint16_t)(t + a);
        *len = (uint16_t)(b - a + 1);
    } else { /* arbitrary: partial overlaps of everything */
        uint32_t l = 1 + rnd(span < 200 ? span : 200);
        *lo = (uint16_t)(base + rnd(span - l + 1));
        *len = (uint16_t)l;
    }
}

static const uint8_t modes[] = {DAG_IN, DAG_IN, DAG_OUT, DAG_INOUT, DAG_INOUT,
                                DAG_INOUTSET, DAG_MUTEXINOUTSET};

static void gen_task(struct op *o, uint32_t *next_id, uint32_t base, uint32_t span, int depth,
                     struct op *pool, size_t *pool_used)
{
    memset(o, 0, sizeof *o);
    o->kind = OP_TASK;
    o->id = (*next_id)++;
    o->ndeps = (uint8_t)(1 + rnd(3));
    for (int i = 0; i < o->ndeps; i++) {
        gen_range(&o->lo[i], &o->len[i], base, span);
        o->mode[i] = modes[rnd(sizeof modes)];
    }
    o->priority = rnd(8) == 0 ? (int8_t)(rnd(5) - 2) : 0;
    o->undeferred = depth == 0 && rnd(40) == 0;
    if (depth == 0 && rnd(12) == 0) {
        /* a parent: inout on its block, children on ranges inside it */
        o->mode[0] = DAG_INOUT;
        o->nchild = (uint8_t)(1 + rnd(MAXCHILD));
        o->child = pool + *pool_used;
        *pool_used += o->nchild;
        for (int c = 0; c < o->nchild; c++)
            gen_task(&o->child[c], next_id, o->lo[0], o->len[0], depth + 1, pool, pool_used);
    }
}

struct program {
    struct op *ops, *children;
    size_t n;
};

static void gen_program(struct program *p, uint64_t seed, size_t ntasks)
{
    rng_state = seed * 0x2545F4914F6CDD1Dull + 1;
    p->ops = calloc(ntasks + 3, sizeof *p->ops); /* room to close open groups */
    p->children = calloc(ntasks * MAXCHILD, sizeof *p->children);
    size_t used = 0;
    uint32_t next_id = 1;
    int open_groups = 0;
    p->n = ntasks;
    for (size_t i = 0; i < ntasks; i++) {
        struct op *o = &p->ops[i];
        uint32_t r = rnd(1000);
        if (r < 3) {
            memset(o, 0, sizeof *o);
            o->kind = OP_WAIT;
        } else if (r < 8) {
            gen_task(o, &next_id, 0, MEM, 1, p->children, &used);
            o->kind = OP_WAITDEPS;
            o->nchild = 0;
        } else if (r < 11 && open_groups < 3) {
            memset(o, 0, sizeof *o);
            o->kind = OP_GROUP_BEGIN;
            open_groups++;
        } else if (r < 14 && open_groups > 0) {
            memset(o, 0, sizeof *o);
            o->kind = OP_GROUP_END;
            open_groups--;
        } else {
            gen_task(o, &next_id, 0, MEM, 0, p->children, &used);
        }
    }
    /* close what is open */
    while (open_groups-- > 0)
        p->ops[p->n++].kind = OP_GROUP_END;
}

static void run_sequential(struct program *p)
{
    for (int i = 0; i < MEM; i++)
        ref[i] = (uint8_t)(i * 31);
    for (size_t i = 0; i < p->n; i++)
        if (p->ops[i].kind == OP_TASK)
            body(&p->ops[i], ref, 0);
}

static int run_parallel(struct program *p)
{
    for (int i = 0; i < MEM; i++)
        mem[i] = (uint8_t)(i * 31);
    for (size_t i = 0; i < p->n; i++) {
        struct op *o = &p->ops[i];
        dag_dep_t deps[MAXDEPS];
        switch (o->kind) {
        case OP_TASK:
            if (submit_op(o, mem))
                return -1;
            break;
        case OP_WAIT:
            if (dag_taskwait())
                return -2;
            break;
        case OP_WAITDEPS:
            for (int k = 0; k < o->ndeps; k++)
                dep_of(o, k, mem, &deps[k]);
            if (dag_taskwait_deps(deps, o->ndeps))
                return -3;
            break;
        case OP_GROUP_BEGIN:
            if (dag_taskgroup_begin())
                return -4;
            break;
        case OP_GROUP_END: {
            dag_status_t st = dag_taskgroup_end();
            if (st) {
                dag_error_t e;
                char buf[256] = "";
                if (dag_last_error(&e) == DAG_OK)
                    dag_error_format(&e, buf, sizeof buf);
                fprintf(stderr, "taskgroup_end at op %zu: %s (%s)\n", i, dag_strerror(st), buf);
                return -5;
            }
            break;
        }
        }
    }
    return dag_taskwait();
}

static void check_seeds(int nthreads, uint64_t first, int nseeds)
{
    rt_start(nthreads);
    for (int s = 0; s < nseeds; s++) {
        uint64_t seed = first + (uint64_t)s;
        size_t n = seed % 25 == 0 ? 10000 : 200 + (size_t)(seed * 7919 % 1800);
        struct program p;
        gen_program(&p, seed, n);
        run_sequential(&p);
        int st = run_parallel(&p);
        ck_assert_msg(st == 0, "seed %llu, %d threads: status %d", (unsigned long long)seed,
                      nthreads, st);
        int diff = memcmp(mem, ref, MEM);
        if (diff) {
            int k = 0;
            while (mem[k] == ref[k])
                k++;
            ck_abort_msg("seed %llu, %d threads, %zu ops: memory differs from the sequential "
                         "run first at byte %d (%u vs %u)",
                         (unsigned long long)seed, nthreads, n, k, mem[k], ref[k]);
        }
        free(p.ops);
        free(p.children);
    }
    rt_stop();
}

static int nseeds(void)
{
    const char *s = getenv("DAG_TEST_SEEDS");
    return s ? atoi(s) : 1000;
}

START_TEST(test_random_1)
{
    check_seeds(1, 1000, nseeds());
}
END_TEST

START_TEST(test_random_2)
{
    check_seeds(2, 2000000, nseeds());
}
END_TEST

START_TEST(test_random_3)
{
    check_seeds(3, 3000000, nseeds());
}
END_TEST

START_TEST(test_random_4)
{
    check_seeds(4, 4000000, nseeds());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("random");
    TCase *tc = tcase_create("random");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_random_1);
    tcase_add_test(tc, test_random_2);
    tcase_add_test(tc, test_random_3);
    tcase_add_test(tc, test_random_4);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
