/* expect: 'in_reduction' is not allowed on a function task */
#pragma dag task in_reduction(+: s)
void add(long s);
