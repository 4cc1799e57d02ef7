/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the packet parser (and the ICMP-error inner parser). */
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "vnetfw/pkt.h"

static struct rte_mempool *pool;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = { "fuzz_parse", "--no-huge", "--no-pci", "-m", "64",
			"--file-prefix=fuzz_parse", "--log-level=*:error",
			"--no-telemetry", "--no-shconf", NULL };

	(void)argc;
	(void)argv;
	if (rte_eal_init(9, eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fz", 63, 0, VFW_MBUF_PRIV_SIZE,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct vfw_pkt_meta *meta;
	struct vfw_flow_key inner;
	char *d;

	if (m == NULL)
		abort();
	if (size > rte_pktmbuf_tailroom(m))
		size = rte_pktmbuf_tailroom(m);
	d = rte_pktmbuf_append(m, (uint16_t)size);
	memcpy(d, data, size);
	meta = vfw_pkt_meta(m);
	if (vfw_pkt_parse(m, meta) == VFW_DROP_NONE &&
	    (meta->flags & VFW_PF_ICMP_ERR))
		vfw_pkt_parse_inner(m, meta, &inner);
	rte_pktmbuf_free(m);
	return 0;
}
