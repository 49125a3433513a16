// SPDX-License-Identifier: Apache-2.0
/* The ACPI power registers: PM1 event and control blocks, reset, and the
 * hardware-reduced sleep registers. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "devices/legacy/acpi_pm.h"

#define CTL (LAYOUT_PORT_ACPI_SLEEP_CTL - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define STS (LAYOUT_PORT_ACPI_SLEEP_STS - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define RST (LAYOUT_PORT_ACPI_RESET - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define SLP_EN 0x20
#define SLP_TYP(t) ((uint8_t)((t) << 2))
#define PM1_STS (LAYOUT_PORT_ACPI_PM1_EVT - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define PM1_EN (PM1_STS + 2)
#define PM1_CNT (LAYOUT_PORT_ACPI_PM1_CNT - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define PM1_SLP_EN 0x2000
#define PM1_SLP_TYP(t) ((uint16_t)((t) << 10))

static struct acpi_pm pm;
static int poweroffs, resets;

static void record(void *opaque, enum acpi_pm_event ev)
{
	cr_assert_eq(opaque, &pm);
	if (ev == ACPI_PM_POWEROFF)
		poweroffs++;
	else if (ev == ACPI_PM_RESET)
		resets++;
}

static void setup(void)
{
	poweroffs = resets = 0;
	pm.event = record;
	pm.opaque = &pm;
	pm.pm1_en = 0;
}

TestSuite(acpi_pm, .init = setup);

static void wr(uint64_t off, uint8_t v)
{
	acpi_pm_ops.write(&pm, off, &v, 1);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0xff;

	acpi_pm_ops.read(&pm, off, &v, 1);
	return v;
}

Test(acpi_pm, s5_with_slp_en_powers_off)
{
	wr(CTL, SLP_TYP(LAYOUT_ACPI_S5_TYPE) | SLP_EN);
	cr_expect_eq(poweroffs, 1);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, s5_ignores_the_other_bits)
{
	/* WAK_STS and reserved bits set by a sloppy guest still mean S5 */
	wr(CTL, 0x80 | SLP_TYP(LAYOUT_ACPI_S5_TYPE) | SLP_EN | 0x03);
	cr_expect_eq(poweroffs, 1);
}

Test(acpi_pm, s5_without_slp_en_does_nothing)
{
	wr(CTL, SLP_TYP(LAYOUT_ACPI_S5_TYPE));
	cr_expect_eq(poweroffs, 0);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, other_sleep_types_do_nothing)
{
	for (uint8_t t = 0; t < 8; t++) {
		if (t == LAYOUT_ACPI_S5_TYPE)
			continue;
		wr(CTL, SLP_TYP(t) | SLP_EN);
	}
	cr_expect_eq(poweroffs, 0);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, wider_writes_to_sleep_control_do_nothing)
{
	uint8_t v[2] = { SLP_TYP(LAYOUT_ACPI_S5_TYPE) | SLP_EN, 0 };

	acpi_pm_ops.write(&pm, CTL, v, 2);
	cr_expect_eq(poweroffs, 0);
}

Test(acpi_pm, reset_value_resets)
{
	wr(RST, LAYOUT_ACPI_RESET_VALUE);
	cr_expect_eq(resets, 1);
	cr_expect_eq(poweroffs, 0);
}

Test(acpi_pm, wrong_reset_value_does_nothing)
{
	wr(RST, 0);
	wr(RST, LAYOUT_ACPI_RESET_VALUE + 1);
	wr(RST, 0xff);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, wrong_reset_width_does_nothing)
{
	uint8_t v[4] = { LAYOUT_ACPI_RESET_VALUE, 0, 0, 0 };

	acpi_pm_ops.write(&pm, RST, v, 2);
	acpi_pm_ops.write(&pm, RST, v, 4);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, reset_value_on_another_register_does_nothing)
{
	wr(STS, LAYOUT_ACPI_RESET_VALUE);
	wr(CTL, LAYOUT_ACPI_RESET_VALUE);
	cr_expect_eq(resets, 0);
	cr_expect_eq(poweroffs, 0);
}

Test(acpi_pm, sleep_status_reads_awake)
{
	cr_expect_eq(rd(STS), 0x80, "WAK_STS");
	cr_expect_eq(rd(CTL), 0);
	cr_expect_eq(rd(RST), 0);
}

Test(acpi_pm, wider_reads_are_left_alone)
{
	uint8_t v[2] = { 0xff, 0xff };

	acpi_pm_ops.read(&pm, STS, v, 2);
	cr_expect_eq(v[0], 0xff);
	cr_expect_eq(v[1], 0xff);
}

/* ---- PM1 blocks (what the FADT points at) ---- */

static void wr16(uint64_t off, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	acpi_pm_ops.write(&pm, off, b, 2);
}

static uint16_t rd16(uint64_t off)
{
	uint8_t b[2] = { 0xff, 0xff };

	acpi_pm_ops.read(&pm, off, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

Test(acpi_pm, pm1_cnt_s5_with_slp_en_powers_off)
{
	/* What ACPICA does: SLP_TYP first, then SLP_TYP | SLP_EN, keeping
	 * SCI_EN as read. */
	wr16(PM1_CNT, 0x0001 | PM1_SLP_TYP(LAYOUT_ACPI_S5_TYPE));
	cr_expect_eq(poweroffs, 0);
	wr16(PM1_CNT, 0x0001 | PM1_SLP_TYP(LAYOUT_ACPI_S5_TYPE) | PM1_SLP_EN);
	cr_expect_eq(poweroffs, 1);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, pm1_cnt_high_byte_alone_powers_off)
{
	wr(PM1_CNT + 1, (uint8_t)((PM1_SLP_TYP(LAYOUT_ACPI_S5_TYPE) |
				   PM1_SLP_EN) >> 8));
	cr_expect_eq(poweroffs, 1);
	wr(PM1_CNT, 0xff);
	cr_expect_eq(poweroffs, 1, "the low byte has no sleep bits");
}

Test(acpi_pm, pm1_cnt_other_sleep_types_do_nothing)
{
	for (uint16_t t = 0; t < 8; t++) {
		if (t == LAYOUT_ACPI_S5_TYPE)
			continue;
		wr16(PM1_CNT, PM1_SLP_TYP(t) | PM1_SLP_EN);
	}
	cr_expect_eq(poweroffs, 0);
	cr_expect_eq(resets, 0);
}

Test(acpi_pm, pm1_cnt_reads_sci_en)
{
	/* Always in ACPI mode; SLP_EN is write-only. */
	cr_expect_eq(rd16(PM1_CNT), 0x0001);
	cr_expect_eq(rd(PM1_CNT), 0x01);
	cr_expect_eq(rd(PM1_CNT + 1), 0x00);
}

Test(acpi_pm, pm1_en_reads_back)
{
	/* ACPICA probes the global lock by setting GBL_EN (bit 5). */
	cr_expect_eq(rd16(PM1_EN), 0);
	wr16(PM1_EN, 0x0020);
	cr_expect_eq(rd16(PM1_EN), 0x0020);
	wr(PM1_EN + 1, 0x01);
	cr_expect_eq(rd16(PM1_EN), 0x0120, "byte writes merge");
	cr_expect_eq(poweroffs + resets, 0);
}

Test(acpi_pm, pm1_sts_has_no_events)
{
	cr_expect_eq(rd16(PM1_STS), 0x8000, "WAK_STS only");
	wr16(PM1_STS, 0xffff); /* write-1-to-clear: nothing to clear */
	cr_expect_eq(rd16(PM1_STS), 0x8000);
	cr_expect_eq(poweroffs + resets, 0);
}

Test(acpi_pm, pm1_accesses_across_or_wider_than_a_register_are_ignored)
{
	uint8_t v[4] = { 0xff, 0xff, 0xff, 0xff };

	/* STS high byte + EN low byte: not one register */
	acpi_pm_ops.write(&pm, PM1_STS + 1, v, 2);
	acpi_pm_ops.write(&pm, PM1_STS, v, 4);
	cr_expect_eq(rd16(PM1_EN), 0);
	acpi_pm_ops.read(&pm, PM1_CNT, v, 4);
	cr_expect_eq(v[0], 0xff);
	cr_expect_eq(poweroffs + resets, 0);
}
