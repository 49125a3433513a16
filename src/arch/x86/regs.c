// SPDX-License-Identifier: Apache-2.0
#include "arch/x86/regs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/layout.h"

#define CR0_PE (1u << 0)
#define CR0_ET (1u << 4)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

#define PTE_PRESENT 0x1ULL
#define PTE_WRITE 0x2ULL
#define PTE_HUGE 0x80ULL

#define GDT_NULL 0
#define GDT_CODE 1
#define GDT_DATA 2
#define GDT_TSS 3
#define GDT_ENTRIES 4

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* A GDT descriptor from the fields kvm_segment also carries. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) | (limit & 0xffffu);
}

/* flags: G(15) DB(14) L(13) AVL(12) | P(7) DPL(6:5) S(4) TYPE(3:0) */
static uint64_t boot_gdt_flags(int index, enum boot_protocol proto)
{
	switch (index) {
	case GDT_CODE:
		return proto == BOOT_LINUX64 ? 0xa09b : 0xc09b;
	case GDT_DATA:
		return 0xc093;
	case GDT_TSS:
		return 0x008b; /* byte granular: limit 0xfffff is exact */
	default:
		return 0;
	}
}

static void segment_from_gdt(struct kvm_segment *seg, int index,
			     enum boot_protocol proto)
{
	uint16_t f = boot_gdt_flags(index, proto);

	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = index == GDT_TSS ? 0xfffff : 0xffffffff;
	seg->selector = index * 8;
	seg->type = f & 0xf;
	seg->s = (f >> 4) & 1;
	seg->dpl = (f >> 5) & 3;
	seg->present = (f >> 7) & 1;
	seg->avl = (f >> 12) & 1;
	seg->l = (f >> 13) & 1;
	seg->db = (f >> 14) & 1;
	seg->g = (f >> 15) & 1;
}

int regs_setup_memory(const struct guest_memory *mem, enum boot_protocol proto)
{
	uint64_t gdt[GDT_ENTRIES];
	uint64_t *pml4, *pdpt, *pd;

	for (int i = 0; i < GDT_ENTRIES; i++)
		gdt[i] = i == GDT_NULL ? 0 :
			 gdt_entry(boot_gdt_flags(i, proto), 0, 0xfffff);
	if (guest_memory_write(mem, LAYOUT_GDT, gdt, sizeof(gdt)))
		return -EFAULT;
	if (guest_memory_write(mem, LAYOUT_IDT, &(uint64_t){ 0 }, 8))
		return -EFAULT;
	if (proto != BOOT_LINUX64)
		return 0;

	pml4 = guest_memory_ptr(mem, LAYOUT_PML4, 4096);
	pdpt = guest_memory_ptr(mem, LAYOUT_PDPT, 4096);
	pd = guest_memory_ptr(mem, LAYOUT_PD, 4096);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE;
	pdpt[0] = LAYOUT_PD | PTE_PRESENT | PTE_WRITE;
	/* 512 x 2 MiB pages: the first GiB, which holds the kernel, the zero
	 * page and the command line (the boot protocol's minimum). */
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	return 0;
}

static int setup_sregs(int fd, enum boot_protocol proto)
{
	struct kvm_sregs sregs;
	struct kvm_segment code, data, tss;

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	segment_from_gdt(&code, GDT_CODE, proto);
	segment_from_gdt(&data, GDT_DATA, proto);
	segment_from_gdt(&tss, GDT_TSS, proto);
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tss;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs.idt.base = LAYOUT_IDT;
	sregs.idt.limit = 7;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (proto == BOOT_LINUX64) {
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr4 |= CR4_PAE;
		sregs.cr0 |= CR0_PG;
		sregs.efer |= EFER_LME | EFER_LMA;
	}
	return ioctl(fd, KVM_SET_SREGS, &sregs) < 0 ? -errno : 0;
}

static int setup_msrs(int fd)
{
	static const uint32_t zeroed[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_IA32_TSC,
	};
	const size_t n = sizeof(zeroed) / sizeof(zeroed[0]) + 2;
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	size_t i;
	int ret;

	if (!msrs)
		return -ENOMEM;
	for (i = 0; i < n - 2; i++)
		msrs->entries[i].index = zeroed[i];
	/* fast strings on; MTRRs on with write-back as the default type */
	msrs->entries[i].index = MSR_IA32_MISC_ENABLE;
	msrs->entries[i++].data = 1;
	msrs->entries[i].index = MSR_MTRR_DEF_TYPE;
	msrs->entries[i++].data = (1u << 11) | 6;
	msrs->nmsrs = i;
	ret = ioctl(fd, KVM_SET_MSRS, msrs);
	free(msrs);
	/* KVM_SET_MSRS returns how many it set; a backend that refuses an
	 * optional one (MTRRs) still boots Linux, so only an error fails. */
	return ret < 0 ? -errno : 0;
}

static int setup_fpu(int fd)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;  /* x87 default: all exceptions masked */
	fpu.mxcsr = 0x1f80; /* SSE default: all exceptions masked */
	return ioctl(fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

int regs_setup_vcpu(int vcpu_fd, const struct boot_entry *entry, int is_boot_cpu)
{
	struct kvm_regs regs;
	int ret;

	ret = setup_msrs(vcpu_fd);
	if (ret)
		return ret;
	ret = setup_fpu(vcpu_fd);
	if (ret || !is_boot_cpu)
		return ret; /* APs wait in reset state for INIT/SIPI */
	ret = setup_sregs(vcpu_fd, entry->protocol);
	if (ret)
		return ret;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry->entry;
	if (entry->protocol == BOOT_LINUX64) {
		regs.rsi = entry->boot_info;
		regs.rsp = regs.rbp = LAYOUT_BOOT_STACK;
	} else {
		regs.rbx = entry->boot_info;
	}
	return ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

static void lapic_set_lvt(struct kvm_lapic_state *lapic, int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, 4);
}

int regs_setup_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}
