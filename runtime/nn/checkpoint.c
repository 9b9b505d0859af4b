/* checkpoint.c: save and resume a model: a header naming the layers (so a checkpoint is
 * never loaded into a different model), the step count, then per stage the parameters
 * and both optimiser moments. Written by rank 0 after the data is fetched there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag/dist.h"
#include "nn_model.h"

#define NN_MAGIC "DAGNNCK1"

typedef struct {
    char magic[8];
    int32_t nl, stages, kinds[NN_MAX_LAYERS], out[NN_MAX_LAYERS], k[NN_MAX_LAYERS];
    int32_t opt;
    int64_t step, nparams;
} nn_ck_header_t;

static void header(const dag_nn_model_t *m, nn_ck_header_t *h) {
    memset(h, 0, sizeof *h);
    memcpy(h->magic, NN_MAGIC, 8);
    h->nl = m->nl, h->stages = m->stages, h->opt = (int32_t)m->cfg.opt.kind;
    for (int l = 0; l < m->nl; l++)
        h->kinds[l] = m->L[l].kind, h->out[l] = m->L[l].out, h->k[l] = m->L[l].k;
    h->step = m->step, h->nparams = (int64_t)dag_nn_model_params(m);
}

static dag_status_t write_file(dag_nn_model_t *m, const char *path);

dag_status_t dag_nn_save(dag_nn_model_t *m, const char *path) {
    if (!m || !path) return DAG_ERR_INVALID;
    if (!m->built) return DAG_ERR_STATE;
    dag_status_t st;
    for (int s = 0; s < m->stages; s++) {
        nn_group_t *g = &m->grp[s];
        if (g->owner < 0) continue;
        size_t b = sizeof(float) * g->n;
        if ((st = dag_dist_fetch(g->p.data, b, 0)) || (st = dag_dist_fetch(g->m.data, b, 0)) ||
            (st = dag_dist_fetch(g->v.data, b, 0)))
            return st;
    }
    if ((st = dag_taskwait())) return st;
    st = m->rank == 0 ? write_file(m, path) : DAG_OK;
    if (!m->comm && !m->nccl) return st;
    /* every rank returns rank 0's status, once the file is complete */
    m->sync[0] = st == DAG_OK ? 0.0f : 1.0f;
    dag_status_t cs = nn_exchange(m, m->sync, 1, 0);
    if (!cs) cs = dag_taskwait();
    if (cs) return cs;
    return m->sync[0] != 0.0f ? DAG_ERR_IO : DAG_OK;
}

static dag_status_t write_file(dag_nn_model_t *m, const char *path) {
    nn_ck_header_t h;
    header(m, &h);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "dagnn: cannot write %s\n", tmp);
        return DAG_ERR_IO;
    }
    int ok = fwrite(&h, sizeof h, 1, f) == 1;
    for (int s = 0; s < m->stages && ok; s++) {
        nn_group_t *g = &m->grp[s];
        ok = fwrite(g->p.data, sizeof(float), g->n, f) == g->n &&
             fwrite(g->m.data, sizeof(float), g->n, f) == g->n &&
             fwrite(g->v.data, sizeof(float), g->n, f) == g->n;
    }
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "dagnn: writing %s failed\n", path);
        remove(tmp);
        return DAG_ERR_IO;
    }
    return DAG_OK;
}

dag_status_t dag_nn_load(dag_nn_model_t *m, const char *path) {
    if (!m || !path) return DAG_ERR_INVALID;
    if (!m->built) return DAG_ERR_STATE;
    dag_status_t st = dag_taskwait();
    if (st) return st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dagnn: cannot open checkpoint %s\n", path);
        return DAG_ERR_IO;
    }
    nn_ck_header_t h, want;
    header(m, &want);
    st = DAG_ERR_IO;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, NN_MAGIC, 8) != 0) {
        fprintf(stderr, "dagnn: %s is not a dagnn checkpoint\n", path);
        goto out;
    }
    want.step = h.step;
    if (memcmp(&h, &want, sizeof h) != 0) {
        fprintf(stderr, "dagnn: checkpoint %s was saved from a different model\n", path);
        st = DAG_ERR_MISMATCH;
        goto out;
    }
    for (int s = 0; s < m->stages; s++) {
        nn_group_t *g = &m->grp[s];
        if (fread(g->p.data, sizeof(float), g->n, f) != g->n ||
            fread(g->m.data, sizeof(float), g->n, f) != g->n ||
            fread(g->v.data, sizeof(float), g->n, f) != g->n) {
            fprintf(stderr, "dagnn: checkpoint %s is truncated\n", path);
            goto out;
        }
    }
    m->step = h.step;
    st = DAG_OK;
out:
    fclose(f);
    return st;
}
