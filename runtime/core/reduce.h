/* reduce.h: what taskloop.c needs of reduce.c beyond the public calls: a private copy
 * from a known reduction group (no search by address). */
#ifndef DAG_CORE_REDUCE_H
#define DAG_CORE_REDUCE_H

#include "dag.h"

/* A new private copy of reduction number i of group g. */
dag_status_t redgroup_private(dag_redgroup_t *g, size_t i, void **priv);

#endif
