/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * JSON text for libyaml: the control server (lib/ctl) and vnetfwctl parse
 * JSON with libyaml, which has no UTF-16 surrogate pair escapes. Header
 * only, so that vnetfwctl (no DPDK) shares it.
 */
#ifndef VNETFW_JSON_UTF16_H
#define VNETFW_JSON_UTF16_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int
vfw_json_hex4_(const char *s, size_t n, unsigned int *v)
{
	size_t i;

	*v = 0;
	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char ch = s[i];

		*v <<= 4;
		if (ch >= '0' && ch <= '9')
			*v |= (unsigned int)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			*v |= (unsigned int)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			*v |= (unsigned int)(ch - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * JSON writes a character beyond U+FFFF as an escaped UTF-16 surrogate
 * pair ("\ud83d\ude00": Python's json.dumps does by default), which
 * libyaml refuses ("found invalid Unicode character escape code"): YAML
 * has \UXXXXXXXX for those. Rewrites each pair inside double-quoted
 * strings; NULL when the line has none (the common case), else a
 * malloc'd copy (its length in *outlen; a column after a pair is 2 less
 * than in the line sent).
 */
static inline char *
vfw_json_surrogates_to_yaml(const char *line, size_t len, size_t *outlen)
{
	unsigned int hi, lo;
	bool dq = false, sq = false;
	char *out = NULL;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = line[i];

		if (sq) {
			sq = ch != '\'';
		} else if (!dq) {
			dq = ch == '"';
			sq = ch == '\'';
		} else if (ch == '"') {
			dq = false;
		} else if (ch == '\\' && i + 1 < len) {
			if (line[i + 1] == 'u' &&
			    vfw_json_hex4_(line + i + 2, len - i - 2, &hi) == 0 &&
			    hi >= 0xd800 && hi < 0xdc00 && i + 12 <= len &&
			    line[i + 6] == '\\' && line[i + 7] == 'u' &&
			    vfw_json_hex4_(line + i + 8, len - i - 8, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				if (out == NULL) {
					out = malloc(len + 1);
					if (out == NULL)
						return NULL;
					memcpy(out, line, i);
					o = i;
				}
				o += (size_t)sprintf(out + o, "\\U%08X",
					0x10000u + ((hi - 0xd800) << 10) + (lo - 0xdc00));
				i += 11;
				continue;
			}
			/* any other escape: both characters as they are */
			if (out != NULL)
				out[o++] = ch;
			ch = line[++i];
		}
		if (out != NULL)
			out[o++] = ch;
	}
	if (out != NULL)
		*outlen = o;
	return out;
}

#endif
