// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/acpi_pm.h"

#include "arch/x86/layout.h"

/* Hardware-reduced sleep control and status registers (8 bits). */
#define SLP_EN 0x20
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK 0x7
#define WAK_STS 0x80

/* PM1 registers (16 bits, ACPI 6.5 4.8.3): the same fields, one byte up. */
#define PM1_STS_WAK 0x8000
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN 0x2000

#define OFF(port) ((port) - LAYOUT_PORT_ACPI_SLEEP_CTL)
#define PM1_STS OFF(LAYOUT_PORT_ACPI_PM1_EVT)
#define PM1_EN (PM1_STS + 2)
#define PM1_CNT OFF(LAYOUT_PORT_ACPI_PM1_CNT)

_Static_assert(OFF(LAYOUT_PORT_ACPI_PM1_CNT) + 2 <= LAYOUT_ACPI_PM_PORTS &&
		       OFF(LAYOUT_PORT_ACPI_PM1_EVT) + 4 <=
			       OFF(LAYOUT_PORT_ACPI_PM1_CNT) &&
		       OFF(LAYOUT_PORT_ACPI_RESET) <
			       OFF(LAYOUT_PORT_ACPI_PM1_EVT),
	       "the registers fit the device's ports and do not overlap");

/*
 * The 16-bit PM1 register that the access at @off of @len bytes falls in,
 * as its offset; -1 when the access is not inside one (ACPICA uses word
 * accesses, byte accesses work too).
 */
static int pm1_reg(uint64_t off, uint32_t len)
{
	static const uint64_t regs[] = { PM1_STS, PM1_EN, PM1_CNT };

	if (len != 1 && len != 2)
		return -1;
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		if (off >= regs[i] && off + len <= regs[i] + 2)
			return (int)regs[i];
	}
	return -1;
}

static uint16_t pm1_read(const struct acpi_pm *pm, int reg)
{
	switch (reg) {
	case PM1_STS:
		/* No event pending; awake, as the sleep status register. */
		return PM1_STS_WAK;
	case PM1_EN:
		return pm->pm1_en;
	default:
		/* Always in ACPI mode (the FADT has no SMI command port). */
		return PM1_CNT_SCI_EN;
	}
}

static void pm1_write(struct acpi_pm *pm, int reg, uint16_t v)
{
	switch (reg) {
	case PM1_STS:
		break; /* write-1-to-clear, and nothing is ever set */
	case PM1_EN:
		pm->pm1_en = v;
		break;
	default:
		if ((v & PM1_CNT_SLP_EN) &&
		    ((v >> PM1_CNT_SLP_TYP_SHIFT) & SLP_TYP_MASK) ==
			    LAYOUT_ACPI_S5_TYPE)
			pm->event(pm->opaque, ACPI_PM_POWEROFF);
		break;
	}
}

static void acpi_pm_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	const struct acpi_pm *pm = dev;
	int reg = pm1_reg(off, len);

	if (reg >= 0) {
		unsigned int shift = 8 * (unsigned int)(off - (uint64_t)reg);
		uint16_t v = pm1_read(pm, reg);

		for (uint32_t i = 0; i < len; i++, shift += 8)
			data[i] = (uint8_t)(v >> shift);
		return;
	}
	if (len != 1)
		return;
	/* Sleep status: awake (WAK_STS set) so a guest polling it moves on. */
	data[0] = off == OFF(LAYOUT_PORT_ACPI_SLEEP_STS) ? WAK_STS : 0;
}

static void acpi_pm_write(void *dev, uint64_t off, const uint8_t *data,
			  uint32_t len)
{
	struct acpi_pm *pm = dev;
	int reg = pm1_reg(off, len);
	uint8_t v = data[0];

	if (reg >= 0) {
		/* A byte write keeps the register's other byte as it reads. */
		unsigned int shift = 8 * (unsigned int)(off - (uint64_t)reg);
		uint16_t cur = pm1_read(pm, reg);

		for (uint32_t i = 0; i < len; i++, shift += 8)
			cur = (uint16_t)((cur & ~(0xffu << shift)) |
					 (unsigned int)data[i] << shift);
		pm1_write(pm, reg, cur);
		return;
	}
	if (len != 1)
		return;
	switch (off + LAYOUT_PORT_ACPI_SLEEP_CTL) {
	case LAYOUT_PORT_ACPI_SLEEP_CTL:
		if ((v & SLP_EN) &&
		    ((v >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == LAYOUT_ACPI_S5_TYPE)
			pm->event(pm->opaque, ACPI_PM_POWEROFF);
		break;
	case LAYOUT_PORT_ACPI_RESET:
		if (v == LAYOUT_ACPI_RESET_VALUE)
			pm->event(pm->opaque, ACPI_PM_RESET);
		break;
	}
}

const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

const struct device_ops acpi_pm_device_ops = {
	.kind = "acpi-pm",
};
