/* rangehash.h: the one hash of a byte range [addr, addr + len) for the runtime's
 * range-keyed tables: dependency records (core/deps.c), the CUDA layer's region table
 * (cuda/coherence.c) and writer counts (cuda/writers.c). Multiplicative mixing of both words. */
#ifndef DAG_RANGEHASH_H
#define DAG_RANGEHASH_H

#include <stddef.h>
#include <stdint.h>

/* A bucket index in a table of mask + 1 buckets (a power of two). */
static inline size_t range_hash(const void *addr, size_t len, size_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)addr * 0x9e3779b97f4a7c15ull; /* byte ranges too */
    h ^= (uint64_t)len * 0xc2b2ae3d27d4eb4full;
    return (size_t)(h ^ (h >> 32)) & mask;
}

#endif
