/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vnetfwctl: command-line client of the vnetfw control socket.
 *
 * It turns a command line into request lines (docs/control-protocol.md),
 * sends them on one connection and prints the replies: tables and
 * "key: value" lines for people, the raw reply lines with --json for
 * scripts. It needs neither DPDK nor EAL: a Unix socket, and libyaml to
 * read replies and to turn YAML or JSON arguments into one-line JSON.
 *
 * Exit status: 0 when the server answered {"ok":true}, 1 when it answered
 * {"ok":false} (the error goes to stderr), 2 for usage, connection and
 * protocol errors.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "vnetfw/json_utf16.h"

#define DEFAULT_SOCKET "/run/vnetfw/control.sock"
#define DEFAULT_TIMEOUT 60
#define MAX_FILE (64u << 20)
#define MAX_DEPTH 64
#define MAX_COLUMNS 64

#define EXIT_FAIL 1   /* the server said no */
#define EXIT_USAGE 2  /* we could not ask */

static const char *prog = "vnetfwctl";

static struct {
	const char *socket;
	bool json;
	int timeout;      /* seconds without progress; 0 = wait forever */
	bool reevaluate;
} opt;

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: vnetfwctl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Talks to a running vnetfw over its control socket.\n"
"\n"
"Options (anywhere on the line):\n"
"  -s, --socket PATH   control socket (default: $VNETFW_SOCKET, else\n"
"                      " DEFAULT_SOCKET "); see control.socket in the config\n"
"  -j, --json          print the server's reply lines as they are (JSON)\n"
"  -t, --timeout SEC   give up after SEC seconds without an answer\n"
"                      (default %d; 0 waits forever)\n"
"  -r, --reevaluate    re-check existing sessions against the new policy\n"
"                      (\"existing\":\"reevaluate\"; default: keep them)\n"
"  -h, --help          this text\n"
"\n"
"Commands:\n"
"  show WHAT                     WHAT: rules routes nat sessions stats ports\n"
"                                neighbors config\n"
"  rule add RULE                 add a security rule\n"
"  rule replace RULE             replace the rule of the same name\n"
"  rule del NAME                 delete a rule\n"
"  route add ROUTE               add a route\n"
"  route del NAME                delete a route\n"
"  nat add dnat|snat ITEM        add a DNAT or SNAT rule\n"
"  nat del NAME                  delete a DNAT or SNAT rule\n"
"  neighbor add ADDRESS MAC      add a static neighbor\n"
"  neighbor del ADDRESS          delete a static neighbor\n"
"  apply FILE.yaml               replace the whole config atomically\n"
"  validate FILE.yaml            check a config and show what apply would\n"
"                                change; nothing is applied\n"
"  save                          write the running config to its file\n"
"                                (the previous one is kept as FILE.bak)\n"
"  explain inbound|outbound PROTO SRC[:PORT] DST[:PORT]\n"
"                                how a packet would be handled\n"
"                                (DST:PORT for tcp and udp; IPv4 only)\n"
"  batch FILE|-                  send request lines (JSON, one per line;\n"
"                                blank lines and # comments skipped) as one\n"
"                                transaction: all are applied or none\n"
"  raw 'JSON'                    send one request line as is\n"
"\n"
"RULE, ROUTE and ITEM are one item written as in the config file, in JSON\n"
"or YAML flow style, or @FILE to read it from a file (block YAML allowed;\n"
"- is stdin). A list of items is added as one transaction.\n"
"FILE.yaml may be - for stdin.\n"
"\n"
"Examples:\n"
"  vnetfwctl show rules\n"
"  vnetfwctl rule add '{name: ssh-in, priority: 150, direction: inbound,\n"
"      access: allow, protocol: tcp, source: [10.0.0.0/8],\n"
"      destination: [any], destination_ports: [22]}'\n"
"  vnetfwctl rule add @rules.yaml\n"
"  vnetfwctl rule del ssh-in\n"
"  vnetfwctl nat add dnat '{name: web, protocol: tcp, destination: 10.0.1.4,\n"
"      destination_port: 443, translated_address: 10.240.1.10,\n"
"      translated_port: 8443}'\n"
"  vnetfwctl neighbor add 10.0.1.1 02:00:00:00:01:01\n"
"  vnetfwctl validate new.yaml && vnetfwctl apply new.yaml --reevaluate\n"
"  vnetfwctl explain inbound tcp 198.51.100.7:40000 10.0.1.4:443\n"
"  vnetfwctl --json show sessions | jq .\n"
"\n"
"Exit status: 0 done; 1 the server refused (its error is on stderr);\n"
"2 usage, connection or protocol error.\n"
"Protocol reference: docs/control-protocol.md.\n",
		DEFAULT_TIMEOUT);
}

static void __attribute__((format(printf, 1, 2), noreturn))
die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(vnetfwctl --help for usage)\n");
	exit(EXIT_USAGE);
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

/* ------------------------------------------------------------------ */
/* Growing strings */

struct buf {
	char *s;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_fmt(struct buf *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	buf_add(b, s, (size_t)n);
	free(s);
}

/* A JSON string; bytes >= 0x80 pass (the server checks UTF-8). */
static void
buf_json_str(struct buf *b, const char *s, size_t n)
{
	char esc[8];
	size_t i, run = 0;

	buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *e = NULL;

		switch (ch) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (ch < 0x20 || ch == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", ch);
				e = esc;
			}
		}
		if (e == NULL) {
			run++;
			continue;
		}
		buf_add(b, s + i - run, run);
		run = 0;
		buf_str(b, e);
	}
	buf_add(b, s + n - run, run);
	buf_add(b, "\"", 1);
}

static void
buf_json_cstr(struct buf *b, const char *s)
{
	buf_json_str(b, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* YAML documents (arguments and replies) */

struct doc {
	yaml_document_t d;
	yaml_node_t *root;
	bool loaded;
};

/* Loads one document; 0, or -1 with a message in err. */
static int
doc_load_text(struct doc *dc, const char *text, size_t len, char *err,
	      size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t extra;

	memset(dc, 0, sizeof(*dc));
	if (!yaml_parser_initialize(&p))
		die("out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &dc->d)) {
		snprintf(err, errlen, "line %zu, column %zu: %s%s%s",
			 p.problem_mark.line + 1, p.problem_mark.column + 1,
			 p.problem ? p.problem : "syntax error",
			 p.context ? " " : "", p.context ? p.context : "");
		yaml_parser_delete(&p);
		return -1;
	}
	dc->loaded = true;
	dc->root = yaml_document_get_root_node(&dc->d);
	if (dc->root == NULL) {
		snprintf(err, errlen, "empty document");
		yaml_parser_delete(&p);
		return -1;
	}
	if (!yaml_parser_load(&p, &extra)) {
		snprintf(err, errlen, "line %zu, column %zu: %s",
			 p.problem_mark.line + 1, p.problem_mark.column + 1,
			 p.problem ? p.problem : "syntax error");
		yaml_parser_delete(&p);
		return -1;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		snprintf(err, errlen, "more than one document");
		yaml_document_delete(&extra);
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_document_delete(&extra);
	yaml_parser_delete(&p);
	return 0;
}

/*
 * doc_load_text() of text with JSON's surrogate pairs ("\ud83d\ude00",
 * which libyaml refuses) written as YAML escapes; the document holds
 * copies of its strings, so the rewritten text can go at once.
 */
static int
doc_load(struct doc *dc, const char *text, size_t len, char *err,
	 size_t errlen)
{
	size_t clen = 0;
	char *copy = vfw_json_surrogates_to_yaml(text, len, &clen);
	int rc;

	if (copy == NULL)
		return doc_load_text(dc, text, len, err, errlen);
	rc = doc_load_text(dc, copy, clen, err, errlen);
	free(copy);
	return rc;
}

static void
doc_free(struct doc *dc)
{
	if (dc->loaded)
		yaml_document_delete(&dc->d);
	dc->loaded = false;
}

static yaml_node_t *
node_at(struct doc *dc, int id)
{
	return yaml_document_get_node(&dc->d, id);
}

static const char *
scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	       (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *
map_get(struct doc *dc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node_at(dc, p->key));

		if (k != NULL && strcmp(k, key) == 0)
			return node_at(dc, p->value);
	}
	return NULL;
}

/* true/false/null or a JSON number: written bare, everything else quoted. */
static bool
json_literal(const char *s)
{
	const char *p = s;

	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "null") == 0)
		return true;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* Writes node as compact JSON; -1 when nested too deep (aliases). */
static int
emit_json(struct buf *b, struct doc *dc, yaml_node_t *n, int depth)
{
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	bool first = true;

	if (depth > MAX_DEPTH)
		return -1;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    json_literal(scalar(n)))
			buf_str(b, scalar(n));
		else
			buf_json_str(b, scalar(n), n->data.scalar.length);
		return 0;
	case YAML_SEQUENCE_NODE:
		buf_str(b, "[");
		for (it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			if (!first)
				buf_str(b, ",");
			first = false;
			if (emit_json(b, dc, node_at(dc, *it), depth + 1) < 0)
				return -1;
		}
		buf_str(b, "]");
		return 0;
	case YAML_MAPPING_NODE:
		buf_str(b, "{");
		for (p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node_at(dc, p->key);

			if (!first)
				buf_str(b, ",");
			first = false;
			if (k->type != YAML_SCALAR_NODE)
				return -1;
			buf_json_str(b, scalar(k), k->data.scalar.length);
			buf_str(b, ":");
			if (emit_json(b, dc, node_at(dc, p->value), depth + 1) < 0)
				return -1;
		}
		buf_str(b, "}");
		return 0;
	default:
		buf_str(b, "null");
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Files and arguments */

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (f == NULL)
		die("cannot open %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > MAX_FILE)
			die("%s: larger than %u MiB", path, MAX_FILE >> 20);
	}
	if (ferror(f))
		die("cannot read %s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	if (b.s == NULL)
		buf_add(&b, "", 0);
	*len = b.len;
	return b.s;
}

/* Requests to send, with a note for messages (e.g. "line 3 of x"). */
struct reqs {
	char **line;
	char **what;
	size_t n;
	bool txn;   /* line[0] is begin, line[n-1] commit */
};

static void
reqs_add(struct reqs *r, char *line, const char *what)
{
	r->line = xrealloc(r->line, (r->n + 1) * sizeof(*r->line));
	r->what = xrealloc(r->what, (r->n + 1) * sizeof(*r->what));
	r->line[r->n] = line;
	r->what[r->n] = what ? strdup(what) : NULL;
	r->n++;
}

static const char *
existing(void)
{
	return opt.reevaluate ? ",\"existing\":\"reevaluate\"" : "";
}

/* Wraps r's requests into begin ... commit. */
static void
make_txn(struct reqs *r)
{
	struct buf b = { 0 };
	size_t i;

	r->line = xrealloc(r->line, (r->n + 2) * sizeof(*r->line));
	r->what = xrealloc(r->what, (r->n + 2) * sizeof(*r->what));
	for (i = r->n; i > 0; i--) {
		r->line[i] = r->line[i - 1];
		r->what[i] = r->what[i - 1];
	}
	r->line[0] = strdup("{\"cmd\":\"begin\"}");
	r->what[0] = NULL;
	buf_fmt(&b, "{\"cmd\":\"commit\"%s}", existing());
	r->line[r->n + 1] = b.s;
	r->what[r->n + 1] = NULL;
	r->n += 2;
	r->txn = true;
}

/*
 * One item argument (JSON, YAML flow, or @FILE with any YAML) becomes
 * requests {"cmd":CMD,KEY:<item>}; a list becomes one per item, sent as a
 * transaction when allowed.
 */
static void
item_requests(struct reqs *r, const char *cmd, const char *key,
	      const char *arg, bool list_ok)
{
	char err[256], *text;
	const char *src = arg[0] == '@' ? arg + 1 : "argument";
	struct doc dc;
	yaml_node_item_t *it;
	size_t len;
	int i = 0;

	if (arg[0] == '@') {
		text = read_all(arg + 1, &len);
	} else {
		text = strdup(arg);
		len = strlen(arg);
	}
	if (doc_load(&dc, text, len, err, sizeof(err)) < 0)
		die("%s: %s", src, err);
	if (dc.root->type == YAML_SEQUENCE_NODE && list_ok) {
		for (it = dc.root->data.sequence.items.start;
		     it < dc.root->data.sequence.items.top; it++) {
			struct buf b = { 0 };
			char what[64];

			if (node_at(&dc, *it)->type != YAML_MAPPING_NODE)
				die("%s: item %d is not an object", src, i + 1);
			buf_fmt(&b, "{\"cmd\":\"%s\",\"%s\":", cmd, key);
			if (emit_json(&b, &dc, node_at(&dc, *it), 0) < 0)
				die("%s: nested too deeply", src);
			buf_str(&b, "}");
			snprintf(what, sizeof(what), "item %d", ++i);
			reqs_add(r, b.s, what);
		}
		if (i == 0)
			die("%s: the list is empty", src);
		make_txn(r);
	} else if (dc.root->type == YAML_MAPPING_NODE) {
		struct buf b = { 0 };

		buf_fmt(&b, "{\"cmd\":\"%s\",\"%s\":", cmd, key);
		if (emit_json(&b, &dc, dc.root, 0) < 0)
			die("%s: nested too deeply", src);
		buf_fmt(&b, "%s}", existing());
		reqs_add(r, b.s, NULL);
	} else {
		die("%s: expected an object%s", src,
		    list_ok ? " or a list of objects" : "");
	}
	doc_free(&dc);
	free(text);
}

static char *
simple(const char *cmd, const char *key, const char *value, bool change)
{
	struct buf b = { 0 };

	buf_fmt(&b, "{\"cmd\":\"%s\"", cmd);
	if (key != NULL) {
		buf_fmt(&b, ",\"%s\":", key);
		buf_json_cstr(&b, value);
	}
	buf_fmt(&b, "%s}", change ? existing() : "");
	return b.s;
}

static char *
config_request(const char *cmd, const char *path, bool change)
{
	struct buf b = { 0 };
	size_t len;
	char *text = read_all(path, &len);

	buf_fmt(&b, "{\"cmd\":\"%s\"%s,\"config\":", cmd,
		change ? existing() : "");
	buf_json_str(&b, text, len);
	buf_str(&b, "}");
	free(text);
	return b.s;
}

/* "addr", "addr:port", "[v6]:port" or a bare IPv6 address. */
/* Appends "key":"host"[,"key_port":N]; true when arg has a port. */
static bool
endpoint(struct buf *b, const char *key, const char *arg)
{
	char host[128];
	const char *port = NULL, *colon = strchr(arg, ':');
	char *end;
	unsigned long v;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL || (size_t)(close - arg - 1) >= sizeof(host))
			die_usage("bad address '%s'", arg);
		memcpy(host, arg + 1, (size_t)(close - arg - 1));
		host[close - arg - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			die_usage("bad address '%s'", arg);
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		if ((size_t)(colon - arg) >= sizeof(host))
			die_usage("bad address '%s'", arg);
		memcpy(host, arg, (size_t)(colon - arg));
		host[colon - arg] = '\0';
		port = colon + 1;
	} else {
		snprintf(host, sizeof(host), "%s", arg);
	}
	buf_fmt(b, ",\"%s\":", key);
	buf_json_cstr(b, host);
	if (port != NULL) {
		errno = 0;
		v = strtoul(port, &end, 10);
		if (port[0] < '0' || port[0] > '9' || *end != '\0' || v > 65535)
			die_usage("bad port in '%s'", arg);
		buf_fmt(b, ",\"%s_port\":%lu", key, v);
	}
	return port != NULL;
}

static bool
is_blank_or_comment(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return *s == '\0' || *s == '#';
}

static void
batch_requests(struct reqs *r, const char *path)
{
	size_t len, lineno = 0;
	char *text = read_all(path, &len), *p = text, *nl, err[256], what[300];
	struct doc dc;
	const char *cmd;

	while (p < text + len) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (nl != NULL)
			*nl = '\0';
		lineno++;
		if (!is_blank_or_comment(p)) {
			/* Catch local mistakes before anything is sent. */
			if (doc_load(&dc, p, strlen(p), err, sizeof(err)) < 0)
				die("%s:%zu: %s", path, lineno, err);
			cmd = scalar(map_get(&dc, dc.root, "cmd"));
			if (cmd == NULL)
				die("%s:%zu: not a request (a JSON object with \"cmd\")",
				    path, lineno);
			if (strcmp(cmd, "begin") == 0 ||
			    strcmp(cmd, "commit") == 0 ||
			    strcmp(cmd, "abort") == 0)
				die("%s:%zu: %s: batch adds begin and commit itself",
				    path, lineno, cmd);
			doc_free(&dc);
			snprintf(what, sizeof(what), "%s:%zu", path, lineno);
			reqs_add(r, strdup(p), what);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	free(text);
	if (r->n == 0)
		die("%s: no requests", path);
	make_txn(r);
}

/* ------------------------------------------------------------------ */
/* The connection */

static int
connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (e == EACCES || e == EPERM)
			die("cannot connect to %s: %s (the socket's mode is control.mode in the config; are you in its group?)",
			    path, strerror(e));
		die("cannot connect to %s: %s (is vnetfw running? see control.socket in the config)",
		    path, strerror(e));
	}
	return fd;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends all lines and collects one reply line per request. Writing and
 * reading are interleaved: a long batch is answered while it is being
 * sent, and a server that stops reading until we read would otherwise
 * deadlock with us.
 */
static char **
exchange(const struct reqs *r, size_t *got)
{
	struct buf out = { 0 }, in = { 0 };
	char **replies = xrealloc(NULL, r->n * sizeof(*replies));
	size_t off = 0, i, scan = 0;
	int64_t deadline;
	struct pollfd pfd;
	char chunk[65536];
	ssize_t n;
	int fd, rc, wait;

	for (i = 0; i < r->n; i++) {
		buf_str(&out, r->line[i]);
		buf_str(&out, "\n");
	}
	fd = connect_to(opt.socket);
	*got = 0;
	deadline = now_ms() + (int64_t)opt.timeout * 1000;
	while (*got < r->n) {
		pfd.fd = fd;
		pfd.events = POLLIN | (off < out.len ? POLLOUT : 0);
		wait = -1;
		if (opt.timeout > 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				die("no reply from %s within %d s (--timeout)",
				    opt.socket, opt.timeout);
			wait = (int)(left > 1000 ? 1000 : left);
		}
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (rc <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && off < out.len) {
			n = send(fd, out.s + off, out.len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				off += (size_t)n;
				deadline = now_ms() + (int64_t)opt.timeout * 1000;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* Read what the server said before it hung up. */
				pfd.revents |= POLLIN;
				off = out.len;
			}
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break; /* closed: the caller reports missing replies */
		buf_add(&in, chunk, (size_t)n);
		deadline = now_ms() + (int64_t)opt.timeout * 1000;
		for (;;) {
			char *nl = memchr(in.s + scan, '\n', in.len - scan);

			if (nl == NULL)
				break;
			replies[(*got)++] = strndup(in.s + scan,
						    (size_t)(nl - in.s - scan));
			scan = (size_t)(nl - in.s) + 1;
			if (*got == r->n)
				break;
		}
	}
	close(fd);
	free(out.s);
	free(in.s);
	return replies;
}

/* ------------------------------------------------------------------ */
/* Printing */

/*
 * A flow key ({protocol, source, source_port, destination,
 * destination_port} with scalar addresses) reads best as one cell:
 * "tcp 10.0.1.10:40000 -> 10.240.1.10:80".
 */
static bool
is_flow(struct doc *dc, yaml_node_t *n)
{
	static const char *const keys[] = { "protocol", "source", "source_port",
					    "destination", "destination_port" };
	yaml_node_pair_t *p;
	unsigned int i;

	if (n == NULL || n->type != YAML_MAPPING_NODE ||
	    scalar(map_get(dc, n, "source")) == NULL ||
	    scalar(map_get(dc, n, "destination")) == NULL)
		return false;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node_at(dc, p->key));

		for (i = 0; k != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (k == NULL || i == sizeof(keys) / sizeof(keys[0]))
			return false;
	}
	return true;
}

static void
endpoint_text(struct buf *b, const char *addr, const char *port)
{
	bool v6 = strchr(addr, ':') != NULL;

	if (port != NULL && strcmp(port, "0") != 0)
		buf_fmt(b, v6 ? "[%s]:%s" : "%s:%s", addr, port);
	else
		buf_str(b, addr);
}

static void
flow_text(struct buf *b, struct doc *dc, yaml_node_t *n)
{
	const char *proto = scalar(map_get(dc, n, "protocol"));

	if (proto != NULL)
		buf_fmt(b, "%s ", proto);
	endpoint_text(b, scalar(map_get(dc, n, "source")),
		      scalar(map_get(dc, n, "source_port")));
	buf_str(b, " -> ");
	endpoint_text(b, scalar(map_get(dc, n, "destination")),
		      scalar(map_get(dc, n, "destination_port")));
}

static void cell_text(struct buf *b, struct doc *dc, yaml_node_t *n);

/* An object in a cell: "key=value key=value". */
static void
pairs_text(struct buf *b, struct doc *dc, yaml_node_t *n)
{
	yaml_node_pair_t *p;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *v = node_at(dc, p->value);

		if (p != n->data.mapping.pairs.start)
			buf_str(b, " ");
		buf_fmt(b, "%s=", scalar(node_at(dc, p->key)) ?
			scalar(node_at(dc, p->key)) : "?");
		if (v->type == YAML_MAPPING_NODE && !is_flow(dc, v)) {
			if (emit_json(b, dc, v, 0) < 0)
				buf_str(b, "...");
		} else {
			cell_text(b, dc, v);
		}
	}
}

/*
 * Text of a table cell: scalars as is, lists joined with ",", objects as
 * key=value, lists of objects joined with "; ".
 */
static void
cell_text(struct buf *b, struct doc *dc, yaml_node_t *n)
{
	yaml_node_item_t *it;
	bool all_scalars = true, all_maps = true;

	if (n == NULL) {
		buf_str(b, "-");
		return;
	}
	if (n->type == YAML_SCALAR_NODE) {
		/* JSON null and "" are "nothing here". */
		if (scalar(n)[0] == '\0' ||
		    (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		     strcmp(scalar(n), "null") == 0))
			buf_str(b, "-");
		else
			buf_str(b, scalar(n));
		return;
	}
	if (is_flow(dc, n)) {
		flow_text(b, dc, n);
		return;
	}
	if (n->type == YAML_MAPPING_NODE) {
		pairs_text(b, dc, n);
		return;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		for (it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			if (node_at(dc, *it)->type != YAML_SCALAR_NODE)
				all_scalars = false;
			if (node_at(dc, *it)->type != YAML_MAPPING_NODE)
				all_maps = false;
		}
		if (all_maps && !all_scalars) {
			for (it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top; it++) {
				if (it != n->data.sequence.items.start)
					buf_str(b, "; ");
				pairs_text(b, dc, node_at(dc, *it));
			}
			return;
		}
		if (all_scalars) {
			if (n->data.sequence.items.start ==
			    n->data.sequence.items.top)
				buf_str(b, "-");
			for (it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top; it++) {
				if (it != n->data.sequence.items.start)
					buf_str(b, ",");
				buf_str(b, scalar(node_at(dc, *it)));
			}
			return;
		}
	}
	if (emit_json(b, dc, n, 0) < 0)
		buf_str(b, "...");
}

/*
 * A key as a column head: upper case, '_' as a space, and a trailing
 * unit "_s" (seconds: "age_s") as "(s)": "AGE(s)", not "AGE S".
 */
static void
upper(char *s, size_t size)
{
	size_t len = strlen(s);
	bool secs = len > 2 && strcmp(s + len - 2, "_s") == 0 && len + 2 <= size;

	if (secs)
		s[len - 2] = '\0';
	for (; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
		else if (*s == '_')
			*s = ' ';
	if (secs)
		memcpy(s, "(s)", 4);
}

/* A column: a key of the rows, or a key of an object under one. */
struct col {
	const char *key;
	const char *sub;      /* NULL: the value of key itself */
	char head[96];
	size_t width;
};

static size_t
add_key(const char **keys, size_t n, const char *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i], k) == 0)
			return n;
	if (n < MAX_COLUMNS)
		keys[n++] = k;
	return n;
}

/*
 * An array of objects as a table. Columns are the keys, first seen first;
 * an object under a key is spread into columns of its own keys, except keys
 * the row already has: a rule's details next to its counters read as one
 * table. They are named "key.sub" where two objects share a sub-key or the
 * object shares no key with the row.
 */
static void
print_table(struct doc *dc, yaml_node_t *seq, int indent)
{
	const char *top[MAX_COLUMNS], *subs[MAX_COLUMNS];
	bool nested[MAX_COLUMNS], same;
	struct col cols[MAX_COLUMNS];
	size_t ntop = 0, ncols = 0, nrows, nsub, r, k, j, m, t, uses;
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	struct buf *cells;

	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *row = node_at(dc, *it);

		for (p = row->data.mapping.pairs.start;
		     p < row->data.mapping.pairs.top; p++)
			if (scalar(node_at(dc, p->key)) != NULL)
				ntop = add_key(top, ntop,
					       scalar(node_at(dc, p->key)));
	}
	for (k = 0; k < ntop; k++) {
		nested[k] = false;
		for (it = seq->data.sequence.items.start;
		     it < seq->data.sequence.items.top; it++) {
			yaml_node_t *v = map_get(dc, node_at(dc, *it), top[k]);

			if (v != NULL && v->type == YAML_MAPPING_NODE &&
			    !is_flow(dc, v))
				nested[k] = true;
		}
	}
	for (k = 0; k < ntop && ncols < MAX_COLUMNS; k++) {
		if (!nested[k]) {
			cols[ncols].key = top[k];
			cols[ncols].sub = NULL;
			snprintf(cols[ncols++].head, sizeof(cols[0].head), "%s",
				 top[k]);
			continue;
		}
		nsub = 0;
		for (it = seq->data.sequence.items.start;
		     it < seq->data.sequence.items.top; it++) {
			yaml_node_t *v = map_get(dc, node_at(dc, *it), top[k]);

			if (v == NULL || v->type != YAML_MAPPING_NODE)
				continue;
			for (p = v->data.mapping.pairs.start;
			     p < v->data.mapping.pairs.top; p++)
				if (scalar(node_at(dc, p->key)) != NULL)
					nsub = add_key(subs, nsub,
						       scalar(node_at(dc, p->key)));
		}
		/*
		 * An object that repeats some of the row's keys (a rule's
		 * details) is the row in more detail: its other keys read as
		 * the row's own. One that does not (a port's checksum_offload)
		 * is a thing of its own: "checksum_offload.rx", not "rx".
		 */
		same = false;
		for (j = 0; j < nsub && !same; j++)
			for (t = 0; t < ntop && !same; t++)
				same = strcmp(top[t], subs[j]) == 0;
		for (j = 0; j < nsub && ncols < MAX_COLUMNS; j++) {
			for (t = 0; t < ntop; t++)
				if (strcmp(top[t], subs[j]) == 0)
					break;
			if (t < ntop)
				continue; /* the row says it already */
			/* Is the sub-key under another nested key too? */
			uses = 0;
			for (m = 0; m < ntop; m++) {
				for (it = seq->data.sequence.items.start;
				     nested[m] && it < seq->data.sequence.items.top;
				     it++)
					if (map_get(dc, map_get(dc, node_at(dc, *it),
								top[m]),
						    subs[j]) != NULL) {
						uses++;
						break;
					}
			}
			cols[ncols].key = top[k];
			cols[ncols].sub = subs[j];
			if (uses > 1 || !same)
				snprintf(cols[ncols].head, sizeof(cols[0].head),
					 "%s.%s", top[k], subs[j]);
			else
				snprintf(cols[ncols].head, sizeof(cols[0].head),
					 "%s", subs[j]);
			ncols++;
		}
	}
	nrows = (size_t)(seq->data.sequence.items.top -
			 seq->data.sequence.items.start);
	cells = calloc(nrows * ncols + 1, sizeof(*cells));
	if (cells == NULL)
		die("out of memory");
	for (k = 0; k < ncols; k++) {
		upper(cols[k].head, sizeof(cols[k].head));
		cols[k].width = strlen(cols[k].head);
	}
	for (r = 0; r < nrows; r++) {
		yaml_node_t *row = node_at(dc, seq->data.sequence.items.start[r]);

		for (k = 0; k < ncols; k++) {
			struct buf *c = &cells[r * ncols + k];
			yaml_node_t *v = map_get(dc, row, cols[k].key);

			if (cols[k].sub != NULL)
				v = map_get(dc, v, cols[k].sub);
			cell_text(c, dc, v);
			if (c->len > cols[k].width)
				cols[k].width = c->len;
		}
	}
	printf("%*s", indent, "");
	for (k = 0; k < ncols; k++) {
		if (k + 1 < ncols)
			printf("%-*s  ", (int)cols[k].width, cols[k].head);
		else
			printf("%s\n", cols[k].head);
	}
	for (r = 0; r < nrows; r++) {
		printf("%*s", indent, "");
		for (k = 0; k < ncols; k++) {
			struct buf *c = &cells[r * ncols + k];

			if (k + 1 < ncols)
				printf("%-*s  ", (int)cols[k].width, c->s);
			else
				printf("%s\n", c->s);
			free(c->s);
		}
	}
	free(cells);
}

static bool
all_mappings(struct doc *dc, yaml_node_t *seq)
{
	yaml_node_item_t *it;

	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++)
		if (node_at(dc, *it)->type != YAML_MAPPING_NODE)
			return false;
	return true;
}

static bool
is_empty_seq(yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE &&
	       n->data.sequence.items.start == n->data.sequence.items.top;
}

static void print_value(struct doc *dc, yaml_node_t *n, int indent, int depth);

static void
print_mapping(struct doc *dc, yaml_node_t *map, int indent, int depth)
{
	yaml_node_pair_t *p;
	struct buf b = { 0 };

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *v = node_at(dc, p->value);
		const char *k = scalar(node_at(dc, p->key));

		if ((v->type == YAML_MAPPING_NODE && !is_flow(dc, v)) ||
		    (v->type == YAML_SEQUENCE_NODE && !is_empty_seq(v) &&
		     all_mappings(dc, v))) {
			printf("%*s%s:\n", indent, "", k ? k : "?");
			print_value(dc, v, indent + 2, depth + 1);
			continue;
		}
		b.len = 0;
		cell_text(&b, dc, v);
		printf("%*s%s: %s\n", indent, "", k ? k : "?",
		       is_empty_seq(v) ? "(none)" : b.s);
	}
	free(b.s);
}

/* Generic human form of a JSON value. */
static void
print_value(struct doc *dc, yaml_node_t *n, int indent, int depth)
{
	yaml_node_item_t *it;
	struct buf b = { 0 };

	if (depth > MAX_DEPTH)
		return;
	switch (n->type) {
	case YAML_MAPPING_NODE:
		if (n->data.mapping.pairs.start == n->data.mapping.pairs.top)
			printf("%*s(none)\n", indent, "");
		print_mapping(dc, n, indent, depth);
		break;
	case YAML_SEQUENCE_NODE:
		if (is_empty_seq(n)) {
			printf("%*s(none)\n", indent, "");
		} else if (all_mappings(dc, n)) {
			print_table(dc, n, indent);
		} else {
			for (it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top; it++) {
				b.len = 0;
				cell_text(&b, dc, node_at(dc, *it));
				printf("%*s- %s\n", indent, "", b.s);
			}
		}
		break;
	default:
		printf("%*s%s\n", indent, "", scalar(n));
		break;
	}
	free(b.s);
}

/* "+ rule x", "- route y", "~ nat z" lines of a diff object. */
static void
print_diff(struct doc *dc, yaml_node_t *diff)
{
	static const struct { const char *key, *name; } kinds[] = {
		{ "rules", "rule" }, { "routes", "route" }, { "nat", "nat" },
		{ "neighbors", "neighbor" }, { "address_sets", "address set" },
	};
	static const struct { const char *key, *sign; } ops[] = {
		{ "added", "+" }, { "removed", "-" }, { "changed", "~" },
	};
	yaml_node_item_t *it;
	yaml_node_t *set, *list;
	unsigned int k, o, n = 0;

	if (diff == NULL || diff->type != YAML_MAPPING_NODE)
		return;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		set = map_get(dc, diff, kinds[k].key);
		for (o = 0; o < 3; o++) {
			list = map_get(dc, set, ops[o].key);
			if (list == NULL || list->type != YAML_SEQUENCE_NODE)
				continue;
			for (it = list->data.sequence.items.start;
			     it < list->data.sequence.items.top; it++, n++)
				printf("  %s %s %s\n", ops[o].sign, kinds[k].name,
				       scalar(node_at(dc, *it)) ?
				       scalar(node_at(dc, *it)) : "?");
		}
	}
	list = map_get(dc, diff, "settings");
	if (list != NULL && list->type == YAML_SEQUENCE_NODE)
		for (it = list->data.sequence.items.start;
		     it < list->data.sequence.items.top; it++, n++)
			printf("  ~ %s\n", scalar(node_at(dc, *it)) ?
			       scalar(node_at(dc, *it)) : "?");
	if (n == 0)
		printf("  (no changes)\n");
}

/*
 * The server names a document sent by apply/validate "config" in its
 * messages ("config:3:5: ..."); we know which file that was.
 */
static const char *doc_file;

/*
 * Set when vnetfwctl wrote the request line itself (from the command's
 * arguments): the server's "line 1, column N: " then points into a line
 * the user never saw, so it is left out.
 */
static bool request_built;

static void
print_message(const char *prefix, const char *msg)
{
	if (request_built && strncmp(msg, "line 1, column ", 15) == 0) {
		const char *rest = strstr(msg, ": ");

		if (rest != NULL)
			msg = rest + 2;
	}
	if (doc_file != NULL && strncmp(msg, "config:", 7) == 0)
		fprintf(stderr, "%serror: %s:%s\n", prefix ? prefix : "",
			doc_file, msg + 7);
	else
		fprintf(stderr, "%serror: %s\n", prefix ? prefix : "", msg);
}

/* Prints the error of a failed reply; "errors" one per line when many. */
static void
print_error(struct doc *dc, const char *prefix)
{
	yaml_node_t *errs = map_get(dc, dc->root, "errors");
	const char *e = scalar(map_get(dc, dc->root, "error"));
	yaml_node_item_t *it;

	if (errs != NULL && errs->type == YAML_SEQUENCE_NODE &&
	    errs->data.sequence.items.top - errs->data.sequence.items.start > 1) {
		for (it = errs->data.sequence.items.start;
		     it < errs->data.sequence.items.top; it++)
			print_message(prefix, scalar(node_at(dc, *it)) ?
				      scalar(node_at(dc, *it)) : "?");
		return;
	}
	print_message(prefix, e != NULL ? e : "request failed");
}

/* Parses a reply; exits 2 if it is not a JSON object with "ok". */
static bool
reply_load(struct doc *dc, const char *reply)
{
	char err[256];
	const char *ok;

	if (doc_load(dc, reply, strlen(reply), err, sizeof(err)) < 0 ||
	    dc->root->type != YAML_MAPPING_NODE)
		die("malformed reply from the server: %.200s", reply);
	ok = scalar(map_get(dc, dc->root, "ok"));
	if (ok == NULL)
		die("malformed reply from the server (no \"ok\"): %.200s", reply);
	return strcmp(ok, "true") == 0;
}

static void
print_generation(struct doc *dc, const char *verb)
{
	const char *g = scalar(map_get(dc, dc->root, "generation"));
	const char *steps = scalar(map_get(dc, dc->root, "steps"));

	printf("%s (generation %s", verb, g ? g : "?");
	if (steps != NULL)
		printf(", %s step%s", steps, strcmp(steps, "1") ? "s" : "");
	printf(")\n");
}

static void
print_note(struct doc *dc)
{
	const char *note = scalar(map_get(dc, dc->root, "note"));

	if (note != NULL)
		fprintf(stderr, "note: %s\n", note);
}

enum kind { K_SHOW, K_CHANGE, K_APPLY, K_VALIDATE, K_SAVE, K_EXPLAIN, K_RAW };

/* Human output of one reply; returns the exit status. */
static int
print_reply(enum kind kind, const char *what, const char *reply)
{
	struct doc dc;
	yaml_node_t *v;
	const char *s, *bak;
	bool ok;

	if (opt.json || kind == K_RAW) {
		printf("%s\n", reply);
		ok = reply_load(&dc, reply);
		if (!ok && !opt.json)
			print_error(&dc, NULL);
		doc_free(&dc);
		return ok ? 0 : EXIT_FAIL;
	}
	ok = reply_load(&dc, reply);
	if (!ok) {
		print_error(&dc, NULL);
		doc_free(&dc);
		return EXIT_FAIL;
	}
	switch (kind) {
	case K_SHOW:
		v = map_get(&dc, dc.root, what);
		if (v == NULL)
			die("reply without \"%s\": %.200s", what, reply);
		if (strcmp(what, "config") == 0 && scalar(v) != NULL) {
			s = scalar(v);
			fputs(s, stdout);
			if (s[0] != '\0' && s[strlen(s) - 1] != '\n')
				putchar('\n');
		} else {
			print_value(&dc, v, 0, 0);
		}
		break;
	case K_CHANGE:
		print_generation(&dc, "ok");
		break;
	case K_APPLY:
		print_generation(&dc, "applied");
		print_diff(&dc, map_get(&dc, dc.root, "diff"));
		print_note(&dc);
		break;
	case K_VALIDATE:
		printf("valid; apply would change:\n");
		print_diff(&dc, map_get(&dc, dc.root, "diff"));
		print_note(&dc);
		break;
	case K_SAVE:
		s = scalar(map_get(&dc, dc.root, "file"));
		bak = scalar(map_get(&dc, dc.root, "backup"));
		printf("saved %s", s ? s : "?");
		if (bak != NULL)
			printf(" (previous version in %s)", bak);
		printf("\n");
		break;
	case K_EXPLAIN:
		v = map_get(&dc, dc.root, "explain");
		if (v != NULL)
			print_value(&dc, v, 0, 0);
		break;
	case K_RAW:
		break;
	}
	doc_free(&dc);
	return 0;
}

/*
 * Replies of begin, steps, commit. Every failed step is reported with its
 * source; the outcome is the commit's.
 */
static int
print_txn(const struct reqs *r, char **replies, size_t got)
{
	struct doc dc;
	char prefix[320];
	size_t i;
	bool ok;

	if (opt.json) {
		for (i = 0; i < got; i++)
			printf("%s\n", replies[i]);
	}
	for (i = 0; i < got; i++) {
		ok = reply_load(&dc, replies[i]);
		if (!ok && i + 1 < r->n && !opt.json) {
			snprintf(prefix, sizeof(prefix), "%s: ",
				 r->what[i] ? r->what[i] : "begin");
			print_error(&dc, prefix);
		}
		if (i + 1 == r->n) {
			if (!ok) {
				if (!opt.json)
					print_error(&dc, NULL);
				doc_free(&dc);
				return EXIT_FAIL;
			}
			if (!opt.json)
				print_generation(&dc, "committed");
		}
		doc_free(&dc);
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static void
need(int have, int want, const char *what)
{
	if (have < want)
		die_usage("%s: missing argument", what);
	if (have > want)
		die_usage("%s: too many arguments", what);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "reevaluate", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reqs r = { 0 };
	enum kind kind = K_CHANGE;
	const char *what = NULL, *cmd, *sub;
	char **replies, *end, **args;
	struct buf b = { 0 };
	size_t got, i;
	int c, n, rc;
	long t;

	opt.socket = getenv("VNETFW_SOCKET");
	if (opt.socket == NULL || opt.socket[0] == '\0')
		opt.socket = DEFAULT_SOCKET;
	opt.timeout = DEFAULT_TIMEOUT;
	while ((c = getopt_long(argc, argv, "s:jt:rh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.socket = optarg;
			break;
		case 'j':
			opt.json = true;
			break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (*end != '\0' || t < 0 || t > 86400)
				die_usage("--timeout: expected seconds (0-86400), got '%s'",
					  optarg);
			opt.timeout = (int)t;
			break;
		case 'r':
			opt.reevaluate = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "(vnetfwctl --help for usage)\n");
			return EXIT_USAGE;
		}
	}
	args = argv + optind;
	n = argc - optind;
	if (n < 1)
		die_usage("missing command");
	cmd = args[0];
	sub = n > 1 ? args[1] : "";

	if (strcmp(cmd, "show") == 0) {
		need(n, 2, "show WHAT");
		kind = K_SHOW;
		what = args[1];
		reqs_add(&r, simple("show", "what", what, false), NULL);
	} else if (strcmp(cmd, "rule") == 0 || strcmp(cmd, "route") == 0) {
		bool rule = cmd[1] == 'u';

		if (strcmp(sub, "add") == 0 ||
		    (rule && strcmp(sub, "replace") == 0)) {
			need(n, 3, rule ? "rule add|replace RULE" :
			     "route add ROUTE");
			char name[32];

			snprintf(name, sizeof(name), "%s.%s", cmd, sub);
			item_requests(&r, name, cmd, args[2],
				      strcmp(sub, "add") == 0);
		} else if (strcmp(sub, "del") == 0) {
			need(n, 3, rule ? "rule del NAME" : "route del NAME");
			reqs_add(&r, simple(rule ? "rule.del" : "route.del",
					    "name", args[2], true), NULL);
		} else {
			die_usage("%s: expected add%s or del", cmd,
				  rule ? ", replace" : "");
		}
	} else if (strcmp(cmd, "nat") == 0) {
		if (strcmp(sub, "add") == 0) {
			need(n, 4, "nat add dnat|snat ITEM");
			if (strcmp(args[2], "dnat") != 0 &&
			    strcmp(args[2], "snat") != 0)
				die_usage("nat add: expected dnat or snat, got '%s'",
					  args[2]);
			item_requests(&r, "nat.add", args[2], args[3], true);
		} else if (strcmp(sub, "del") == 0) {
			need(n, 3, "nat del NAME");
			reqs_add(&r, simple("nat.del", "name", args[2], true),
				 NULL);
		} else {
			die_usage("nat: expected add or del");
		}
	} else if (strcmp(cmd, "neighbor") == 0) {
		if (strcmp(sub, "add") == 0) {
			need(n, 4, "neighbor add ADDRESS MAC");
			buf_str(&b, "{\"cmd\":\"neighbor.add\",\"neighbor\":{\"address\":");
			buf_json_cstr(&b, args[2]);
			buf_str(&b, ",\"mac\":");
			buf_json_cstr(&b, args[3]);
			buf_fmt(&b, "}%s}", existing());
			reqs_add(&r, b.s, NULL);
		} else if (strcmp(sub, "del") == 0) {
			need(n, 3, "neighbor del ADDRESS");
			reqs_add(&r, simple("neighbor.del", "address", args[2],
					    true), NULL);
		} else {
			die_usage("neighbor: expected add or del");
		}
	} else if (strcmp(cmd, "apply") == 0) {
		need(n, 2, "apply FILE.yaml");
		kind = K_APPLY;
		doc_file = strcmp(args[1], "-") ? args[1] : "<stdin>";
		reqs_add(&r, config_request("apply", args[1], true), NULL);
	} else if (strcmp(cmd, "validate") == 0) {
		need(n, 2, "validate FILE.yaml");
		kind = K_VALIDATE;
		doc_file = strcmp(args[1], "-") ? args[1] : "<stdin>";
		reqs_add(&r, config_request("validate", args[1], false), NULL);
	} else if (strcmp(cmd, "save") == 0) {
		need(n, 1, "save");
		kind = K_SAVE;
		reqs_add(&r, simple("save", NULL, NULL, false), NULL);
	} else if (strcmp(cmd, "explain") == 0) {
		need(n, 5, "explain inbound|outbound PROTO SRC[:PORT] DST[:PORT]");
		if (strcmp(args[1], "inbound") != 0 &&
		    strcmp(args[1], "outbound") != 0)
			die_usage("explain: expected inbound or outbound, got '%s'",
				  args[1]);
		kind = K_EXPLAIN;
		buf_str(&b, "{\"cmd\":\"explain\",\"direction\":");
		buf_json_cstr(&b, args[1]);
		buf_str(&b, ",\"protocol\":");
		buf_json_cstr(&b, args[2]);
		endpoint(&b, "source", args[3]);
		if (!endpoint(&b, "destination", args[4]) &&
		    (strcasecmp(args[2], "tcp") == 0 ||
		     strcasecmp(args[2], "udp") == 0 ||
		     strcmp(args[2], "6") == 0 || strcmp(args[2], "17") == 0))
			die_usage("explain %s: give the destination port (DST:PORT, e.g. 10.0.1.4:443)",
				  args[2]);
		buf_str(&b, "}");
		reqs_add(&r, b.s, NULL);
	} else if (strcmp(cmd, "batch") == 0) {
		need(n, 2, "batch FILE");
		batch_requests(&r, args[1]);
	} else if (strcmp(cmd, "raw") == 0) {
		need(n, 2, "raw 'JSON'");
		if (strchr(args[1], '\n') != NULL)
			die_usage("raw: the request must be one line");
		kind = K_RAW;
		reqs_add(&r, strdup(args[1]), NULL);
	} else if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	} else {
		die_usage("unknown command '%s'", cmd);
	}

	/* batch and raw send the user's own lines; apply and validate
	 * name the file (doc_file). */
	request_built = kind != K_RAW && kind != K_APPLY &&
			kind != K_VALIDATE && strcmp(cmd, "batch") != 0;
	replies = exchange(&r, &got);
	if (got < r.n && got == 0)
		die("%s closed the connection without replying", opt.socket);
	if (r.txn) {
		rc = print_txn(&r, replies, got);
		if (got < r.n && rc == 0)
			die("%s closed the connection after %zu of %zu replies",
			    opt.socket, got, r.n);
	} else {
		rc = print_reply(kind, what, replies[0]);
	}
	for (i = 0; i < got; i++)
		free(replies[i]);
	free(replies);
	for (i = 0; i < r.n; i++) {
		free(r.line[i]);
		free(r.what[i]);
	}
	free(r.line);
	free(r.what);
	return rc;
}
