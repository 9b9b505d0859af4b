/* data.c: the IDX reader (MNIST / Fashion-MNIST files, gzipped or plain, through zlib)
 * and the seeded shuffle shared by every rank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn_internal.h"

/* read a whole (possibly gzipped) file; gzread passes plain files through */
static dag_status_t slurp(const char *path, unsigned char **out, size_t *len) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dagnn: cannot open %s\n", path);
        return DAG_ERR_IO;
    }
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            gzclose(f);
            return DAG_ERR_NOMEM;
        }
        int r = gzread(f, buf + n, (unsigned)(cap - n));
        if (r < 0) {
            fprintf(stderr, "dagnn: %s: read error\n", path);
            free(buf);
            gzclose(f);
            return DAG_ERR_IO;
        }
        n += (size_t)r;
        if (r == 0) break;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    gzclose(f);
    *out = buf, *len = n;
    return DAG_OK;
}

static unsigned be32(const unsigned char *p) {
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

dag_status_t dag_nn_load_idx(dag_nn_dataset_t *d, const char *images, const char *labels) {
    if (!d || !images || !labels) return DAG_ERR_INVALID;
    memset(d, 0, sizeof *d);
    unsigned char *im = NULL, *lb = NULL;
    size_t nim = 0, nlb = 0;
    dag_status_t st = slurp(images, &im, &nim);
    if (!st) st = slurp(labels, &lb, &nlb);
    if (st) goto out;
    st = DAG_ERR_IO;
    /* images: magic 0x00000803, count, rows, cols; labels: 0x00000801, count */
    if (nim < 16 || be32(im) != 0x803) {
        fprintf(stderr, "dagnn: %s is not an IDX image file (ubyte, 3 dimensions)\n", images);
        goto out;
    }
    if (nlb < 8 || be32(lb) != 0x801) {
        fprintf(stderr, "dagnn: %s is not an IDX label file (ubyte, 1 dimension)\n", labels);
        goto out;
    }
    unsigned n = be32(im + 4), rows = be32(im + 8), cols = be32(im + 12);
    if (be32(lb + 4) != n || n == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096 ||
        nim < 16 + (size_t)n * rows * cols || nlb < 8 + (size_t)n) {
        fprintf(stderr, "dagnn: %s / %s: counts or sizes do not match (%u images)\n", images,
                labels, n);
        goto out;
    }
    size_t feat = (size_t)rows * cols;
    d->x = malloc(sizeof(float) * feat * n);
    d->labels = malloc(sizeof(int32_t) * n);
    if (!d->x || !d->labels) {
        st = DAG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < feat * n; i++) d->x[i] = im[16 + i] * (1.0f / 255.0f);
    for (unsigned i = 0; i < n; i++) d->labels[i] = lb[8 + i];
    d->n = (int)n, d->rows = (int)rows, d->cols = (int)cols;
    st = DAG_OK;
out:
    free(im), free(lb);
    if (st) dag_nn_dataset_free(d);
    return st;
}

void dag_nn_dataset_free(dag_nn_dataset_t *d) {
    if (!d) return;
    free(d->x), free(d->labels);
    memset(d, 0, sizeof *d);
}

void dag_nn_shuffle(int32_t *idx, int n, uint64_t seed, long epoch) {
    for (int i = 0; i < n; i++) idx[i] = i;
    uint64_t s = nn_mix(seed ^ nn_mix(0x5eed0000ull + (uint64_t)epoch));
    for (int i = n - 1; i > 0; i--) {
        s = nn_mix(s);
        int j = (int)(s % (uint64_t)(i + 1));
        int32_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
}
