// SPDX-License-Identifier: Apache-2.0
#include "arch/x86/cpuid.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_MAX_ENTRIES 256
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_OSXSAVE (1u << 27)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_EDX_HTT (1u << 28)
#define HV_LEAF_BASE 0x40000000u
#define HV_LEAF_FEATURES 0x40000001u

static size_t cpuid_bytes(uint32_t nent)
{
	return sizeof(struct kvm_cpuid2) + nent * sizeof(struct kvm_cpuid_entry2);
}

struct kvm_cpuid2 *cpuid_supported(int kvm_fd)
{
	struct kvm_cpuid2 *c = calloc(1, cpuid_bytes(CPUID_MAX_ENTRIES));

	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int saved = errno;

		free(c);
		errno = saved;
		return NULL;
	}
	return c;
}

/* Bits needed to hold values 0..n-1. */
static uint32_t order_bits(uint32_t n)
{
	uint32_t bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static void set_vendor(struct kvm_cpuid_entry2 *e, const char *vendor)
{
	char sig[12] = { 0 };

	memcpy(sig, vendor, strnlen(vendor, sizeof(sig)));
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

static void normalise(struct kvm_cpuid_entry2 *e, const struct cpuid_config *cfg,
		      uint32_t apic_id)
{
	uint32_t n = cfg->nr_cpus;
	uint32_t core_bits = order_bits(n);

	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffffu) | (apic_id << 24) |
			 ((n & 0xff) << 16);
		/* OSXSAVE mirrors the guest's CR4; KVM sets it at run time. */
		e->ecx &= ~LEAF1_ECX_OSXSAVE;
		if (cfg->tsc_deadline)
			e->ecx |= LEAF1_ECX_TSC_DEADLINE;
		if (cfg->hide_hypervisor)
			e->ecx &= ~LEAF1_ECX_HYPERVISOR;
		else
			e->ecx |= LEAF1_ECX_HYPERVISOR;
		if (n > 1)
			e->edx |= LEAF1_EDX_HTT;
		else
			e->edx &= ~LEAF1_EDX_HTT;
		break;
	case 4:
		/* One package of n single-thread cores; keep cache fields. */
		if (e->eax & 0x1f) {
			e->eax &= 0x00003fffu;
			e->eax |= ((n - 1) & 0x3f) << 26;
		}
		break;
	case 0xb:
	case 0x1f:
		e->edx = apic_id;
		if (e->index == 0) { /* SMT level: one thread per core */
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | e->index;
		} else if (e->index == 1) { /* core level */
			e->eax = core_bits;
			e->ebx = n;
			e->ecx = (2u << 8) | e->index;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000008:
		e->ecx = (e->ecx & ~0xf0ffu) | ((n - 1) & 0xff) |
			 (core_bits << 12);
		break;
	case 0x8000001e: /* AMD: extended APIC ID, core and node ids */
		e->eax = apic_id;
		e->ebx = apic_id & 0xff;
		e->ecx = 0;
		break;
	case HV_LEAF_BASE:
		set_vendor(e, cfg->vendor ? cfg->vendor : "KVMKVMKVM");
		e->eax = HV_LEAF_FEATURES;
		break;
	case HV_LEAF_FEATURES:
		/* PV features only mean something to a guest that sees KVM. */
		if (cfg->vendor && strcmp(cfg->vendor, "KVMKVMKVM"))
			e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	}
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base,
				  const struct cpuid_config *cfg,
				  uint32_t cpu_index)
{
	struct kvm_cpuid2 *c = calloc(1, cpuid_bytes(base->nent + 2));
	bool have_hv = false;

	if (!c)
		return NULL;
	for (uint32_t i = 0; i < base->nent; i++) {
		const struct kvm_cpuid_entry2 *src = &base->entries[i];

		if ((src->function & 0xffff0000u) == HV_LEAF_BASE) {
			if (cfg->hide_hypervisor)
				continue;
			/* keep only the two leaves figment describes */
			if (src->function > HV_LEAF_FEATURES)
				continue;
			have_hv |= src->function == HV_LEAF_BASE;
		}
		c->entries[c->nent] = *src;
		normalise(&c->entries[c->nent], cfg, cpu_index);
		c->nent++;
	}
	if (!cfg->hide_hypervisor && !have_hv) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

		memset(e, 0, sizeof(*e));
		e->function = HV_LEAF_BASE;
		normalise(e, cfg, cpu_index);
	}
	return c;
}

static const struct kvm_cpuid_entry2 *
cpuid_find(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t fn,
	   uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

static uint32_t native_cpuid_reg(uint32_t fn, uint32_t idx, int reg)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid_count(fn, idx, &a, &b, &c, &d))
		return 0;
	return reg == 0 ? b : reg == 1 ? c : reg == 2 ? d : a;
}

int cpuid_check_restorable(const struct kvm_cpuid_entry2 *saved, uint32_t n,
			   const struct kvm_cpuid2 *host, char *err,
			   size_t errlen)
{
	/* leaf, subleaf, register, flags figment or the guest set itself */
	static const struct {
		uint32_t fn, idx;
		int reg; /* 0 ebx, 1 ecx, 2 edx, 3 eax */
		uint32_t own;
		const char *name;
	} checks[] = {
		{ 1, 0, 1, LEAF1_ECX_HYPERVISOR | LEAF1_ECX_TSC_DEADLINE | LEAF1_ECX_OSXSAVE,
		  "1.ECX" },
		{ 1, 0, 2, 0, "1.EDX" },
		{ 7, 0, 0, 0, "7.EBX" },
		{ 7, 0, 1, 0, "7.ECX" },
		{ 7, 0, 2, 0, "7.EDX" },
		{ 0xd, 1, 3, 0, "0xd.1.EAX" },
		{ 0x80000001, 0, 1, 0, "0x80000001.ECX" },
		{ 0x80000001, 0, 2, 0, "0x80000001.EDX" },
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct kvm_cpuid_entry2 *s =
			cpuid_find(saved, n, checks[i].fn, checks[i].idx);
		const struct kvm_cpuid_entry2 *h =
			cpuid_find(host->entries, host->nent, checks[i].fn,
				   checks[i].idx);
		uint32_t sv, hv, missing;

		if (!s)
			continue;
		sv = checks[i].reg == 0 ? s->ebx : checks[i].reg == 1 ? s->ecx :
			checks[i].reg == 2 ? s->edx : s->eax;
		hv = !h ? 0 : checks[i].reg == 0 ? h->ebx :
			checks[i].reg == 1 ? h->ecx :
			checks[i].reg == 2 ? h->edx : h->eax;
		/* What the CPU itself has counts too: some backends (kvm_pvm)
		 * show a vCPU the host CPU's flags whatever KVM_SET_CPUID2
		 * said, and report those in KVM_GET_CPUID2. */
		hv |= native_cpuid_reg(checks[i].fn, checks[i].idx,
				       checks[i].reg);
		missing = sv & ~hv & ~checks[i].own;
		if (missing) {
			snprintf(err, errlen,
				 "the snapshot's CPU has features this host cannot give: CPUID %s bit %d (the snapshot's 0x%08x, this host's KVM 0x%08x)",
				 checks[i].name, __builtin_ctz(missing), sv, hv);
			return -ENOTSUP;
		}
	}
	return 0;
}
