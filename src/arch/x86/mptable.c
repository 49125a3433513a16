// SPDX-License-Identifier: Apache-2.0
/*
 * MP tables (Intel MultiProcessor Specification 1.4, chapter 4). Assembled
 * in a host buffer, then copied into guest memory in one write.
 *
 * Layout at LAYOUT_MPTABLE: the 16-byte floating pointer, then the
 * configuration table header and its entries in the order the spec
 * recommends (processors, buses, I/O APICs, I/O interrupts, local
 * interrupts).
 */
#include "arch/x86/mptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "util/checked.h"
#include "util/checksum.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "MP tables are written in host byte order");
_Static_assert(LAYOUT_MPTABLE % 16 == 0, "MP floating pointer alignment");
_Static_assert(LAYOUT_MPTABLE >= LAYOUT_EBDA_START &&
		       LAYOUT_MPTABLE < MPTABLE_LIMIT,
	       "MP table inside the EBDA");

#define MP_SPEC_REV 4 /* 1.4 */
#define MP_APIC_VERSION 0x14   /* KVM's local APIC */
#define MP_IOAPIC_VERSION 0x11 /* KVM's IOAPIC */
#define MP_BUS_ISA 0
/* Every IOAPIC pin gets an entry, not only ISA IRQs 0-15: the virtio
 * devices sit on GSIs up to 23 and a guest without ACPI learns their
 * routing only from here. */
#define MP_NR_IRQS 24
#define MP_ALL_LAPICS 0xff

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t config_table;
	uint8_t length; /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* all 0: config table present, virtual wire */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table incl. entries */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_config) == 44, "MP config header");

struct mp_processor { /* type 0 */
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t cpu_flags; /* MP_CPU_ENABLED, MP_CPU_BSP */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");

#define MP_CPU_ENABLED (1u << 0)
#define MP_CPU_BSP (1u << 1)

struct mp_bus { /* type 1 */
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");

struct mp_ioapic { /* type 2 */
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags; /* MP_IOAPIC_ENABLED */
	uint32_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry");

#define MP_IOAPIC_ENABLED (1u << 0)

struct mp_intsrc { /* type 3 (I/O interrupt) and 4 (local interrupt) */
	uint8_t type;
	uint8_t irq_type; /* MP_INT_* */
	uint16_t flags;	  /* 0: polarity and trigger conform to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin; /* IOAPIC INTIN# or LINTIN# */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_intsrc) == 8, "MP interrupt entry");

#define MP_ENTRY_PROCESSOR 0
#define MP_ENTRY_BUS 1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IOINT 3
#define MP_ENTRY_LINT 4

#define MP_INT_INT 0
#define MP_INT_NMI 1
#define MP_INT_EXTINT 3

/* Bytes for everything but the processor entries. */
#define MP_FIXED_SIZE                                                     \
	(sizeof(struct mp_floating) + sizeof(struct mp_config) +          \
	 sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +               \
	 MP_NR_IRQS * sizeof(struct mp_intsrc) + 2 * sizeof(struct mp_intsrc))

_Static_assert(MPTABLE_LIMIT - LAYOUT_MPTABLE >=
		       MP_FIXED_SIZE + sizeof(struct mp_processor),
	       "room for at least one CPU");

uint32_t mptable_max_cpus(void)
{
	return (uint32_t)((MPTABLE_LIMIT - LAYOUT_MPTABLE - MP_FIXED_SIZE) /
			  sizeof(struct mp_processor));
}

static void mp_fill_intsrc(struct mp_intsrc *e, uint8_t type, uint8_t irq_type,
			   uint8_t src_irq, uint8_t dst_apic, uint8_t dst_pin)
{
	e->type = type;
	e->irq_type = irq_type;
	e->flags = 0;
	e->src_bus = MP_BUS_ISA;
	e->src_irq = src_irq;
	e->dst_apic = dst_apic;
	e->dst_pin = dst_pin;
}

/* Fills the configuration table into @buf (zeroed, big enough) and
 * returns its length. */
static size_t mp_fill_config(uint8_t *buf, uint32_t nr_cpus)
{
	struct mp_config *cfg = (struct mp_config *)buf;
	struct mp_processor *cpu = (struct mp_processor *)(cfg + 1);
	struct mp_bus *bus;
	struct mp_ioapic *ioapic;
	struct mp_intsrc *irq;
	uint8_t ioapic_id = (uint8_t)nr_cpus; /* after the CPUs, as in MADT */
	uint16_t entries = 0;
	size_t len;

	for (uint32_t i = 0; i < nr_cpus; i++, cpu++, entries++) {
		cpu->type = MP_ENTRY_PROCESSOR;
		cpu->apic_id = (uint8_t)i;
		cpu->apic_version = MP_APIC_VERSION;
		cpu->cpu_flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		/* Family 6; FPU and APIC present. Guests read CPUID for the
		 * truth, these only have to be plausible. */
		cpu->signature = 0x600;
		cpu->features = (1u << 0) | (1u << 9);
	}

	bus = (struct mp_bus *)cpu;
	bus->type = MP_ENTRY_BUS;
	bus->bus_id = MP_BUS_ISA;
	memcpy(bus->bus_type, "ISA   ", 6);
	entries++;

	ioapic = (struct mp_ioapic *)(bus + 1);
	ioapic->type = MP_ENTRY_IOAPIC;
	ioapic->apic_id = ioapic_id;
	ioapic->apic_version = MP_IOAPIC_VERSION;
	ioapic->flags = MP_IOAPIC_ENABLED;
	ioapic->address = (uint32_t)LAYOUT_IOAPIC;
	entries++;

	/* IRQ n on pin n, conforming to the ISA bus (edge, active high):
	 * KVM's default GSI routing, and what the MADT implies by having no
	 * interrupt source overrides for the devices' IRQs (only the SCI's,
	 * which an MP-table guest does not use). Listing all 24 pins also
	 * gives an MP-table guest virtio GSIs 16-23 by number. */
	irq = (struct mp_intsrc *)(ioapic + 1);
	for (uint8_t i = 0; i < MP_NR_IRQS; i++, irq++, entries++)
		mp_fill_intsrc(irq, MP_ENTRY_IOINT, MP_INT_INT, i, ioapic_id, i);
	/* The 8259's output reaches the CPUs on LINT0 (virtual wire mode),
	 * NMIs on LINT1. */
	mp_fill_intsrc(irq++, MP_ENTRY_LINT, MP_INT_EXTINT, 0, MP_ALL_LAPICS, 0);
	mp_fill_intsrc(irq++, MP_ENTRY_LINT, MP_INT_NMI, 0, MP_ALL_LAPICS, 1);
	entries += 2;

	len = (size_t)((uint8_t *)irq - buf);
	memcpy(cfg->signature, "PCMP", 4);
	cfg->length = (uint16_t)len;
	cfg->spec_rev = MP_SPEC_REV;
	memcpy(cfg->oem_id, "FIGMNT  ", 8);
	memcpy(cfg->product_id, "FIGMENT     ", 12);
	cfg->entry_count = entries;
	cfg->lapic_address = (uint32_t)LAYOUT_LAPIC;
	cfg->checksum = checksum8_zero_sum(cfg, len);
	return len;
}

int mptable_build(const struct guest_memory *mem, uint32_t nr_cpus)
{
	const uint64_t window = MPTABLE_LIMIT - LAYOUT_MPTABLE;
	struct mp_floating *mpf;
	uint8_t *buf;
	size_t len;
	int ret;

	if (nr_cpus == 0)
		return -EINVAL;
	if (nr_cpus > mptable_max_cpus())
		return -ENOSPC;
	if (!guest_memory_ptr(mem, LAYOUT_MPTABLE, window))
		return -EFAULT;
	buf = calloc(1, window);
	if (!buf)
		return -ENOMEM;

	len = sizeof(*mpf) + mp_fill_config(buf + sizeof(*mpf), nr_cpus);
	mpf = (struct mp_floating *)buf;
	memcpy(mpf->signature, "_MP_", 4);
	mpf->config_table = (uint32_t)(LAYOUT_MPTABLE + sizeof(*mpf));
	mpf->length = 1;
	mpf->spec_rev = MP_SPEC_REV;
	mpf->checksum = checksum8_zero_sum(mpf, sizeof(*mpf));

	ret = guest_memory_write(mem, LAYOUT_MPTABLE, buf, len);
	free(buf);
	return ret;
}
