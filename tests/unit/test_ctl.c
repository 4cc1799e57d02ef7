/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/ctl: the protocol through vfw_ctl_handle_line() with a
 * fake ops (records what is applied, can refuse, can acknowledge late),
 * and the real socket server on a temporary path (several clients, partial
 * and oversized lines, garbage, disconnects, ordering while a change waits
 * for its ack, stale and live socket files). No EAL is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <yaml.h>

#include "vnetfw/ctl.h"

/* ------------------------------------------------------------ fake ops */

struct fake {
	uint64_t gen;            /* generation running */
	uint64_t tickets;        /* last ticket handed out */
	uint64_t acked;          /* last ticket acknowledged */
	int fail_apply;          /* apply returns this when < 0 */
	int fail_ack;            /* applied returns this when < 0 */
	unsigned int ack_after;  /* applied() calls before an ack */
	unsigned int waits;
	unsigned int n_apply;    /* successful apply calls */
	unsigned int n_acked;
	enum vfw_existing last_existing;
	struct vfw_config *last; /* copy of the last config applied */
};

static struct fake fk;

static int
fake_apply(void *ctx, const struct vfw_config *cfg, enum vfw_existing ex,
	   uint64_t *ticket, struct vfw_errors *errs)
{
	struct fake *f = ctx;

	if (f->fail_apply < 0) {
		vfw_errors_add(errs, NULL, NULL, "fake: refused");
		return f->fail_apply;
	}
	vfw_config_free(f->last);
	f->last = vfw_config_dup(cfg);
	f->last_existing = ex;
	f->n_apply++;
	f->waits = f->ack_after;
	*ticket = ++f->tickets;
	return 0;
}

static int
fake_applied(void *ctx, uint64_t ticket, uint64_t *generation)
{
	struct fake *f = ctx;

	if (f->waits > 0) {
		f->waits--;
		return 0;
	}
	if (f->fail_ack < 0)
		return f->fail_ack;
	if (f->acked != ticket) {
		f->acked = ticket;
		f->gen++;
		f->n_acked++;
	}
	*generation = f->gen;
	return 1;
}

static uint64_t
fake_generation(void *ctx)
{
	return ((struct fake *)ctx)->gen;
}

static int
fake_show(void *ctx, const char *what, FILE *out)
{
	if (strcmp(what, "rules") == 0) {
		fputs("[{\"name\":\"https-in\",\"priority\":100,\"hits\":7}]", out);
		return 0;
	}
	if (strcmp(what, "stats") == 0) {
		fputs("{\"rx\":1,\"drops\":{\"acl_deny\":2}}", out);
		return 0;
	}
	return -ENOENT;
}

static int
fake_explain(void *ctx, const struct vfw_config *cfg, int direction,
	     uint8_t proto, const struct vfw_ip *src, uint16_t sport,
	     const struct vfw_ip *dst, uint16_t dport, FILE *out)
{
	fprintf(out, "{\"verdict\":\"allow\",\"direction\":%d,\"protocol\":%u,"
		"\"source_port\":%u,\"destination_port\":%u,\"rules\":%u}",
		direction, proto, sport, dport, cfg->n_rules);
	return 0;
}

static const struct vfw_ctl_ops fake_ops = {
	.ctx = &fk,
	.apply = fake_apply,
	.applied = fake_applied,
	.generation = fake_generation,
	.show = fake_show,
	.explain = fake_explain,
};

/* ------------------------------------------------------------ config */

#define BASE_YAML(sock)                                                        \
	"ports:\n"                                                             \
	"  vnet: {device: net_null0, address: 10.0.1.4/24, gateway: 10.0.1.1}\n" \
	"  cluster: {device: net_null1, address: 10.240.0.4/16}\n"             \
	"vnet_prefixes: [10.0.0.0/8]\n"                                        \
	"neighbors: [{address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}]\n"       \
	"address_sets:\n"                                                      \
	"  AksApi: [10.240.0.10/32]\n"                                         \
	"security_rules:\n"                                                    \
	"  - {name: https-in, priority: 100, direction: inbound, access: allow,\n" \
	"     protocol: tcp, source: [Internet], destination: [10.240.0.0/16],\n" \
	"     destination_ports: [443]}\n"                                     \
	"  - {name: no-api, priority: 110, direction: inbound, access: deny,\n" \
	"     protocol: tcp, source: [any], destination: [AksApi],\n"          \
	"     destination_ports: [6443]}\n"                                    \
	"nat:\n"                                                               \
	"  dnat: [{name: web, protocol: tcp, destination: 10.0.1.4,\n"         \
	"          destination_port: 443, translated_address: 10.240.1.10,\n"  \
	"          translated_port: 8443}]\n"                                  \
	"  snat: [{name: egress, source: [10.240.0.0/16], exclude: [10.0.0.0/8],\n" \
	"          translated_addresses: [10.0.1.4], ports: 1024-65535}]\n"    \
	"routes:\n"                                                            \
	"  - {name: blackhole, prefix: 10.66.0.0/16, next_hop_type: None}\n"   \
	"control: {socket: \"" sock "\", mode: \"0600\"}\n"

static const char base_yaml[] = BASE_YAML("/run/vnetfw/unused.sock");

static struct vfw_config *
load(const char *doc, size_t len)
{
	struct vfw_errors e;
	struct vfw_config *cfg;
	unsigned int i;

	vfw_errors_init(&e);
	cfg = vfw_config_load_string(doc, len, NULL, &e);
	for (i = 0; i < e.n; i++)
		fprintf(stderr, "    | %s\n", e.msg[i]);
	vfw_errors_free(&e);
	assert_non_null(cfg);
	return cfg;
}

/* A server without a listener: control.socket is emptied. */
static struct vfw_ctl *
new_ctl(void)
{
	struct vfw_config *cfg = load(base_yaml, strlen(base_yaml));
	struct vfw_ctl *c;

	cfg->control.socket[0] = '\0';
	c = vfw_ctl_create(cfg, &fake_ops);
	vfw_config_free(cfg);
	assert_non_null(c);
	return c;
}

static void
fake_reset(void)
{
	vfw_config_free(fk.last);
	memset(&fk, 0, sizeof(fk));
}

static int
setup(void **state)
{
	fake_reset();
	*state = new_ctl();
	return 0;
}

static int
teardown(void **state)
{
	vfw_ctl_free(*state);
	fake_reset();
	return 0;
}

/* ------------------------------------------------------------ replies */

/* Sends one request line, returns the reply (malloc'd, no newline). */
static char *
req_rc(struct vfw_ctl *c, const char *line, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rc = vfw_ctl_handle_line(c, line, strlen(line), f);
	fclose(f);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	assert_null(memchr(buf, '\n', len)); /* one line per reply */
	return buf;
}

static char *
req(struct vfw_ctl *c, const char *line)
{
	int rc;

	return req_rc(c, line, &rc);
}

/* Parses a reply with libyaml: it must be one JSON object. */
static bool
json_get(const char *reply, const char *key, char *out, size_t outlen)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root;
	yaml_node_pair_t *pr;
	bool found = false;

	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)reply,
				     strlen(reply));
	if (!yaml_parser_load(&p, &d))
		fail_msg("reply is not JSON: %s (%s)", reply, p.problem);
	root = yaml_document_get_root_node(&d);
	assert_non_null(root);
	assert_int_equal(root->type, YAML_MAPPING_NODE);
	for (pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&d, pr->key);
		yaml_node_t *v = yaml_document_get_node(&d, pr->value);

		if (strcmp((char *)k->data.scalar.value, key) != 0)
			continue;
		found = true;
		if (out != NULL) {
			if (v->type == YAML_SCALAR_NODE)
				snprintf(out, outlen, "%s",
					 (char *)v->data.scalar.value);
			else
				snprintf(out, outlen, "<%s>",
					 v->type == YAML_MAPPING_NODE ?
					 "object" : "array");
		}
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	return found;
}

static bool
is_ok(const char *reply)
{
	char v[16];

	assert_true(json_get(reply, "ok", v, sizeof(v)));
	return strcmp(v, "true") == 0;
}

static uint64_t
generation_of(const char *reply)
{
	char v[32];

	if (!json_get(reply, "generation", v, sizeof(v)))
		fail_msg("no generation in %s", reply);
	return strtoull(v, NULL, 10);
}

#define EXPECT_OK(c, line) do {                                                \
		char *r_ = req((c), (line));                                   \
		if (!is_ok(r_))                                                \
			fail_msg("%s -> %s", (line), r_);                     \
		free(r_);                                                      \
	} while (0)

/* The request fails and the error contains what. */
#define EXPECT_ERR(c, line, what) do {                                         \
		char *r_ = req((c), (line));                                   \
		if (is_ok(r_) || strstr(r_, (what)) == NULL)                   \
			fail_msg("%s -> %s (expected error with '%s')",       \
				 (line), r_, (what));                          \
		free(r_);                                                      \
	} while (0)

static const struct vfw_cfg_rule *
find_rule(const struct vfw_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_rules; i++)
		if (strcmp(cfg->rules[i].name, name) == 0)
			return &cfg->rules[i];
	return NULL;
}

#define RULE(name, prio)                                                       \
	"{\"name\":\"" name "\",\"priority\":" #prio ",\"direction\":\"inbound\"," \
	"\"access\":\"allow\",\"protocol\":\"udp\",\"source\":[\"any\"],"     \
	"\"destination\":[\"10.240.1.0/24\"],\"destination_ports\":[53]}"

/* ------------------------------------------------------------ protocol */

static void
test_protocol_errors(void **state)
{
	struct vfw_ctl *c = *state;
	char *r;
	int rc;

	EXPECT_ERR(c, "garbage {", "line 1, column");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\"", "end of request");
	EXPECT_ERR(c, "[1,2]", "JSON object");
	EXPECT_ERR(c, "\"show\"", "JSON object");
	EXPECT_ERR(c, "{\"what\":\"rules\"}", "missing key 'cmd'");
	EXPECT_ERR(c, "{\"cmd\":[1]}", "key 'cmd'");
	EXPECT_ERR(c, "{\"cmd\":null}", "key 'cmd'");
	EXPECT_ERR(c, "{\"cmd\":\"frobnicate\"}", "unknown command 'frobnicate'");
	EXPECT_ERR(c, "{\"cmd\":\"show\"}", "missing key 'what'");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\",\"colour\":1}",
		   "line 1, column 30: unknown key 'colour'");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\",\"what\":\"nat\"}",
		   "duplicate key 'what'");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"cmd\":\"show\",\"what\":\"x\"}",
		   "duplicate key 'cmd'");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":{\"a\":1}}",
		   "key 'what': expected a string");
	EXPECT_ERR(c, "{\"cmd\":\"rule.add\",\"rule\":\"web\"}",
		   "key 'rule': expected an object");
	EXPECT_ERR(c, "{\"cmd\":\"rule.del\",\"name\":\"x\",\"existing\":\"drop\"}",
		   "'keep' or 'reevaluate'");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\",\"existing\":\"keep\"}",
		   "unknown key 'existing'");
	EXPECT_ERR(c, "{\"cmd\":\"save\",\"file\":\"/tmp/x\"}", "unknown key 'file'");
	/* "\u0000" decodes to a NUL byte: refused, not cut short to "rules" */
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\\u0000x\"}",
		   "key 'what': value contains a NUL character");
	EXPECT_ERR(c, "{\"cmd\":\"rule.del\",\"name\":\"web\\u0000\"}",
		   "value contains a NUL character");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\"} {\"cmd\":\"show\"}",
		   "line 1, column 31: one JSON object per line");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\"} }",
		   "one JSON object per line");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"rules\"}\n---\n{\"a\":1}",
		   "one JSON object per line");
	EXPECT_ERR(c, "&a {\"cmd\":\"show\",\"what\":\"rules\",\"x\":*a}",
		   "aliases are not allowed");
	EXPECT_ERR(c, "&a [*a]", "JSON object");
	EXPECT_ERR(c, "# only a comment", "empty request");
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"\xff\"}", "byte");
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\","
		   "\"protocol\":\"tcp\",\"source\":\"1.2.3.4\",\"destination\":"
		   "\"10.0.1.4\",\"destination_port\":70000}",
		   "key 'destination_port': expected an integer 0-65535");
	/* Blank lines are no requests: no reply at all. */
	r = req_rc(c, "   \r", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(r, "");
	free(r);
	/* Errors are JSON-escaped. */
	r = req_rc(c, "{\"cmd\":\"rule.del\",\"name\":\"a\\\"b\\\\c\\u0001\"}", &rc);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(r, "a\\\"b\\\\c\\u0001"));
	assert_false(is_ok(r));
	free(r);
	/* Deep nesting is refused before libyaml loads it (its scanner
	 * is quadratic in the depth: 30,000 levels took seconds); 32
	 * levels are still a request (one about a bad 'what'). */
	{
		size_t n = 30000, k;
		char *deep = malloc(2 * n + 64), *p = deep;

		assert_non_null(deep);
		p += sprintf(p, "{\"cmd\":\"show\",\"what\":");
		for (k = 0; k < n; k++)
			*p++ = '[';
		for (k = 0; k < n; k++)
			*p++ = ']';
		strcpy(p, "}");
		EXPECT_ERR(c, deep, "line 1, column 53: request nested deeper than 32 levels");
		p = deep + sprintf(deep, "{\"cmd\":\"show\",\"what\":");
		for (k = 0; k < 31; k++)
			*p++ = '[';
		for (k = 0; k < 31; k++)
			*p++ = ']';
		strcpy(p, "}");
		EXPECT_ERR(c, deep, "key 'what': expected a string");
		free(deep);
	}
	/* Nothing above changed the policy. */
	assert_int_equal(fk.n_apply, 0);
}

static struct vfw_ctl *socket_ctl(char *sock, size_t len,
				  struct vfw_config **cfgp);
static void make_tmpdir(void);
static void rm_tmpdir(void);

static void
test_show(void **state)
{
	struct vfw_ctl *c = *state;
	struct vfw_config *back, *cfg;
	char sock[128];
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_pair_t *pr;
	const char *text = NULL;
	char *r;

	r = req(c, "{\"cmd\":\"show\",\"what\":\"rules\"}");
	assert_string_equal(r, "{\"ok\":true,\"rules\":[{\"name\":\"https-in\",\"priority\":100,\"hits\":7}]}");
	free(r);
	r = req(c, "{\"cmd\":\"show\",\"what\":\"stats\"}");
	assert_true(is_ok(r));
	free(r);
	EXPECT_ERR(c, "{\"cmd\":\"show\",\"what\":\"bogus\"}",
		   "unknown show target 'bogus'");

	/*
	 * show config: the running config as YAML, which loads back (from a
	 * server with a listener: an empty control.socket would not load).
	 */
	make_tmpdir();
	c = socket_ctl(sock, sizeof(sock), &cfg);
	vfw_config_free(cfg);
	r = req(c, "{\"cmd\":\"show\",\"what\":\"config\"}");
	assert_true(is_ok(r));
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (unsigned char *)r, strlen(r));
	assert_true(yaml_parser_load(&p, &d));
	for (pr = yaml_document_get_root_node(&d)->data.mapping.pairs.start;
	     pr < yaml_document_get_root_node(&d)->data.mapping.pairs.top; pr++)
		if (strcmp((char *)yaml_document_get_node(&d, pr->key)->data.scalar.value,
			   "config") == 0)
			text = (char *)yaml_document_get_node(&d, pr->value)->data.scalar.value;
	assert_non_null(text);
	assert_non_null(strstr(text, "https-in"));
	back = load(text, strlen(text));
	assert_int_equal(back->n_rules, 2);
	assert_int_equal(back->n_snat, 1);
	assert_string_equal(back->control.socket, sock);
	vfw_config_free(back);
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	free(r);
	vfw_ctl_free(c);
	rm_tmpdir();
}

/*
 * JSON escapes a character beyond U+FFFF as a UTF-16 surrogate pair
 * (Python's json.dumps does, by default); libyaml alone refused it.
 */
static void
test_surrogate_pairs(void **state)
{
	struct vfw_ctl *c = *state;
	const struct vfw_cfg_rule *r;

	EXPECT_OK(c, "{\"cmd\":\"rule.add\",\"rule\":{\"name\":\"emoji\",\"priority\":700,"
		  "\"direction\":\"inbound\",\"access\":\"deny\","
		  "\"description\":\"a\\ud83d\\ude00b \\\\ud83d\\\\ude00 \\u00e9 \\uD83D\\uDE01\"}}");
	r = NULL;
	for (unsigned int i = 0; i < vfw_ctl_running(c)->n_rules; i++)
		if (strcmp(vfw_ctl_running(c)->rules[i].name, "emoji") == 0)
			r = &vfw_ctl_running(c)->rules[i];
	assert_non_null(r);
	/* the pair is U+1F600; an escaped backslash stays text; BMP as is */
	assert_string_equal(r->description,
			    "a\xf0\x9f\x98\x80" "b \\ud83d\\ude00 \xc3\xa9 \xf0\x9f\x98\x81");
	/* a lone surrogate is no character: refused, nothing applied */
	EXPECT_ERR(c, "{\"cmd\":\"rule.add\",\"rule\":{\"name\":\"lone\",\"priority\":701,"
		   "\"direction\":\"inbound\",\"access\":\"deny\","
		   "\"description\":\"\\ud83d x\"}}", "line 1, column");
	assert_int_equal(fk.n_apply, 1);
}

static void
test_rules(void **state)
{
	struct vfw_ctl *c = *state;
	const struct vfw_cfg_rule *r;
	char *rep;
	uint64_t g1, g2;

	rep = req(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("dns-in", 120) "}");
	assert_true(is_ok(rep));
	g1 = generation_of(rep);
	assert_int_equal(g1, 1);
	free(rep);
	assert_int_equal(fk.n_apply, 1);
	r = find_rule(vfw_ctl_running(c), "dns-in");
	assert_non_null(r);
	assert_int_equal(r->priority, 120);
	assert_non_null(find_rule(fk.last, "dns-in"));
	assert_int_equal(fk.last_existing, VFW_EXISTING_KEEP);

	EXPECT_ERR(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("dns-in", 130) "}",
		   "already exists");
	EXPECT_ERR(c, "{\"cmd\":\"rule.replace\",\"rule\":" RULE("nope", 130) "}",
		   "no rule named 'nope'");
	/* Item errors come from the config parser, with the request's column. */
	EXPECT_ERR(c, "{\"cmd\":\"rule.add\",\"rule\":{\"name\":\"x\",\"priority\":1,"
		   "\"direction\":\"sideways\",\"access\":\"allow\",\"protocol\":\"tcp\","
		   "\"source\":[\"any\"],\"destination\":[\"any\"]}}", "line 1, column");

	rep = req(c, "{\"cmd\":\"rule.replace\",\"existing\":\"reevaluate\",\"rule\":"
		  RULE("dns-in", 130) "}");
	assert_true(is_ok(rep));
	g2 = generation_of(rep);
	assert_true(g2 > g1);
	free(rep);
	assert_int_equal(fk.last_existing, VFW_EXISTING_REEVALUATE);
	assert_int_equal(find_rule(vfw_ctl_running(c), "dns-in")->priority, 130);
	assert_int_equal(vfw_ctl_running(c)->n_rules, 3);

	rep = req(c, "{\"cmd\":\"rule.del\",\"name\":\"dns-in\"}");
	assert_true(is_ok(rep));
	assert_true(generation_of(rep) > g2);
	free(rep);
	assert_null(find_rule(vfw_ctl_running(c), "dns-in"));
	assert_int_equal(vfw_ctl_running(c)->n_rules, 2);
	EXPECT_ERR(c, "{\"cmd\":\"rule.del\",\"name\":\"dns-in\"}", "no rule named");
	assert_int_equal(fk.n_apply, 3);
}

static void
test_validation_errors(void **state)
{
	struct vfw_ctl *c = *state;
	char *rep;
	char err[512];

	/* Same priority and direction as https-in. */
	rep = req(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("dup", 100) "}");
	assert_false(is_ok(rep));
	assert_true(json_get(rep, "error", err, sizeof(err)));
	assert_non_null(strstr(err, "duplicate priority 100"));
	assert_true(json_get(rep, "errors", NULL, 0));
	free(rep);
	/* A set that does not exist. */
	EXPECT_ERR(c, "{\"cmd\":\"rule.add\",\"rule\":{\"name\":\"x\",\"priority\":5,"
		   "\"direction\":\"inbound\",\"access\":\"deny\",\"protocol\":\"any\","
		   "\"source\":[\"NoSuchSet\"],\"destination\":[\"any\"]}}",
		   "NoSuchSet");
	/* A route whose next hop no subnet holds, or similar: still refused. */
	EXPECT_ERR(c, "{\"cmd\":\"route.add\",\"route\":{\"name\":\"r\","
		   "\"prefix\":\"10.9.0.0/16\",\"next_hop_type\":\"VirtualAppliance\"}}",
		   "next_hop");
	/* Nothing reached the workers, the running config is unchanged. */
	assert_int_equal(fk.n_apply, 0);
	assert_int_equal(vfw_ctl_running(c)->n_rules, 2);
	assert_int_equal(vfw_ctl_running(c)->n_routes, 1);
	assert_null(find_rule(vfw_ctl_running(c), "dup"));
}

static void
test_routes_nat_neighbors(void **state)
{
	struct vfw_ctl *c = *state;
	const struct vfw_config *run;

	EXPECT_OK(c, "{\"cmd\":\"route.add\",\"route\":{\"name\":\"spoke2\","
		  "\"prefix\":\"10.2.0.0/16\",\"next_hop_type\":\"VirtualAppliance\","
		  "\"next_hop\":\"10.0.1.10\"}}");
	EXPECT_ERR(c, "{\"cmd\":\"route.add\",\"route\":{\"name\":\"spoke2\","
		   "\"prefix\":\"10.3.0.0/16\",\"next_hop_type\":\"None\"}}",
		   "already exists");
	run = vfw_ctl_running(c);
	assert_int_equal(run->n_routes, 2);
	EXPECT_OK(c, "{\"cmd\":\"route.del\",\"name\":\"blackhole\"}");
	EXPECT_ERR(c, "{\"cmd\":\"route.del\",\"name\":\"blackhole\"}", "no route");
	run = vfw_ctl_running(c);
	assert_int_equal(run->n_routes, 1);
	assert_string_equal(run->routes[0].name, "spoke2");

	EXPECT_OK(c, "{\"cmd\":\"nat.add\",\"dnat\":{\"name\":\"ssh\",\"protocol\":\"tcp\","
		  "\"destination\":\"10.0.1.4\",\"destination_port\":2222,"
		  "\"translated_address\":\"10.240.1.11\",\"translated_port\":22}}");
	EXPECT_OK(c, "{\"cmd\":\"nat.add\",\"snat\":{\"name\":\"egress2\","
		  "\"source\":[\"10.241.0.0/16\"],\"translated_addresses\":[\"10.0.1.4\"]}}");
	EXPECT_ERR(c, "{\"cmd\":\"nat.add\",\"snat\":{\"name\":\"ssh\","
		   "\"source\":[\"10.242.0.0/16\"],\"translated_addresses\":[\"10.0.1.4\"]}}",
		   "already exists");
	EXPECT_ERR(c, "{\"cmd\":\"nat.add\"}", "exactly one of");
	EXPECT_ERR(c, "{\"cmd\":\"nat.add\",\"dnat\":{},\"snat\":{}}", "exactly one of");
	run = vfw_ctl_running(c);
	assert_int_equal(run->n_dnat, 2);
	assert_int_equal(run->n_snat, 2);
	EXPECT_OK(c, "{\"cmd\":\"nat.del\",\"name\":\"web\"}");
	EXPECT_OK(c, "{\"cmd\":\"nat.del\",\"name\":\"egress\"}");
	EXPECT_ERR(c, "{\"cmd\":\"nat.del\",\"name\":\"web\"}", "no NAT rule");
	run = vfw_ctl_running(c);
	assert_int_equal(run->n_dnat, 1);
	assert_int_equal(run->n_snat, 1);
	assert_string_equal(run->snat[0].name, "egress2");

	EXPECT_OK(c, "{\"cmd\":\"neighbor.add\",\"neighbor\":{\"address\":\"10.0.1.10\","
		  "\"mac\":\"02:00:00:00:01:0a\"}}");
	EXPECT_ERR(c, "{\"cmd\":\"neighbor.add\",\"neighbor\":{\"address\":\"10.0.1.10\","
		   "\"mac\":\"02:00:00:00:01:0b\"}}", "already exists");
	EXPECT_ERR(c, "{\"cmd\":\"neighbor.del\",\"address\":\"10.0.1.99\"}",
		   "no neighbor");
	EXPECT_ERR(c, "{\"cmd\":\"neighbor.del\",\"address\":\"not-an-ip\"}",
		   "not an IP address");
	assert_int_equal(vfw_ctl_running(c)->n_neighbors, 2);
	EXPECT_OK(c, "{\"cmd\":\"neighbor.del\",\"address\":\"10.0.1.1\"}");
	run = vfw_ctl_running(c);
	assert_int_equal(run->n_neighbors, 1);
	assert_int_equal(run->neighbors[0].mac.addr_bytes[5], 0x0a);
	assert_int_equal(fk.gen, 8);
}

static void
test_transactions(void **state)
{
	struct vfw_ctl *c = *state;
	char *rep;
	char v[512];

	/* All or nothing: two steps, one apply. */
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	rep = req(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("t1", 300) "}");
	assert_true(is_ok(rep));
	assert_false(json_get(rep, "generation", NULL, 0));
	assert_true(json_get(rep, "step", v, sizeof(v)));
	assert_string_equal(v, "1");
	free(rep);
	EXPECT_OK(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("t2", 301) "}");
	/* Reads inside a transaction see the running config. */
	EXPECT_OK(c, "{\"cmd\":\"show\",\"what\":\"rules\"}");
	assert_int_equal(fk.n_apply, 0);
	assert_null(find_rule(vfw_ctl_running(c), "t1"));
	rep = req(c, "{\"cmd\":\"commit\"}");
	assert_true(is_ok(rep));
	assert_int_equal(generation_of(rep), 1);
	assert_true(json_get(rep, "steps", v, sizeof(v)));
	assert_string_equal(v, "2");
	free(rep);
	assert_int_equal(fk.n_apply, 1);
	assert_non_null(find_rule(vfw_ctl_running(c), "t1"));
	assert_non_null(find_rule(vfw_ctl_running(c), "t2"));

	/* A failing step poisons the transaction: commit applies nothing. */
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	EXPECT_OK(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("t3", 302) "}");
	EXPECT_ERR(c, "{\"cmd\":\"rule.del\",\"name\":\"nope\"}", "no rule named");
	EXPECT_OK(c, "{\"cmd\":\"rule.del\",\"name\":\"t1\"}");
	EXPECT_ERR(c, "{\"cmd\":\"commit\"}", "transaction failed, nothing applied: request 2 (rule.del)");
	assert_int_equal(fk.n_apply, 1);
	assert_null(find_rule(vfw_ctl_running(c), "t3"));
	assert_non_null(find_rule(vfw_ctl_running(c), "t1"));
	/* Commit ended it. */
	EXPECT_ERR(c, "{\"cmd\":\"commit\"}", "no transaction open");

	/* So does a syntax error or a nested begin. */
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	EXPECT_ERR(c, "{\"cmd\":", "end of request");
	EXPECT_ERR(c, "{\"cmd\":\"commit\"}", "transaction failed");
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	EXPECT_ERR(c, "{\"cmd\":\"begin\"}", "already open");
	EXPECT_ERR(c, "{\"cmd\":\"apply\",\"config\":\"x\"}", "transaction");
	EXPECT_ERR(c, "{\"cmd\":\"commit\"}", "transaction failed");
	assert_int_equal(fk.n_apply, 1);

	/* Validation runs at commit: a swap of priorities passes through an
	 * invalid intermediate state. */
	EXPECT_OK(c, "{\"cmd\":\"begin\",\"existing\":\"reevaluate\"}");
	EXPECT_OK(c, "{\"cmd\":\"rule.replace\",\"rule\":" RULE("t1", 301) "}");
	EXPECT_OK(c, "{\"cmd\":\"rule.replace\",\"rule\":" RULE("t2", 300) "}");
	EXPECT_OK(c, "{\"cmd\":\"commit\"}");
	assert_int_equal(fk.n_apply, 2);
	assert_int_equal(fk.last_existing, VFW_EXISTING_REEVALUATE);
	assert_int_equal(find_rule(vfw_ctl_running(c), "t1")->priority, 301);
	assert_int_equal(find_rule(vfw_ctl_running(c), "t2")->priority, 300);

	/* ... and refuses an invalid result as a whole. */
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	EXPECT_OK(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("t4", 400) "}");
	EXPECT_OK(c, "{\"cmd\":\"rule.replace\",\"rule\":" RULE("t1", 300) "}");
	EXPECT_ERR(c, "{\"cmd\":\"commit\"}", "duplicate priority 300");
	assert_int_equal(fk.n_apply, 2);
	assert_null(find_rule(vfw_ctl_running(c), "t4"));

	/* abort discards; an empty commit applies nothing. */
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	EXPECT_OK(c, "{\"cmd\":\"rule.del\",\"name\":\"t1\"}");
	rep = req(c, "{\"cmd\":\"abort\"}");
	assert_true(is_ok(rep));
	assert_true(json_get(rep, "discarded", v, sizeof(v)));
	assert_string_equal(v, "1");
	free(rep);
	EXPECT_ERR(c, "{\"cmd\":\"abort\"}", "no transaction open");
	EXPECT_OK(c, "{\"cmd\":\"begin\"}");
	rep = req(c, "{\"cmd\":\"commit\"}");
	assert_true(is_ok(rep));
	assert_int_equal(generation_of(rep), 2);
	free(rep);
	assert_int_equal(fk.n_apply, 2);
	assert_non_null(find_rule(vfw_ctl_running(c), "t1"));
}

/* The base document with one more rule, one rule changed, one route
 * gone and another control socket. */
static const char next_yaml[] =
	"ports:\n"
	"  vnet: {device: net_null0, address: 10.0.1.4/24, gateway: 10.0.1.1}\n"
	"  cluster: {device: net_null1, address: 10.240.0.4/16}\n"
	"vnet_prefixes: [10.0.0.0/8]\n"
	"neighbors: [{address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}]\n"
	"address_sets:\n"
	"  AksApi: [10.240.0.10/32]\n"
	"security_rules:\n"
	"  - {name: https-in, priority: 100, direction: inbound, access: allow,\n"
	"     protocol: tcp, source: [Internet], destination: [10.240.0.0/16],\n"
	"     destination_ports: [443, 8443]}\n"
	"  - {name: no-api, priority: 110, direction: inbound, access: deny,\n"
	"     protocol: tcp, source: [any], destination: [AksApi],\n"
	"     destination_ports: [6443]}\n"
	"  - {name: new-rule, priority: 120, direction: outbound, access: deny,\n"
	"     protocol: any, source: [any], destination: [192.0.2.0/24]}\n"
	"nat:\n"
	"  dnat: [{name: web, protocol: tcp, destination: 10.0.1.4,\n"
	"          destination_port: 443, translated_address: 10.240.1.10,\n"
	"          translated_port: 8443}]\n"
	"  snat: [{name: egress, source: [10.240.0.0/16], exclude: [10.0.0.0/8],\n"
	"          translated_addresses: [10.0.1.4], ports: 1024-65535}]\n"
	"control: {socket: /run/elsewhere.sock, mode: \"0600\"}\n";

/* base with its first occurrence of old replaced by new_, into doc. */
static void
doc_with(char *doc, size_t size, const char *base, const char *old,
	 const char *new_)
{
	const char *at = strstr(base, old);
	int k;

	assert_non_null(at);
	k = snprintf(doc, size, "%.*s%s%s", (int)(at - base), base, new_,
		     at + strlen(old));
	assert_true(k > 0 && (size_t)k < size);
}

/* A JSON request carrying doc as its "config" string. */
static char *
config_request(const char *cmd, const char *doc, const char *more)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *p;

	fprintf(f, "{\"cmd\":\"%s\"%s,\"config\":\"", cmd, more);
	for (p = doc; *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else
			putc(*p, f);
	}
	fputs("\"}", f);
	fclose(f);
	return buf;
}

static void
test_apply_validate(void **state)
{
	struct vfw_ctl *c = *state;
	char *line, *rep;
	char v[64];

	line = config_request("validate", next_yaml, "");
	rep = req(c, line);
	free(line);
	assert_true(is_ok(rep));
	assert_true(json_get(rep, "valid", v, sizeof(v)));
	assert_string_equal(v, "true");
	assert_non_null(strstr(rep, "\"rules\":{\"added\":[\"new-rule\"],\"removed\":[],\"changed\":[\"https-in\"]}"));
	assert_non_null(strstr(rep, "\"routes\":{\"added\":[],\"removed\":[\"blackhole\"],\"changed\":[]}"));
	assert_non_null(strstr(rep, "\"nat\":{\"added\":[],\"removed\":[],\"changed\":[]}"));
	assert_non_null(strstr(rep, "\"settings\":[]"));
	assert_true(json_get(rep, "changes", v, sizeof(v)));
	assert_string_equal(v, "3");
	/* The control section is kept, and the reply says so. */
	assert_true(json_get(rep, "note", NULL, 0));
	free(rep);
	assert_int_equal(fk.n_apply, 0);

	/* An invalid document: errors with their place in it. */
	line = config_request("validate",
			      "ports:\n  vnet: {device: a, address: 10.0.1.4/24}\n"
			      "  cluster: {device: b, address: 10.240.0.4/16}\n"
			      "security_rules:\n  - {name: x, priority: 0}\n", "");
	rep = req(c, line);
	free(line);
	assert_false(is_ok(rep));
	assert_true(json_get(rep, "valid", v, sizeof(v)));
	assert_string_equal(v, "false");
	assert_non_null(strstr(rep, "config:5:"));
	assert_true(json_get(rep, "errors", NULL, 0));
	free(rep);

	/* apply: atomic replace, same diff, control section kept. */
	line = config_request("apply", next_yaml, ",\"existing\":\"reevaluate\"");
	rep = req(c, line);
	free(line);
	assert_true(is_ok(rep));
	assert_int_equal(generation_of(rep), 1);
	assert_non_null(strstr(rep, "\"added\":[\"new-rule\"]"));
	assert_true(json_get(rep, "note", NULL, 0));
	free(rep);
	assert_int_equal(fk.n_apply, 1);
	assert_int_equal(fk.last_existing, VFW_EXISTING_REEVALUATE);
	assert_int_equal(vfw_ctl_running(c)->n_rules, 3);
	assert_int_equal(vfw_ctl_running(c)->n_routes, 0);
	assert_string_equal(vfw_ctl_running(c)->control.socket, "");
	assert_null(vfw_ctl_running(c)->file);

	/* Validating the running document again: no changes. */
	line = config_request("validate", next_yaml, "");
	rep = req(c, line);
	free(line);
	assert_true(json_get(rep, "changes", v, sizeof(v)));
	assert_string_equal(v, "0");
	free(rep);

	/*
	 * Only a port's MTU (or device) differs: apply refuses it, so
	 * validate, its dry run, says invalid too, naming the field and
	 * its place in the document.
	 */
	{
		char doc[sizeof(next_yaml) + 64];

		doc_with(doc, sizeof(doc), next_yaml, "10.240.0.4/16}",
			 "10.240.0.4/16, mtu: 9000}");
		line = config_request("validate", doc, "");
		rep = req(c, line);
		free(line);
		assert_false(is_ok(rep));
		assert_true(json_get(rep, "valid", v, sizeof(v)));
		assert_string_equal(v, "false");
		assert_non_null(strstr(rep, "config:3:12: ports.cluster.mtu: unset -> 9000 cannot change while running"));
		free(rep);
		line = config_request("apply", doc, "");
		rep = req(c, line);
		free(line);
		assert_false(is_ok(rep));
		assert_non_null(strstr(rep, "config:3:12: ports.cluster.mtu: unset -> 9000 cannot change while running"));
		free(rep);
		assert_int_equal(fk.n_apply, 1);

		doc_with(doc, sizeof(doc), next_yaml, "net_null1", "net_null2");
		line = config_request("validate", doc, "");
		rep = req(c, line);
		free(line);
		assert_false(is_ok(rep));
		assert_non_null(strstr(rep, "ports.cluster.device: net_null1 -> net_null2 cannot change"));
		free(rep);

		/* The gateway can change live: a change of "ports". */
		doc_with(doc, sizeof(doc), next_yaml, "gateway: 10.0.1.1",
			 "gateway: 10.0.1.2");
		line = config_request("validate", doc, "");
		rep = req(c, line);
		free(line);
		assert_true(is_ok(rep));
		assert_true(json_get(rep, "changes", v, sizeof(v)));
		assert_string_equal(v, "1");
		assert_non_null(strstr(rep, "\"settings\":[\"ports\"]"));
		free(rep);
	}

	line = config_request("apply", "ports: {}\n", "");
	rep = req(c, line);
	free(line);
	assert_false(is_ok(rep));
	free(rep);
	assert_int_equal(fk.n_apply, 1);
}

/*
 * SNAT rules are tried in order: swapping two is a change although no
 * field of either differs, and validate and apply must say so rather
 * than "no changes".
 */
static void
test_diff_snat_order(void **state)
{
	struct vfw_ctl *c = *state;
	char two[sizeof(next_yaml) + 256], swapped[sizeof(next_yaml) + 256];
	char *line, *rep, v[16];

	doc_with(two, sizeof(two), next_yaml, "ports: 1024-65535}]",
		 "ports: 1024-65535},\n"
		 "          {name: egress2, source: [10.241.0.0/16], translated_addresses: [10.0.1.4]}]");
	doc_with(swapped, sizeof(swapped), next_yaml, "  snat: [{name: egress,",
		 "  snat: [{name: egress2, source: [10.241.0.0/16], translated_addresses: [10.0.1.4]},\n"
		 "          {name: egress,");
	line = config_request("apply", two, "");
	rep = req(c, line);
	free(line);
	assert_true(is_ok(rep));
	free(rep);
	assert_int_equal(vfw_ctl_running(c)->n_snat, 2);

	line = config_request("validate", two, "");
	rep = req(c, line);
	free(line);
	assert_true(json_get(rep, "changes", v, sizeof(v)));
	assert_string_equal(v, "0");
	free(rep);

	line = config_request("validate", swapped, "");
	rep = req(c, line);
	free(line);
	assert_true(is_ok(rep));
	if (strstr(rep, "\"nat\":{\"added\":[],\"removed\":[],\"changed\":[\"egress2\",\"egress\"]}") == NULL)
		fail_msg("swapped SNAT rules not reported: %s", rep);
	assert_true(json_get(rep, "changes", v, sizeof(v)));
	assert_string_equal(v, "2");
	free(rep);

	/* apply's diff is the same, and the order is what runs. */
	line = config_request("apply", swapped, "");
	rep = req(c, line);
	free(line);
	assert_true(is_ok(rep));
	assert_non_null(strstr(rep, "\"changed\":[\"egress2\",\"egress\"]"));
	free(rep);
	assert_string_equal(vfw_ctl_running(c)->snat[0].name, "egress2");
}

static void
test_apply_failures(void **state)
{
	struct vfw_ctl *c = *state;
	char *rep;

	fk.fail_apply = -ENOSPC;
	rep = req(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("a", 500) "}");
	assert_false(is_ok(rep));
	assert_non_null(strstr(rep, "fake: refused"));
	assert_non_null(strstr(rep, "apply failed"));
	free(rep);
	fk.fail_apply = 0;
	assert_null(find_rule(vfw_ctl_running(c), "a"));

	fk.fail_ack = -ETIMEDOUT;
	EXPECT_ERR(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("a", 500) "}",
		   "previous policy still runs");
	fk.fail_ack = 0;
	assert_null(find_rule(vfw_ctl_running(c), "a"));

	/* Late acks: handle_line waits for them. */
	fk.ack_after = 50;
	EXPECT_OK(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("a", 500) "}");
	assert_non_null(find_rule(vfw_ctl_running(c), "a"));
	assert_int_equal(fk.n_acked, 1);
}

static void
test_explain(void **state)
{
	struct vfw_ctl *c = *state;
	char *rep;

	rep = req(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\",\"protocol\":\"tcp\","
		  "\"source\":\"198.51.100.7\",\"source_port\":40000,"
		  "\"destination\":\"10.0.1.4\",\"destination_port\":443}");
	assert_string_equal(rep, "{\"ok\":true,\"explain\":{\"verdict\":\"allow\",\"direction\":0,"
			    "\"protocol\":6,\"source_port\":40000,\"destination_port\":443,\"rules\":2}}");
	free(rep);
	EXPECT_OK(c, "{\"cmd\":\"explain\",\"direction\":\"outbound\",\"protocol\":\"icmp\","
		  "\"source\":\"10.240.1.1\",\"destination\":\"8.8.8.8\"}");
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"up\",\"protocol\":\"tcp\","
		   "\"source\":\"1.1.1.1\",\"destination\":\"2.2.2.2\",\"destination_port\":1}",
		   "'inbound' or 'outbound'");
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\",\"protocol\":\"tcp\","
		   "\"source\":\"1.1.1.1\",\"destination\":\"2.2.2.2\"}",
		   "destination_port");
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\",\"protocol\":\"gre\","
		   "\"source\":\"1.1.1.1\",\"destination\":\"2.2.2.2\"}", "protocol");
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\",\"protocol\":\"udp\","
		   "\"source\":\"::1\",\"destination\":\"2.2.2.2\",\"destination_port\":1}",
		   "address families");
	/* IPv6 is not forwarded: an error, not an "ok" reply */
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\",\"protocol\":\"icmpv6\","
		   "\"source\":\"2001:db8::1\",\"destination\":\"2001:db8::2\"}",
		   "IPv4 only");
	EXPECT_ERR(c, "{\"cmd\":\"explain\",\"direction\":\"inbound\",\"protocol\":\"udp\","
		   "\"source\":\"1.1.1\",\"destination\":\"2.2.2.2\",\"destination_port\":1}",
		   "key 'source'");
}

/* ------------------------------------------------------------ save */

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void
rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_save(void **state)
{
	struct vfw_ctl *c = *state;
	struct vfw_errors e;
	struct vfw_config *cfg, *back;
	char path[128], bak[136], sock[128], *doc, *orig, *saved, *s1, *s2, *rep;

	/* Without a file there is nowhere to save. */
	EXPECT_ERR(c, "{\"cmd\":\"save\"}", "not loaded from a file");

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/vnetfw.yaml", tmpdir);
	snprintf(bak, sizeof(bak), "%s.bak", path);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", tmpdir);
	assert_true(asprintf(&doc, BASE_YAML("%s"), sock) > 0);
	write_file(path, doc);
	free(doc);
	vfw_errors_init(&e);
	cfg = vfw_config_load_file(path, &e);
	vfw_errors_free(&e);
	assert_non_null(cfg);
	c = vfw_ctl_create(cfg, &fake_ops);
	assert_non_null(c);
	vfw_config_free(cfg);

	EXPECT_OK(c, "{\"cmd\":\"rule.add\",\"rule\":" RULE("saved-rule", 140) "}");
	orig = slurp(path);
	rep = req(c, "{\"cmd\":\"save\"}");
	assert_true(is_ok(rep));
	assert_non_null(strstr(rep, "vnetfw.yaml.bak"));
	free(rep);
	/* The previous file is kept as .bak, byte for byte. */
	saved = slurp(bak);
	assert_string_equal(saved, orig);
	free(saved);
	free(orig);
	/* The new file loads back to the running config. */
	vfw_errors_init(&e);
	back = vfw_config_load_file(path, &e);
	vfw_errors_free(&e);
	assert_non_null(back);
	assert_non_null(find_rule(back, "saved-rule"));
	s1 = vfw_config_to_string(back, NULL);
	s2 = vfw_config_to_string(vfw_ctl_running(c), NULL);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	vfw_config_free(back);
	/* A second save replaces the backup with the first saved file. */
	orig = slurp(path);
	EXPECT_OK(c, "{\"cmd\":\"rule.del\",\"name\":\"saved-rule\"}");
	EXPECT_OK(c, "{\"cmd\":\"save\"}");
	saved = slurp(bak);
	assert_string_equal(saved, orig);
	free(saved);
	free(orig);
	vfw_ctl_free(c);
	rm_tmpdir();
}

/* ------------------------------------------------------------ sockets */

static int
cli_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void
cli_send(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		assert_true(n > 0);
		off += (size_t)n;
	}
}

/* Per-client receive buffers for the socket tests. */
struct cli {
	int fd;
	char buf[1 << 16];
	size_t len;
	bool eof;
};

/*
 * Polls the server until cl has a complete reply line (returned, malloc'd)
 * or nothing comes within about a second (NULL).
 */
static char *
cli_reply(struct vfw_ctl *c, struct cli *cl)
{
	unsigned int i;
	char *nl, *line;
	ssize_t n;

	for (i = 0; i < 1000; i++) {
		nl = memchr(cl->buf, '\n', cl->len);
		if (nl != NULL) {
			line = strndup(cl->buf, (size_t)(nl - cl->buf));
			cl->len -= (size_t)(nl + 1 - cl->buf);
			memmove(cl->buf, nl + 1, cl->len);
			return line;
		}
		if (cl->eof)
			return NULL;
		vfw_ctl_poll(c, 1);
		n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
		if (n > 0)
			cl->len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			cl->eof = true;
	}
	return NULL;
}

static void
cli_open(struct cli *cl, const char *path)
{
	memset(cl, 0, sizeof(*cl));
	cl->fd = cli_connect(path);
}

static struct vfw_ctl *
socket_ctl(char *sock, size_t len, struct vfw_config **cfgp)
{
	struct vfw_config *cfg = load(base_yaml, strlen(base_yaml));
	struct vfw_ctl *c;

	/* A directory that does not exist yet: the server creates it. */
	snprintf(sock, len, "%s/run/sub/ctl.sock", tmpdir);
	strcpy(cfg->control.socket, sock);
	c = vfw_ctl_create(cfg, &fake_ops);
	assert_non_null(c);
	*cfgp = cfg;
	return c;
}

static void
test_socket_basics(void **state)
{
	struct vfw_config *cfg;
	struct vfw_ctl *c;
	struct cli a, b, d;
	struct stat st;
	char sock[128], *r;

	(void)state;
	make_tmpdir();
	c = socket_ctl(sock, sizeof(sock), &cfg);
	assert_true(vfw_ctl_fd(c) >= 0);
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	cli_open(&a, sock);
	cli_open(&b, sock);
	/* Two requests in one write, answered in order. */
	cli_send(a.fd, "{\"cmd\":\"show\",\"what\":\"rules\"}\n{\"cmd\":\"frob\"}\n");
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_true(is_ok(r));
	free(r);
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_non_null(strstr(r, "unknown command"));
	free(r);

	/* Half a line waits for the rest. */
	cli_send(b.fd, "{\"cmd\":\"rule.add\",\"rule\":");
	vfw_ctl_poll(c, 5);
	vfw_ctl_poll(c, 5);
	assert_int_equal(recv(b.fd, b.buf, sizeof(b.buf), 0), -1);
	cli_send(b.fd, RULE("sock-rule", 150) "}\r\n");
	r = cli_reply(c, &b);
	assert_non_null(r);
	assert_true(is_ok(r));
	assert_int_equal(generation_of(r), 1);
	free(r);
	assert_non_null(find_rule(vfw_ctl_running(c), "sock-rule"));

	/* Garbage gets an error and the connection stays usable. */
	cli_send(a.fd, "\x01\x02 garbage\n{\"cmd\":\"show\",\"what\":\"stats\"}\n");
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_false(is_ok(r));
	free(r);
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_true(is_ok(r));
	free(r);

	/* A disconnect in the middle of a request changes nothing. */
	cli_open(&d, sock);
	cli_send(d.fd, "{\"cmd\":\"rule.del\",\"name\":\"sock-ru");
	vfw_ctl_poll(c, 5);
	close(d.fd);
	vfw_ctl_poll(c, 5);
	vfw_ctl_poll(c, 5);
	assert_non_null(find_rule(vfw_ctl_running(c), "sock-rule"));
	assert_int_equal(fk.n_apply, 1);

	/* A complete request followed by a close is still executed. */
	cli_open(&d, sock);
	cli_send(d.fd, "{\"cmd\":\"rule.del\",\"name\":\"sock-rule\"}\n");
	close(d.fd);
	vfw_ctl_poll(c, 5);
	vfw_ctl_poll(c, 5);
	assert_null(find_rule(vfw_ctl_running(c), "sock-rule"));

	/* Half-close: the reply still arrives, then EOF. */
	cli_open(&d, sock);
	cli_send(d.fd, "{\"cmd\":\"show\",\"what\":\"rules\"}\n");
	shutdown(d.fd, SHUT_WR);
	r = cli_reply(c, &d);
	assert_non_null(r);
	assert_true(is_ok(r));
	free(r);
	assert_null(cli_reply(c, &d));
	assert_true(d.eof);
	close(d.fd);

	close(a.fd);
	close(b.fd);
	vfw_ctl_free(c);
	/* The server removes its socket. */
	assert_int_equal(stat(sock, &st), -1);
	vfw_config_free(cfg);
	rm_tmpdir();
}

/* fd asks "show rules" and gets an ok reply. */
static void
show_ok(struct vfw_ctl *c, int fd)
{
	struct cli cl;
	char *r;

	memset(&cl, 0, sizeof(cl));
	cl.fd = fd;
	cli_send(fd, "{\"cmd\":\"show\",\"what\":\"rules\"}\n");
	r = cli_reply(c, &cl);
	assert_non_null(r);
	assert_true(is_ok(r));
	free(r);
}

static void
test_socket_limits(void **state)
{
	struct vfw_config *cfg;
	struct vfw_ctl *c;
	struct cli a, extra;
	int fds[VFW_CTL_MAX_CLIENTS];
	char sock[128], *r, *chunk;
	size_t sent = 0, chunk_len = 1 << 16;
	ssize_t n;
	unsigned int i;

	(void)state;
	make_tmpdir();
	c = socket_ctl(sock, sizeof(sock), &cfg);

	/* A line longer than the limit: error, then the server hangs up. */
	cli_open(&a, sock);
	chunk = malloc(chunk_len);
	memset(chunk, ' ', chunk_len);
	while (sent <= VFW_CTL_MAX_REQUEST + chunk_len && !a.eof) {
		n = send(a.fd, chunk, chunk_len, MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (errno != EAGAIN)
			break; /* the server closed on us */
		vfw_ctl_poll(c, 0);
	}
	free(chunk);
	assert_true(sent > VFW_CTL_MAX_REQUEST);
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_non_null(strstr(r, "request too large (limit 16777216 bytes)"));
	free(r);
	assert_null(cli_reply(c, &a));
	assert_true(a.eof);
	close(a.fd);

	/* More clients than the limit, all active within the last second:
	 * the extra one is told and closed. */
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++) {
		fds[i] = cli_connect(sock);
		vfw_ctl_poll(c, 0);
	}
	cli_open(&extra, sock);
	r = cli_reply(c, &extra);
	assert_non_null(r);
	assert_string_equal(r, "{\"ok\":false,\"error\":\"too many clients\"}");
	free(r);
	assert_null(cli_reply(c, &extra));
	close(extra.fd);
	/* The others still work. */
	show_ok(c, fds[VFW_CTL_MAX_CLIENTS - 1]);
	/* Once they have been quiet for a second, the client quiet for
	 * longest gives way to a new one, which is served, and is told
	 * why; the one that just asked something stays. */
	usleep(1100 * 1000);
	cli_open(&extra, sock);
	show_ok(c, extra.fd);
	close(extra.fd);
	memset(&a, 0, sizeof(a));
	a.fd = fds[0];
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_string_equal(r, "{\"ok\":false,\"error\":\"connection closed: idle "
			    "while every client slot was taken\"}");
	free(r);
	assert_null(cli_reply(c, &a));
	assert_true(a.eof);
	show_ok(c, fds[VFW_CTL_MAX_CLIENTS - 1]);
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	for (i = 0; i < 5; i++)
		vfw_ctl_poll(c, 1);
	/* Slots are free again. */
	cli_open(&a, sock);
	show_ok(c, a.fd);
	close(a.fd);

	vfw_ctl_free(c);
	vfw_config_free(cfg);
	rm_tmpdir();
}

static void
test_socket_ordering(void **state)
{
	struct vfw_config *cfg;
	struct vfw_ctl *c;
	struct cli a, b;
	char sock[128], *r;
	unsigned int i;

	(void)state;
	make_tmpdir();
	c = socket_ctl(sock, sizeof(sock), &cfg);
	cli_open(&a, sock);
	cli_open(&b, sock);

	/*
	 * A's change waits for a slow ack; A's next request waits behind it,
	 * B's read is answered meanwhile and B's change queues behind A's.
	 */
	fk.ack_after = 30;
	cli_send(a.fd, "{\"cmd\":\"rule.add\",\"rule\":" RULE("slow", 160) "}\n"
		 "{\"cmd\":\"show\",\"what\":\"config\"}\n");
	for (i = 0; i < 3; i++)
		vfw_ctl_poll(c, 0);
	assert_int_equal(fk.n_apply, 1);
	assert_null(find_rule(vfw_ctl_running(c), "slow"));
	cli_send(b.fd, "{\"cmd\":\"show\",\"what\":\"rules\"}\n"
		 "{\"cmd\":\"rule.add\",\"rule\":" RULE("after", 170) "}\n");
	r = cli_reply(c, &b);
	assert_non_null(r);
	assert_true(is_ok(r));
	assert_non_null(strstr(r, "\"rules\""));
	free(r);
	assert_int_equal(fk.n_apply, 1); /* B's change is not started yet */
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_int_equal(generation_of(r), 1);
	free(r);
	r = cli_reply(c, &a);
	assert_non_null(r);
	assert_non_null(strstr(r, "slow")); /* show ran after the ack */
	free(r);
	r = cli_reply(c, &b);
	assert_non_null(r);
	assert_int_equal(generation_of(r), 2);
	free(r);
	assert_non_null(find_rule(vfw_ctl_running(c), "slow"));
	assert_non_null(find_rule(vfw_ctl_running(c), "after"));
	fk.ack_after = 0;

	/*
	 * A transaction commits on top of a change made by someone else
	 * since its begin: its steps are replayed on the new running config.
	 */
	cli_send(a.fd, "{\"cmd\":\"begin\"}\n{\"cmd\":\"rule.add\",\"rule\":"
		 RULE("txn-a", 180) "}\n");
	r = cli_reply(c, &a);
	free(r);
	r = cli_reply(c, &a);
	assert_true(is_ok(r));
	free(r);
	cli_send(b.fd, "{\"cmd\":\"rule.del\",\"name\":\"after\"}\n");
	r = cli_reply(c, &b);
	assert_true(is_ok(r));
	free(r);
	cli_send(a.fd, "{\"cmd\":\"commit\"}\n");
	r = cli_reply(c, &a);
	assert_true(is_ok(r));
	free(r);
	assert_non_null(find_rule(vfw_ctl_running(c), "txn-a"));
	assert_null(find_rule(vfw_ctl_running(c), "after"));

	/* ... and a replay that no longer fits fails the commit. */
	cli_send(a.fd, "{\"cmd\":\"begin\"}\n{\"cmd\":\"rule.del\",\"name\":\"slow\"}\n");
	free(cli_reply(c, &a));
	free(cli_reply(c, &a));
	cli_send(b.fd, "{\"cmd\":\"rule.del\",\"name\":\"slow\"}\n");
	free(cli_reply(c, &b));
	cli_send(a.fd, "{\"cmd\":\"commit\"}\n");
	r = cli_reply(c, &a);
	assert_false(is_ok(r));
	assert_non_null(strstr(r, "conflicts with a change committed since begin"));
	free(r);

	/* A client that goes away with a transaction open applies nothing. */
	i = fk.n_apply;
	cli_send(a.fd, "{\"cmd\":\"begin\"}\n{\"cmd\":\"rule.del\",\"name\":\"txn-a\"}\n");
	free(cli_reply(c, &a));
	free(cli_reply(c, &a));
	close(a.fd);
	vfw_ctl_poll(c, 5);
	vfw_ctl_poll(c, 5);
	assert_int_equal(fk.n_apply, i);
	assert_non_null(find_rule(vfw_ctl_running(c), "txn-a"));

	close(b.fd);
	vfw_ctl_free(c);
	vfw_config_free(cfg);
	rm_tmpdir();
}

static void
test_socket_path(void **state)
{
	struct vfw_config *cfg;
	struct vfw_ctl *c, *c2;
	struct sockaddr_un sa;
	char sock[128];
	int fd;

	(void)state;
	make_tmpdir();
	cfg = load(base_yaml, strlen(base_yaml));
	snprintf(sock, sizeof(sock), "%s/ctl.sock", tmpdir);
	strcpy(cfg->control.socket, sock);

	/* A stale socket file (no listener behind it) is removed. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	c = vfw_ctl_create(cfg, &fake_ops);
	assert_non_null(c);

	/* A live one is refused. */
	c2 = vfw_ctl_create(cfg, &fake_ops);
	assert_null(c2);
	assert_int_equal(errno, EADDRINUSE);
	vfw_ctl_free(c);

	/* A file that is not a socket is never touched. */
	write_file(sock, "precious\n");
	c2 = vfw_ctl_create(cfg, &fake_ops);
	assert_null(c2);
	assert_int_equal(errno, EEXIST);
	unlink(sock);

	vfw_config_free(cfg);
	rm_tmpdir();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validation_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes_nat_neighbors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_surrogate_pairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_snat_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_basics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_ordering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
