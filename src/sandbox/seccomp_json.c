// SPDX-License-Identifier: Apache-2.0
/*
 * Filter files: Firecracker's seccompiler JSON, read as is (figment compiles
 * it itself at start-up; seccompiler's compiled BPF output is not read).
 *
 *   { "vmm":  { "default_action": "trap", "filter_action": "allow",
 *               "filter": [ { "syscall": "read" },
 *                           { "syscall": "ioctl", "args": [ { "index": 1,
 *                             "type": "dword", "op": "eq", "val": 44672,
 *                             "comment": "KVM_RUN" } ] } ] },
 *     "api": { ... }, "vcpu": { ... } }
 *
 * Actions: "allow", "trap", "log", "kill_thread", "kill_process" (and
 * "kill", Firecracker's name for kill_thread), {"errno": N}. Ops: "eq",
 * "ne", "lt", "le", "gt", "ge", {"masked_eq": MASK}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/json_util.h"
#include "sandbox/seccomp_filter.h"
#include "util/safe_open.h"

#define FILTER_FILE_MAX (1 << 20)

const char *const seccomp_thread_key[SECCOMP_THREAD_KINDS] = {
	[SECCOMP_THREAD_VMM] = "vmm",
	[SECCOMP_THREAD_API] = "api",
	[SECCOMP_THREAD_VCPU] = "vcpu",
};

static const char *const op_names[] = {
	[SECCOMP_OP_EQ] = "eq", [SECCOMP_OP_NE] = "ne", [SECCOMP_OP_LT] = "lt",
	[SECCOMP_OP_LE] = "le", [SECCOMP_OP_GT] = "gt", [SECCOMP_OP_GE] = "ge",
};

static const char *const action_names[] = {
	[SECCOMP_ACT_ALLOW] = "allow",
	[SECCOMP_ACT_TRAP] = "trap",
	[SECCOMP_ACT_KILL_THREAD] = "kill_thread",
	[SECCOMP_ACT_KILL_PROCESS] = "kill_process",
	[SECCOMP_ACT_LOG] = "log",
};

static int fail(char *err, size_t errlen, const char *fmt, const char *a,
		const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	return -EINVAL;
}

static int parse_action(const json_t *v, const char *where,
			struct seccomp_action *out, char *err, size_t errlen)
{
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		for (i = 0; i < sizeof(action_names) / sizeof(*action_names); i++)
			if (action_names[i] && !strcmp(s, action_names[i])) {
				out->kind = i;
				return 0;
			}
		if (!strcmp(s, "kill")) {
			out->kind = SECCOMP_ACT_KILL_THREAD;
			return 0;
		}
		return fail(err, errlen, "%s: unknown action '%s'", where, s);
	}
	e = json_is_object(v) && json_object_size(v) == 1 ?
		    json_object_get(v, "errno") : NULL;
	if (!json_is_integer(e) || json_integer_value(e) < 0 ||
	    json_integer_value(e) > 4095)
		return fail(err, errlen,
			    "%s: an action is \"allow\", \"trap\", \"log\", \"kill_thread\", \"kill_process\" or {\"errno\": 0..4095}%s",
			    where, "");
	out->kind = SECCOMP_ACT_ERRNO;
	out->errno_value = json_integer_value(e);
	return 0;
}

static int parse_cond(const json_t *a, const char *where,
		      struct seccomp_cond *c, char *err, size_t errlen)
{
	static const char *const fields[] = { "index", "type", "op", "val",
					      "comment", NULL };
	static const char *const types[] = { "dword", "qword", NULL };
	const json_t *op, *val;
	uint64_t idx;
	int type, ret;
	size_t i;

	if ((ret = json_check_fields(a, where, fields, err, errlen)) ||
	    (ret = json_get_uint(a, where, "index", true, 0, 5, &idx, err,
				 errlen)) ||
	    (ret = json_get_enum(a, where, "type", true, types, false, &type,
				 err, errlen)))
		return ret;
	c->arg = idx;
	c->qword = type == 1;
	val = json_object_get(a, "val");
	/* jansson keeps integers as signed 64-bit: values up to INT64_MAX. */
	if (!json_is_integer(val) || json_integer_value(val) < 0)
		return fail(err, errlen, "%s: `val` must be an unsigned integer%s",
			    where, "");
	c->value = json_integer_value(val);
	if (!c->qword && c->value > UINT32_MAX)
		return fail(err, errlen, "%s: `val` does not fit a dword%s", where,
			    "");
	op = json_object_get(a, "op");
	if (json_is_string(op)) {
		for (i = 0; i < sizeof(op_names) / sizeof(*op_names); i++)
			if (!strcmp(json_string_value(op), op_names[i])) {
				c->op = i;
				/* libseccomp compares all 64 bits; a dword is
				 * the low 32 only, which it can express for
				 * equality alone (as a masked_eq): an ordering
				 * or `ne` would let the high bits, which the
				 * kernel ignores, decide */
				if (!c->qword && c->op != SECCOMP_OP_EQ)
					return fail(err, errlen,
						    "%s: op '%s' on a dword cannot be compiled exactly; use \"qword\", or eq/masked_eq",
						    where, op_names[i]);
				return 0;
			}
		return fail(err, errlen, "%s: unknown op '%s'", where,
			    json_string_value(op));
	}
	val = json_is_object(op) && json_object_size(op) == 1 ?
		      json_object_get(op, "masked_eq") : NULL;
	if (!json_is_integer(val) || json_integer_value(val) < 0)
		return fail(err, errlen,
			    "%s: `op` is \"eq\", \"ne\", \"lt\", \"le\", \"gt\", \"ge\" or {\"masked_eq\": MASK}%s",
			    where, "");
	c->op = SECCOMP_OP_MASKED_EQ;
	c->mask = json_integer_value(val);
	return 0;
}

static int parse_rule(const json_t *r, const char *where,
		      struct seccomp_rule *rule, char *err, size_t errlen)
{
	static const char *const fields[] = { "syscall", "args", "comment",
					      NULL };
	const char *name;
	const json_t *args, *a;
	char cwhere[96];
	size_t i;
	int ret;

	if ((ret = json_check_fields(r, where, fields, err, errlen)) ||
	    (ret = json_get_string(r, where, "syscall", true, &name, err,
				   errlen)))
		return ret;
	rule->nr = seccomp_syscall_number(name);
	if (rule->nr < 0)
		return fail(err, errlen, "%s: unknown system call '%s'", where,
			    name);
	args = json_object_get(r, "args");
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args) || json_array_size(args) > SECCOMP_MAX_CONDS)
		return fail(err, errlen, "%s: `args` must be an array of at most 6 conditions%s",
			    where, "");
	json_array_foreach(args, i, a) {
		snprintf(cwhere, sizeof(cwhere), "%s (%s), args[%zu]", where,
			 name, i);
		if (!json_is_object(a))
			return fail(err, errlen, "%s: must be an object%s", cwhere,
				    "");
		ret = parse_cond(a, cwhere, &rule->conds[i], err, errlen);
		if (ret)
			return ret;
	}
	rule->nr_conds = json_array_size(args);
	return 0;
}

static int parse_filter(const json_t *f, const char *key,
			struct seccomp_filter *out, char *err, size_t errlen)
{
	static const char *const fields[] = { "default_action", "filter_action",
					      "filter", NULL };
	const json_t *rules, *r;
	char where[80];
	size_t i;
	int ret;

	snprintf(where, sizeof(where), "seccomp filter '%s'", key);
	if (!json_is_object(f))
		return fail(err, errlen, "%s: must be an object%s", where, "");
	ret = json_check_fields(f, where, fields, err, errlen);
	if (ret)
		return ret;
	if (!json_object_get(f, "default_action") ||
	    !json_object_get(f, "filter_action") ||
	    !json_is_array(json_object_get(f, "filter")))
		return fail(err, errlen,
			    "%s: needs `default_action`, `filter_action` and a `filter` array%s",
			    where, "");
	snprintf(where, sizeof(where), "seccomp filter '%s': default_action", key);
	if ((ret = parse_action(json_object_get(f, "default_action"), where,
				&out->default_action, err, errlen)))
		return ret;
	snprintf(where, sizeof(where), "seccomp filter '%s': filter_action", key);
	if ((ret = parse_action(json_object_get(f, "filter_action"), where,
				&out->filter_action, err, errlen)))
		return ret;
	rules = json_object_get(f, "filter");
	if (json_array_size(rules) > SECCOMP_MAX_RULES)
		return fail(err, errlen, "seccomp filter '%s': more than 512 rules%s",
			    key, "");
	/* A thread that may make no call at all dies at its first one. */
	if (out->default_action.kind != SECCOMP_ACT_ALLOW &&
	    out->filter_action.kind != SECCOMP_ACT_ALLOW)
		return fail(err, errlen,
			    "seccomp filter '%s' allows no system call (neither default_action nor filter_action is \"allow\")%s",
			    key, "");
	if (out->default_action.kind != SECCOMP_ACT_ALLOW &&
	    !json_array_size(rules))
		return fail(err, errlen,
			    "seccomp filter '%s' allows no system call (its `filter` is empty)%s",
			    key, "");
	out->rules = calloc(json_array_size(rules) + 1, sizeof(*out->rules));
	out->rules_owned = true;
	if (!out->rules)
		return fail(err, errlen, "out of memory%s%s", "", "");
	json_array_foreach(rules, i, r) {
		snprintf(where, sizeof(where), "seccomp filter '%s': filter[%zu]",
			 key, i);
		if (!json_is_object(r))
			return fail(err, errlen, "%s: must be an object%s", where,
				    "");
		ret = parse_rule(r, where, &out->rules[i], err, errlen);
		if (ret)
			return ret;
		out->nr_rules++;
	}
	return 0;
}

int seccomp_policy_parse(const char *text, size_t len, struct seccomp_policy *p,
			 char *err, size_t errlen)
{
	json_t *root;
	const char *key;
	json_t *v;
	int i, ret = 0;

	memset(p, 0, sizeof(*p));
	if (len && (unsigned char)text[0] != '{' && memchr(text, 0, len))
		return fail(err, errlen,
			    "not a JSON filter file (figment reads seccompiler's JSON input, not its compiled BPF)%s%s",
			    "", "");
	root = json_decode(text, len, err, errlen);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		ret = fail(err, errlen, "a seccomp filter file is a JSON object with \"vmm\", \"api\" and \"vcpu\"%s%s",
			   "", "");
		goto out;
	}
	json_object_foreach(root, key, v) {
		for (i = 0; i < SECCOMP_THREAD_KINDS; i++)
			if (!strcmp(key, seccomp_thread_key[i]))
				break;
		if (i == SECCOMP_THREAD_KINDS) {
			ret = fail(err, errlen,
				   "seccomp filter file: unknown thread '%s' (figment's threads are vmm, api and vcpu)%s",
				   key, "");
			goto out;
		}
		ret = parse_filter(v, key, &p->thread[i], err, errlen);
		if (ret)
			goto out;
	}
	for (i = 0; i < SECCOMP_THREAD_KINDS; i++)
		if (!json_object_get(root, seccomp_thread_key[i])) {
			ret = fail(err, errlen,
				   "seccomp filter file: no filter for the '%s' thread%s",
				   seccomp_thread_key[i], "");
			goto out;
		}
out:
	json_decref(root);
	if (ret)
		seccomp_policy_free(p);
	return ret;
}

int seccomp_policy_load(const char *path, struct seccomp_policy *p, char *err,
			size_t errlen)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	char why[512];
	int fd, ret;

	fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG, 0,
		       "seccomp filter file", &st, why, sizeof(why));
	if (fd < 0)
		return fail(err, errlen, "%s%s", why, "");
	if (st.st_size > FILTER_FILE_MAX) {
		ret = fail(err, errlen, "seccomp filter file '%s' is larger than 1 MiB%s",
			   path, "");
		goto out;
	}
	buf = malloc(st.st_size + 1);
	n = buf ? pread(fd, buf, st.st_size, 0) : -1;
	if (n != st.st_size) {
		ret = fail(err, errlen, "cannot read seccomp filter file '%s'%s", path,
			   "");
		goto out;
	}
	ret = seccomp_policy_parse(buf, n, p, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "seccomp filter file '%s': %s", path, why);
out:
	free(buf);
	close(fd);
	return ret;
}

void seccomp_policy_free(struct seccomp_policy *p)
{
	int i;

	for (i = 0; i < SECCOMP_THREAD_KINDS; i++) {
		if (p->thread[i].rules_owned)
			free(p->thread[i].rules);
		p->thread[i].rules = NULL;
		p->thread[i].nr_rules = 0;
	}
}

static json_t *action_json(const struct seccomp_action *a)
{
	if (a->kind == SECCOMP_ACT_ERRNO)
		return json_pack("{s:i}", "errno", (int)a->errno_value);
	return json_string(action_names[a->kind]);
}

static json_t *rule_json(const struct seccomp_rule *r)
{
	const char *name = seccomp_syscall_name(r->nr);
	json_t *o = json_object(), *args;
	int i;

	json_object_set_new(o, "syscall", json_string(name ? name : "?"));
	if (r->comment && !r->nr_conds)
		json_object_set_new(o, "comment", json_string(r->comment));
	if (!r->nr_conds)
		return o;
	args = json_array();
	for (i = 0; i < r->nr_conds; i++) {
		const struct seccomp_cond *c = &r->conds[i];
		json_t *a = json_pack("{s:i,s:s,s:I}", "index", c->arg, "type",
				      c->qword ? "qword" : "dword", "val",
				      (json_int_t)c->value);

		json_object_set_new(a, "op",
				    c->op == SECCOMP_OP_MASKED_EQ ?
					    json_pack("{s:I}", "masked_eq",
						      (json_int_t)c->mask) :
					    json_string(op_names[c->op]));
		if (r->comment)
			json_object_set_new(a, "comment", json_string(r->comment));
		json_array_append_new(args, a);
	}
	json_object_set_new(o, "args", args);
	return o;
}

char *seccomp_policy_to_json(const struct seccomp_policy *p)
{
	json_t *root = json_object();
	char *out;
	size_t i;
	int t;

	for (t = 0; t < SECCOMP_THREAD_KINDS; t++) {
		const struct seccomp_filter *f = &p->thread[t];
		json_t *rules = json_array();

		for (i = 0; i < f->nr_rules; i++)
			json_array_append_new(rules, rule_json(&f->rules[i]));
		json_object_set_new(root, seccomp_thread_key[t],
				    json_pack("{s:o,s:o,s:o}", "default_action",
					      action_json(&f->default_action),
					      "filter_action",
					      action_json(&f->filter_action),
					      "filter", rules));
	}
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return out;
}
