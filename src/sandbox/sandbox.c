// SPDX-License-Identifier: Apache-2.0
/* Compiling seccomp policies with libseccomp and loading them per thread. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sigsys.h"

static struct sock_fprog progs[SECCOMP_THREAD_KINDS];
static bool enabled;

static uint32_t scmp_action(const struct seccomp_action *a)
{
	switch (a->kind) {
	case SECCOMP_ACT_ALLOW:
		return SCMP_ACT_ALLOW;
	case SECCOMP_ACT_TRAP:
		return SCMP_ACT_TRAP;
	case SECCOMP_ACT_ERRNO:
		return SCMP_ACT_ERRNO(a->errno_value);
	case SECCOMP_ACT_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case SECCOMP_ACT_LOG:
		return SCMP_ACT_LOG;
	case SECCOMP_ACT_KILL_PROCESS:
	default:
		return SCMP_ACT_KILL_PROCESS;
	}
}

static struct scmp_arg_cmp scmp_cond(const struct seccomp_cond *c)
{
	static const enum scmp_compare ops[] = {
		[SECCOMP_OP_EQ] = SCMP_CMP_EQ, [SECCOMP_OP_NE] = SCMP_CMP_NE,
		[SECCOMP_OP_LT] = SCMP_CMP_LT, [SECCOMP_OP_LE] = SCMP_CMP_LE,
		[SECCOMP_OP_GT] = SCMP_CMP_GT, [SECCOMP_OP_GE] = SCMP_CMP_GE,
		[SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};
	struct scmp_arg_cmp cmp = { .arg = c->arg, .op = ops[c->op] };

	if (c->op == SECCOMP_OP_MASKED_EQ) {
		cmp.datum_a = c->qword ? c->mask : (uint32_t)c->mask;
		cmp.datum_b = c->value;
	} else if (c->op == SECCOMP_OP_EQ && !c->qword) {
		/* A dword is the low half: the kernel takes an ioctl's request
		 * as an unsigned int, whatever the upper bits say. */
		cmp.op = SCMP_CMP_MASKED_EQ;
		cmp.datum_a = UINT32_MAX;
		cmp.datum_b = c->value;
	} else {
		cmp.datum_a = c->value;
	}
	return cmp;
}

/* libseccomp builds the program; it is exported through a memfd so that a
 * thread loads it with one seccomp() call and no allocation. */
static int compile(const struct seccomp_filter *f, struct sock_fprog *out,
		   char *err, size_t errlen)
{
	uint32_t def = scmp_action(&f->default_action);
	uint32_t act = scmp_action(&f->filter_action);
	scmp_filter_ctx ctx = seccomp_init(def);
	struct scmp_arg_cmp cmps[SECCOMP_MAX_CONDS];
	int fd = -1, ret = -ENOMEM;
	off_t len;
	size_t i;
	int j;

	if (!ctx)
		goto fail;
	for (i = 0; i < f->nr_rules && act != def; i++) {
		const struct seccomp_rule *r = &f->rules[i];

		for (j = 0; j < r->nr_conds; j++)
			cmps[j] = scmp_cond(&r->conds[j]);
		ret = seccomp_rule_add_exact_array(ctx, act, r->nr, r->nr_conds,
						   cmps);
		if (ret) {
			snprintf(err, errlen,
				 "seccomp: rule %zu (system call %d) is not valid: %s",
				 i, r->nr, strerror(-ret));
			goto out;
		}
	}
	fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0 || (ret = seccomp_export_bpf(ctx, fd)) ||
	    (len = lseek(fd, 0, SEEK_END)) <= 0 ||
	    len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = ret ? ret : -E2BIG;
		goto fail;
	}
	out->filter = malloc(len);
	out->len = len / sizeof(struct sock_filter);
	if (!out->filter || pread(fd, out->filter, len, 0) != len) {
		ret = -EIO;
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	snprintf(err, errlen, "seccomp: cannot compile a filter: %s",
		 strerror(ret < 0 ? -ret : ENOMEM));
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ret ? -EINVAL : 0;
}

int sandbox_prepare(const struct seccomp_policy *p, char *err, size_t errlen)
{
	int k, ret;

	if (!p) {
		enabled = false;
		return 0;
	}
	for (k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		ret = compile(&p->thread[k], &progs[k], err, errlen);
		if (ret)
			return ret;
	}
	ret = sigsys_reporter_install();
	if (ret) {
		snprintf(err, errlen, "seccomp: cannot install the SIGSYS handler: %s",
			 strerror(-ret));
		return ret;
	}
	enabled = true;
	return 0;
}

int sandbox_enter(enum seccomp_thread kind, const char *label)
{
	sigset_t sys;

	if (!enabled)
		return 0;
	/* A blocked SIGSYS would kill without saying why. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	sigsys_set_thread_label(label);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[kind]))
		return -errno;
	sandbox_test_hook(kind);
	return 0;
}

bool sandbox_enabled(void)
{
	return enabled;
}

size_t sandbox_filter_len(enum seccomp_thread kind)
{
	return enabled ? progs[kind].len : 0;
}

__attribute__((weak)) void sandbox_test_hook(enum seccomp_thread kind)
{
	(void)kind;
}
