/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp policies: one allow-list per kind of thread (VMM, API, vCPU), as
 * data. The built-in lists (seccomp_rules.c), a filter file in Firecracker's
 * seccompiler JSON (seccomp_json.c) and the JSON printer all use these
 * types; seccomp_install.c compiles them to BPF and puts them on threads.
 */
#ifndef FIGMENT_SANDBOX_SECCOMP_FILTER_H
#define FIGMENT_SANDBOX_SECCOMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum seccomp_thread {
	SECCOMP_THREAD_VMM,
	SECCOMP_THREAD_API,
	SECCOMP_THREAD_VCPU,
	SECCOMP_THREAD_KINDS
};

/* "vmm", "api", "vcpu": the keys of a filter file. */
extern const char *const seccomp_thread_key[SECCOMP_THREAD_KINDS];

enum seccomp_op {
	SECCOMP_OP_EQ,
	SECCOMP_OP_NE,
	SECCOMP_OP_LT,
	SECCOMP_OP_LE,
	SECCOMP_OP_GT,
	SECCOMP_OP_GE,
	SECCOMP_OP_MASKED_EQ, /* (arg & mask) == value */
};

/* What a filter does with a call: the action's kind and, for errno, the
 * errno value. */
enum seccomp_action_kind {
	SECCOMP_ACT_ALLOW,
	SECCOMP_ACT_TRAP, /* SIGSYS: figment says which call, then dies */
	SECCOMP_ACT_ERRNO,
	SECCOMP_ACT_KILL_THREAD,
	SECCOMP_ACT_KILL_PROCESS,
	SECCOMP_ACT_LOG,
};

struct seccomp_action {
	enum seccomp_action_kind kind;
	uint16_t errno_value;
};

#define SECCOMP_MAX_CONDS 6
#define SECCOMP_MAX_RULES 512

struct seccomp_cond {
	uint8_t arg; /* 0..5 */
	bool qword;  /* compare all 64 bits; else the low 32 ("dword") */
	enum seccomp_op op;
	uint64_t mask; /* SECCOMP_OP_MASKED_EQ only */
	uint64_t value;
};

/* A call is allowed when its number matches and all its conditions hold;
 * several rules for one number are alternatives. */
struct seccomp_rule {
	int nr;
	uint8_t nr_conds;
	struct seccomp_cond conds[SECCOMP_MAX_CONDS];
	const char *comment; /* why the call is needed; built-in rules only */
};

struct seccomp_filter {
	struct seccomp_action default_action; /* calls no rule allows */
	struct seccomp_action filter_action;  /* calls a rule matches */
	struct seccomp_rule *rules;
	size_t nr_rules;
	bool rules_owned; /* read from a file: seccomp_policy_free frees them */
};

struct seccomp_policy {
	struct seccomp_filter thread[SECCOMP_THREAD_KINDS];
};

/* The built-in policy (rules point into static tables; free is a no-op
 * for them). */
void seccomp_policy_builtin(struct seccomp_policy *p);

/* Reads a filter file; 0, or -EINVAL with a message in @err. The file must
 * name all three threads and give each at least one allowed call. */
int seccomp_policy_load(const char *path, struct seccomp_policy *p, char *err,
			size_t errlen);
/* Parses the file's text; as seccomp_policy_load. */
int seccomp_policy_parse(const char *text, size_t len, struct seccomp_policy *p,
			 char *err, size_t errlen);
void seccomp_policy_free(struct seccomp_policy *p);

/* The policy as a filter file (what --print-seccomp-filter writes); a
 * malloc'ed string or NULL. */
char *seccomp_policy_to_json(const struct seccomp_policy *p);

/* Number of distinct system calls a filter allows. */
size_t seccomp_filter_calls(const struct seccomp_filter *f);

/* The name of system call @nr ("read"), or NULL; async-signal-safe. */
const char *seccomp_syscall_name(int nr);
/* The number of system call @name, or -1. */
int seccomp_syscall_number(const char *name);

#endif
