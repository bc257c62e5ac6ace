/* Benchmark traffic source: rewrites a template SYN per frame and redirects it out of a veth. */
#include "vmlinux.h"
#include "gen_frame.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (tests/tools/probescope_blast.cpp).
 * The page pool recycles frames without resetting them, so every field that varies is written
 * on every run: nothing may depend on what the previous frame left behind. The mode of each
 * frame comes from its position in a 1000-frame cycle, so one test run carries the whole mix
 * (a test run sets up a page pool: short runs cost more than the frames they send). The frames
 * themselves are gen_frame.h's, which probescope-blast's AF_PACKET sender builds the same way.
 */

/* The run's mix (gen_frame.h); set by probescope-blast before load. */
const volatile struct gen_config cfg;
const volatile __u32 out_ifindex;

/* Read by user space after the runs (mmapped .bss); one generator thread at a time. */
__u64 frames[GEN_MODE_COUNT]; /* frames this program returned XDP_REDIRECT for */
__u64 scan_next;	      /* position in the scanners' (source, port) walk */
__u64 frame_next;	      /* position in the 1000-frame mix cycle */

SEC("xdp")
int gen_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 rnd[GEN_RANDOM_WORDS] = {}, m = gen_mode_of(&cfg, frame_next++);

	if (data + GEN_FRAME_LEN > end)
		return XDP_ABORTED;
	if (gen_takes_random(m)) /* a scan frame takes none: no helper calls */
		for (int i = 0; i < GEN_RANDOM_WORDS; i++)
			rnd[i] = bpf_get_prandom_u32();
	gen_frame(data, &cfg, m, &scan_next, rnd);
	if (m < GEN_MODE_COUNT)
		frames[m]++;
	return bpf_redirect(out_ifindex, 0);
}
