/* pragma.h: the model of one `#pragma dag ...` / `#pragma omp ...` directive and its
 * parser. The parser works on the directive text alone (no libclang), so it can be unit
 * tested and fuzzed; C expressions inside clauses are kept as spans, never interpreted. */
#ifndef DAGCC_PRAGMA_H
#define DAGCC_PRAGMA_H

#include <stddef.h>

/* Byte offsets [b, e) into the text given to pr_parse; b == e means "absent". */
typedef struct pr_span {
    unsigned b, e;
} pr_span;

typedef enum pr_family { PR_NONE = 0, PR_DAG, PR_OMP } pr_family;

typedef enum pr_kind {
    PK_TASK,
    PK_TASKWAIT,
    PK_TASKGROUP,
    PK_TASKLOOP,
    PK_PARALLEL,  /* omp parallel, optionally `parallel master|masked` (PF_MASTER) */
    PK_SINGLE,    /* omp single */
    PK_MASTER,    /* omp master / masked */
    PK_TASKYIELD, /* taskyield */
    PK_DEPOBJ,    /* depobj(o) depend(...) | update(mode) | destroy */
    PK_DECLARE_REDUCTION, /* declare reduction(id : types : combiner) [initializer(...)] */
    PK_OTHER      /* an omp directive dagcc leaves to the underlying compiler */
} pr_kind;

/* pr_directive.combined */
#define PF_PARALLEL 0x1u /* `parallel master taskloop` */
#define PF_MASTER 0x2u   /* `parallel master`, `master taskloop` */
#define PF_SIMD 0x4u     /* `taskloop simd` (the simd part is dropped) */

typedef enum pr_clause_kind {
    PC_DEPEND, PC_SHARED, PC_FIRSTPRIVATE, PC_PRIVATE, PC_DEFAULT, PC_IF, PC_FINAL,
    PC_PRIORITY, PC_LABEL, PC_DEVICE, PC_NODE, PC_GRAINSIZE, PC_NUM_TASKS, PC_NOGROUP,
    PC_COLLAPSE, PC_NUM_THREADS, PC_PROC_BIND, PC_FILTER, PC_NOWAIT, PC_UNTIED,
    PC_MERGEABLE, PC_AFFINITY, PC_ALLOCATE, PC_REDUCTION, PC_IN_REDUCTION,
    PC_TASK_REDUCTION, PC_LASTPRIVATE, PC_COPYIN, PC_COPYPRIVATE, PC_DETACH, PC_SIMD,
    PC_VARIANT, PC_RETRY, PC_CHECKPOINT, PC_UPDATE, PC_DESTROY, PC_INITIALIZER, PC_STATUS,
    PC_COUNT
} pr_clause_kind;

typedef enum pr_dep_mode {
    DM_IN = 1, DM_OUT, DM_INOUT, DM_MUTEXINOUTSET, DM_INOUTSET,
    DM_DEPOBJ /* depend(depobj: o): the dependence o holds */
} pr_dep_mode;
/* reduction operators (pr_clause.value of reduction, in_reduction, task_reduction) */
typedef enum pr_red_op {
    RO_SUM = 1, RO_PROD, RO_MIN, RO_MAX, RO_BAND, RO_BOR, RO_BXOR, RO_LAND, RO_LOR,
    RO_USER /* a declared reduction: pr_clause.expr names it */
} pr_red_op;
typedef enum pr_default { DF_SHARED = 1, DF_NONE, DF_FIRSTPRIVATE, DF_PRIVATE } pr_default;
typedef enum pr_device { DV_ANY = 1, DV_CPU, DV_CUDA } pr_device;

/* One dimension of an array section: `[lo:len]`, `[:len]`, `[lo:]`, or a plain `[i]`. */
typedef struct pr_dim {
    pr_span lo, len;
    int is_section; /* 0: plain subscript, lo is the index */
} pr_dim;

/* A list item. For depend: `x`, `*p`, `s.m`, `p->m`, `a[lo:len]`, `A[i][lo:len]`. A
 * section item has ndims > 0 and base is the part before the first section bracket. */
typedef struct pr_item {
    pr_span text, base;
    unsigned ndims;
    pr_dim *dims;
} pr_item;

/* One iterator of depend(iterator(...), ...): `[type] name = begin : end [: step]`. */
typedef struct pr_iter {
    pr_span type, name, begin, end, step; /* type absent: int; step absent: 1 */
} pr_iter;

typedef struct pr_clause {
    pr_clause_kind kind;
    pr_span name;  /* the clause keyword */
    pr_span whole; /* keyword through closing parenthesis */
    pr_span expr;  /* single-expression clauses; label: the string literal(s) */
    int value;     /* depend: pr_dep_mode; default: pr_default; device: pr_device, or 0
                      for an expression (expr);
                      variant: pr_device (expr: the function name);
                      grainsize/num_tasks: 1 if `strict:`; reductions: pr_red_op
                      (expr: the identifier of a declared one); update: pr_dep_mode */
    pr_item *items;
    unsigned nitems;
    pr_iter *iters; /* depend(iterator(...), ...) */
    unsigned niters;
} pr_clause;

typedef struct pr_directive {
    pr_family family;
    pr_kind kind;
    unsigned combined; /* PF_* */
    pr_span name;      /* the directive name words, e.g. "task" or "parallel master" */
    pr_clause *clauses;
    unsigned nclauses;
    pr_span arg;      /* depobj(o): o; declare reduction: the reduction identifier */
    pr_span combiner; /* declare reduction: the combiner expression */
    pr_span *types;   /* declare reduction: the type list */
    unsigned ntypes;
} pr_directive;

typedef struct pr_error {
    pr_span where;
    char msg[200];
} pr_error;

/* Parses the text that follows `pragma` (or the contents of a _Pragma string). `omp`
 * enables the OpenMP family. Returns 0 on success, 1 if the pragma is not ours (another
 * namespace, or omp while omp is off), -1 on a syntax error (described in *err). */
int pr_parse(const char *text, size_t len, int omp, pr_directive *out, pr_error *err);
void pr_free(pr_directive *d);

const char *pr_clause_name(pr_clause_kind k);
const char *pr_kind_name(const pr_directive *d); /* "task", "taskloop", ... */
const pr_clause *pr_find(const pr_directive *d, pr_clause_kind k);

#endif
