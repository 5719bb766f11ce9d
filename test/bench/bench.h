/* bench.h - tiny helpers for benchmark programs: time a loop, print a figure
 * beside its peer or limit as a ratio. Never pass/fail. */
#ifndef KNODE_TEST_BENCH_H
#define KNODE_TEST_BENCH_H

#include <stdio.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "name: 12.3 us/op  vs  peer: 10.1 us/op  ratio 1.22 (lower is better)" */
static inline void bench_report(const char *name, double value, const char *peer, double peer_value,
                                const char *unit, int lower_is_better)
{
    printf("%-44s %10.2f %-6s vs %-36s %10.2f %-6s ratio %.2f (%s is better)\n", name, value, unit,
           peer, peer_value, unit, peer_value > 0 ? value / peer_value : 0.0,
           lower_is_better ? "lower" : "higher");
}

#endif
