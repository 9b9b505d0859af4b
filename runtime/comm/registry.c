/* registry.c: registered data (tiled matrices and program-owned regions), their
 * distributions over ranks and the lookup from an address to (collection, tile). Every
 * rank builds the same registry in the same order; addresses are local and may differ.
 * Built with or without MPI: a single-rank program uses the same API.
 * Memory is reserved with MAP_NORESERVE, so a rank commits pages only for the tiles it
 * writes or receives; it must not touch tiles it neither owns nor fetched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "comm.h"
#include "../core/runtime.h"

struct dist_state dist = {.rank = 0, .nranks = 1, .local_size = 1,
                          .lock = PTHREAD_MUTEX_INITIALIZER};

int dag_rank(void)
{
    (void)dag_num_threads(); /* starts the runtime, and with it the engine */
    return dist.rank;
}

int dag_nranks(void)
{
    (void)dag_num_threads();
    return dist.nranks;
}

/* The largest divisor of n not above its square root: a near-square p x q = n grid. */
static void grid(int n, int *p, int *q)
{
    int a = 1;
    for (int d = 1; d * d <= n; d++)
        if (n % d == 0)
            a = d;
    *p = a;
    *q = n / a;
}

static void dist_grid(const dag_dist_t *d, int nranks, int *p, int *q, int *layers)
{
    *layers = d->kind == DAG_DIST_3D && d->layers > 0 ? d->layers : 1;
    int per = nranks / *layers > 0 ? nranks / *layers : 1;
    if (d->p > 0 && d->q > 0) {
        *p = d->p;
        *q = d->q;
    } else {
        grid(per, p, q);
    }
}

int dist_owner(const dag_dist_t *d, int mt, int nt, int layers, int i, int j, int l)
{
    int n = dist.nranks;
    long k = (long)i * nt + j, ntiles = (long)mt * nt;
    int b = d->block > 0 ? d->block : 1;
    int p, q, L;
    switch (d->kind) {
    case DAG_DIST_BLOCK:
        return (int)(k * n / ntiles);
    case DAG_DIST_CYCLIC:
        return (int)(k % n);
    case DAG_DIST_BLOCK_CYCLIC:
        return (int)((k / b) % n);
    case DAG_DIST_2D:
    case DAG_DIST_3D:
        dist_grid(d, n, &p, &q, &L);
        (void)layers;
        return ((l * p * q) + ((i / b) % p) * q + (j / b) % q) % n;
    case DAG_DIST_OWNER:
    default:
        return d->owner % n;
    }
}

static const char *kind_name(dag_dist_kind_t k)
{
    return k == DAG_DIST_3D ? "DAG_DIST_3D" : "DAG_DIST_2D";
}

/* A grid that needs more ranks than the job has is an error that says why; one that uses
 * fewer leaves ranks without tiles of the matrix: a warning (rank 0 says it, once). */
static dag_status_t check_grid(const dag_dist_t *d)
{
    int p, q, L;
    dist_grid(d, dist.nranks, &p, &q, &L);
    long need = (long)p * q * L;
    char lay[48] = "";
    if (L > 1)
        snprintf(lay, sizeof lay, " x %d layers", L);
    if (need > dist.nranks) {
        fprintf(stderr, "dagrt[rank %d]: error: dag_matrix_create: the %s process grid "
                "%d x %d%s needs %ld ranks, but the job has %d: choose p * q%s <= %d (p = q "
                "= 0 picks a grid of the job's ranks)\n", dist.rank, kind_name(d->kind), p, q,
                lay, need, dist.nranks, L > 1 ? " * layers" : "", dist.nranks);
        return DAG_ERR_INVALID;
    }
    static int warned;
    if (need < dist.nranks && dist.rank == 0 && !warned++)
        fprintf(stderr, "dagrt[rank 0]: warning: dag_matrix_create: the %s process grid "
                "%d x %d%s uses %ld of the job's %d ranks: ranks %ld to %d own no tile of "
                "this matrix and run none of the tasks that write it\n", kind_name(d->kind),
                p, q, lay, need, dist.nranks, need, dist.nranks - 1);
    return DAG_OK;
}

static dag_status_t check_dist(const dag_dist_t *d)
{
    switch (d->kind) {
    case DAG_DIST_BLOCK:
    case DAG_DIST_CYCLIC:
    case DAG_DIST_BLOCK_CYCLIC:
        return d->block >= 0 ? DAG_OK : DAG_ERR_INVALID;
    case DAG_DIST_2D:
    case DAG_DIST_3D:
        if (d->p < 0 || d->q < 0 || d->layers < 0 || d->block < 0)
            return DAG_ERR_INVALID;
        return check_grid(d);
    case DAG_DIST_OWNER:
        return d->owner >= 0 && d->owner < dist.nranks ? DAG_OK : DAG_ERR_INVALID;
    }
    return DAG_ERR_INVALID;
}

/* Insert keeping colls sorted by base address (lookups bisect). Lock held. */
static dag_status_t registry_add(struct coll *c)
{
    if (dist.ncolls == dist.cap) {
        int cap = dist.cap ? 2 * dist.cap : 16;
        struct coll **n = realloc(dist.colls, (size_t)cap * sizeof *n);
        if (!n)
            return DAG_ERR_NOMEM;
        dist.colls = n;
        dist.cap = cap;
    }
    int k = dist.ncolls;
    while (k > 0 && dist.colls[k - 1]->base > c->base) {
        dist.colls[k] = dist.colls[k - 1];
        k--;
    }
    dist.colls[k] = c;
    dist.ncolls++;
    c->id = dist.next_id++;
    return DAG_OK;
}

static void registry_remove(struct coll *c)
{
    int k = 0;
    while (k < dist.ncolls && dist.colls[k] != c)
        k++;
    if (k == dist.ncolls)
        return;
    memmove(&dist.colls[k], &dist.colls[k + 1], (size_t)(dist.ncolls - k - 1) * sizeof c);
    dist.ncolls--;
}

/* the device layer may keep the tiles page-locked (dist.lock held) */
static void host_keep_locked(struct coll *c)
{
    const struct rt_host_ops *h = __atomic_load_n(&rt.host, __ATOMIC_ACQUIRE);
    if (c->mapped && !c->kept && h && h->host_keep) {
        h->host_keep(c->base, c->stride * c->ntiles);
        c->kept = 1;
    }
}

void dist_host_announce(void)
{
    pthread_mutex_lock(&dist.lock);
    for (int k = 0; k < dist.ncolls; k++)
        host_keep_locked(dist.colls[k]);
    pthread_mutex_unlock(&dist.lock);
}

static void coll_free(struct coll *c)
{
    if (c->tiles)
        for (size_t t = 0; t < c->ntiles; t++) {
            free(c->tiles[t].holders);
            if (c->tiles[t].stale)
                dist.stale_bytes -= c->tile_bytes;
        }
    free(c->tiles);
    if (c->mapped && c->base) {
        if (rt.host && rt.host->host_release)
            rt.host->host_release(c->base, c->stride * c->ntiles, 1);
        munmap(c->base, c->stride * c->ntiles);
    }
    free(c);
}

struct coll *registry_find(const void *addr, size_t *tile)
{
    const char *a = addr;
    int lo = 0, hi = dist.ncolls - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        struct coll *c = dist.colls[mid];
        if (a < c->base) {
            hi = mid - 1;
        } else if (a >= c->base + c->stride * c->ntiles) {
            lo = mid + 1;
        } else {
            size_t t = (size_t)(a - c->base) / c->stride;
            if ((size_t)(a - c->base) - t * c->stride >= c->tile_bytes)
                return NULL; /* in the padding between tiles */
            *tile = t;
            return c;
        }
    }
    return NULL;
}

void registry_clear(void)
{
    pthread_mutex_lock(&dist.lock);
    for (int k = 0; k < dist.ncolls; k++)
        coll_free(dist.colls[k]);
    free(dist.colls);
    dist.colls = NULL;
    dist.ncolls = dist.cap = 0;
    pthread_mutex_unlock(&dist.lock);
}

static dag_status_t coll_tiles(struct coll *c)
{
    c->tiles = calloc(c->ntiles, sizeof *c->tiles);
    if (!c->tiles)
        return DAG_ERR_NOMEM;
    for (size_t t = 0; t < c->ntiles; t++) {
        int l = (int)(t / ((size_t)c->mt * c->nt));
        int rem = (int)(t % ((size_t)c->mt * c->nt));
        int o = dist_owner(&c->dist, c->mt, c->nt, c->layers, rem / c->nt, rem % c->nt, l);
        c->tiles[t].owner = o;
        c->tiles[t].writer = o;
        c->tiles[t].nholders = 1;
    }
    return DAG_OK;
}

dag_status_t dag_matrix_create(dag_matrix_t **m, int mt, int nt, size_t tile_bytes,
                               const dag_dist_t *d)
{
    if (!m || mt <= 0 || nt <= 0 || !tile_bytes || !d)
        return DAG_ERR_INVALID;
    *m = NULL;
    if (dag_num_threads() <= 0)
        return DAG_ERR_STATE;
    dag_status_t st = check_dist(d);
    if (st)
        return st;
    struct coll *c = calloc(1, sizeof *c);
    if (!c)
        return DAG_ERR_NOMEM;
    long page = sysconf(_SC_PAGESIZE);
    size_t align = tile_bytes >= (size_t)page ? (size_t)page : 64;
    c->tile_bytes = tile_bytes;
    c->stride = (tile_bytes + align - 1) / align * align;
    c->mt = mt;
    c->nt = nt;
    c->layers = d->kind == DAG_DIST_3D && d->layers > 0 ? d->layers : 1;
    c->ntiles = (size_t)mt * nt * c->layers;
    c->dist = *d;
    c->mapped = 1;
    if (c->ntiles > SIZE_MAX / c->stride) {
        free(c);
        return DAG_ERR_INVALID;
    }
    void *p = mmap(NULL, c->stride * c->ntiles, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        free(c);
        return DAG_ERR_NOMEM;
    }
    c->base = p;
    st = coll_tiles(c);
    pthread_mutex_lock(&dist.lock);
    if (!st)
        st = registry_add(c);
    if (!st) /* under the lock, so that dist_host_announce announces it if this does not */
        host_keep_locked(c);
    pthread_mutex_unlock(&dist.lock);
    if (st) {
        coll_free(c);
        return st;
    }
    *m = (dag_matrix_t *)c;
    return DAG_OK;
}

dag_status_t dag_matrix_destroy(dag_matrix_t *m)
{
    if (!m)
        return DAG_ERR_INVALID;
    struct coll *c = (struct coll *)m;
    pthread_mutex_lock(&dist.lock);
    registry_remove(c);
    pthread_mutex_unlock(&dist.lock);
    coll_free(c);
    return DAG_OK;
}

static long tile_index(const struct coll *c, int i, int j, int l)
{
    if (i < 0 || j < 0 || l < 0 || i >= c->mt || j >= c->nt || l >= c->layers)
        return -1;
    return ((long)l * c->mt + i) * c->nt + j;
}

void *dag_tile3(const dag_matrix_t *m, int i, int j, int l)
{
    const struct coll *c = (const struct coll *)m;
    long t = c ? tile_index(c, i, j, l) : -1;
    return t < 0 ? NULL : c->base + (size_t)t * c->stride;
}

void *dag_tile(const dag_matrix_t *m, int i, int j)
{
    return dag_tile3(m, i, j, 0);
}

int dag_tile3_owner(const dag_matrix_t *m, int i, int j, int l)
{
    const struct coll *c = (const struct coll *)m;
    long t = c ? tile_index(c, i, j, l) : -1;
    return t < 0 ? -1 : c->tiles[t].owner;
}

int dag_tile_owner(const dag_matrix_t *m, int i, int j)
{
    return dag_tile3_owner(m, i, j, 0);
}

size_t dag_tile_bytes(const dag_matrix_t *m)
{
    return m ? ((const struct coll *)m)->tile_bytes : 0;
}

dag_status_t dag_dist_register(void *addr, size_t len, int owner)
{
    if (!addr || !len)
        return DAG_ERR_INVALID;
    if (dag_num_threads() <= 0)
        return DAG_ERR_STATE;
    if (owner < 0 || owner >= dist.nranks)
        return DAG_ERR_INVALID;
    struct coll *c = calloc(1, sizeof *c);
    if (!c)
        return DAG_ERR_NOMEM;
    c->base = addr;
    c->tile_bytes = c->stride = len;
    c->ntiles = 1;
    c->mt = c->nt = c->layers = 1;
    c->dist = (dag_dist_t){.kind = DAG_DIST_OWNER, .owner = owner};
    dag_status_t st = coll_tiles(c);
    pthread_mutex_lock(&dist.lock);
    size_t t;
    if (!st && (registry_find(addr, &t) || registry_find((char *)addr + len - 1, &t)))
        st = DAG_ERR_INVALID; /* overlaps a registered region */
    if (!st)
        st = registry_add(c);
    pthread_mutex_unlock(&dist.lock);
    if (st)
        coll_free(c);
    return st;
}

dag_status_t dag_dist_unregister(void *addr)
{
    pthread_mutex_lock(&dist.lock);
    size_t t;
    struct coll *c = registry_find(addr, &t);
    if (!c || c->mapped || c->base != addr) {
        pthread_mutex_unlock(&dist.lock);
        return DAG_ERR_INVALID;
    }
    registry_remove(c);
    pthread_mutex_unlock(&dist.lock);
    coll_free(c);
    return DAG_OK;
}

dag_status_t dag_dist_stats(dag_dist_stats_t *s)
{
    if (!s)
        return DAG_ERR_INVALID;
    pthread_mutex_lock(&dist.lock);
    *s = dist.stats;
    pthread_mutex_unlock(&dist.lock);
    return DAG_OK;
}

/* dag_dist_fetch and dag_dist_flush: core/plugin.c (forwarding to libdagrt_mpi.so). */
