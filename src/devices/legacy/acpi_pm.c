// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/acpi_pm.h"

#include "arch/x86/layout.h"

#define SLP_EN 0x20
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK 0x7
#define WAK_STS 0x80

static void acpi_pm_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	if (len != 1)
		return;
	/* Sleep status: awake (WAK_STS set) so a guest polling it moves on. */
	data[0] = off == LAYOUT_PORT_ACPI_SLEEP_STS - LAYOUT_PORT_ACPI_SLEEP_CTL ?
			  WAK_STS : 0;
}

static void acpi_pm_write(void *dev, uint64_t off, const uint8_t *data,
			  uint32_t len)
{
	struct acpi_pm *pm = dev;
	uint8_t v = data[0];

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
