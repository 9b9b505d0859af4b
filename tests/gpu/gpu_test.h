/* gpu_test.h: what the files of the GPU suite share (test_gpu.c, test_random.c): starting
 * and stopping the runtime per test, its CUDA counters, and the randomised test case. */
#ifndef DAG_TEST_GPU_H
#define DAG_TEST_GPU_H

#include <check.h>

#include <dag/cuda.h>

/* dag_init with nthreads workers and DAG_SCHED=sched (NULL: the default); a device must
 * be in use. stop() finalises and clears the DAG_* variables tests set. */
void start(int nthreads, const char *sched);
void stop(void);
dag_cuda_stats_t stats(void);

/* test_random.c: random programs against sequential execution. */
TCase *random_tcase(void);

#endif
