/* teacher.h: what the nn tests share: synthetic data (the labels a random linear teacher
 * gives uniform inputs, generated identically on every rank from a seed) and CHECK, which
 * ends the test naming the failed call and the rank (the including file has a `rank`). */
#ifndef NN_TEST_TEACHER_H
#define NN_TEST_TEACHER_H
#include <dag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void teacher_data(float **xp, int32_t **yp, int ns, int feat, unsigned long long s)
{
    float *x = malloc(sizeof(float) * ns * feat), *teacher = malloc(sizeof(float) * 10 * feat);
    int32_t *y = malloc(sizeof(int32_t) * ns);
    if (!x || !y || !teacher) {
        fprintf(stderr, "teacher_data: out of memory\n");
        exit(1);
    }
    for (int c = 0; c < 10; c++)
        for (int i = 0; i < feat; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            teacher[c * feat + i] = (float)((s >> 40) % 2001) / 1000.0f - 1.0f;
        }
    for (int n = 0; n < ns; n++) {
        float best = -1e30f;
        for (int i = 0; i < feat; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[(size_t)n * feat + i] = (float)((s >> 40) % 1000) / 1000.0f;
        }
        for (int c = 0; c < 10; c++) {
            float z = 0;
            for (int i = 0; i < feat; i++) z += teacher[c * feat + i] * x[(size_t)n * feat + i];
            if (z > best) best = z, y[n] = c;
        }
    }
    free(teacher);
    *xp = x, *yp = y;
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        dag_status_t st_ = (call);                                                           \
        if (st_ != DAG_OK) {                                                                 \
            fprintf(stderr, "rank %d: %s: %s\n", rank, #call, dag_strerror(st_));             \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

#endif
