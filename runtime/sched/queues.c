/* queues.c: the shared priority heap and the injection FIFO of queues.h.
 * Ties between equal priorities are broken by arrival order (FIFO). */
#include <stdlib.h>
#include <string.h>

#include "queues.h"

struct shared_queues sq;

void queues_init(void)
{
    free(sq.heap);
    free(sq.heap_key_seq);
    memset(&sq, 0, sizeof sq);
}

void queues_fini(void)
{
    free(sq.heap);
    free(sq.heap_key_seq);
    memset(&sq, 0, sizeof sq);
}

static inline int above(size_t a, size_t b)
{
    int pa = sq.heap[a]->priority, pb = sq.heap[b]->priority;
    return pa > pb || (pa == pb && sq.heap_key_seq[a] < sq.heap_key_seq[b]);
}

static inline void swap(size_t a, size_t b)
{
    struct task *t = sq.heap[a];
    sq.heap[a] = sq.heap[b];
    sq.heap[b] = t;
    uint64_t s = sq.heap_key_seq[a];
    sq.heap_key_seq[a] = sq.heap_key_seq[b];
    sq.heap_key_seq[b] = s;
}

int heap_push(struct task *t)
{
    spin_lock(&sq.heap_lock);
    if (sq.heap_n == sq.heap_cap) {
        size_t ncap = sq.heap_cap ? sq.heap_cap * 2 : 256;
        struct task **h = realloc(sq.heap, sizeof *h * ncap);
        if (h)
            sq.heap = h;
        uint64_t *k = h ? realloc(sq.heap_key_seq, sizeof *k * ncap) : NULL;
        if (k)
            sq.heap_key_seq = k;
        if (!h || !k) {
            spin_unlock(&sq.heap_lock);
            return -1;
        }
        sq.heap_cap = ncap;
    }
    size_t i = sq.heap_n++;
    sq.heap[i] = t;
    sq.heap_key_seq[i] = sq.heap_seq++;
    while (i > 0 && above(i, (i - 1) / 2)) {
        swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    if (t->priority > 0)
        atomic_fetch_add_explicit(&sq.n_positive, 1, RELAXED);
    atomic_fetch_add_explicit(&sq.n_heap, 1, RELEASE);
    spin_unlock(&sq.heap_lock);
    return 0;
}

struct task *heap_pop(int positive_only)
{
    spin_lock(&sq.heap_lock);
    if (sq.heap_n == 0 || (positive_only && sq.heap[0]->priority <= 0)) {
        spin_unlock(&sq.heap_lock);
        return NULL;
    }
    struct task *t = sq.heap[0];
    sq.heap_n--;
    if (sq.heap_n) {
        sq.heap[0] = sq.heap[sq.heap_n];
        sq.heap_key_seq[0] = sq.heap_key_seq[sq.heap_n];
        size_t i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < sq.heap_n && above(l, m))
                m = l;
            if (r < sq.heap_n && above(r, m))
                m = r;
            if (m == i)
                break;
            swap(i, m);
            i = m;
        }
    }
    if (t->priority > 0)
        atomic_fetch_sub_explicit(&sq.n_positive, 1, RELAXED);
    atomic_fetch_sub_explicit(&sq.n_heap, 1, RELAXED);
    spin_unlock(&sq.heap_lock);
    return t;
}

void tfifo_push(struct task_fifo *q, struct task *t)
{
    t->next = NULL;
    spin_lock(&q->lock);
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    atomic_fetch_add_explicit(&q->n, 1, RELEASE);
    spin_unlock(&q->lock);
}

struct task *tfifo_pop(struct task_fifo *q)
{
    spin_lock(&q->lock);
    struct task *t = q->head;
    if (t) {
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        atomic_fetch_sub_explicit(&q->n, 1, RELAXED);
    }
    spin_unlock(&q->lock);
    return t;
}
