/* harness.h: helpers shared by the runtime's Check suites: starting the runtime with a
 * given number of workers, gates that hold a task until the test opens them, and a
 * recorder (through the runtime's observability hooks) of which edges were created. */
#ifndef DAG_TEST_HARNESS_H
#define DAG_TEST_HARNESS_H

#include <check.h>
#include <stdatomic.h>
#include <stdint.h>

#include <dag.h>

void rt_start(int nthreads);
void rt_stop(void);

/* A gate: tasks wait in gate_wait() until the test calls gate_open(). */
typedef struct {
    atomic_int open;
} gate_t;
void gate_wait(gate_t *g);
void gate_open(gate_t *g);

/* Edge recorder (install before rt_start, uninstall after rt_stop: the hook table is
 * read by workers without synchronisation). While installed, every submitted task is numbered in submission order
 * (0, 1, ...) and every edge pred -> succ between numbered tasks is recorded. */
void rec_install(void);
void rec_uninstall(void);
void rec_reset(void);
int rec_edge(int pred, int succ);
int rec_nsubmitted(void);
int rec_nedges(void);

/* Runs the suite built by make_suite and exits with 0 only if every test passed. */
int run_suite(Suite *s);

#endif
