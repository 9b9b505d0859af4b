/* visibility.h: DAG_INTERNAL, the one mark of the core's internal symbols that the
 * plugins (core/plugin.h: libdagrt_mpi.so, libdagrt_cuda.so) link against: exported from
 * libdagrt.so, never declared in include/. */
#ifndef DAG_VISIBILITY_H
#define DAG_VISIBILITY_H

#if defined(__GNUC__)
#define DAG_INTERNAL __attribute__((visibility("default")))
#else
#define DAG_INTERNAL
#endif

#endif
