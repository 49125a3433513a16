/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot-time CPU state of x86 vCPUs: the boot GDT and identity page tables in
 * guest memory, and the register, segment, MSR, FPU and LAPIC state each
 * vCPU starts with.
 */
#ifndef FIGMENT_ARCH_X86_REGS_H
#define FIGMENT_ARCH_X86_REGS_H

#include <stdint.h>

#include "arch/x86/boot.h"
#include "vstate/memory.h"

/* Writes the boot GDT and, for 64-bit entry, page tables identity-mapping
 * the first GiB. 0 or -EFAULT when guest RAM is too small. */
int regs_setup_memory(const struct guest_memory *mem, enum boot_protocol proto);

/* Puts vCPU @vcpu_fd in the state @entry asks for (the boot CPU) or in
 * the reset state the guest's SIPI will start (others). 0 or -errno. */
int regs_setup_vcpu(int vcpu_fd, const struct boot_entry *entry, int is_boot_cpu);

/* Programs LINT0 as ExtINT and LINT1 as NMI in the vCPU's local APIC. */
int regs_setup_lapic(int vcpu_fd);

#endif
