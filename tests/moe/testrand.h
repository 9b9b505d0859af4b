/* testrand.h: the seeded generator (splitmix64) and the random routings shared by the MoE
 * tests (test_moe.c, test_moe_mpi.c, test_moe_gpu.c); every rank draws the same values
 * from the same seed. */
#ifndef DAG_MOE_TESTRAND_H
#define DAG_MOE_TESTRAND_H

#include <math.h>
#include <stdint.h>

static inline uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline double urand(uint64_t *s) { return (rng(s) >> 11) * (1.0 / 9007199254740992.0); }
static inline int irand(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rng(s) % (uint64_t)(hi - lo + 1));
}

/* K distinct experts per token; uniform when skew is 0, else expert E * u^skew (most tokens
 * on the first experts) */
static inline void make_route(int *r, int n, int K, int E, double skew, uint64_t *s)
{
    for (int t = 0; t < n; t++)
        for (int j = 0; j < K; j++) {
            int e, dup;
            do {
                e = skew > 0 ? (int)(E * pow(urand(s), skew)) : irand(s, 0, E - 1);
                e = e < E ? e : E - 1;
                dup = 0;
                for (int i = 0; i < j; i++)
                    dup |= r[t * K + i] == e;
            } while (dup);
            r[t * K + j] = e;
        }
}

#endif /* DAG_MOE_TESTRAND_H */
