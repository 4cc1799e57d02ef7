/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON string escaping for replies. Replies are read back by libyaml
 * (vnetfwctl) and by any JSON parser, so they must be valid UTF-8 with only
 * the escapes both understand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_private.h"

/*
 * Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * if it is not one (overlong forms, surrogates and > U+10FFFF included).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
ctl_json_strn(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, l;

	putc('"', f);
	while (i < n) {
		unsigned char ch = s[i];
		const char *esc = NULL;

		switch (ch) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default: break;
		}
		if (esc == NULL && ch >= 0x20 && ch != 0x7f) {
			l = utf8_len(s + i, n - i);
			if (l > 0) {
				i += l;
				run += l;
				continue;
			}
		}
		/* Flush the plain run before the byte that needs care. */
		if (run > 0)
			fwrite(s + i - run, 1, run, f);
		run = 0;
		if (esc != NULL)
			fputs(esc, f);
		else if (ch < 0x80)
			fprintf(f, "\\u%04x", ch);
		else
			fputs("\\ufffd", f); /* not UTF-8: never emit it raw */
		i++;
	}
	if (run > 0)
		fwrite(s + i - run, 1, run, f);
	putc('"', f);
}

void
vfw_ctl_json_string(FILE *f, const char *s, size_t len)
{
	ctl_json_strn(f, s, len);
}

void
ctl_json_str(FILE *f, const char *s)
{
	ctl_json_strn(f, s, strlen(s));
}

void
ctl_json_errors(FILE *f, const char *extra, const char *prefix,
		const struct vfw_errors *errs)
{
	unsigned int i;
	char *joined = NULL;
	size_t len = 0;
	FILE *j = open_memstream(&joined, &len);

	/* "error" is all messages joined for humans; "errors" for scripts. */
	if (j != NULL) {
		if (prefix != NULL)
			fprintf(j, "%s%s", prefix, errs->n > 0 ? ": " : "");
		for (i = 0; i < errs->n; i++)
			fprintf(j, "%s%s", i ? "; " : "", errs->msg[i]);
		if (prefix == NULL && errs->n == 0)
			fputs("failed", j);
		fclose(j);
	}
	fprintf(f, "{\"ok\":false%s,\"error\":", extra != NULL ? extra : "");
	ctl_json_str(f, joined != NULL ? joined : "out of memory");
	fputs(",\"errors\":[", f);
	for (i = 0; i < errs->n; i++) {
		if (i)
			putc(',', f);
		ctl_json_str(f, errs->msg[i]);
	}
	fputs("]}", f);
	free(joined);
}
