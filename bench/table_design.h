/*
 * The array table src_stats could move to (a design measured, not built): one entry per source
 * in an mmapped ARRAY, picked by the program's own hash of the address (ps_pending_slot),
 * claimed by compare-and-swap of state. Shared by its program side (bench/primitives.bpf.c,
 * table_*) and its drain side (bench/agent_bench.cpp, table_floor).
 */
#ifndef PROBESCOPE_BENCH_TABLE_DESIGN_H
#define PROBESCOPE_BENCH_TABLE_DESIGN_H

#include "probescope/abi.h"

enum ps_table_state { PS_TABLE_EMPTY, PS_TABLE_BUSY, PS_TABLE_FULL };

struct ps_table_entry {
	__u64 state; /* enum ps_table_state */
	struct ps_src_key key;
	struct ps_src_stats stats;
};

#endif /* PROBESCOPE_BENCH_TABLE_DESIGN_H */
