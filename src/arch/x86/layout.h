/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest physical address map of an x86 figment microVM. Every fixed
 * address the VMM places something at lives here, so overlaps are visible
 * in one place.
 *
 *   0x0000_0000  real-mode IVT / BDA (left zero)
 *   0x0000_0500  boot GDT                 (LAYOUT_GDT)
 *   0x0000_0520  boot IDT (empty)         (LAYOUT_IDT)
 *   0x0000_6000  PVH start info + memmap  (LAYOUT_PVH_INFO)
 *   0x0000_7000  zero page (boot_params)  (LAYOUT_ZERO_PAGE)
 *   0x0000_8ff0  initial stack top        (LAYOUT_BOOT_STACK)
 *   0x0000_9000  PML4, PDPT, PD           (LAYOUT_PML4..)
 *   0x0002_0000  kernel command line      (LAYOUT_CMDLINE, 64 KiB max)
 *   0x0009_fc00  MP table (EBDA)          (LAYOUT_MPTABLE)
 *   0x000a_0000  VM generation ID, 16 B   (LAYOUT_VMGENID)
 *   0x000e_0000  ACPI tables, RSDP first  (LAYOUT_ACPI)
 *   0x0010_0000  kernel (bzImage protected-mode part / vmlinux segments)
 *   ...          RAM up to LAYOUT_MMIO_GAP_START, initrd at its top
 *   0xc000_0000  32-bit MMIO gap: boot timer, virtio-mmio devices, IOAPIC,
 *                LAPIC; RAM that would land here continues at 4 GiB
 *   0x1_0000_0000 RAM above 4 GiB (second region)
 */
#ifndef FIGMENT_ARCH_X86_LAYOUT_H
#define FIGMENT_ARCH_X86_LAYOUT_H

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_IDT 0x520ULL
#define LAYOUT_PVH_INFO 0x6000ULL
/* One page for PVH: hvm_start_info, then its module list, then the memmap. */
#define LAYOUT_PVH_INFO_SIZE 0x1000ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL /* 64 KiB incl. NUL */
#define LAYOUT_EBDA_START 0x9fc00ULL
#define LAYOUT_MPTABLE LAYOUT_EBDA_START
#define LAYOUT_ACPI 0xe0000ULL
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_HIMEM_START 0x100000ULL /* 1 MiB: kernels load here */
/* The 64-bit boot page tables identity-map [0, 1 GiB): a bzImage's
 * decompression area, the zero page and the command line must lie below. */
#define LAYOUT_IDENT_MAP_END 0x40000000ULL

/* Low RAM below the EBDA is usable; [EBDA, 1 MiB) is reserved. */
#define LAYOUT_LOWMEM_END LAYOUT_EBDA_START

/* The VM generation ID's 16 bytes (devices/acpi/vmgenid.h): in the
 * reserved range, after the MP table (which ends below 0xa0000) and where
 * a PC has its VGA window, which this machine does not (the FADT says
 * so), so no guest code looks there; 8-byte aligned as the specification
 * asks. */
#define LAYOUT_VMGENID 0xa0000ULL
#define LAYOUT_VMGENID_SIZE 16
_Static_assert(LAYOUT_VMGENID >= LAYOUT_EBDA_START &&
		       LAYOUT_VMGENID + LAYOUT_VMGENID_SIZE <= LAYOUT_ACPI &&
		       LAYOUT_VMGENID % 8 == 0,
	       "VM generation ID in reserved RAM, outside the firmware tables");

#define LAYOUT_MMIO_GAP_START 0xc0000000ULL
#define LAYOUT_MMIO_GAP_END 0x100000000ULL
#define LAYOUT_HIGH_RAM_START LAYOUT_MMIO_GAP_END

/* Boot-time marker: the guest writes LAYOUT_BOOT_MARKER_MAGIC (a byte) here
 * once its /init runs (busybox `devmem 0xd0000000 8 123`). */
#define LAYOUT_BOOT_MARKER 0xd0000000ULL
#define LAYOUT_BOOT_MARKER_SIZE 0x1000ULL
#define LAYOUT_BOOT_MARKER_MAGIC 123

/* virtio-mmio windows, one page each, interrupts from LAYOUT_VIRTIO_IRQ_BASE. */
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0001000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_IRQ_BASE 5
#define LAYOUT_VIRTIO_IRQ_LAST 22 /* IOAPIC has 24 pins; 23 is the GED's */
#define LAYOUT_VIRTIO_MAX_DEVICES (LAYOUT_VIRTIO_IRQ_LAST - LAYOUT_VIRTIO_IRQ_BASE + 1)

#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL

/* Legacy port I/O. */
#define LAYOUT_PORT_COM1 0x3f8
#define LAYOUT_COM1_IRQ 4
#define LAYOUT_PORT_I8042_DATA 0x60
#define LAYOUT_PORT_I8042_CMD 0x64
#define LAYOUT_I8042_IRQ 1
#define LAYOUT_PORT_POST 0x80
/* pvpanic: the guest writes 1 here when its kernel panics. */
#define LAYOUT_PORT_PVPANIC 0x505
/* ACPI power registers (devices/legacy/acpi_pm.c): the hardware-reduced
 * sleep control / status registers, the reset register, and the PM1 event
 * (status, enable) and control blocks the FADT points at. */
#define LAYOUT_PORT_ACPI_SLEEP_CTL 0x3c0
#define LAYOUT_PORT_ACPI_SLEEP_STS 0x3c1
#define LAYOUT_PORT_ACPI_RESET 0x3c2
#define LAYOUT_PORT_ACPI_PM1_EVT 0x3c4 /* 4 ports: PM1_STS, PM1_EN */
#define LAYOUT_PORT_ACPI_PM1_CNT 0x3c8 /* 2 ports */
#define LAYOUT_ACPI_PM_PORTS 10	       /* 0x3c0..0x3c9 */
#define LAYOUT_ACPI_RESET_VALUE 0x1
#define LAYOUT_ACPI_S5_TYPE 5 /* SLP_TYP written for S5 (poweroff) */
/* The SCI: never raised (no fixed or general-purpose events), but an ACPI
 * guest with a legacy PIC requests it. IRQ 3 (COM2's, absent) is the only
 * ISA line no device takes: 0 timer, 1 i8042, 2 cascade, 4 COM1, 5-22
 * virtio, 23 the GED. */
#define LAYOUT_SCI_IRQ 3
/* The ACPI Generic Event Device's interrupt (edge): it tells the guest that
 * the VM generation ID changed (a restore). The IOAPIC's last pin, fixed so
 * that it is the same for every configuration a snapshot can come from. */
#define LAYOUT_GED_IRQ 23

#endif
