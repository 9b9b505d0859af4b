/* expect: 'status' needs a modifiable lvalue */
#include <dag.h>
#pragma dag task depend(inout: c[0:n]) status(*st)
void scale(double *c, int n, const dag_status_t *st);
