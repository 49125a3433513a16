// SPDX-License-Identifier: Apache-2.0
/*
 * CPUID normalisation: a fake KVM_GET_SUPPORTED_CPUID table rewritten for
 * each vCPU, then read back leaf by leaf as a guest would.
 */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"

#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_OSXSAVE (1u << 27)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_EDX_HTT (1u << 28)

static struct kvm_cpuid2 *base;

static void add(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx,
		uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &base->entries[base->nent++];

	*e = (struct kvm_cpuid_entry2){
		.function = function, .index = index,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
	if (function == 4 || function == 0xb)
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
}

/* What a host's KVM might offer, with host topology that must not leak. */
static void setup(void)
{
	base = calloc(1, sizeof(*base) + 16 * sizeof(base->entries[0]));
	cr_assert(base);
	add(0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
	/* leaf 1: host APIC ID 0x37, 16 logical, HTT, OSXSAVE, no hypervisor
	 * bit and no TSC deadline */
	add(1, 0, 0x000906ea, 0x37100800,
	    LEAF1_ECX_OSXSAVE | (0x7ffafbbf & ~LEAF1_ECX_TSC_DEADLINE),
	    0x0fabfbff | LEAF1_EDX_HTT);
	add(4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);
	add(4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);
	add(0xb, 0, 1, 2, 0x100, 0x37);
	add(0xb, 1, 4, 16, 0x201, 0x37);
	add(0x80000008, 0, 0x3027, 0, 0x7007, 0);
	add(0x8000001e, 0, 0x37, 0x10b, 0x300, 0);
	add(0x40000000, 0, 0x40000002, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(0x40000001, 0, 0x01007afb, 0, 0, 0);
	add(0x40000002, 0, 0x11, 0x22, 0x33, 0x44);
}

static void teardown(void)
{
	free(base);
}

TestSuite(cpuid, .init = setup, .fini = teardown);

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c,
					   uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == function &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static const struct kvm_cpuid_entry2 *need(const struct kvm_cpuid2 *c,
					   uint32_t function, uint32_t index)
{
	const struct kvm_cpuid_entry2 *e = find(c, function, index);

	cr_assert_not_null(e, "leaf 0x%x.%u missing", function, index);
	return e;
}

static struct kvm_cpuid2 *for_vcpu(const struct cpuid_config *cfg,
				   uint32_t index)
{
	struct kvm_cpuid2 *c = cpuid_for_vcpu(base, cfg, index);

	cr_assert_not_null(c);
	return c;
}

static void vendor_of(const struct kvm_cpuid_entry2 *e, char out[13])
{
	memcpy(out, &e->ebx, 4);
	memcpy(out + 4, &e->ecx, 4);
	memcpy(out + 8, &e->edx, 4);
	out[12] = '\0';
}

Test(cpuid, apic_id_is_the_vcpu_index_in_leaf_1_and_0xb)
{
	struct cpuid_config cfg = { .nr_cpus = 4 };

	for (uint32_t i = 0; i < cfg.nr_cpus; i++) {
		struct kvm_cpuid2 *c = for_vcpu(&cfg, i);

		cr_expect_eq(need(c, 1, 0)->ebx >> 24, i);
		cr_expect_eq(need(c, 0xb, 0)->edx, i);
		cr_expect_eq(need(c, 0xb, 1)->edx, i);
		cr_expect_eq(need(c, 0x8000001e, 0)->eax, i);
		free(c);
	}
}

Test(cpuid, leaf_1_reports_the_logical_count_and_keeps_the_low_ebx)
{
	struct cpuid_config cfg = { .nr_cpus = 3 };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 2);
	const struct kvm_cpuid_entry2 *e = need(c, 1, 0);

	cr_expect_eq((e->ebx >> 16) & 0xff, 3);
	cr_expect_eq(e->ebx & 0xffff, 0x0800, "CLFLUSH size kept");
	cr_expect_eq(e->eax, 0x000906ea, "signature untouched");
	free(c);
}

Test(cpuid, htt_is_set_only_with_more_than_one_cpu)
{
	struct cpuid_config one = { .nr_cpus = 1 }, two = { .nr_cpus = 2 };
	struct kvm_cpuid2 *c1 = for_vcpu(&one, 0), *c2 = for_vcpu(&two, 0);

	cr_expect_eq(need(c1, 1, 0)->edx & LEAF1_EDX_HTT, 0);
	cr_expect_eq(need(c2, 1, 0)->edx & LEAF1_EDX_HTT, LEAF1_EDX_HTT);
	free(c1);
	free(c2);
}

Test(cpuid, osxsave_is_cleared)
{
	struct cpuid_config cfg = { .nr_cpus = 1 };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);

	cr_expect_eq(need(c, 1, 0)->ecx & LEAF1_ECX_OSXSAVE, 0);
	free(c);
}

Test(cpuid, tsc_deadline_only_when_configured)
{
	struct cpuid_config off = { .nr_cpus = 1 };
	struct cpuid_config on = { .nr_cpus = 1, .tsc_deadline = true };
	struct kvm_cpuid2 *c_off = for_vcpu(&off, 0), *c_on = for_vcpu(&on, 0);

	cr_expect_eq(need(c_off, 1, 0)->ecx & LEAF1_ECX_TSC_DEADLINE, 0);
	cr_expect_eq(need(c_on, 1, 0)->ecx & LEAF1_ECX_TSC_DEADLINE,
		     LEAF1_ECX_TSC_DEADLINE);
	free(c_off);
	free(c_on);
}

Test(cpuid, hypervisor_bit_and_kvm_vendor_by_default)
{
	struct cpuid_config cfg = { .nr_cpus = 2 };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);
	const struct kvm_cpuid_entry2 *hv;
	char vendor[13];

	cr_expect_eq(need(c, 1, 0)->ecx & LEAF1_ECX_HYPERVISOR,
		     LEAF1_ECX_HYPERVISOR);
	hv = need(c, 0x40000000, 0);
	vendor_of(hv, vendor);
	cr_expect_str_eq(vendor, "KVMKVMKVM");
	cr_expect_eq(hv->eax, 0x40000001, "max hypervisor leaf");
	cr_expect_eq(need(c, 0x40000001, 0)->eax, 0x01007afb,
		     "PV features kept for KVM");
	cr_expect_null(find(c, 0x40000002, 0), "leaves past 0x40000001 dropped");
	free(c);
}

Test(cpuid, hide_hypervisor_clears_the_bit_and_drops_the_leaves)
{
	struct cpuid_config cfg = { .nr_cpus = 2, .hide_hypervisor = true };
	struct kvm_cpuid2 *c;

	base->entries[1].ecx |= LEAF1_ECX_HYPERVISOR; /* as KVM reports it */
	c = for_vcpu(&cfg, 1);

	cr_expect_eq(need(c, 1, 0)->ecx & LEAF1_ECX_HYPERVISOR, 0);
	for (uint32_t i = 0; i < c->nent; i++)
		cr_expect_neq(c->entries[i].function & 0xffff0000u, 0x40000000u,
			      "leaf 0x%x left", c->entries[i].function);
	cr_expect_eq(c->nent, base->nent - 3);
	free(c);
}

Test(cpuid, custom_vendor_fills_ebx_ecx_edx)
{
	struct cpuid_config cfg = { .nr_cpus = 1, .vendor = "Microsoft Hv" };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);
	char vendor[13];

	vendor_of(need(c, 0x40000000, 0), vendor);
	cr_expect_str_eq(vendor, "Microsoft Hv");
	free(c);
}

Test(cpuid, short_custom_vendor_is_zero_padded)
{
	struct cpuid_config cfg = { .nr_cpus = 1, .vendor = "fig" };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);
	const struct kvm_cpuid_entry2 *hv = need(c, 0x40000000, 0);

	cr_expect_eq(hv->ebx, 'f' | 'i' << 8 | 'g' << 16);
	cr_expect_eq(hv->ecx, 0, "no stale KVMKVMKVM bytes");
	cr_expect_eq(hv->edx, 0);
	free(c);
}

Test(cpuid, custom_vendor_zeroes_the_pv_features)
{
	struct cpuid_config cfg = { .nr_cpus = 1, .vendor = "figment" };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);
	const struct kvm_cpuid_entry2 *pv = need(c, 0x40000001, 0);

	cr_expect_eq(pv->eax, 0);
	cr_expect_eq(pv->ebx | pv->ecx | pv->edx, 0);
	cr_expect_eq(need(c, 1, 0)->ecx & LEAF1_ECX_HYPERVISOR,
		     LEAF1_ECX_HYPERVISOR);
	free(c);
}

Test(cpuid, explicit_kvm_vendor_keeps_the_pv_features)
{
	struct cpuid_config cfg = { .nr_cpus = 1, .vendor = "KVMKVMKVM" };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);

	cr_expect_eq(need(c, 0x40000001, 0)->eax, 0x01007afb);
	free(c);
}

Test(cpuid, leaf_0xb_describes_one_package_of_single_thread_cores)
{
	struct cpuid_config cfg = { .nr_cpus = 6 };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 5);
	const struct kvm_cpuid_entry2 *smt = need(c, 0xb, 0);
	const struct kvm_cpuid_entry2 *core = need(c, 0xb, 1);

	cr_expect_eq(smt->eax, 0, "no SMT bits in the APIC ID");
	cr_expect_eq(smt->ebx, 1);
	cr_expect_eq(smt->ecx, 0x100, "level type SMT, level 0");
	cr_expect_eq(core->eax, 3, "6 cores need 3 APIC ID bits");
	cr_expect_eq(core->ebx, 6);
	cr_expect_eq(core->ecx, 0x201, "level type core, level 1");
	free(c);
}

Test(cpuid, leaf_0xb_shift_for_power_of_two_and_single_cpu)
{
	struct cpuid_config four = { .nr_cpus = 4 }, one = { .nr_cpus = 1 };
	struct kvm_cpuid2 *c4 = for_vcpu(&four, 0), *c1 = for_vcpu(&one, 0);

	cr_expect_eq(need(c4, 0xb, 1)->eax, 2);
	cr_expect_eq(need(c4, 0xb, 1)->ebx, 4);
	cr_expect_eq(need(c1, 0xb, 1)->eax, 0);
	cr_expect_eq(need(c1, 0xb, 1)->ebx, 1);
	free(c4);
	free(c1);
}

Test(cpuid, leaf_4_reports_the_core_count_and_keeps_the_cache)
{
	struct cpuid_config cfg = { .nr_cpus = 4 };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);
	const struct kvm_cpuid_entry2 *l1d = need(c, 4, 0);

	cr_expect_eq(l1d->eax >> 26, 3, "cores per package - 1");
	cr_expect_eq(l1d->eax & 0x3fff, 0x0121, "cache type and level kept");
	cr_expect_eq(l1d->ebx, 0x01c0003f);
	cr_expect_eq(need(c, 4, 1)->eax >> 26, 3);
	free(c);
}

Test(cpuid, amd_core_count_leaf_matches_nr_cpus)
{
	struct cpuid_config cfg = { .nr_cpus = 6 };
	struct kvm_cpuid2 *c = for_vcpu(&cfg, 0);
	const struct kvm_cpuid_entry2 *e = need(c, 0x80000008, 0);

	cr_expect_eq(e->ecx & 0xff, 5, "NC = cores - 1");
	cr_expect_eq((e->ecx >> 12) & 0xf, 3, "ApicIdCoreIdSize");
	cr_expect_eq(e->eax, 0x3027, "address sizes kept");
	free(c);
}

Test(cpuid, hypervisor_leaf_is_added_when_the_base_has_none)
{
	struct cpuid_config cfg = { .nr_cpus = 1 };
	struct kvm_cpuid2 *c;
	char vendor[13];

	base->nent -= 3; /* drop 0x40000000..0x40000002 */
	c = for_vcpu(&cfg, 0);
	vendor_of(need(c, 0x40000000, 0), vendor);
	cr_expect_str_eq(vendor, "KVMKVMKVM");
	cr_expect_eq(need(c, 0x40000000, 0)->eax, 0x40000001);
	cr_expect_eq(c->nent, base->nent + 1);
	free(c);
}

Test(cpuid, hidden_hypervisor_adds_no_leaf_to_a_base_without_one)
{
	struct cpuid_config cfg = { .nr_cpus = 1, .hide_hypervisor = true };
	struct kvm_cpuid2 *c;

	base->nent -= 3;
	c = for_vcpu(&cfg, 0);
	cr_expect_null(find(c, 0x40000000, 0));
	cr_expect_eq(c->nent, base->nent);
	free(c);
}

Test(cpuid, base_table_is_not_modified)
{
	struct cpuid_config cfg = { .nr_cpus = 4, .vendor = "x" };
	struct kvm_cpuid2 *copy = malloc(sizeof(*base) + 16 * sizeof(base->entries[0]));
	struct kvm_cpuid2 *c;

	cr_assert(copy);
	memcpy(copy, base, sizeof(*base) + 16 * sizeof(base->entries[0]));
	c = for_vcpu(&cfg, 3);
	cr_expect_eq(memcmp(copy, base, sizeof(*base) +
					       base->nent * sizeof(base->entries[0])),
		     0);
	free(c);
	free(copy);
}
