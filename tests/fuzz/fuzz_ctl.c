/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the control-protocol request handler (JSON parsing, command
 * dispatch, candidate-config editing, validation), with an application side
 * that accepts every change at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vnetfw/ctl.h"

static const char running[] =
	"ports:\n"
	"  vnet: {device: f0, address: 10.0.1.4/24, gateway: 10.0.1.1}\n"
	"  cluster: {device: f1, address: 10.240.0.4/16}\n"
	"security_rules:\n"
	"  - {name: web, priority: 100, direction: inbound, access: allow, protocol: tcp,\n"
	"     source: [any], destination: [10.240.0.0/16], destination_ports: [443]}\n"
	"routes: [{name: hole, prefix: 10.66.0.0/16, next_hop_type: None}]\n";

static struct vfw_ctl *ctl;
static uint64_t gen = 1;

static int
f_apply(void *ctx, const struct vfw_config *cfg, enum vfw_existing e,
	uint64_t *ticket, struct vfw_errors *errs)
{
	(void)ctx; (void)cfg; (void)e; (void)errs;
	*ticket = ++gen;
	return 0;
}

static int
f_applied(void *ctx, uint64_t ticket, uint64_t *g)
{
	(void)ctx;
	*g = ticket;
	return 1;
}

static uint64_t
f_generation(void *ctx)
{
	(void)ctx;
	return gen;
}

static int
f_show(void *ctx, const char *what, FILE *out)
{
	(void)ctx;
	(void)what;
	fputs("[]", out);
	return 0;
}

static int
f_explain(void *ctx, const struct vfw_config *cfg, int direction, uint8_t proto,
	  const struct vfw_ip *src, uint16_t sport, const struct vfw_ip *dst,
	  uint16_t dport, FILE *out)
{
	(void)ctx; (void)cfg; (void)direction; (void)proto; (void)src;
	(void)sport; (void)dst; (void)dport;
	fputs("{}", out);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct vfw_ctl_ops ops = {
		.apply = f_apply, .applied = f_applied, .generation = f_generation,
		.show = f_show, .explain = f_explain,
	};
	struct vfw_errors errs;
	struct vfw_config *cfg;

	(void)argc;
	(void)argv;
	vfw_errors_init(&errs);
	cfg = vfw_config_load_string(running, sizeof(running) - 1, "<fuzz>", &errs);
	if (cfg == NULL)
		abort();
	cfg->control.socket[0] = '\0'; /* no listener: requests come from here */
	ctl = vfw_ctl_create(cfg, &ops);
	if (ctl == NULL)
		abort();
	vfw_config_free(cfg);
	vfw_errors_free(&errs);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *out = fopen("/dev/null", "w");

	if (out == NULL)
		abort();
	/* a "save" must not write anywhere: the running config has no file */
	vfw_ctl_handle_line(ctl, (const char *)data, size, out);
	fclose(out);
	return 0;
}
