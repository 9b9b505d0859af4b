/* ckpt.h: internals shared by the checkpoint flow (ckpt.c) and the checkpoint files
 * (file.c). Never installed. */
#ifndef DAG_CKPT_H
#define DAG_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/ft.h"

#define CK_MAGIC "DAGCKPT1"
#define CK_VERSION 1u
#define CK_ALIGN 4096u

/* One checkpointed range in a file: its data lies at `offset`. */
struct ck_entry {
    uint64_t id;          /* registration order of the range: the same in every run */
    uint64_t len;
    int64_t last_writer;  /* flow index of the last task before the cut that wrote it, -1 */
    uint64_t offset;
    uint64_t sum;         /* checksum of the data */
    uint64_t pad;
};

struct ck_header {
    char magic[8];
    uint32_t version, rank, nranks, pad;
    uint64_t cut;         /* tasks [0, cut) of the flow are covered */
    uint64_t n;           /* entries */
    uint64_t data_start;
    uint64_t size;        /* bytes of the whole file */
    uint64_t meta_sum;    /* checksum of the entries and the task identities */
    uint64_t header_sum;  /* checksum of the bytes above */
};

/* A checkpoint being captured (active) or a potential one (every cut gets one). */
struct ck_epoch {
    uint64_t cut;
    _Atomic int pending;  /* snapshot tasks not done, + 1 while they are being submitted */
    int decided, active;
    _Atomic int failed;   /* a snapshot task could not write, or was cancelled */
    int fd;
    size_t n;             /* entries: the ranges this rank keeps */
    struct ck_entry *e;
    char **addr;          /* their addresses in this run */
    uint64_t data_start, size;
    double t0;            /* when it became active */
    struct ck_epoch *next;
};

/* A verified checkpoint file, mapped read-only. */
struct ck_image {
    void *map;
    size_t size;
    const struct ck_header *h;
    const struct ck_entry *e;
    const uint64_t *hash; /* identities of tasks [0, cut) */
    char path[4096];
};

uint64_t ck_sum(const void *p, size_t n, uint64_t seed);
double ck_now(void);  /* CLOCK_MONOTONIC seconds */
double ck_wall(void); /* CLOCK_REALTIME seconds */

/* file.c */
void ck_path(char *buf, size_t size, const char *dir, int rank, uint64_t cut, int tmp);
/* Creates the temporary file of an epoch sized for its layout; 0 on success. */
int ck_file_open(struct ck_epoch *ep, const char *dir, int rank);
/* Writes the table, the identities [0, cut) and the header, fsyncs, renames; 0 on success. */
int ck_file_commit(struct ck_epoch *ep, const char *dir, int rank, int nranks,
                   const uint64_t *hash);
void ck_file_abort(struct ck_epoch *ep, const char *dir, int rank);
/* Keeps the `keep` newest checkpoints of this rank, deletes the older ones. */
void ck_file_prune(const char *dir, int rank, int keep);
/* Lists this rank's checkpoints, newest first (cuts[], at most max); returns the count. */
int ck_file_list(const char *dir, int rank, uint64_t *cuts, int max);
/* Maps and verifies one checkpoint; on failure prints why and returns non-zero
 * (-2: written by a different number of ranks). */
int ck_file_load(struct ck_image *img, const char *dir, int rank, int nranks, uint64_t cut);
void ck_file_unload(struct ck_image *img);

#endif
