// SPDX-License-Identifier: Apache-2.0
/* Seccomp policies: the built-in lists, a printed filter file read back to
 * the same rules, the filter file's refusals, syscall names both ways, and
 * that compiled filters fit BPF's limits. */
#include <criterion/criterion.h>
#include <sys/socket.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"

static bool allows(const struct seccomp_filter *f, int nr)
{
	for (size_t i = 0; i < f->nr_rules; i++)
		if (f->rules[i].nr == nr)
			return true;
	return false;
}

Test(seccomp_policy, builtin_lists_are_narrow)
{
	struct seccomp_policy p;
	const struct seccomp_filter *api, *vcpu, *vmm;

	seccomp_policy_builtin(&p);
	vmm = &p.thread[SECCOMP_THREAD_VMM];
	api = &p.thread[SECCOMP_THREAD_API];
	vcpu = &p.thread[SECCOMP_THREAD_VCPU];
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		const struct seccomp_filter *f = &p.thread[k];

		cr_assert(!allows(f, __NR_execve) && !allows(f, __NR_clone) &&
			  !allows(f, __NR_clone3) && !allows(f, __NR_fork) &&
			  !allows(f, __NR_ptrace) &&
			  !allows(f, __NR_setns), "%s", seccomp_thread_key[k]);
		for (size_t i = 0; i < f->nr_rules; i++)
			cr_assert(f->rules[i].comment, "every call says why");
	}
	/* sockets: only the VMM thread's vsock, one kind, by its arguments */
	cr_assert(!allows(api, __NR_socket) && !allows(vcpu, __NR_socket));
	for (size_t i = 0; i < vmm->nr_rules; i++) {
		const struct seccomp_rule *r = &vmm->rules[i];

		if (r->nr != __NR_socket)
			continue;
		cr_assert_eq(r->nr_conds, 3);
		cr_assert_eq(r->conds[0].value, AF_UNIX);
		cr_assert_eq(r->conds[1].value,
			     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	cr_assert(!allows(api, __NR_openat), "the API thread opens nothing");
	cr_assert(!allows(vcpu, __NR_openat));
	cr_assert(allows(api, __NR_accept4) && allows(vmm, __NR_openat));
	cr_assert_lt(seccomp_filter_calls(api), 31, "fewer than Firecracker");
	cr_assert_lt(seccomp_filter_calls(vcpu), 27);
	cr_assert_lt(seccomp_filter_calls(vmm), 50);
}

Test(seccomp_policy, printed_file_reads_back_to_the_same_rules)
{
	struct seccomp_policy a, b;
	char err[512];
	char *text;

	seccomp_policy_builtin(&a);
	text = seccomp_policy_to_json(&a);
	cr_assert(text);
	cr_assert_eq(seccomp_policy_parse(text, strlen(text), &b, err,
					  sizeof(err)),
		     0, "%s", err);
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		cr_assert_eq(a.thread[k].nr_rules, b.thread[k].nr_rules);
		cr_assert_eq(a.thread[k].default_action.kind,
			     b.thread[k].default_action.kind);
		for (size_t i = 0; i < a.thread[k].nr_rules; i++) {
			const struct seccomp_rule *x = &a.thread[k].rules[i];
			const struct seccomp_rule *y = &b.thread[k].rules[i];

			cr_assert_eq(x->nr, y->nr);
			cr_assert_eq(x->nr_conds, y->nr_conds);
			for (int c = 0; c < x->nr_conds; c++) {
				cr_assert_eq(x->conds[c].arg, y->conds[c].arg);
				cr_assert_eq(x->conds[c].op, y->conds[c].op);
				cr_assert_eq(x->conds[c].mask, y->conds[c].mask);
				cr_assert_eq(x->conds[c].value, y->conds[c].value);
				cr_assert_eq(x->conds[c].qword, y->conds[c].qword);
			}
		}
	}
	free(text);
	seccomp_policy_free(&b);
}

static void refused(const char *doc, const char *why)
{
	struct seccomp_policy p;
	char err[512] = "";

	cr_assert_eq(seccomp_policy_parse(doc, strlen(doc), &p, err, sizeof(err)),
		     -EINVAL, "accepted: %s", doc);
	cr_assert(strstr(err, why), "'%s' lacks '%s'", err, why);
}

#define ONE(x) "{\"default_action\":\"trap\",\"filter_action\":\"allow\",\"filter\":[" x "]}"
#define ALL(vmm) "{\"vmm\":" vmm ",\"api\":" ONE("{\"syscall\":\"read\"}") \
		 ",\"vcpu\":" ONE("{\"syscall\":\"read\"}") "}"

Test(seccomp_policy, bad_files_are_refused)
{
	refused("", "");
	refused("{\"vmm\": {}}", "needs `default_action`");
	refused(ALL(ONE("")), "allows no system call");
	refused(ALL(ONE("{\"syscall\":\"nope\"}")), "unknown system call 'nope'");
	refused(ALL(ONE("{\"syscall\":\"ioctl\",\"args\":[{\"index\":6,\"type\":\"dword\",\"op\":\"eq\",\"val\":1}]}")),
		"index");
	refused(ALL(ONE("{\"syscall\":\"ioctl\",\"args\":[{\"index\":1,\"type\":\"dword\",\"op\":\"eq\",\"val\":-1}]}")),
		"unsigned");
	refused(ALL(ONE("{\"syscall\":\"ioctl\",\"args\":[{\"index\":1,\"type\":\"word\",\"op\":\"eq\",\"val\":1}]}")),
		"type");
	refused(ALL(ONE("{\"syscall\":\"ioctl\",\"args\":[{\"index\":1,\"type\":\"qword\",\"op\":{\"masked_eq\":-3},\"val\":1}]}")),
		"masked_eq");
	refused(ALL("{\"default_action\":{\"errno\":5000},\"filter_action\":\"allow\",\"filter\":[{\"syscall\":\"read\"}]}"),
		"errno");
	refused("{\"vmm\":" ONE("{\"syscall\":\"read\"}") ",\"vmm\":" ONE("{\"syscall\":\"read\"}") "}",
		"duplicate");
}

Test(seccomp_policy, compiled_bpf_is_named_as_such)
{
	/* BPF_LD|BPF_W|BPF_ABS, k=4: how seccompiler's output begins */
	static const char bpf[8] = { 0x20, 0, 0, 0, 4, 0, 0, 0 };
	struct seccomp_policy p;
	char err[512] = "";

	cr_assert_eq(seccomp_policy_parse(bpf, sizeof(bpf), &p, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "compiled BPF"), "%s", err);
}

Test(seccomp_policy, a_good_file_compiles_and_errno_and_masks_parse)
{
	const char *doc = ALL(ONE("{\"syscall\":\"read\"},"
				  "{\"syscall\":\"mmap\",\"args\":[{\"index\":2,\"type\":\"dword\",\"op\":{\"masked_eq\":4},\"val\":0}]},"
				  "{\"syscall\":\"ioctl\",\"args\":[{\"index\":1,\"type\":\"dword\",\"op\":\"eq\",\"val\":44672,\"comment\":\"KVM_RUN\"}]}"));
	struct seccomp_policy p;
	char err[512];

	cr_assert_eq(seccomp_policy_parse(doc, strlen(doc), &p, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(p.thread[SECCOMP_THREAD_VMM].nr_rules, 3);
	cr_assert_eq(p.thread[SECCOMP_THREAD_VMM].rules[1].conds[0].op,
		     SECCOMP_OP_MASKED_EQ);
	cr_assert_eq(p.thread[SECCOMP_THREAD_VMM].rules[1].conds[0].mask, 4);
	cr_assert_eq(p.thread[SECCOMP_THREAD_VMM].rules[2].conds[0].value,
		     KVM_RUN);
	cr_assert_eq(sandbox_prepare(&p, err, sizeof(err)), 0, "%s", err);
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++)
		cr_assert_gt(sandbox_filter_len(k), 0);
	seccomp_policy_free(&p);
}

Test(seccomp_policy, syscall_names_both_ways)
{
	cr_assert_str_eq(seccomp_syscall_name(__NR_setns), "setns");
	cr_assert_str_eq(seccomp_syscall_name(__NR_ioctl), "ioctl");
	cr_assert_null(seccomp_syscall_name(-1));
	cr_assert_null(seccomp_syscall_name(100000));
	cr_assert_eq(seccomp_syscall_number("openat"), __NR_openat);
	cr_assert_eq(seccomp_syscall_number("no_such_call"), -1);
}
