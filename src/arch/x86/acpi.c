// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables (ACPI 6.5 chapter 5) for an x86 microVM with a PC's legacy
 * interrupt hardware (KVM's in-kernel 8259 pair and IOAPIC).
 *
 * The tables are assembled in a host buffer the size of the ACPI window
 * and copied into guest memory in one write once all of them fit, so a
 * failure leaves guest memory untouched. Layout inside the window, each
 * table 16-byte aligned (the FACS 64-byte): RSDP, XSDT, FADT, FACS, MADT,
 * DSDT (last: it is the one whose size depends on the number of devices).
 *
 * The structs below mirror the spec's byte layout; the host is x86 (KVM),
 * so the little-endian fields are written in host order.
 */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "util/checked.h"
#include "util/checksum.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "ACPI tables are written in host byte order");

#define ACPI_OEM_ID "FIGMNT"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "FGMT"
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID "FIGMENT" /* FADT, 8 bytes, NUL padded */

#define ACPI_WINDOW_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI)
#define ACPI_TABLE_ALIGN 16

/* The IOAPIC's id follows the CPUs' APIC ids so the two never clash (they
 * shared one APIC bus id space on older parts). */
#define ACPI_IOAPIC_ID(nr_cpus) (nr_cpus)

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+ */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header layout");

struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_SYSTEM_IO */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* ACPI_GAS_ACCESS_BYTE */
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2

struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (rev 6) layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244,
	       "FADT sleep control");

/* FADT flags (ACPI 6.5, table 5.10). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* set: no fixed power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* set: no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)

/* P_LVL2_LAT above 100 µs: no C2; P_LVL3_LAT above 1000 µs: no C3. */
#define ACPI_FADT_NO_C2 101
#define ACPI_FADT_NO_C3 1001

/* PM1 block lengths in bytes (ACPI 6.5, 4.8.3.1 and 4.8.3.2). */
#define ACPI_PM1_EVT_LEN 4 /* PM1_STS, PM1_EN: 2 bytes each */
#define ACPI_PM1_CNT_LEN 2

struct acpi_facs {
	char signature[4]; /* "FACS" */
	uint32_t length;   /* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version; /* 2 */
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS layout");

#define ACPI_FACS_ALIGN 64

/* IA-PC boot architecture flags (ACPI 6.5, table 5.11). */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT (1u << 2)
#define ACPI_IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");

#define ACPI_MADT_PCAT_COMPAT (1u << 0)

struct acpi_madt_lapic { /* type 0 */
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* ACPI_MADT_LAPIC_ENABLED */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC layout");

#define ACPI_MADT_LAPIC_ENABLED (1u << 0)

struct acpi_madt_ioapic { /* type 1 */
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC layout");

struct acpi_madt_iso { /* type 2: interrupt source override */
	uint8_t type;
	uint8_t length;
	uint8_t bus;	/* 0: ISA */
	uint8_t source; /* the bus-relative (ISA) IRQ */
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags: polarity bits 0-1, trigger 2-3 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO layout");

#define ACPI_MPS_INTI_ACTIVE_HIGH (1u << 0)
#define ACPI_MPS_INTI_LEVEL (3u << 2)

struct acpi_madt_lapic_nmi { /* type 4 */
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;	       /* 0: polarity and trigger conform to bus */
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT NMI layout");

#define ACPI_MADT_TYPE_LAPIC 0
#define ACPI_MADT_TYPE_IOAPIC 1
#define ACPI_MADT_TYPE_ISO 2
#define ACPI_MADT_TYPE_LAPIC_NMI 4

/* Assembles the tables in a host copy of the window. */
struct acpi_builder {
	uint8_t *buf; /* ACPI_WINDOW_SIZE bytes, zeroed */
	size_t used;
};

/* Reserves @len bytes at the next offset aligned to @align; -ENOSPC if
 * they do not fit in the window. */
static int acpi_alloc_aligned(struct acpi_builder *ab, size_t len,
			      size_t align, size_t *off)
{
	uint64_t start = align_up_u64(ab->used, align);

	if (range_outside(start, len, ACPI_WINDOW_SIZE))
		return -ENOSPC;
	*off = start;
	ab->used = start + len;
	return 0;
}

static int acpi_alloc(struct acpi_builder *ab, size_t len, size_t *off)
{
	return acpi_alloc_aligned(ab, len, ACPI_TABLE_ALIGN, off);
}

static void acpi_fill_header(struct acpi_header *h, const char *sig,
			     uint32_t length, uint8_t revision,
			     const char *table_id)
{
	memcpy(h->signature, sig, 4);
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, table_id, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
	/* last: the checksum covers the whole table body, which the caller
	 * has written already */
	h->checksum = 0;
	h->checksum = checksum8_zero_sum(h, length);
}

/* A register of @bytes bytes at I/O port @port, accessed @access bytes
 * at a time (ACPI_GAS_ACCESS_*). */
static struct acpi_gas acpi_io_reg(uint16_t port, uint8_t bytes,
				   uint8_t access)
{
	struct acpi_gas g = {
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(8 * bytes),
		.bit_offset = 0,
		.access_size = access,
		.address = port,
	};

	return g;
}

static struct acpi_gas acpi_io_gas(uint16_t port)
{
	return acpi_io_reg(port, 1, ACPI_GAS_ACCESS_BYTE);
}

static int acpi_build_dsdt(struct acpi_builder *ab,
			   const struct acpi_config *cfg, size_t *off)
{
	struct acpi_header *h;
	struct aml_buf b;
	size_t start, pkg, sb;
	int ret;

	/* The DSDT is last: give it all that is left, then trim. */
	ret = acpi_alloc(ab, sizeof(*h), &start);
	if (ret)
		return ret;
	aml_init(&b, ab->buf + ab->used, ACPI_WINDOW_SIZE - ab->used);

	/*
	 * \_S5_: SLP_TYPa, SLP_TYPb and two reserved entries. The guest
	 * powers off by writing SLP_TYPa << 10 | SLP_EN to PM1a_CNT, which
	 * the VMM watches.
	 */
	aml_name(&b, "_S5_");
	pkg = aml_package_begin(&b, 4);
	aml_integer(&b, LAYOUT_ACPI_S5_TYPE);
	aml_integer(&b, LAYOUT_ACPI_S5_TYPE);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_package_end(&b, pkg);

	/* Every device that has a node describes itself, in list order (the
	 * order a kernel probes ACPI-described virtio devices in). */
	sb = aml_scope_begin(&b, "\\_SB_");
	for (uint32_t i = 0; i < cfg->nr_devices; i++) {
		const struct device *d = &cfg->devices[i];

		if (d->ops->acpi_describe)
			d->ops->acpi_describe(d->dev, &b);
	}
	aml_scope_end(&b, sb);

	ret = aml_error(&b);
	if (ret)
		return ret;
	ab->used += b.len;
	h = (struct acpi_header *)(ab->buf + start);
	/* DSDT revision 2: integers are 64 bits wide. */
	acpi_fill_header(h, "DSDT", (uint32_t)(sizeof(*h) + b.len), 2,
			 "FIGMDSDT");
	*off = start;
	return 0;
}

static size_t acpi_madt_size(uint32_t nr_cpus)
{
	return sizeof(struct acpi_madt) +
	       nr_cpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +
	       sizeof(struct acpi_madt_lapic_nmi);
}

/* Fills the MADT into @madt (acpi_madt_size() bytes, zeroed). */
static void acpi_fill_madt(struct acpi_madt *madt, uint32_t nr_cpus)
{
	struct acpi_madt_lapic *lapic;
	struct acpi_madt_ioapic *ioapic;
	struct acpi_madt_iso *sci;
	struct acpi_madt_lapic_nmi *nmi;

	madt->lapic_address = (uint32_t)LAYOUT_LAPIC;
	/* KVM's in-kernel irqchip includes a dual 8259: say so, which tells
	 * the guest to keep it masked while it uses the APICs. */
	madt->flags = ACPI_MADT_PCAT_COMPAT;

	lapic = (struct acpi_madt_lapic *)(madt + 1);
	for (uint32_t i = 0; i < nr_cpus; i++, lapic++) {
		lapic->type = ACPI_MADT_TYPE_LAPIC;
		lapic->length = sizeof(*lapic);
		lapic->processor_uid = (uint8_t)i;
		lapic->apic_id = (uint8_t)i;
		lapic->flags = ACPI_MADT_LAPIC_ENABLED;
	}

	/* GSI n is IOAPIC pin n (KVM's default routing), so no interrupt
	 * source overrides for the devices: ISA IRQs 0-15 map to pins 0-15
	 * as the guest assumes without one (edge, active high), and that is
	 * where KVM's PIT, the i8042 (1), COM1 (4) and the virtio devices
	 * (GSI 5-23) arrive. */
	ioapic = (struct acpi_madt_ioapic *)lapic;
	ioapic->type = ACPI_MADT_TYPE_IOAPIC;
	ioapic->length = sizeof(*ioapic);
	ioapic->ioapic_id = (uint8_t)ACPI_IOAPIC_ID(nr_cpus);
	ioapic->address = (uint32_t)LAYOUT_IOAPIC;
	ioapic->gsi_base = 0;

	/* The SCI's line, which is not an ISA edge: level-triggered, and
	 * active high as KVM_IRQ_LINE would assert it (the VMM never does).
	 * Without the override Linux would assume level, active low. */
	sci = (struct acpi_madt_iso *)(ioapic + 1);
	sci->type = ACPI_MADT_TYPE_ISO;
	sci->length = sizeof(*sci);
	sci->bus = 0;
	sci->source = LAYOUT_SCI_IRQ;
	sci->gsi = LAYOUT_SCI_IRQ;
	sci->flags = ACPI_MPS_INTI_ACTIVE_HIGH | ACPI_MPS_INTI_LEVEL;

	/* NMIs reach every CPU on LINT1, as on a PC. */
	nmi = (struct acpi_madt_lapic_nmi *)(sci + 1);
	nmi->type = ACPI_MADT_TYPE_LAPIC_NMI;
	nmi->length = sizeof(*nmi);
	nmi->processor_uid = 0xff;
	nmi->flags = 0;
	nmi->lint = 1;

	/* MADT revision 5: ACPI 6.2-6.4. */
	acpi_fill_header(&madt->header, "APIC",
			 (uint32_t)acpi_madt_size(nr_cpus), 5, "FIGMAPIC");
}

/* Fills the FACS into @facs (zeroed). */
static void acpi_fill_facs(struct acpi_facs *facs)
{
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	/* No S4, so no waking vector; the global lock word starts free. */
	facs->version = 2;
}

/* Fills the FADT into @fadt (zeroed). */
static void acpi_fill_fadt(struct acpi_fadt *fadt, uint64_t dsdt_gpa,
			   uint64_t facs_gpa)
{
	uint64_t hv_id = 0;

	/* The 32-bit DSDT pointer agrees with X_DSDT (the window is below
	 * 4 GiB), for guests that only read the old field. The FACS has the
	 * 32-bit pointer only: X_FIRMWARE_CTRL must be zero when it is set
	 * (Linux would install the same FACS twice). */
	fadt->dsdt = (uint32_t)dsdt_gpa;
	fadt->x_dsdt = dsdt_gpa;
	fadt->firmware_ctrl = (uint32_t)facs_gpa;
	/*
	 * Not hardware-reduced, although all the VMM offers of ACPI's fixed
	 * hardware is the PM1 blocks (no PM timer, no GPE blocks, an SCI that
	 * never fires): a hardware-reduced x86 Linux assumes there is no
	 * 8259 and so no ISA IRQs (nr_legacy_irqs() is 0; IRQs 0-15 are not
	 * set up from the MADT, and dynamic IRQ numbers start at 24). This
	 * machine does have them, and devices that a kernel knows by number
	 * rather than from the DSDT need them: the 8250's built-in COM1 at
	 * IRQ 4, the i8042 at IRQ 1, virtio_mmio.device=...:5. One such
	 * kernel is 6.1 with ACPI and without PCI: it cannot load any DSDT
	 * (AE_BAD_PARAMETER) and turns ACPI off after using the MADT. Under
	 * a hardware-reduced FADT its tty open fails for want of IRQ 4, and
	 * everything user space writes to the console is lost (issue 12).
	 *
	 * No SMI command port: the machine is always in ACPI mode (SCI_EN
	 * reads 1).
	 */
	fadt->sci_int = LAYOUT_SCI_IRQ;
	fadt->pm1a_evt_blk = LAYOUT_PORT_ACPI_PM1_EVT;
	fadt->pm1_evt_len = ACPI_PM1_EVT_LEN;
	fadt->x_pm1a_evt_blk = acpi_io_reg(LAYOUT_PORT_ACPI_PM1_EVT,
					   ACPI_PM1_EVT_LEN,
					   ACPI_GAS_ACCESS_WORD);
	fadt->pm1a_cnt_blk = LAYOUT_PORT_ACPI_PM1_CNT;
	fadt->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	fadt->x_pm1a_cnt_blk = acpi_io_reg(LAYOUT_PORT_ACPI_PM1_CNT,
					   ACPI_PM1_CNT_LEN,
					   ACPI_GAS_ACCESS_WORD);
	/* No C2/C3 (which a guest would only read from a full FADT). */
	fadt->p_lvl2_lat = ACPI_FADT_NO_C2;
	fadt->p_lvl3_lat = ACPI_FADT_NO_C3;
	fadt->flags = ACPI_FADT_WBINVD | ACPI_FADT_PWR_BUTTON |
		      ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP;
	/*
	 * What Linux does with these: without the 8042 bit it assumes no
	 * i8042 unless the DSDT lists one, and the VMM does emulate one (its
	 * reset line is a reboot path); LEGACY_DEVICES only keeps PNP-BIOS
	 * probing on. No VGA; no CMOS RTC, so no rtc_cmos device is created.
	 */
	fadt->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 |
			       ACPI_IAPC_VGA_NOT_PRESENT |
			       ACPI_IAPC_CMOS_RTC_NOT_PRESENT;
	fadt->reset_reg = acpi_io_gas(LAYOUT_PORT_ACPI_RESET);
	fadt->reset_value = LAYOUT_ACPI_RESET_VALUE;
	/* The sleep control and status registers are for hardware-reduced
	 * platforms only: poweroff goes through PM1_CNT. */
	memcpy(&hv_id, ACPI_HYPERVISOR_ID, strlen(ACPI_HYPERVISOR_ID));
	fadt->hypervisor_vendor_id = hv_id;
	/* FADT 6.5 */
	fadt->minor_version = 5;
	acpi_fill_header(&fadt->header, "FACP", sizeof(*fadt), 6, "FIGMFACP");
}

/* Fills the XSDT into @h (room for @nr_entries pointers, zeroed). */
static void acpi_fill_xsdt(struct acpi_header *h, const uint64_t *entries,
			   uint32_t nr_entries)
{
	size_t len = sizeof(*h) + nr_entries * sizeof(*entries);

	/* memcpy: the 64-bit entries start at offset 36, unaligned */
	memcpy(h + 1, entries, nr_entries * sizeof(*entries));
	acpi_fill_header(h, "XSDT", (uint32_t)len, 1, "FIGMXSDT");
}

static void acpi_fill_rsdp(struct acpi_rsdp *rsdp, uint64_t xsdt_gpa)
{
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt_address = 0; /* XSDT only: every guest we boot is 64-bit */
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = checksum8_zero_sum(rsdp, 20);
	rsdp->extended_checksum = checksum8_zero_sum(rsdp, sizeof(*rsdp));
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	if (cfg->nr_cpus == 0)
		return -EINVAL;
	if (cfg->nr_cpus > ACPI_MAX_CPUS)
		return -E2BIG;
	if (cfg->nr_devices && !cfg->devices)
		return -EINVAL;
	/* Virtio node names have 3 hex digits; far more than fit anyway. */
	if (cfg->nr_devices > 0x1000)
		return -ENOSPC;
	for (uint32_t i = 0; i < cfg->nr_devices; i++)
		if (!cfg->devices[i].ops)
			return -EINVAL;
	return 0;
}

int acpi_build(const struct guest_memory *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	struct acpi_builder ab = { 0 };
	size_t rsdp_off, xsdt_off, fadt_off, facs_off, madt_off, dsdt_off;
	uint64_t entries[2];
	int ret;

	ret = acpi_check_config(cfg);
	if (ret)
		return ret;
	/* Fail before the work when the window is not guest RAM. */
	if (!guest_memory_ptr(mem, LAYOUT_ACPI, ACPI_WINDOW_SIZE))
		return -EFAULT;
	ab.buf = calloc(1, ACPI_WINDOW_SIZE);
	if (!ab.buf)
		return -ENOMEM;

	/* Reserve the fixed-size tables first, RSDP at offset 0 where a
	 * guest scanning the BIOS area looks; the DSDT takes the rest. */
	ret = acpi_alloc(&ab, sizeof(struct acpi_rsdp), &rsdp_off);
	if (!ret)
		ret = acpi_alloc(&ab, sizeof(struct acpi_header) + sizeof(entries),
				 &xsdt_off);
	if (!ret)
		ret = acpi_alloc(&ab, sizeof(struct acpi_fadt), &fadt_off);
	if (!ret)
		ret = acpi_alloc_aligned(&ab, sizeof(struct acpi_facs),
					 ACPI_FACS_ALIGN, &facs_off);
	if (!ret)
		ret = acpi_alloc(&ab, acpi_madt_size(cfg->nr_cpus), &madt_off);
	if (!ret)
		ret = acpi_build_dsdt(&ab, cfg, &dsdt_off);
	if (ret)
		goto out;

	/* Every address is known now; fill the tables that point at others
	 * after their targets. */
	acpi_fill_madt((struct acpi_madt *)(ab.buf + madt_off), cfg->nr_cpus);
	acpi_fill_facs((struct acpi_facs *)(ab.buf + facs_off));
	acpi_fill_fadt((struct acpi_fadt *)(ab.buf + fadt_off),
		       LAYOUT_ACPI + dsdt_off, LAYOUT_ACPI + facs_off);
	entries[0] = LAYOUT_ACPI + fadt_off;
	entries[1] = LAYOUT_ACPI + madt_off;
	acpi_fill_xsdt((struct acpi_header *)(ab.buf + xsdt_off), entries, 2);
	acpi_fill_rsdp((struct acpi_rsdp *)(ab.buf + rsdp_off),
		       LAYOUT_ACPI + xsdt_off);

	ret = guest_memory_write(mem, LAYOUT_ACPI, ab.buf, ab.used);
	if (ret)
		goto out;
	*rsdp_gpa = LAYOUT_ACPI + rsdp_off;
out:
	free(ab.buf);
	return ret;
}
