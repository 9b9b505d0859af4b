/* deps.h: dependency domains. Each task that creates children owns a domain that maps
 * the byte ranges its children named to the access history of those ranges, and turns
 * each new child's dependencies into edges from earlier conflicting siblings.
 * A domain is touched only by the thread running its owner's body: no locks. */
#ifndef DAG_DEPS_H
#define DAG_DEPS_H

#include "task.h"

struct domain;

/* Check a dependency list before anything is allocated. */
dag_status_t deps_validate(const dag_dep_t *deps, size_t ndeps);

/* Add the edges that order t after its conflicting earlier siblings and record t's
 * accesses. t->npreds must hold the submission guard (1). Creates parent->domain on
 * first use. Returns DAG_ERR_NOMEM if memory ran out (edges added so far stay valid). */
dag_status_t deps_register(struct tctx *c, struct task *parent, struct task *t,
                           const dag_dep_t *deps, size_t ndeps);

void domain_destroy(struct tctx *c, struct domain *d);

/* Number of live records (for tests and statistics). */
size_t domain_size(const struct domain *d);

#endif
