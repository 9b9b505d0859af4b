/* interval.h: an ordered set of byte ranges that answers "which ranges overlap [lo, hi)"
 * in O(log n + k): a treap keyed by (lo, hi), each node augmented with the largest `hi`
 * in its subtree. Nodes are embedded in the caller's records; nothing is allocated. */
#ifndef DAG_INTERVAL_H
#define DAG_INTERVAL_H

#include <stddef.h>
#include <stdint.h>

struct ivnode {
    uintptr_t lo, hi;
    uintptr_t maxhi;
    struct ivnode *left, *right;
    uint32_t prio;
};

struct ivtree {
    struct ivnode *root;
    uint32_t rng;
};

void iv_insert(struct ivtree *t, struct ivnode *n);
void iv_remove(struct ivtree *t, struct ivnode *n);

/* Calls fn(n, arg) for every node overlapping [lo, hi), in order of lo. */
void iv_query(const struct ivtree *t, uintptr_t lo, uintptr_t hi,
              void (*fn)(struct ivnode *, void *), void *arg);

#endif
