/* deps.c: dependency domains: byte-range access histories and edge creation.
 *
 * A record holds the history of one exact range [lo, hi): the current group of accesses
 * (`cur`, all of one type: a single writer, or a set of readers / inoutset members /
 * mutexinoutset members) and the group before it (`prev`). A new access of the same set
 * type joins `cur` and waits for `prev`; any other access waits for `cur` and starts a
 * new group. Records whose ranges overlap without being equal are found through an
 * interval tree, and the new access waits for the conflicting group of each of them;
 * `noverlap` counts a record's overlapping neighbours so that the common case (an exact
 * repeat of a range nobody else overlaps) costs one hash lookup.
 *
 * Records point at tasks as (task, seq) members; a member whose task finished or was
 * recycled is stale and ignored (see task.h). Records whose members are all stale carry
 * no information and are collected when the domain doubles in size; a write that covers
 * a record completely makes that record redundant and removes it at once.
 */
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "hooks.h"
#include "interval.h"
#include "rangehash.h"
#include "runtime.h"
#include "../sched/sched.h"
#include "children.h"

#define TYPE_NONE 0
#define TYPE_W DAG_INOUT /* out and inout are one type: a group of one writer */

struct member {
    struct task *t;
    uint64_t seq;
};

/* A list of members with one inline slot; cap == 0 means "inline". Copyable by value. */
struct mlist {
    uint32_t n, cap;
    union {
        struct member one;
        struct member *many;
    } u;
};

struct record {
    void *pool_words[2]; /* pool links while free */
    struct ivnode iv;    /* lo, hi and the tree links */
    uint8_t type;        /* TYPE_NONE, TYPE_W, DAG_IN, DAG_INOUTSET, DAG_MUTEXINOUTSET */
    uint8_t pinned;      /* in use by the registration in progress: not removable */
    int32_t noverlap;    /* records overlapping this one without being equal to it */
    struct mlist cur, prev;
    struct mutexobj *mtx; /* the mutex of the current mutexinoutset group */
};

struct domain {
    struct record **tab; /* open addressing, linear probing, backward-shift deletion */
    uint32_t mask;
    uint32_t nrec;
    uint32_t gc_at;
    struct ivtree tree;
    struct record **scratch; /* overlap query results */
    uint32_t nscratch, capscratch;
    int scratch_oom;
    struct record **cover; /* records to remove after a covering write */
    uint32_t capcover;
};

#define GC_MIN 1024u

static inline struct member *ml_v(struct mlist *l)
{
    return l->cap ? l->u.many : &l->u.one;
}

static int member_done(void *arg)
{
    const struct member *m = arg;
    return atomic_load_explicit(&m->t->state, ACQUIRE) != m->seq << 1;
}

/* Drop members that finished, keeping zombies (they carry a failure); keeps order. */
static void ml_prune(struct mlist *l)
{
    struct member *v = ml_v(l);
    uint32_t k = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (member_state(v[i].t, v[i].seq, NULL))
            v[k++] = v[i];
    l->n = k;
}

static void ml_free(struct mlist *l)
{
    if (l->cap)
        free(l->u.many);
    l->cap = l->n = 0;
}

static void ml_push(struct tctx *c, struct mlist *l, struct task *t)
{
    uint32_t cap = l->cap ? l->cap : 1;
    if (l->n == cap) {
        ml_prune(l);
        if (l->n == cap) {
            uint32_t ncap = cap < 4 ? 4 : cap * 2;
            struct member *v = malloc(sizeof *v * ncap);
            if (!v) {
                /* out of memory: wait until the members finish, then forget them */
                struct member *o = ml_v(l);
                for (uint32_t i = 0; i < l->n; i++)
                    sched_wait(c, member_done, &o[i]);
                l->n = 0;
            } else {
                memcpy(v, ml_v(l), sizeof *v * l->n);
                if (l->cap)
                    free(l->u.many);
                l->u.many = v;
                l->cap = ncap;
            }
        }
    }
    struct member *m = &ml_v(l)[l->n++];
    m->t = t;
    m->seq = task_seq(t);
}

/* ---- edges ------------------------------------------------------------------------- */

static void add_edge(struct tctx *c, const struct member *m, struct task *s)
{
    struct task *p = m->t;
    uint64_t live = m->seq << 1;
    if (p == s)
        return;
    if (atomic_load_explicit(&p->state, RELAXED) != live)
        goto finished; /* a state that is not `live` never becomes it again */
    spin_lock(&p->lock);
    if (atomic_load_explicit(&p->state, RELAXED) != live) {
        spin_unlock(&p->lock);
        goto finished;
    }
    if (p->last_succ == s) {
        spin_unlock(&p->lock);
        return;
    }
    int early = unlikely(p->last_succ == TASK_EARLY); /* launched, released (early.c) */
    if (early && task_chains(s)) {
        spin_unlock(&p->lock); /* the device layer orders s after p's work */
        if (unlikely(rt.hooks))
            hooks_edge(p, s); /* still a dependency in the exported graph */
        return;
    }
    if (p->nsucc < SUCC_INLINE) {
        p->succ[p->nsucc++] = s;
    } else {
        struct succ_chunk *k = p->more;
        if (!k || k->n == sizeof k->t / sizeof k->t[0]) {
            k = pool_get(&rt.succ_pool, &c->succ_cache);
            if (!k) {
                /* out of memory: order by waiting for the predecessor instead */
                spin_unlock(&p->lock);
                sched_wait(c, member_done, (void *)m);
                return;
            }
            k->n = 0;
            k->next = p->more;
            p->more = k;
        }
        k->t[k->n++] = s;
    }
    if (likely(!early))
        p->last_succ = s;
    atomic_fetch_add_explicit(&s->npreds, 1, RELAXED);
    spin_unlock(&p->lock);
    if (unlikely(rt.hooks))
        hooks_edge(p, s);
    return;
finished:;
    struct failure *f;
    if (unlikely(member_state(p, m->seq, &f) < 0))
        failure_report(&s->cause, f); /* its data is poisoned: s is cancelled */
}

static void edges_from(struct tctx *c, struct mlist *l, struct task *s)
{
    struct member *v = ml_v(l);
    for (uint32_t i = 0; i < l->n; i++)
        add_edge(c, &v[i], s);
}

static int attach_mutex(struct task *t, struct mutexobj *m, int shared)
{
    return m ? task_add_mutex(t, m, shared) : 0;
}

/* t accesses record r's exact range with `type`: order it and update the history. */
static void apply(struct tctx *c, struct record *r, struct task *t, uint8_t type)
{
    if (r->type == type && type != TYPE_W) {
        edges_from(c, &r->prev, t); /* join the current set */
        if (type == DAG_MUTEXINOUTSET && attach_mutex(t, r->mtx, 0))
            edges_from(c, &r->cur, t); /* no memory for the mutex: serialise instead */
        ml_push(c, &r->cur, t);
        return;
    }
    edges_from(c, &r->cur, t); /* start a new group after the current one */
    struct mlist old = r->prev;
    r->prev = r->cur;
    r->cur = old;
    r->cur.n = 0;
    ml_push(c, &r->cur, t);
    r->type = type;
    if (r->mtx) {
        mutexobj_unref(r->mtx);
        r->mtx = NULL;
    }
    if (type == DAG_MUTEXINOUTSET) {
        r->mtx = mutexobj_new();
        /* without a mutex the group degrades to a chain: members then wait for cur */
        if (!r->mtx || attach_mutex(t, r->mtx, 0))
            r->type = TYPE_W;
    }
}

/* t overlaps record x (a different range): order it after x's conflicting group. */
static void order_after_overlap(struct tctx *c, struct record *x, struct task *t, uint8_t type)
{
    if (x->type == type && type != TYPE_W) {
        edges_from(c, &x->prev, t);
        if (type == DAG_MUTEXINOUTSET && attach_mutex(t, x->mtx, 1))
            edges_from(c, &x->cur, t);
    } else {
        edges_from(c, &x->cur, t);
    }
}

/* ---- hash table -------------------------------------------------------------------- */

static inline uint32_t hash_range(uintptr_t lo, uintptr_t hi, uint32_t mask)
{
    return (uint32_t)range_hash((const void *)lo, hi - lo, mask);
}

static struct record *hash_find(struct domain *d, uintptr_t lo, uintptr_t hi)
{
    uint32_t i = hash_range(lo, hi, d->mask);
    for (struct record *r; (r = d->tab[i]); i = (i + 1) & d->mask)
        if (r->iv.lo == lo && r->iv.hi == hi)
            return r;
    return NULL;
}

static void hash_put(struct domain *d, struct record *r)
{
    uint32_t i = hash_range(r->iv.lo, r->iv.hi, d->mask);
    while (d->tab[i])
        i = (i + 1) & d->mask;
    d->tab[i] = r;
}

static int hash_grow(struct domain *d)
{
    uint32_t ncap = (d->mask + 1) * 2;
    struct record **old = d->tab;
    uint32_t ocap = d->mask + 1;
    struct record **tab = calloc(ncap, sizeof *tab);
    if (!tab)
        return -1;
    d->tab = tab;
    d->mask = ncap - 1;
    for (uint32_t i = 0; i < ocap; i++)
        if (old[i])
            hash_put(d, old[i]);
    free(old);
    return 0;
}

static void hash_del(struct domain *d, struct record *r)
{
    uint32_t i = hash_range(r->iv.lo, r->iv.hi, d->mask);
    while (d->tab[i] != r)
        i = (i + 1) & d->mask;
    d->tab[i] = NULL;
    /* backward shift: move later entries of the run into the hole when allowed */
    for (uint32_t j = (i + 1) & d->mask; d->tab[j]; j = (j + 1) & d->mask) {
        uint32_t home = hash_range(d->tab[j]->iv.lo, d->tab[j]->iv.hi, d->mask);
        /* the entry at j may move to i if its home is not in the cyclic range (i, j] */
        if (((j - home) & d->mask) >= ((j - i) & d->mask)) {
            d->tab[i] = d->tab[j];
            d->tab[j] = NULL;
            i = j;
        }
    }
}

/* ---- records ----------------------------------------------------------------------- */

static void collect(struct ivnode *n, void *arg)
{
    struct domain *d = arg;
    if (d->nscratch == d->capscratch) {
        uint32_t ncap = d->capscratch ? d->capscratch * 2 : 64;
        struct record **v = realloc(d->scratch, sizeof *v * ncap);
        if (!v) {
            d->scratch_oom = 1;
            return;
        }
        d->scratch = v;
        d->capscratch = ncap;
    }
    d->scratch[d->nscratch++] = (struct record *)((char *)n - offsetof(struct record, iv));
}

/* Fill d->scratch with the records overlapping [lo, hi) other than `self`. */
static int query_overlaps(struct domain *d, uintptr_t lo, uintptr_t hi, struct record *self)
{
    d->nscratch = 0;
    d->scratch_oom = 0;
    iv_query(&d->tree, lo, hi, collect, d);
    uint32_t k = 0;
    for (uint32_t i = 0; i < d->nscratch; i++)
        if (d->scratch[i] != self)
            d->scratch[k++] = d->scratch[i];
    d->nscratch = k;
    return d->scratch_oom ? -1 : 0;
}

static void record_remove(struct tctx *c, struct domain *d, struct record *r)
{
    if (r->noverlap > 0) {
        /* if the query runs out of memory some neighbours keep a count that is too high,
         * which only sends them down the slow path: safe */
        query_overlaps(d, r->iv.lo, r->iv.hi, r);
        for (uint32_t i = 0; i < d->nscratch; i++)
            d->scratch[i]->noverlap--;
    }
    iv_remove(&d->tree, &r->iv);
    hash_del(d, r);
    d->nrec--;
    ml_free(&r->cur);
    ml_free(&r->prev);
    mutexobj_unref(r->mtx);
    pool_put(&rt.rec_pool, &c->rec_cache, r);
}

/* A write to r's range makes the history of every record inside it redundant: later
 * accesses to those bytes find r, whose writer is ordered after all of them. Takes the
 * candidates from d->scratch (the overlap query just made for r). */
static void remove_covered(struct tctx *c, struct domain *d, struct record *r)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < d->nscratch; k++) {
        struct record *x = d->scratch[k];
        if (!x->pinned && x->iv.lo >= r->iv.lo && x->iv.hi <= r->iv.hi)
            d->scratch[n++] = x;
    }
    if (!n)
        return;
    if (n > d->capcover) {
        struct record **v = realloc(d->cover, sizeof *v * n);
        if (!v)
            return; /* keeping redundant records is only slower */
        d->cover = v;
        d->capcover = n;
    }
    memcpy(d->cover, d->scratch, sizeof *d->cover * n);
    for (uint32_t k = 0; k < n; k++)
        record_remove(c, d, d->cover[k]); /* reuses d->scratch */
}

static struct record *record_new(struct tctx *c, struct domain *d, uintptr_t lo, uintptr_t hi)
{
    if ((d->nrec + 1) * 2 > d->mask + 1 && hash_grow(d))
        return NULL;
    struct record *r = pool_get(&rt.rec_pool, &c->rec_cache);
    if (!r)
        return NULL;
    r->iv.lo = lo;
    r->iv.hi = hi;
    r->type = TYPE_NONE;
    r->pinned = 0;
    r->noverlap = 0;
    memset(&r->cur, 0, sizeof r->cur);
    memset(&r->prev, 0, sizeof r->prev);
    r->mtx = NULL;
    if (query_overlaps(d, lo, hi, NULL)) {
        pool_put(&rt.rec_pool, &c->rec_cache, r);
        return NULL;
    }
    for (uint32_t i = 0; i < d->nscratch; i++)
        d->scratch[i]->noverlap++;
    r->noverlap = (int32_t)d->nscratch;
    iv_insert(&d->tree, &r->iv);
    hash_put(d, r);
    d->nrec++;
    return r;
}

static int record_stale(struct record *r)
{
    ml_prune(&r->cur);
    ml_prune(&r->prev);
    return r->cur.n == 0 && r->prev.n == 0;
}

/* Remove every record whose accesses have all finished: they order nothing. */
static void domain_gc(struct tctx *c, struct domain *d)
{
    for (uint32_t i = 0; i <= d->mask;) {
        struct record *r = d->tab[i];
        if (r && record_stale(r))
            record_remove(c, d, r); /* backward shift may refill slot i: look again */
        else
            i++;
    }
    d->gc_at = d->nrec * 2 > GC_MIN ? d->nrec * 2 : GC_MIN;
}

static struct domain *domain_new(void)
{
    struct domain *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->mask = 63;
    d->tab = calloc(d->mask + 1, sizeof *d->tab);
    if (!d->tab) {
        free(d);
        return NULL;
    }
    d->gc_at = GC_MIN;
    return d;
}

void domain_destroy(struct tctx *c, struct domain *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i <= d->mask; i++) {
        struct record *r = d->tab[i];
        if (r) {
            ml_free(&r->cur);
            ml_free(&r->prev);
            mutexobj_unref(r->mtx);
            pool_put(&rt.rec_pool, &c->rec_cache, r);
        }
    }
    free(d->tab);
    free(d->scratch);
    free(d->cover);
    free(d);
}

size_t domain_size(const struct domain *d)
{
    return d ? d->nrec : 0;
}

/* ---- registration ------------------------------------------------------------------ */

dag_status_t deps_validate(const dag_dep_t *deps, size_t ndeps)
{
    if (ndeps && !deps)
        return DAG_ERR_INVALID;
    for (size_t i = 0; i < ndeps; i++) {
        unsigned mode = deps[i].mode & DAG_MODE_MASK;
        if (mode < DAG_IN || mode > DAG_INOUTSET || (deps[i].mode & ~(DAG_MODE_MASK | DAG_DEP_BASEADDR)))
            return DAG_ERR_INVALID;
        if ((uintptr_t)deps[i].addr + deps[i].len < (uintptr_t)deps[i].addr)
            return DAG_ERR_INVALID; /* the range wraps around the address space */
    }
    return DAG_OK;
}

static inline void dep_range(const dag_dep_t *dp, uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)dp->addr;
    *hi = (dp->mode & DAG_DEP_BASEADDR) ? *lo + 1 : *lo + dp->len;
}

static inline uint8_t dep_type(const dag_dep_t *dp)
{
    unsigned m = dp->mode & DAG_MODE_MASK;
    return m == DAG_OUT ? TYPE_W : (uint8_t)m;
}

#define REG_INLINE 16

dag_status_t deps_register(struct tctx *c, struct task *parent, struct task *t,
                           const dag_dep_t *deps, size_t ndeps)
{
    struct domain *d = parent->domain;
    if (!d) {
        d = parent->domain = domain_new();
        if (!d)
            return DAG_ERR_NOMEM;
    }
    if (d->nrec >= d->gc_at)
        domain_gc(c, d);

    /* Phase 1: find or create every record, pinned, before t becomes visible anywhere:
     * running out of memory here leaves nothing to undo but empty records. */
    struct record *inl[REG_INLINE], **recs = inl;
    if (ndeps > REG_INLINE && !(recs = malloc(sizeof *recs * ndeps)))
        return DAG_ERR_NOMEM;
    dag_status_t st = DAG_OK;
    size_t i;
    for (i = 0; i < ndeps; i++) {
        uintptr_t lo, hi;
        dep_range(&deps[i], &lo, &hi);
        if (lo == hi) {
            recs[i] = NULL; /* an empty range conflicts with nothing */
            continue;
        }
        struct record *r = hash_find(d, lo, hi);
        if (!r && !(r = record_new(c, d, lo, hi))) {
            st = DAG_ERR_NOMEM;
            break;
        }
        r->pinned = 1;
        recs[i] = r;
    }
    if (st == DAG_OK) {
        /* Phase 2: edges and histories. Memory shortage from here on is absorbed by
         * waiting (see ml_push and add_edge), so it cannot fail. */
        for (i = 0; i < ndeps; i++) {
            struct record *r = recs[i];
            if (!r)
                continue;
            uint8_t type = dep_type(&deps[i]);
            if (likely(r->noverlap == 0)) {
                apply(c, r, t, type);
                continue;
            }
            if (query_overlaps(d, r->iv.lo, r->iv.hi, r)) {
                /* no memory for the overlap list: wait until every earlier sibling is
                 * done, after which nothing needs ordering */
                task_wait_children(c, parent);
                apply(c, r, t, type);
                continue;
            }
            for (uint32_t k = 0; k < d->nscratch; k++)
                order_after_overlap(c, d->scratch[k], t, type);
            apply(c, r, t, type);
            if (type == TYPE_W)
                remove_covered(c, d, r);
        }
    }
    for (size_t k = 0; k < i && k < ndeps; k++)
        if (recs[k])
            recs[k]->pinned = 0;
    if (recs != inl)
        free(recs);
    return st;
}
