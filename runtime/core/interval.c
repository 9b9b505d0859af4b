/* interval.c: the augmented treap behind interval.h. Recursion depth is the treap's
 * depth, O(log n) with high probability; keys are unique (the caller's hash table
 * guarantees one record per exact range). */
#include "interval.h"

static inline uintptr_t maxhi(const struct ivnode *n)
{
    return n ? n->maxhi : 0;
}

static inline void update(struct ivnode *n)
{
    uintptr_t m = n->hi, l = maxhi(n->left), r = maxhi(n->right);
    if (l > m)
        m = l;
    if (r > m)
        m = r;
    n->maxhi = m;
}

static inline int less(const struct ivnode *a, const struct ivnode *b)
{
    return a->lo < b->lo || (a->lo == b->lo && a->hi < b->hi);
}

static struct ivnode *rotate_right(struct ivnode *n)
{
    struct ivnode *l = n->left;
    n->left = l->right;
    l->right = n;
    update(n);
    update(l);
    return l;
}

static struct ivnode *rotate_left(struct ivnode *n)
{
    struct ivnode *r = n->right;
    n->right = r->left;
    r->left = n;
    update(n);
    update(r);
    return r;
}

static struct ivnode *insert(struct ivnode *root, struct ivnode *n)
{
    if (!root)
        return n;
    if (less(n, root)) {
        root->left = insert(root->left, n);
        if (root->left->prio > root->prio)
            return rotate_right(root);
    } else {
        root->right = insert(root->right, n);
        if (root->right->prio > root->prio)
            return rotate_left(root);
    }
    update(root);
    return root;
}

void iv_insert(struct ivtree *t, struct ivnode *n)
{
    /* xorshift32: priorities only need to be independent of the keys */
    uint32_t x = t->rng ? t->rng : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->rng = x;
    n->prio = x;
    n->left = n->right = NULL;
    n->maxhi = n->hi;
    t->root = insert(t->root, n);
}

static struct ivnode *merge(struct ivnode *a, struct ivnode *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->prio > b->prio) {
        a->right = merge(a->right, b);
        update(a);
        return a;
    }
    b->left = merge(a, b->left);
    update(b);
    return b;
}

static struct ivnode *remove_node(struct ivnode *root, struct ivnode *n)
{
    if (!root)
        return NULL; /* not present: a caller bug, but harmless */
    if (root == n)
        return merge(n->left, n->right);
    if (less(n, root))
        root->left = remove_node(root->left, n);
    else
        root->right = remove_node(root->right, n);
    update(root);
    return root;
}

void iv_remove(struct ivtree *t, struct ivnode *n)
{
    t->root = remove_node(t->root, n);
    n->left = n->right = NULL;
}

static void query(struct ivnode *n, uintptr_t lo, uintptr_t hi,
                  void (*fn)(struct ivnode *, void *), void *arg)
{
    while (n && n->maxhi > lo) {
        query(n->left, lo, hi, fn, arg);
        if (n->lo >= hi)
            return; /* everything to the right starts at or after hi */
        if (n->hi > lo)
            fn(n, arg);
        n = n->right;
    }
}

void iv_query(const struct ivtree *t, uintptr_t lo, uintptr_t hi,
              void (*fn)(struct ivnode *, void *), void *arg)
{
    query(t->root, lo, hi, fn, arg);
}
