/* lib.h: a function task declared in a header; every caller's call becomes a task. */
#ifndef DRIVER_LIB_H
#define DRIVER_LIB_H
#pragma dag task depend(inout: dst[0:n]) depend(in: src[0:n])
void add_into(int *dst, const int *src, int n);
#endif
