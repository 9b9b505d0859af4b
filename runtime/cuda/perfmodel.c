/* perfmodel.c: placement. History-based performance models (mean run time per task
 * kind, keyed by label (else function) and total dependency bytes, per architecture:
 * CPU or CUDA) and the policies DAG_SCHED selects:
 *   dmda   (default) the place with the earliest expected finish: the device's queued
 *          work + the bytes it lacks at PCIe speed + the model's run time (StarPU's
 *          dmda). Until a kind has two runs on each side, it runs where it has fewer.
 *   eager  every task with a CUDA variant on a device (the one with its data, else the
 *          least loaded); cpu: on the CPU unless forced; random: uniformly (tests).
 * Forced placement (attr.device) always wins. DAG_PERFMODEL=file loads models at start
 * and saves them at the end. Runs under cu.lock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PM_SIZE 16384u
#define PM_CALIBRATE 2
#define NS_PER_BYTE_PCIE (1.0 / 20.0) /* ~20 GB/s effective host<->device */
#define NS_PER_BYTE_PEER (1.0 / 80.0)

struct pm_entry {
    uint64_t key;
    uint32_t n[2];
    double mean[2];
    double min[2]; /* the run with the least interference: how long the kernel itself is */
};

static struct pm_entry *tab;

static struct pm_entry *lookup(uint64_t key, int create)
{
    if (!tab)
        return NULL;
    size_t i = (size_t)(key ^ (key >> 31)) & (PM_SIZE - 1);
    for (unsigned probe = 0; probe < 32; probe++, i = (i + 1) & (PM_SIZE - 1)) {
        if (tab[i].key == key)
            return &tab[i];
        if (!tab[i].key) {
            if (!create)
                return NULL;
            tab[i].key = key;
            return &tab[i];
        }
    }
    if (!create)
        return NULL;
    memset(&tab[i], 0, sizeof tab[i]); /* full neighbourhood: forget one */
    tab[i].key = key;
    return &tab[i];
}

static const char *model_path(void)
{
    const char *p = getenv("DAG_PERFMODEL");
    return p && *p ? p : NULL;
}

void pm_init(void)
{
    tab = calloc(PM_SIZE, sizeof *tab);
    const char *path = model_path();
    FILE *f = path && tab ? fopen(path, "r") : NULL;
    if (!f)
        return;
    unsigned long long key;
    unsigned n0, n1;
    double m0, m1;
    while (fscanf(f, "%llx %u %lf %u %lf", &key, &n0, &m0, &n1, &m1) == 5) {
        struct pm_entry *e = lookup(key, 1);
        e->n[0] = n0;
        e->n[1] = n1;
        e->mean[0] = e->min[0] = m0;
        e->mean[1] = e->min[1] = m1;
    }
    fclose(f);
}

void pm_fini(void)
{
    const char *path = model_path();
    FILE *f = path && tab ? fopen(path, "w") : NULL;
    if (f) {
        for (size_t i = 0; i < PM_SIZE; i++)
            if (tab[i].key)
                fprintf(f, "%llx %u %.1f %u %.1f\n", (unsigned long long)tab[i].key,
                        tab[i].n[0], tab[i].mean[0], tab[i].n[1], tab[i].mean[1]);
        fclose(f);
    }
    free(tab);
    tab = NULL;
}

uint64_t pm_key(const struct task *t, size_t bytes)
{
    uint64_t h = 1469598103934665603ull;
    if (t->label) {
        for (const unsigned char *s = (const unsigned char *)t->label; *s; s++)
            h = (h ^ *s) * 1099511628211ull;
    } else {
        h ^= (uint64_t)(uintptr_t)t->fn * 0x9e3779b97f4a7c15ull;
        h ^= (uint64_t)(uintptr_t)t->cuda * 0xc2b2ae3d27d4eb4full;
    }
    h ^= (uint64_t)bytes * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1;
}

void pm_record(uint64_t key, int arch, double ns)
{
    struct pm_entry *e = lookup(key, 1);
    if (!e)
        return;
    uint32_t n = e->n[arch];
    /* a running mean that slowly forgets: machines warm up, clocks change */
    e->mean[arch] = n < 16 ? (e->mean[arch] * n + ns) / (n + 1) : 0.9 * e->mean[arch] + 0.1 * ns;
    e->n[arch] = n + 1;
    if (!n || ns < e->min[arch])
        e->min[arch] = ns;
}

double pm_expect(uint64_t key, int arch, int *n)
{
    struct pm_entry *e = lookup(key, 0);
    *n = e ? (int)e->n[arch] : 0;
    return e ? e->mean[arch] : 0;
}

static uint64_t next_random(void)
{
    uint64_t x = cu.rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return cu.rng = x;
}

/* Transfer time (ns) for the job's data to reach dev (-1: the host). */
static double transfer_ns(const struct job *j, int dev)
{
    double ns = 0;
    for (size_t i = 0; i < j->ndeps; i++) {
        const struct jdep *p = &j->deps[i];
        size_t miss = co_missing_bytes(p->addr, p->len, dev);
        if (!miss)
            continue;
        int peer = 0;
        struct region *r = dev >= 0 ? region_get(p->addr, p->len, 0) : NULL;
        for (int d = 0; r && d < cu.ndev && !peer; d++)
            peer = d != dev && r->c[d].valid && cu.dev[dev].peer[d];
        ns += (double)miss * (peer ? NS_PER_BYTE_PEER : NS_PER_BYTE_PCIE);
    }
    return ns;
}

int pm_place(struct job *j)
{
    if (!j->gpu_ok)
        return -1;
    size_t bytes = 0;
    for (size_t i = 0; i < j->ndeps; i++)
        bytes += j->deps[i].len;
    j->key = pm_key(j->t, bytes);
    int n_cpu, n_gpu;
    double m_cpu = pm_expect(j->key, 0, &n_cpu);
    double m_gpu = pm_expect(j->key, 1, &n_gpu);
    double now = (double)clock_now_ns();

    int best = -1, nlive = 0;
    double best_cost = INFINITY;
    for (int d = 0; d < cu.ndev; d++) {
        struct device *dv = &cu.dev[d];
        if (dv->dead) /* its context is lost (complete.c) */
            continue;
        nlive++;
        double wait = dv->exp_end > now ? dv->exp_end - now : 0;
        double cost = wait + transfer_ns(j, d) + m_gpu;
        if (best < 0 || cost < best_cost) {
            best_cost = cost;
            best = d;
        }
    }
    if (best < 0)
        return j->cpu_ok ? -1 : -2;

    int choice = best;
    switch (cu.policy) {
    case SCHED_CPU:
        choice = j->cpu_ok ? -1 : best;
        break;
    case SCHED_EAGER:
        break;
    case SCHED_RANDOM: {
        int k = (int)(next_random() % (uint64_t)(nlive + j->cpu_ok));
        choice = -1;
        for (int d = 0; d < cu.ndev && choice < 0; d++)
            if (!cu.dev[d].dead && k-- == 0)
                choice = d;
        break;
    }
    default:
        if (!j->cpu_ok)
            break;
        if (n_cpu < PM_CALIBRATE || n_gpu < PM_CALIBRATE)
            choice = n_cpu < n_gpu ? -1 : best;
        else if (m_cpu + transfer_ns(j, -1) < best_cost)
            choice = -1;
        break;
    }
    if (choice >= 0) {
        struct device *dv = &cu.dev[choice];
        dv->exp_end = (dv->exp_end > now ? dv->exp_end : now) + m_gpu;
        j->predicted = m_gpu;
        struct pm_entry *e = lookup(j->key, 0);
        j->serial = n_gpu > 0 && e && e->min[1] >= cu.serial_ns;
    }
    return choice;
}
