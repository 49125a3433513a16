// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables: parsed back here by spec offsets (not through the builder's
 * structs, so a wrong struct shows up), then checked independently by
 * disassembling and recompiling them with ACPICA's iasl, and by running
 * the DSDT's methods in ACPICA's acpiexec.
 *
 * The DSDT is built from a device list like the builder's
 * (devices/device.h): COM1, the i8042, the ACPI power registers (no node),
 * pvpanic, the VM generation ID, then virtio-mmio transports placed as
 * virtio_devices.c places them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "devices/acpi/vmgenid.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/mmio.h"
#include "vstate/memory.h"

#define MEM_SIZE (2u << 20)
#define MAX_DEVICES 4200
#define NR_LEGACY 5 /* serial, i8042, acpi-pm, pvpanic, vmgenid */

/* Where each virtio device sits (as virtio_devices.c places them). */
struct mmio_place {
	uint64_t base;
	uint32_t irq;
};

static uint8_t *buf;
static struct guest_memory mem;
static struct mmio_place devices[MAX_DEVICES];
static struct virtio_mmio *vdevs;
static struct device *list;
static struct vmgenid genid;

static void setup(void)
{
	buf = calloc(1, MEM_SIZE);
	cr_assert(buf);
	guest_memory_init_from(&mem, 0, buf, MEM_SIZE);
	for (uint32_t i = 0; i < MAX_DEVICES; i++) {
		devices[i].base = LAYOUT_VIRTIO_MMIO_BASE +
				  i * LAYOUT_VIRTIO_MMIO_SIZE;
		devices[i].irq = LAYOUT_VIRTIO_IRQ_BASE +
				 i % LAYOUT_VIRTIO_MAX_DEVICES;
	}
	vdevs = calloc(MAX_DEVICES, sizeof(*vdevs));
	list = calloc(NR_LEGACY + MAX_DEVICES, sizeof(*list));
	cr_assert(vdevs && list);
	vmgenid_init(&genid, &mem, LAYOUT_VMGENID, LAYOUT_GED_IRQ, NULL, NULL);
}

static void teardown(void)
{
	free(list);
	free(vdevs);
	free(buf);
}

TestSuite(acpi, .init = setup, .fini = teardown);

/* The device list the builder makes: the legacy devices, then @nr_devices
 * virtio transports at devices[]. */
static const struct device *make_list(uint32_t nr_devices, uint32_t *nr)
{
	static const struct device_ops *legacy[NR_LEGACY] = {
		&serial_device_ops, &i8042_device_ops, &acpi_pm_device_ops,
		&pvpanic_device_ops, &vmgenid_device_ops,
	};
	uint32_t n = 0;

	for (uint32_t i = 0; i < NR_LEGACY; i++)
		list[n++] = (struct device){
			.ops = legacy[i],
			.dev = legacy[i] == &vmgenid_device_ops ? (void *)&genid :
								  NULL,
		};
	for (uint32_t i = 0; i < nr_devices; i++) {
		vdevs[i].mmio_base = devices[i].base;
		vdevs[i].gsi = devices[i].irq;
		vdevs[i].index = i;
		list[n++] = (struct device){ .ops = &virtio_mmio_device_ops,
					     .dev = &vdevs[i] };
	}
	*nr = n;
	return list;
}

static int build(uint32_t nr_cpus, uint32_t nr_devices, uint64_t *rsdp)
{
	struct acpi_config cfg = { .nr_cpus = nr_cpus };

	cfg.devices = make_list(nr_devices, &cfg.nr_devices);
	return acpi_build(&mem, &cfg, rsdp);
}

static const uint8_t *at(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_memory_ptr(&mem, gpa, len);

	cr_assert(p, "gpa 0x%lx+%lu outside guest memory", gpa, len);
	return p;
}

static uint8_t rd8(uint64_t gpa)
{
	return *at(gpa, 1);
}

static uint16_t rd16(uint64_t gpa)
{
	const uint8_t *p = at(gpa, 2);

	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(uint64_t gpa)
{
	return rd16(gpa) | (uint32_t)rd16(gpa + 2) << 16;
}

static uint64_t rd64(uint64_t gpa)
{
	return rd32(gpa) | (uint64_t)rd32(gpa + 4) << 32;
}

static uint8_t sum(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = at(gpa, len);
	uint8_t s = 0;

	for (uint64_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

/* What a guest does: scan the BIOS area on 16-byte boundaries. */
static uint64_t scan_rsdp(void)
{
	for (uint64_t gpa = 0xe0000; gpa < 0x100000; gpa += 16) {
		if (memcmp(at(gpa, 8), "RSD PTR ", 8))
			continue;
		if (sum(gpa, 20) == 0)
			return gpa;
	}
	return 0;
}

/* Checks a table's header and checksum; returns its length. */
static uint32_t check_table(uint64_t gpa, const char *sig)
{
	uint32_t len = rd32(gpa + 4);

	cr_assert(!memcmp(at(gpa, 4), sig, 4), "%s at 0x%lx", sig, gpa);
	cr_assert_geq(len, 36);
	cr_assert(gpa >= LAYOUT_ACPI && gpa + len <= LAYOUT_ACPI_END,
		  "%s inside the ACPI window", sig);
	cr_assert_eq(sum(gpa, len), 0, "%s checksum", sig);
	cr_assert(!memcmp(at(gpa + 10, 6), "FIGMNT", 6), "%s OEM id", sig);
	cr_assert_neq(rd32(gpa + 28), 0, "%s creator id", sig);
	cr_assert_neq(rd32(gpa + 32), 0, "%s creator revision", sig);
	return len;
}

struct tables {
	uint64_t rsdp, xsdt, fadt, facs, madt, dsdt;
};

static void find_tables(struct tables *t)
{
	uint32_t xlen;

	t->rsdp = scan_rsdp();
	cr_assert_eq(t->rsdp, LAYOUT_ACPI);
	cr_assert_eq(rd8(t->rsdp + 15), 2, "RSDP revision");
	cr_assert_eq(rd32(t->rsdp + 20), 36, "RSDP length");
	cr_assert_eq(sum(t->rsdp, 36), 0, "RSDP extended checksum");
	t->xsdt = rd64(t->rsdp + 24);
	xlen = check_table(t->xsdt, "XSDT");
	cr_assert_eq(xlen, 36 + 2 * 8, "XSDT has FADT and MADT");
	t->fadt = rd64(t->xsdt + 36);
	t->madt = rd64(t->xsdt + 44);
	check_table(t->fadt, "FACP");
	check_table(t->madt, "APIC");
	t->dsdt = rd64(t->fadt + 140);
	check_table(t->dsdt, "DSDT");
	/* The FACS: 32-bit FIRMWARE_CTRL only (X_FIRMWARE_CTRL must then be
	 * zero); no checksum, no OEM fields; 64-byte aligned. */
	t->facs = rd32(t->fadt + 36);
	cr_assert_eq(rd64(t->fadt + 132), 0, "X_FIRMWARE_CTRL");
	cr_assert(!memcmp(at(t->facs, 4), "FACS", 4));
	cr_assert_eq(rd32(t->facs + 4), 64, "FACS length");
	cr_assert_eq(t->facs % 64, 0, "FACS alignment");
	cr_assert(t->facs >= LAYOUT_ACPI && t->facs + 64 <= LAYOUT_ACPI_END);
}

static const uint32_t cpu_counts[] = { 1, 2, 64 };
/* 200: the \_SB_ scope then needs a 3-byte PkgLength (over 4 KiB). */
static const uint32_t device_counts[] = { 0, 1, 19, 200 };
#define NR_CPU_COUNTS (sizeof(cpu_counts) / sizeof(cpu_counts[0]))
#define NR_DEVICE_COUNTS (sizeof(device_counts) / sizeof(device_counts[0]))

Test(acpi, tables_found_and_checksummed)
{
	for (size_t c = 0; c < NR_CPU_COUNTS; c++) {
		for (size_t d = 0; d < NR_DEVICE_COUNTS; d++) {
			struct tables t;
			uint64_t rsdp = 0;

			memset(buf, 0, MEM_SIZE);
			cr_assert_eq(build(cpu_counts[c], device_counts[d], &rsdp), 0);
			cr_assert_eq(rsdp, LAYOUT_ACPI);
			cr_assert_eq(rsdp % 16, 0);
			find_tables(&t);
		}
	}
}

static void check_gas_io(uint64_t gpa, uint64_t port, uint8_t bits,
			 uint8_t access)
{
	cr_assert_eq(rd8(gpa), 1, "system I/O space");
	cr_assert_eq(rd8(gpa + 1), bits, "%u bits wide", bits);
	cr_assert_eq(rd8(gpa + 2), 0, "bit offset");
	cr_assert_eq(rd8(gpa + 3), access, "access size %u", access);
	cr_assert_eq(rd64(gpa + 4), port);
}

static void check_gas_io8(uint64_t gpa, uint64_t port)
{
	check_gas_io(gpa, port, 8, 1);
}

Test(acpi, fadt_fields)
{
	struct tables t;
	uint64_t rsdp;
	uint32_t flags;
	uint16_t boot;

	cr_assert_eq(build(2, 1, &rsdp), 0);
	find_tables(&t);
	cr_assert_eq(rd32(t.fadt + 4), 276, "FADT length (rev 6)");
	cr_assert_eq(rd8(t.fadt + 8), 6, "FADT revision");
	flags = rd32(t.fadt + 112);
	/* Not hardware-reduced: an x86 Linux would drop its 8259 and with it
	 * the ISA IRQs (COM1's 4) a guest that does not use the DSDT needs. */
	cr_assert(!(flags & (1u << 20)), "not HW_REDUCED_ACPI");
	cr_assert(flags & (1u << 10), "RESET_REG_SUP");
	cr_assert(flags & (1u << 4), "no fixed power button");
	cr_assert(flags & (1u << 5), "no fixed sleep button");
	check_gas_io8(t.fadt + 116, LAYOUT_PORT_ACPI_RESET);
	cr_assert_eq(rd8(t.fadt + 128), LAYOUT_ACPI_RESET_VALUE);
	/* The PM1 blocks, in both the old and the X_ fields; no PM1b, PM2,
	 * PM timer or GPE blocks. */
	cr_assert_eq(rd32(t.fadt + 56), LAYOUT_PORT_ACPI_PM1_EVT,
		     "PM1a_EVT_BLK");
	cr_assert_eq(rd8(t.fadt + 88), 4, "PM1_EVT_LEN");
	check_gas_io(t.fadt + 148, LAYOUT_PORT_ACPI_PM1_EVT, 32, 2);
	cr_assert_eq(rd32(t.fadt + 64), LAYOUT_PORT_ACPI_PM1_CNT,
		     "PM1a_CNT_BLK");
	cr_assert_eq(rd8(t.fadt + 89), 2, "PM1_CNT_LEN");
	check_gas_io(t.fadt + 172, LAYOUT_PORT_ACPI_PM1_CNT, 16, 2);
	for (uint64_t off = 60; off < 88; off += 4) {
		if (off != 64)
			cr_assert_eq(rd32(t.fadt + off), 0, "FADT +%lu", off);
	}
	cr_assert_eq(rd8(t.fadt + 90), 0, "PM2_CNT_LEN");
	cr_assert_eq(rd8(t.fadt + 91), 0, "PM_TMR_LEN");
	cr_assert_eq(rd8(t.fadt + 92), 0, "GPE0_BLK_LEN");
	cr_assert_eq(rd8(t.fadt + 93), 0, "GPE1_BLK_LEN");
	cr_assert_gt(rd16(t.fadt + 96), 100, "no C2");
	cr_assert_gt(rd16(t.fadt + 98), 1000, "no C3");
	/* Always in ACPI mode: no SMI command port to switch. */
	cr_assert_eq(rd32(t.fadt + 48), 0, "SMI_CMD");
	/* The sleep registers are for hardware-reduced platforms only. */
	cr_assert_eq(rd64(t.fadt + 248), 0, "no SLEEP_CONTROL_REG");
	cr_assert_eq(rd64(t.fadt + 260), 0, "no SLEEP_STATUS_REG");
	cr_assert_neq(rd64(t.fadt + 140), 0, "X_DSDT");
	cr_assert_eq(rd32(t.fadt + 40), rd64(t.fadt + 140), "DSDT == X_DSDT");
	cr_assert(!memcmp(at(t.fadt + 268, 8), "FIGMENT\0", 8));
	boot = rd16(t.fadt + 109);
	cr_assert(boot & (1u << 1), "8042 present");
	cr_assert(boot & (1u << 2), "no VGA");
	cr_assert(boot & (1u << 5), "no CMOS RTC");
	/* The SCI on a line no device uses. */
	cr_assert_eq(rd16(t.fadt + 46), LAYOUT_SCI_IRQ);
	cr_assert(LAYOUT_SCI_IRQ != LAYOUT_COM1_IRQ &&
		  LAYOUT_SCI_IRQ != LAYOUT_I8042_IRQ && LAYOUT_SCI_IRQ > 2 &&
		  LAYOUT_SCI_IRQ < LAYOUT_VIRTIO_IRQ_BASE);
}

Test(acpi, madt_entries)
{
	for (size_t c = 0; c < NR_CPU_COUNTS; c++) {
		uint32_t nr_cpus = cpu_counts[c], nr_lapic = 0, nr_ioapic = 0;
		uint32_t nr_iso = 0;
		struct tables t;
		uint64_t rsdp, p, end;

		memset(buf, 0, MEM_SIZE);
		cr_assert_eq(build(nr_cpus, 3, &rsdp), 0);
		find_tables(&t);
		cr_assert_eq(rd32(t.madt + 36), LAYOUT_LAPIC);
		end = t.madt + rd32(t.madt + 4);
		for (p = t.madt + 44; p < end; p += rd8(p + 1)) {
			cr_assert_geq(rd8(p + 1), 2, "entry length");
			switch (rd8(p)) {
			case 0:
				cr_assert_eq(rd8(p + 3), nr_lapic, "APIC id");
				cr_assert(rd32(p + 4) & 1, "enabled");
				nr_lapic++;
				break;
			case 1:
				cr_assert_eq(rd8(p + 2), nr_cpus, "IOAPIC id");
				cr_assert_eq(rd32(p + 4), LAYOUT_IOAPIC);
				cr_assert_eq(rd32(p + 8), 0, "GSI base");
				nr_ioapic++;
				break;
			case 2:
				/* Only the SCI's: ISA IRQs are identity-mapped,
				 * edge, active high, as without an override. */
				cr_assert_eq(rd8(p + 1), 10);
				cr_assert_eq(rd8(p + 2), 0, "ISA bus");
				cr_assert_eq(rd8(p + 3), LAYOUT_SCI_IRQ);
				cr_assert_eq(rd32(p + 4), LAYOUT_SCI_IRQ);
				cr_assert_eq(rd16(p + 8), 0xd,
					     "level, active high");
				nr_iso++;
				break;
			case 4:
				cr_assert_eq(rd8(p + 5), 1, "NMI on LINT1");
				break;
			default:
				cr_assert_fail("unexpected MADT entry %u", rd8(p));
			}
		}
		cr_assert_eq(p, end, "entries fill the table exactly");
		cr_assert_eq(nr_lapic, nr_cpus);
		cr_assert_eq(nr_ioapic, 1);
		cr_assert_eq(nr_iso, 1);
		cr_assert(rd32(t.madt + 40) & 1, "PCAT_COMPAT: 8259s present");
	}
}

static const uint8_t *memmem_n(const uint8_t *hay, size_t len,
			       const void *needle, size_t nlen)
{
	return memmem(hay, len, needle, nlen);
}

static uint32_t count(const uint8_t *hay, size_t len, const void *needle,
		      size_t nlen)
{
	uint32_t n = 0;
	const uint8_t *p = hay, *end = hay + len;

	while ((p = memmem_n(p, (size_t)(end - p), needle, nlen))) {
		n++;
		p += nlen;
	}
	return n;
}

Test(acpi, dsdt_devices)
{
	for (size_t d = 0; d < NR_DEVICE_COUNTS; d++) {
		uint32_t nr = device_counts[d];
		struct tables t;
		uint64_t rsdp;
		uint32_t len;
		const uint8_t *aml;

		memset(buf, 0, MEM_SIZE);
		cr_assert_eq(build(2, nr, &rsdp), 0);
		find_tables(&t);
		len = rd32(t.dsdt + 4);
		aml = at(t.dsdt, len);
		cr_assert_eq(count(aml, len, "LNRO0005", 8), nr);
		cr_assert_eq(count(aml, len, "_S5_", 4), 1);
		for (uint32_t i = 0; i < nr; i++) {
			/* Memory32Fixed(ReadWrite, base, size) */
			uint8_t mem32[12] = { 0x86, 9, 0, 1 };
			/* Interrupt(Consumer, Edge, ActiveHigh, Exclusive) */
			uint8_t irq[9] = { 0x89, 6, 0, 0x03, 1 };
			uint32_t base = (uint32_t)devices[i].base;
			uint32_t size = LAYOUT_VIRTIO_MMIO_SIZE;

			memcpy(mem32 + 4, &base, 4);
			memcpy(mem32 + 8, &size, 4);
			memcpy(irq + 5, &devices[i].irq, 4);
			cr_assert_eq(count(aml, len, mem32, sizeof(mem32)), 1);
			cr_assert(memmem(aml, len, irq, sizeof(irq)));
		}
	}
}

/* The VM generation ID's node and its GED, byte for byte where it matters:
 * what Linux's vmgenid.c and evged.c read. */
Test(acpi, dsdt_vmgenid_and_ged)
{
	/* Method(ADDR, 0) { Return(Package(2) { 0x000a0000, Zero }) } */
	static const uint8_t addr[] = { 0x14, 0x10, 'A', 'D', 'D', 'R', 0x00,
					0xa4, 0x12, 0x08, 0x02, 0x0c, 0x00,
					0x00, 0x0a, 0x00, 0x00 };
	/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {23} */
	static const uint8_t ged_irq[] = { 0x89, 6, 0, 0x03, 1, 23, 0, 0, 0 };
	/* If (Arg0 == 23) { Notify(\_SB_.VGEN, 0x80) } */
	static const uint8_t evt[] = { 0xa0, 0x12, 0x93, 0x68, 0x0a, 23,
				       0x86, 0x5c, 0x2e, '_', 'S', 'B', '_',
				       'V', 'G', 'E', 'N', 0x0a, 0x80 };
	struct tables t;
	uint64_t rsdp;
	const uint8_t *aml;
	uint32_t len;

	cr_assert_eq(LAYOUT_VMGENID, 0xa0000, "the bytes above say so");
	cr_assert_eq(build(1, 2, &rsdp), 0);
	find_tables(&t);
	len = rd32(t.dsdt + 4);
	aml = at(t.dsdt, len);
	cr_assert_eq(count(aml, len, "\x08_CID\x0dVM_GEN_COUNTER", 20), 1);
	cr_assert_eq(count(aml, len, addr, sizeof(addr)), 1);
	cr_assert_eq(count(aml, len, "\x08_HID\x0d" "ACPI0013", 14), 1);
	cr_assert_eq(count(aml, len, ged_irq, sizeof(ged_irq)), 1);
	cr_assert_eq(count(aml, len, evt, sizeof(evt)), 1);
}

/* An ID above 4 GiB: ADDR's package has the high half in its second
 * element. */
Test(acpi, vmgenid_addr_high_half)
{
	/* Package(2) { 0x23456788, One } */
	static const uint8_t pkg[] = { 0x12, 0x08, 0x02, 0x0c, 0x88,
				       0x67, 0x45, 0x23, 0x01 };
	struct tables t;
	uint64_t rsdp;

	genid.gpa = 0x123456788ULL;
	cr_assert_eq(build(1, 0, &rsdp), 0);
	find_tables(&t);
	cr_assert_eq(count(at(t.dsdt, rd32(t.dsdt + 4)), rd32(t.dsdt + 4), pkg,
			   sizeof(pkg)),
		     1);
}

Test(acpi, bad_configs_refused)
{
	struct acpi_config cfg = { .nr_cpus = 1, .devices = NULL,
				   .nr_devices = 1 };
	uint64_t rsdp = 0;

	cr_assert_eq(build(0, 0, &rsdp), -EINVAL);
	cr_assert_eq(build(ACPI_MAX_CPUS + 1, 0, &rsdp), -E2BIG);
	cr_assert_eq(build(ACPI_MAX_CPUS, 0, &rsdp), 0);
	cr_assert_eq(acpi_build(&mem, &cfg, &rsdp), -EINVAL);

	devices[0].irq = ACPI_IOAPIC_PINS;
	cr_assert_eq(build(1, 1, &rsdp), -EINVAL);
	devices[0].irq = 5;
	devices[0].base = 0xfffff000;
	cr_assert_eq(build(1, 1, &rsdp), 0);
	devices[0].base = 0xfffff001;
	cr_assert_eq(build(1, 1, &rsdp), -EINVAL, "crosses 4 GiB");
}

Test(acpi, too_many_devices_no_space)
{
	uint64_t rsdp = 0x1234;

	cr_assert_eq(build(64, 3000, &rsdp), -ENOSPC);
	cr_assert_eq(build(1, MAX_DEVICES, &rsdp), -ENOSPC);
	cr_assert_eq(rsdp, 0x1234, "not written on failure");
	for (uint64_t i = LAYOUT_ACPI; i < LAYOUT_ACPI_END; i++)
		cr_assert_eq(buf[i], 0, "guest memory untouched on failure");
}

Test(acpi, memory_must_cover_window)
{
	uint64_t rsdp;

	/* Ends 1 byte short of the window. */
	guest_memory_init_from(&mem, 0, buf, LAYOUT_ACPI_END - 1);
	cr_assert_eq(build(1, 1, &rsdp), -EFAULT);
	guest_memory_init_from(&mem, 0, buf, 64 * 1024);
	cr_assert_eq(build(1, 1, &rsdp), -EFAULT);
	/* Exactly up to the end is enough. */
	guest_memory_init_from(&mem, 0, buf, LAYOUT_ACPI_END);
	cr_assert_eq(build(1, 1, &rsdp), 0);
}

/* ---- iasl: an independent implementation reads the tables back ---- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void dump(const char *dir, const char *name, uint64_t gpa)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(at(gpa, rd32(gpa + 4)), 1, rd32(gpa + 4), f),
		     rd32(gpa + 4));
	fclose(f);
}

static char *slurp(const char *dir, const char *name)
{
	char path[256];
	char *s;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	cr_assert(f, "%s exists", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	cr_assert(s);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* Runs iasl in @dir; its output goes to @log. Returns the exit status. */
static int run(const char *dir, const char *args, const char *log)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl %s >%s 2>&1", dir, args,
		 log);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint32_t count_str(const char *hay, const char *needle)
{
	return count((const uint8_t *)hay, strlen(hay), needle, strlen(needle));
}

static void iasl_roundtrip(const char *dir, const char *name)
{
	char args[128], log[64];
	char *out;

	/* Disassemble: no complaints about our binary. */
	snprintf(args, sizeof(args), "-d %s.dat", name);
	snprintf(log, sizeof(log), "%s.dis.log", name);
	cr_assert_eq(run(dir, args, log), 0, "iasl -d %s", name);
	out = slurp(dir, log);
	cr_assert(!strstr(out, "Warning") && !strstr(out, "Error"),
		  "iasl -d %s:\n%s", name, out);
	free(out);

	/* Recompile the disassembly: clean, no warnings or remarks. */
	snprintf(args, sizeof(args), "-p %s.re %s.dsl", name, name);
	snprintf(log, sizeof(log), "%s.asm.log", name);
	cr_assert_eq(run(dir, args, log), 0, "iasl %s.dsl", name);
	out = slurp(dir, log);
	cr_assert(strstr(out, "0 Errors, 0 Warnings, 0 Remarks"),
		  "iasl %s.dsl:\n%s", name, out);
	free(out);
}

Test(acpi, iasl_disassembles_and_recompiles)
{
	if (!have_iasl())
		cr_skip_test("iasl (acpica-tools) not installed");

	for (size_t c = 0; c < NR_CPU_COUNTS; c++) {
		for (size_t d = 0; d < NR_DEVICE_COUNTS; d++) {
			uint32_t nr_cpus = cpu_counts[c];
			uint32_t nr_dev = device_counts[d];
			char dir[] = "/tmp/figment-acpi-XXXXXX";
			char cmd[64], needle[64];
			struct tables t;
			uint64_t rsdp;
			char *dsl;

			memset(buf, 0, MEM_SIZE);
			cr_assert_eq(build(nr_cpus, nr_dev, &rsdp), 0);
			find_tables(&t);
			cr_assert(mkdtemp(dir));
			dump(dir, "xsdt", t.xsdt);
			dump(dir, "facp", t.fadt);
			dump(dir, "facs", t.facs);
			dump(dir, "apic", t.madt);
			dump(dir, "dsdt", t.dsdt);
			iasl_roundtrip(dir, "xsdt");
			iasl_roundtrip(dir, "facp");
			iasl_roundtrip(dir, "facs");
			iasl_roundtrip(dir, "apic");
			iasl_roundtrip(dir, "dsdt");

			dsl = slurp(dir, "dsdt.dsl");
			cr_assert_eq(count_str(dsl, "\"LNRO0005\""), nr_dev);
			cr_assert(strstr(dsl, "Name (_S5, Package (0x04)"));
			cr_assert(strstr(dsl, "EisaId (\"PNP0501\")"));
			cr_assert_eq(count_str(dsl, "Memory32Fixed (ReadWrite,"),
				     nr_dev);
			/* the virtio devices' and the GED's */
			cr_assert_eq(count_str(dsl, "Interrupt (ResourceConsumer, "
						    "Edge, ActiveHigh, Exclusive"),
				     nr_dev + 1);
			cr_assert_eq(count_str(dsl, "Device (VGEN)"), 1);
			cr_assert(strstr(dsl, "Name (_CID, \"VM_GEN_COUNTER\")"));
			cr_assert(strstr(dsl, "Method (ADDR, 0, NotSerialized)"));
			cr_assert_eq(count_str(dsl, "Device (GED)"), 1);
			cr_assert(strstr(dsl, "Name (_HID, \"ACPI0013\""));
			cr_assert(strstr(dsl, "Method (_EVT, 1, Serialized)"));
			cr_assert(strstr(dsl, "Notify (\\_SB.VGEN, 0x80)"),
				  "%s", dsl);
			for (uint32_t i = 0; i < nr_dev; i++) {
				snprintf(needle, sizeof(needle),
					 "0x%08lX,         // Address Base",
					 devices[i].base);
				cr_assert(strstr(dsl, needle), "%s", needle);
				snprintf(needle, sizeof(needle),
					 "0x%08X,\n", devices[i].irq);
				cr_assert(strstr(dsl, needle), "%s", needle);
			}
			free(dsl);

			dsl = slurp(dir, "apic.dsl");
			cr_assert_eq(count_str(dsl, "[Processor Local APIC]"),
				     nr_cpus);
			cr_assert_eq(count_str(dsl, "[I/O APIC]"), 1);
			cr_assert_eq(count_str(dsl, "[Interrupt Source Override]"),
				     1);
			free(dsl);

			dsl = slurp(dir, "facp.dsl");
			cr_assert(strstr(dsl, "Hardware Reduced (V5) : 0"));
			cr_assert(strstr(dsl, "Reset Register Supported (V2) : 1"));
			free(dsl);

			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
			cr_assert_eq(system(cmd), 0);
		}
	}
}

/* ---- acpiexec: ACPICA runs the methods the guest will run ---- */

static bool have_acpiexec(void)
{
	return system("command -v acpiexec >/dev/null 2>&1") == 0;
}

Test(acpi, acpiexec_runs_addr_and_the_ged_event)
{
	char dir[] = "/tmp/figment-acpi-XXXXXX";
	char cmd[512], gsi_arg[16];
	struct tables t;
	uint64_t rsdp;
	const char *first, *second, *notify;
	char *out;

	if (!have_acpiexec())
		cr_skip_test("acpiexec (acpica-tools) not installed");
	cr_assert_eq(build(2, 3, &rsdp), 0);
	find_tables(&t);
	cr_assert(mkdtemp(dir));
	dump(dir, "dsdt", t.dsdt);
	/* _EVT with the GED's GSI notifies VGEN; with another GSI nothing */
	snprintf(gsi_arg, sizeof(gsi_arg), "%u", LAYOUT_GED_IRQ);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && timeout 60 acpiexec -b 'evaluate \\_SB.VGEN.ADDR; "
		 "evaluate \\_SB.GED._EVT 5; "
		 "evaluate \\_SB.GED._EVT %s' dsdt.dat >run.log 2>&1",
		 dir, gsi_arg);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	out = slurp(dir, "run.log");
	cr_assert(strstr(out, "[Package] Contains 2 Elements:\n"
			      "    [Integer] = 00000000000A0000\n"
			      "    [Integer] = 0000000000000000"),
		  "%s", out);
	cr_assert_eq(count_str(out, "Received a Device Notify on [VGEN]"), 1,
		     "%s", out);
	cr_assert(strstr(out, "Value 0x80"), "%s", out);
	first = strstr(out, "Evaluating \\_SB.GED._EVT");
	second = first ? strstr(first + 1, "Evaluating \\_SB.GED._EVT") : NULL;
	notify = strstr(out, "Received a Device Notify");
	cr_assert(second && notify > second,
		  "the notify comes from _EVT(%s), not _EVT(5):\n%s", gsi_arg,
		  out);
	cr_assert(!strstr(out, "AE_"), "no ACPICA exception:\n%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
