/* file.c: checkpoint files. One file per rank and checkpoint, named
 * ckpt.r<rank>.<cut>.dag in DAG_CHECKPOINT_DIR:
 *   header (struct ck_header) | entries | task identities [0, cut) | data at data_start
 * The snapshot tasks write the data (pwrite) into ckpt.r<rank>.<cut>.tmp; the commit
 * writes the rest, fsyncs the file, renames it to its final name and fsyncs the
 * directory, so a file with the final name is complete unless it was damaged later.
 * Loading checks the magic, the sizes, and checksums of the header, the metadata and
 * every range; a file that fails is reported and skipped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* A 64-bit checksum, four independent lanes of multiply-rotate over 8-byte words. */
uint64_t ck_sum(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    const uint64_t P1 = 0x9e3779b185ebca87ull, P2 = 0xc2b2ae3d27d4eb4full;
    uint64_t h[4] = {seed + P1, seed ^ P2, seed - P1, ~seed};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, b + i + 8 * k, 8);
            h[k] = rotl(h[k] + w * P2, 31) * P1;
        }
    }
    uint64_t x = rotl(h[0], 1) + rotl(h[1], 7) + rotl(h[2], 12) + rotl(h[3], 18) + n;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        x = rotl(x ^ (w * P2), 27) * P1 + 0x27d4eb2f165667c5ull;
    }
    for (; i < n; i++)
        x = rotl(x ^ (b[i] * P1), 11) * P2;
    x ^= x >> 33;
    x *= P2;
    x ^= x >> 29;
    return x;
}

double ck_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ck_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ck_path(char *buf, size_t size, const char *dir, int rank, uint64_t cut, int tmp)
{
    snprintf(buf, size, "%s/ckpt.r%d.%012" PRIu64 ".%s", dir, rank, cut, tmp ? "tmp" : "dag");
}

static size_t meta_bytes(size_t n, uint64_t cut)
{
    return sizeof(struct ck_header) + n * sizeof(struct ck_entry) + cut * sizeof(uint64_t);
}

int ck_file_open(struct ck_epoch *ep, const char *dir, int rank)
{
    char path[4096];
    ck_path(path, sizeof path, dir, rank, ep->cut, 1);
    uint64_t off = (meta_bytes(ep->n, ep->cut) + CK_ALIGN - 1) / CK_ALIGN * CK_ALIGN;
    ep->data_start = off;
    for (size_t k = 0; k < ep->n; k++) {
        ep->e[k].offset = off;
        off += (ep->e[k].len + 63) / 64 * 64;
    }
    ep->size = off;
    ep->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ep->fd < 0) {
        fprintf(stderr, "dagrt: checkpoint: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (ftruncate(ep->fd, (off_t)ep->size)) {
        fprintf(stderr, "dagrt: checkpoint: cannot size %s: %s\n", path, strerror(errno));
        close(ep->fd);
        unlink(path);
        ep->fd = -1;
        return -1;
    }
    return 0;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const char *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int ck_file_commit(struct ck_epoch *ep, const char *dir, int rank, int nranks,
                   const uint64_t *hash)
{
    char tmp[4096], fin[4096];
    ck_path(tmp, sizeof tmp, dir, rank, ep->cut, 1);
    ck_path(fin, sizeof fin, dir, rank, ep->cut, 0);
    struct ck_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CK_MAGIC, 8);
    h.version = CK_VERSION;
    h.rank = (uint32_t)rank;
    h.nranks = (uint32_t)nranks;
    h.cut = ep->cut;
    h.n = ep->n;
    h.data_start = ep->data_start;
    h.size = ep->size;
    size_t tbytes = ep->n * sizeof *ep->e, hbytes = ep->cut * sizeof *hash;
    h.meta_sum = ck_sum(hash, hbytes, ck_sum(ep->e, tbytes, 0));
    h.header_sum = ck_sum(&h, offsetof(struct ck_header, header_sum), 0);
    if (pwrite_all(ep->fd, ep->e, tbytes, sizeof h) ||
        pwrite_all(ep->fd, hash, hbytes, sizeof h + tbytes) ||
        pwrite_all(ep->fd, &h, sizeof h, 0) || fsync(ep->fd)) {
        fprintf(stderr, "dagrt: checkpoint: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    close(ep->fd);
    ep->fd = -1;
    if (rename(tmp, fin) || fsync_dir(dir)) {
        fprintf(stderr, "dagrt: checkpoint: cannot rename %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

void ck_file_abort(struct ck_epoch *ep, const char *dir, int rank)
{
    char tmp[4096];
    ck_path(tmp, sizeof tmp, dir, rank, ep->cut, 1);
    if (ep->fd >= 0)
        close(ep->fd);
    ep->fd = -1;
    unlink(tmp);
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int ck_file_list(const char *dir, int rank, uint64_t *cuts, int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "ckpt.r%d.", rank);
    int n = 0, cap = 0;
    uint64_t *all = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *s = de->d_name;
        if (strncmp(s, prefix, (size_t)plen))
            continue;
        char *end;
        unsigned long long cut = strtoull(s + plen, &end, 10);
        if (end == s + plen || strcmp(end, ".dag"))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            uint64_t *p = realloc(all, (size_t)cap * sizeof *p);
            if (!p)
                break;
            all = p;
        }
        all[n++] = cut;
    }
    closedir(d);
    if (n)
        qsort(all, (size_t)n, sizeof *all, cmp_desc);
    int m = n < max ? n : max;
    if (m > 0)
        memcpy(cuts, all, (size_t)m * sizeof *cuts);
    free(all);
    return m;
}

void ck_file_prune(const char *dir, int rank, int keep)
{
    uint64_t cuts[256];
    int n = ck_file_list(dir, rank, cuts, 256);
    for (int i = keep; i < n; i++) {
        char path[4096];
        ck_path(path, sizeof path, dir, rank, cuts[i], 0);
        unlink(path);
    }
}

static int bad(const char *path, const char *why)
{
    fprintf(stderr, "dagrt: checkpoint: %s: %s; not loaded\n", path, why);
    return -1;
}

int ck_file_load(struct ck_image *img, const char *dir, int rank, int nranks, uint64_t cut)
{
    memset(img, 0, sizeof *img);
    ck_path(img->path, sizeof img->path, dir, rank, cut, 0);
    const char *path = img->path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bad(path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || (size_t)st.st_size < sizeof(struct ck_header)) {
        close(fd);
        return bad(path, "truncated (shorter than its header)");
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return bad(path, strerror(errno));
    img->map = map;
    img->size = (size_t)st.st_size;
    const struct ck_header *h = map;
    char why[160];
    int rc = -1;
    if (memcmp(h->magic, CK_MAGIC, 8) || h->version != CK_VERSION) {
        bad(path, "not a dagcc checkpoint of this version");
    } else if (h->header_sum != ck_sum(h, offsetof(struct ck_header, header_sum), 0)) {
        bad(path, "corrupted header (checksum mismatch)");
    } else if (h->size != img->size) {
        snprintf(why, sizeof why, "truncated or torn (%zu bytes, %" PRIu64 " expected)",
                 img->size, h->size);
        bad(path, why);
    } else if (h->rank != (uint32_t)rank || h->cut != cut) {
        bad(path, "header does not match its name");
    } else if (h->nranks != (uint32_t)nranks) {
        fprintf(stderr, "dagrt: checkpoint: %s was written by a run on %u ranks; this run has "
                        "%d: restart needs the same number of ranks\n", path, h->nranks, nranks);
        rc = -2;
    } else if (h->n > h->size / sizeof(struct ck_entry) || h->cut > h->size / 8 ||
               meta_bytes(h->n, h->cut) > h->data_start || h->data_start > h->size) {
        bad(path, "corrupted layout");
    } else {
        img->h = h;
        img->e = (const struct ck_entry *)(h + 1);
        img->hash = (const uint64_t *)(img->e + h->n);
        if (h->meta_sum != ck_sum(img->hash, h->cut * 8, ck_sum(img->e, h->n * sizeof *img->e, 0))) {
            bad(path, "corrupted metadata (checksum mismatch)");
        } else {
            rc = 0;
            for (uint64_t k = 0; k < h->n && !rc; k++) {
                const struct ck_entry *e = &img->e[k];
                if (e->offset < h->data_start || e->offset > h->size || e->len > h->size - e->offset) {
                    snprintf(why, sizeof why, "range %" PRIu64 " lies outside the file", e->id);
                    rc = bad(path, why);
                } else if (ck_sum((const char *)map + e->offset, e->len, 0) != e->sum) {
                    snprintf(why, sizeof why, "corrupted data of range %" PRIu64
                             " (checksum mismatch)", e->id);
                    rc = bad(path, why);
                }
            }
        }
    }
    if (rc) {
        munmap(map, img->size);
        memset(img, 0, sizeof *img);
    }
    return rc;
}

void ck_file_unload(struct ck_image *img)
{
    if (img->map)
        munmap(img->map, img->size);
    memset(img, 0, sizeof *img);
}
