/* expect: 'status' needs an lvalue of type dag_status_t or an integer type (this one is 'dag_status_t *') */
#include <dag.h>
/* status() names the parameters: the pointer itself is not the status variable */
#pragma dag task depend(inout: c[0:n]) status(st)
void scale(double *c, int n, dag_status_t *st);
