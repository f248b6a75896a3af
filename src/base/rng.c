/* xoshiro256** (Blackman & Vigna), seeded through splitmix64: small, fast, and the same stream
 * on every platform, so a seed means the same weights everywhere. */
#include "base/base.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void mlp_rng_seed(mlp_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

uint64_t mlp_rng_next(mlp_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mlp_rng_uniform(mlp_rng *rng) {
    return (double)(mlp_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t mlp_rng_below(mlp_rng *rng, uint64_t bound) {
    /* Rejection sampling: discard the top partial range so every value is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do x = mlp_rng_next(rng);
    while (x >= limit);
    return x % bound;
}
