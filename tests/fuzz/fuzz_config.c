/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the YAML config loader, and the writer on what it accepts. */
#include <stdlib.h>

#include "vnetfw/config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfw_errors errs;
	struct vfw_config *cfg, *again;
	size_t len;
	char *text;

	vfw_errors_init(&errs);
	cfg = vfw_config_load_string((const char *)data, size, "<fuzz>", &errs);
	if (cfg != NULL) {
		/* what loads must write out and load back */
		text = vfw_config_to_string(cfg, &len);
		if (text == NULL)
			abort();
		vfw_errors_free(&errs);
		vfw_errors_init(&errs);
		again = vfw_config_load_string(text, len, "<rewritten>", &errs);
		if (again == NULL)
			abort();
		vfw_config_free(again);
		free(text);
		vfw_config_free(cfg);
	}
	vfw_errors_free(&errs);
	return 0;
}
