/* dag/dist.h: the public API for distributed runs (mpirun -np N ./app).
 *
 * Every rank runs the same program and submits the same task flow. Data that tasks on
 * different ranks share is registered here, with an owner for each tile; a task runs on
 * the owner of the first registered data it writes (or on attr.node with
 * DAG_TASK_ON_NODE), and the runtime infers every transfer from the dependencies. A rank
 * skips the bodies of tasks it does not run. Memory that is not registered is private to
 * each rank: a task that writes no registered data runs on every rank.
 * Without mpirun (or with one rank) everything here works and every tile is local.
 */
#ifndef DAG_DIST_H
#define DAG_DIST_H

#include "../dag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This process's rank and the number of ranks (0 and 1 when not distributed). Both start
 * the runtime if it is not running. */
DAG_API int dag_rank(void);
DAG_API int dag_nranks(void);

/* Distributions of tiles over ranks. */
typedef enum dag_dist_kind {
    DAG_DIST_BLOCK = 1,        /* contiguous runs of tiles: ranks get equal shares in order */
    DAG_DIST_CYCLIC = 2,       /* tile i on rank i mod N */
    DAG_DIST_BLOCK_CYCLIC = 3, /* runs of `block` tiles dealt round-robin */
    DAG_DIST_2D = 4,           /* 2D block-cyclic over a p x q grid: tile (i,j) on
                                  rank (i/block mod p) * q + (j/block mod q) */
    DAG_DIST_3D = 5,           /* `layers` copies of the matrix, layer l distributed 2D over
                                  the ranks l*p*q .. (l+1)*p*q-1 (2.5D/3D algorithms) */
    DAG_DIST_OWNER = 6         /* every tile on rank `owner` */
} dag_dist_kind_t;

typedef struct dag_dist {
    dag_dist_kind_t kind;
    int block;  /* BLOCK_CYCLIC, 2D, 3D: tiles per block (0 means 1) */
    int p, q;   /* 2D, 3D: process grid; 0 picks a near-square grid of the ranks */
    int layers; /* 3D: number of replicated layers (0 means 1) */
    int owner;  /* OWNER */
} dag_dist_t;

/* A registered tiled matrix (or, with nt = 1, a tiled 1D array). Opaque. */
typedef struct dag_matrix dag_matrix_t;

/* Register an mt x nt matrix of tiles of tile_bytes each (x layers for DAG_DIST_3D).
 * The runtime reserves address space for all tiles but allocates memory only for the
 * tiles this rank owns or receives (pages are committed on first touch). Tiles are
 * zero-filled. Call on every rank in the same order (it is part of the task flow). */
DAG_API dag_status_t dag_matrix_create(dag_matrix_t **m, int mt, int nt, size_t tile_bytes,
                                       const dag_dist_t *dist);

/* Release a matrix (after a dag_taskwait that covers every task using it). */
DAG_API dag_status_t dag_matrix_destroy(dag_matrix_t *m);

/* The local address of tile (i, j) of layer 0 / of layer l. Use it in dependencies and
 * task arguments. Its content is meaningful on a rank only where the tile is owned or
 * after dag_dist_fetch(); the address itself is valid on every rank. NULL if out of range. */
DAG_API void *dag_tile(const dag_matrix_t *m, int i, int j);
DAG_API void *dag_tile3(const dag_matrix_t *m, int i, int j, int l);
DAG_API int dag_tile_owner(const dag_matrix_t *m, int i, int j);
DAG_API int dag_tile3_owner(const dag_matrix_t *m, int i, int j, int l);
DAG_API size_t dag_tile_bytes(const dag_matrix_t *m);

/* Register memory the program allocated itself (on every rank, in the same order) as one
 * region owned by rank `owner`. Its address may differ between ranks. */
DAG_API dag_status_t dag_dist_register(void *addr, size_t len, int owner);
DAG_API dag_status_t dag_dist_unregister(void *addr);

/* Make the current content of registered bytes [addr, addr+len) available on `rank`
 * (-1: on every rank) once the tasks submitted so far complete: a task that reads them
 * there. Follow with dag_taskwait() (or dag_taskwait_deps) before reading them. */
DAG_API dag_status_t dag_dist_fetch(const void *addr, size_t len, int rank);

/* Move every tile of m back to its owner where a task on another rank (node clause) wrote
 * it last. */
DAG_API dag_status_t dag_dist_flush(const dag_matrix_t *m);

/* A barrier across ranks for the task flow: returns once every rank has called it and
 * every task that any rank submitted before its call has completed (it starts with a
 * dag_taskwait). Collective: call it on every rank at the same point of the flow. Use it
 * to time a distributed phase (see docs/distributed.md). Returns the taskwait's status. */
DAG_API dag_status_t dag_dist_barrier(void);

/* Statistics of this rank since the runtime started (for tests and benchmarks). */
typedef struct dag_dist_stats {
    unsigned long long tasks_run;     /* top-level tasks this rank ran */
    unsigned long long tasks_skipped; /* top-level tasks other ranks ran */
    unsigned long long sends, recvs;  /* inferred transfers this rank took part in */
    unsigned long long bytes_sent, bytes_recv;
    unsigned long long cache_hits;    /* reads served by a cached copy (no transfer) */
    unsigned long long staged_sends;  /* sends of data dirty on a GPU, brought home in
                                         pieces each sent as it landed */
} dag_dist_stats_t;
DAG_API dag_status_t dag_dist_stats(dag_dist_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif /* DAG_DIST_H */
