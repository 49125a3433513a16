/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel MultiProcessor Specification 1.4 tables: the MP floating pointer
 * and the MP configuration table, for guests booted with `acpi=off`.
 *
 * They sit at LAYOUT_MPTABLE, in the last KiB of base memory (the EBDA),
 * where Linux looks for the floating pointer, and must end below 0xa0000.
 * They describe the same machine as the ACPI MADT: CPUs with APIC ids
 * 0..nr_cpus-1, one IOAPIC (id nr_cpus) at LAYOUT_IOAPIC, an ISA bus
 * whose IRQ n arrives on IOAPIC pin n, ExtINT on LINT0 and NMI on LINT1.
 */
#ifndef FIGMENT_ARCH_X86_MPTABLE_H
#define FIGMENT_ARCH_X86_MPTABLE_H

#include <stdint.h>

#include "vstate/memory.h"

/* The highest address (exclusive) the tables may reach: the end of
 * conventional memory. */
#define MPTABLE_LIMIT 0xa0000ULL

/* Number of CPUs whose entries fit between LAYOUT_MPTABLE and
 * MPTABLE_LIMIT. */
uint32_t mptable_max_cpus(void);

/*
 * Writes the MP floating pointer and configuration table at
 * LAYOUT_MPTABLE. Needs guest RAM covering [LAYOUT_MPTABLE, MPTABLE_LIMIT).
 * Returns 0, -EINVAL for 0 CPUs, -ENOSPC when @nr_cpus processor entries
 * do not fit below MPTABLE_LIMIT (see mptable_max_cpus()), -EFAULT when
 * guest memory does not cover the tables, -ENOMEM. Guest memory is only
 * written on success.
 */
int mptable_build(const struct guest_memory *mem, uint32_t nr_cpus);

#endif
