/* guard.c: the checking mode of distributed runs (DAG_CHECK=1), part of libdagrt. A rank's
 * pages of a registered tile are inaccessible while it does not hold the tile's current
 * version, read-only while it holds a copy that another rank wrote, and writable while it
 * wrote it last (the owner at first). The flow (flow.c) protects a matrix before its
 * first task (or at the first top-level wait, entry.c) and changes the protection in task
 * order, with the transfers. A program that reads a tile on a non-owner without
 * dag_dist_fetch, or writes a copy outside a task, faults: the SIGSEGV handler names the
 * tile, its owner and the fix, then lets the fault kill the process (the other ranks see
 * a dead rank and end the job). Tiles must span whole pages (tile_bytes of at least a
 * page: dag_matrix_create then aligns them); smaller ones are not guarded (a note says
 * so from 1 KiB up). Not for data that a GPU uses (page-locking needs accessible pages). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "comm.h"
#include "../core/runtime.h"

static struct {
    int read;             /* DAG_CHECK was read */
    int on;
    long page;
    int installed;
    struct sigaction prev;
    int noted;
} guard;

int guard_on(void)
{
    if (!guard.read) {
        const char *s = getenv("DAG_CHECK");
        guard.on = s && atoi(s) > 0;
        guard.page = sysconf(_SC_PAGESIZE);
        guard.read = 1;
    }
    return guard.on && dist.nranks > 1;
}

int guard_coll_on(const struct coll *c)
{
    return c->guarded && guard_on() && c->mapped && c->stride % (size_t)guard.page == 0;
}

void guard_tile(struct coll *c, size_t t, int prot)
{
    if (!guard_coll_on(c))
        return;
    size_t len = (c->tile_bytes + (size_t)guard.page - 1) / (size_t)guard.page * (size_t)guard.page;
    int p = prot == GUARD_RW ? PROT_READ | PROT_WRITE : prot == GUARD_READ ? PROT_READ
                                                                             : PROT_NONE;
    mprotect(c->base + t * c->stride, len, p);
}

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    size_t t;
    const char *a = si->si_addr;
    struct coll *c = registry_find(a, &t);
    if (c && c->mapped) {
        int write_access = -1;
#if defined(__x86_64__)
        write_access = (((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#endif
        size_t per = (size_t)c->mt * c->nt;
        int l = (int)(t / per), i = (int)(t % per / c->nt), j = (int)(t % per % c->nt);
        const struct tile_state *ts = &c->tiles[t];
        char lay[32] = "", m[1024];
        if (c->layers > 1)
            snprintf(lay, sizeof lay, " of layer %d", l);
        snprintf(m, sizeof m,
                 "dagrt[rank %d]: error: DAG_CHECK: %s tile (%d, %d)%s of matrix #%d "
                 "(address %p) on rank %d, which does not hold %s (owner: rank %d; last "
                 "written on rank %d). %s\n",
                 dist.rank, write_access == 1 ? "write to" : write_access == 0 ? "read of"
                                                                              : "access to",
                 i, j, lay, c->id, (const void *)a, dist.rank,
                 write_access == 1 ? "the tile's current version as its writer"
                                   : "its current version",
                 ts->owner, ts->writer,
                 write_access == 1
                     ? "Write a tile in a task that declares it (the task runs on the "
                       "owner), or on this rank with DAG_TASK_ON_NODE; a write outside a "
                       "task is not seen by other ranks and survives a later fetch."
                     : "Call dag_dist_fetch(dag_tile(m, i, j), dag_tile_bytes(m), rank) and "
                       "dag_taskwait() before reading it here, or read it in a task that "
                       "declares it.");
        say(m);
        /* let the fault kill the process: the other ranks see a dead rank */
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    if (guard.prev.sa_flags & SA_SIGINFO) {
        guard.prev.sa_sigaction(sig, si, uc);
    } else if (guard.prev.sa_handler != SIG_IGN && guard.prev.sa_handler != SIG_DFL) {
        guard.prev.sa_handler(sig);
    } else {
        signal(SIGSEGV, SIG_DFL); /* the fault repeats and kills the process */
    }
}

static void install(void)
{
    if (guard.installed)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &guard.prev) == 0)
        guard.installed = 1;
}

void guard_coll(struct coll *c)
{
    if (c->guarded || !guard_on() || !c->mapped)
        return;
    c->guarded = 1;
    if (!guard_coll_on(c)) {
        if (c->tile_bytes >= 1024 && !guard.noted++ && dist.rank == 0)
            fprintf(stderr, "dagrt: note: DAG_CHECK: the tiles of matrix #%d are smaller "
                    "than a page (%zu bytes): they are not guarded\n", c->id, c->tile_bytes);
        return;
    }
    install();
    for (size_t t = 0; t < c->ntiles; t++) {
        c->tiles[t].guard = c->tiles[t].owner == dist.rank ? GUARD_RW : GUARD_NONE;
        if (c->tiles[t].guard == GUARD_NONE)
            guard_tile(c, t, GUARD_NONE);
    }
}
