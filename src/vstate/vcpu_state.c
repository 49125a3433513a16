// SPDX-License-Identifier: Apache-2.0
#include "vstate/vcpu_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* The MSRs KVM says a VMM should save; some of them a given vCPU refuses
 * to read (KVM_GET_MSRS stops at the first): those are skipped. The uapi
 * structs end in flexible arrays, hence the heap. */
static int save_msrs(int kvm_fd, int vcpu_fd, struct vcpu_state *st)
{
	const uint32_t max = VCPU_STATE_MAX_MSRS * 4;
	struct kvm_msr_list *list =
		calloc(1, sizeof(*list) + max * sizeof(list->indices[0]));
	struct kvm_msrs *one = calloc(1, sizeof(*one) + sizeof(one->entries[0]));
	int ret = 0;

	if (!list || !one) {
		ret = -ENOMEM;
		goto out;
	}
	list->nmsrs = max;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		ret = -errno;
		goto out;
	}
	st->nr_msrs = 0;
	for (uint32_t i = 0; i < list->nmsrs; i++) {
		memset(one->entries, 0, sizeof(one->entries[0]));
		one->nmsrs = 1;
		one->entries[0].index = list->indices[i];
		if (ioctl(vcpu_fd, KVM_GET_MSRS, one) != 1)
			continue;
		if (st->nr_msrs == VCPU_STATE_MAX_MSRS) {
			ret = -E2BIG;
			break;
		}
		st->msrs[st->nr_msrs++] = one->entries[0];
	}
out:
	free(list);
	free(one);
	return ret;
}

static struct kvm_cpuid2 *cpuid_table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + VCPU_STATE_MAX_CPUID *
						       sizeof(c->entries[0]));

	if (c)
		c->nent = VCPU_STATE_MAX_CPUID;
	return c;
}

static int save_cpuid(int vcpu_fd, struct vcpu_state *st)
{
	struct kvm_cpuid2 *c = cpuid_table();
	int ret = 0;

	if (!c)
		return -ENOMEM;
	if (ioctl(vcpu_fd, KVM_GET_CPUID2, c) < 0) {
		ret = -errno;
	} else {
		st->nr_cpuid = c->nent;
		memcpy(st->cpuid, c->entries, c->nent * sizeof(c->entries[0]));
	}
	free(c);
	return ret;
}

int vcpu_state_save(int kvm_fd, int vcpu_fd, struct vcpu_state *st)
{
	int khz, ret;

	memset(st, 0, sizeof(*st));
	if (ioctl(vcpu_fd, KVM_GET_REGS, &st->regs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &st->sregs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_XSAVE, st->xsave) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_XCRS, &st->xcrs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &st->debugregs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_LAPIC, &st->lapic) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_MP_STATE, &st->mp_state) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &st->events) < 0)
		return -errno;
	ret = save_msrs(kvm_fd, vcpu_fd, st);
	if (!ret)
		ret = save_cpuid(vcpu_fd, st);
	khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	st->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	return ret;
}

int vcpu_state_check(const struct vcpu_state *st)
{
	return st->nr_msrs > VCPU_STATE_MAX_MSRS ||
		       st->nr_cpuid > VCPU_STATE_MAX_CPUID ?
		       -EINVAL :
		       0;
}

int vcpu_state_restore(int vcpu_fd, const struct vcpu_state *st, char *err,
		       size_t errlen)
{
	struct kvm_cpuid2 *c = NULL;
	struct kvm_msrs *m = NULL;
	const char *step = "allocating";
	int ret = -ENOMEM;

	if (vcpu_state_check(st)) {
		snprintf(err, errlen, "vCPU state has %u MSRs and %u CPUID leaves",
			 st->nr_msrs, st->nr_cpuid);
		return -EINVAL;
	}
	c = cpuid_table();
	m = calloc(1, sizeof(*m) + st->nr_msrs * sizeof(m->entries[0]));
	if (!c || !m) {
		errno = ENOMEM;
		goto fail;
	}
	c->nent = st->nr_cpuid;
	memcpy(c->entries, st->cpuid, st->nr_cpuid * sizeof(c->entries[0]));
	m->nmsrs = st->nr_msrs;
	memcpy(m->entries, st->msrs, st->nr_msrs * sizeof(m->entries[0]));

	/* CPUID first: it decides which MSRs and XSAVE features exist; the
	 * TSC frequency before the TSC MSR; events last. */
	step = "KVM_SET_CPUID2";
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		goto fail;
	step = "KVM_SET_TSC_KHZ";
	if (st->tsc_khz && ioctl(vcpu_fd, KVM_SET_TSC_KHZ, st->tsc_khz) < 0)
		goto fail;
	step = "KVM_SET_SREGS";
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &st->sregs) < 0)
		goto fail;
	step = "KVM_SET_REGS";
	if (ioctl(vcpu_fd, KVM_SET_REGS, &st->regs) < 0)
		goto fail;
	step = "KVM_SET_XSAVE";
	if (ioctl(vcpu_fd, KVM_SET_XSAVE, st->xsave) < 0)
		goto fail;
	step = "KVM_SET_XCRS";
	if (ioctl(vcpu_fd, KVM_SET_XCRS, &st->xcrs) < 0)
		goto fail;
	step = "KVM_SET_DEBUGREGS";
	if (ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &st->debugregs) < 0)
		goto fail;
	step = "KVM_SET_LAPIC";
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &st->lapic) < 0)
		goto fail;
	step = "KVM_SET_MSRS";
	errno = 0;
	if (ioctl(vcpu_fd, KVM_SET_MSRS, m) != (int)st->nr_msrs) {
		if (errno == 0) /* took fewer than all: one was refused */
			errno = EINVAL;
		goto fail;
	}
	step = "KVM_SET_MP_STATE";
	if (ioctl(vcpu_fd, KVM_SET_MP_STATE, &st->mp_state) < 0)
		goto fail;
	step = "KVM_SET_VCPU_EVENTS";
	if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &st->events) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	ret = -errno;
	snprintf(err, errlen, "restoring a vCPU: %s failed: %s", step,
		 strerror(errno));
out:
	free(c);
	free(m);
	return ret;
}
