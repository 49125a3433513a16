// SPDX-License-Identifier: Apache-2.0
/* MP tables, parsed back by the spec's offsets (MP spec 1.4, chapter 4). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "vstate/memory.h"

#define MEM_SIZE (2u << 20)

static uint8_t *buf;
static struct guest_memory mem;

static void setup(void)
{
	buf = calloc(1, MEM_SIZE);
	cr_assert(buf);
	guest_memory_init_from(&mem, 0, buf, MEM_SIZE);
}

static void teardown(void)
{
	free(buf);
}

TestSuite(mptable, .init = setup, .fini = teardown);

static uint8_t sum(uint64_t gpa, uint64_t len)
{
	uint8_t s = 0;

	for (uint64_t i = 0; i < len; i++)
		s += buf[gpa + i];
	return s;
}

static uint16_t rd16(uint64_t gpa)
{
	return (uint16_t)(buf[gpa] | buf[gpa + 1] << 8);
}

static uint32_t rd32(uint64_t gpa)
{
	return rd16(gpa) | (uint32_t)rd16(gpa + 2) << 16;
}

/* Where Linux looks without a BDA EBDA pointer: the last KiB of 640 KiB,
 * on 16-byte boundaries. */
static uint64_t scan_mpf(void)
{
	for (uint64_t gpa = 639 * 1024; gpa < 640 * 1024; gpa += 16)
		if (!memcmp(buf + gpa, "_MP_", 4) && sum(gpa, 16) == 0)
			return gpa;
	return 0;
}

struct counts {
	uint32_t cpus, bsp, buses, ioapics, ioints, lints;
};

static void check(uint32_t nr_cpus)
{
	struct counts n = { 0 };
	uint64_t mpf, cfg, p, end;
	uint16_t entries;

	memset(buf, 0, MEM_SIZE);
	cr_assert_eq(mptable_build(&mem, nr_cpus), 0, "%u CPUs", nr_cpus);
	mpf = scan_mpf();
	cr_assert_eq(mpf, LAYOUT_MPTABLE);
	cr_assert_eq(buf[mpf + 8], 1, "floating pointer length");
	cr_assert_eq(buf[mpf + 9], 4, "spec 1.4");
	cr_assert_eq(buf[mpf + 11], 0, "config table present");

	cfg = rd32(mpf + 4);
	cr_assert(!memcmp(buf + cfg, "PCMP", 4));
	cr_assert_eq(buf[cfg + 6], 4, "spec 1.4");
	end = cfg + rd16(cfg + 4);
	cr_assert_leq(end, 0xa0000, "below 640 KiB");
	cr_assert_geq(cfg, LAYOUT_EBDA_START);
	cr_assert_eq(sum(cfg, rd16(cfg + 4)), 0, "config table checksum");
	cr_assert_eq(rd32(cfg + 36), LAYOUT_LAPIC);
	entries = rd16(cfg + 34);

	for (p = cfg + 44; p < end; entries--) {
		switch (buf[p]) {
		case 0:
			cr_assert_eq(buf[p + 1], n.cpus, "APIC id");
			cr_assert(buf[p + 3] & 1, "enabled");
			if (buf[p + 3] & 2) {
				cr_assert_eq(n.cpus, 0, "BSP is CPU 0");
				n.bsp++;
			}
			n.cpus++;
			p += 20;
			break;
		case 1:
			cr_assert(!memcmp(buf + p + 2, "ISA   ", 6));
			n.buses++;
			p += 8;
			break;
		case 2:
			cr_assert_eq(buf[p + 1], nr_cpus, "IOAPIC id");
			cr_assert(buf[p + 3] & 1, "enabled");
			cr_assert_eq(rd32(p + 4), LAYOUT_IOAPIC);
			n.ioapics++;
			p += 8;
			break;
		case 3:
			cr_assert_eq(buf[p + 1], 0, "INT");
			cr_assert_eq(buf[p + 5], n.ioints, "source IRQ");
			cr_assert_eq(buf[p + 6], nr_cpus, "to the IOAPIC");
			cr_assert_eq(buf[p + 7], n.ioints, "IRQ n on pin n");
			n.ioints++;
			p += 8;
			break;
		case 4:
			/* ExtINT on LINT0, then NMI on LINT1 */
			cr_assert_eq(buf[p + 1], n.lints == 0 ? 3 : 1);
			cr_assert_eq(buf[p + 7], n.lints);
			n.lints++;
			p += 8;
			break;
		default:
			cr_assert_fail("unknown entry type %u", buf[p]);
		}
	}
	cr_assert_eq(p, end, "entries fill the table exactly");
	cr_assert_eq(entries, 0, "entry count matches");
	cr_assert_eq(n.cpus, nr_cpus);
	cr_assert_eq(n.bsp, 1);
	cr_assert_eq(n.buses, 1);
	cr_assert_eq(n.ioapics, 1);
	cr_assert_geq(n.ioints, 16, "all ISA IRQs");
	cr_assert_eq(n.ioints, 24, "every IOAPIC pin");
	cr_assert_eq(n.lints, 2);
}

Test(mptable, one_two_and_max_cpus)
{
	check(1);
	check(2);
	check(mptable_max_cpus());
}

Test(mptable, capacity_is_what_fits_the_ebda)
{
	uint32_t max = mptable_max_cpus();

	/* 16 + 44 + bus 8 + IOAPIC 8 + 26 interrupt entries of 8 bytes,
	 * then 20 bytes a CPU, in the 1 KiB up to 0xa0000. */
	cr_assert_eq(max, (0xa0000 - LAYOUT_MPTABLE - 284) / 20);
	cr_assert_geq(max, 32);
	cr_assert_eq(mptable_build(&mem, max + 1), -ENOSPC);
	cr_assert_eq(mptable_build(&mem, 64), -ENOSPC);
	cr_assert_eq(mptable_build(&mem, 0), -EINVAL);
	for (uint64_t i = LAYOUT_MPTABLE; i < 0xa0000; i++)
		cr_assert_eq(buf[i], 0, "untouched on failure");
}

Test(mptable, memory_must_cover_tables)
{
	guest_memory_init_from(&mem, 0, buf, 0xa0000 - 1);
	cr_assert_eq(mptable_build(&mem, 1), -EFAULT);
	guest_memory_init_from(&mem, 0, buf, 64 * 1024);
	cr_assert_eq(mptable_build(&mem, 1), -EFAULT);
	guest_memory_init_from(&mem, 0, buf, 0xa0000);
	cr_assert_eq(mptable_build(&mem, 1), 0);
}
