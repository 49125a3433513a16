// SPDX-License-Identifier: Apache-2.0
/* The ACPI hardware-reduced sleep and reset registers. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "devices/legacy/acpi_pm.h"

#define CTL (LAYOUT_PORT_ACPI_SLEEP_CTL - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define STS (LAYOUT_PORT_ACPI_SLEEP_STS - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define RST (LAYOUT_PORT_ACPI_RESET - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define SLP_EN 0x20
#define SLP_TYP(t) ((uint8_t)((t) << 2))

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
