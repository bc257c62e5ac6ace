/* BPF-only distinct-count sketches: exact slots first, a 4-bit HyperLogLog always. */
#ifndef PROBESCOPE_SKETCH_BPF_H
#define PROBESCOPE_SKETCH_BPF_H

#include "probescope/abi.h"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Registers only grow; a lost race between CPUs costs one register update at most. */
static __always_inline void ps_hll_add(__u8 *regs, __u32 hash)
{
	__u32 idx = ps_hll_index(hash);
	__u32 rank = ps_hll_rank(hash);
	__u32 shift = (idx & 1) * 4;
	__u8 *byte = &regs[(idx >> 1) & (PS_HLL_BYTES - 1)];
	__u8 cur;

	cur = (*byte >> shift) & 0xf;
	if (rank > cur)
		*byte = (*byte & ~(0xf << shift)) | (rank << shift);
}

/*
 * Adds item to a slot set; returns the slot index or -1 when the set is full. *fresh is set
 * when this call claimed the slot: the item is new to the set, and so to the HLL beside it.
 * Slots are claimed with compare-and-swap, so two CPUs never take the same one.
 */
static __always_inline int ps_slot_add(__u32 *slots, int nslots, __u32 item, int *fresh)
{
	*fresh = 0;
	for (int i = 0; i < nslots; i++) {
		__u32 s = slots[i];

		if (s == item)
			return i;
		if (s == 0) {
			__u32 old = __sync_val_compare_and_swap(&slots[i], 0, item);

			*fresh = old == 0;
			if (old == 0 || old == item)
				return i;
		}
	}
	return -1;
}

#endif /* PROBESCOPE_SKETCH_BPF_H */
