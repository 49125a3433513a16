/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ACPI power registers, LAYOUT_PORT_ACPI_SLEEP_CTL ..
 * + LAYOUT_ACPI_PM_PORTS (see arch/x86/layout.h):
 *  - the PM1 event block (PM1_STS, PM1_EN) and control block (PM1_CNT) the
 *    FADT points at: SLP_TYP S5 with SLP_EN written to PM1_CNT = poweroff;
 *  - the reset register the FADT points at (reboot);
 *  - the hardware-reduced sleep control and status registers, which the
 *    FADT no longer names but simple guests (tests/guests) still write.
 */
#ifndef FIGMENT_DEVICES_LEGACY_ACPI_PM_H
#define FIGMENT_DEVICES_LEGACY_ACPI_PM_H

#include <stdint.h>

#include "bus/bus.h"
#include "devices/device.h"

enum acpi_pm_event { ACPI_PM_POWEROFF, ACPI_PM_RESET };

struct acpi_pm {
	void (*event)(void *opaque, enum acpi_pm_event ev);
	void *opaque;
	/* PM1_EN as the guest last wrote it. Nothing acts on it (the VMM
	 * raises no fixed events); it reads back so that ACPICA's probe of
	 * the global lock enable bit succeeds. */
	uint16_t pm1_en;
};

extern const struct bus_ops acpi_pm_ops;
/* Its entry in the device list. PM1_EN is not saved: the guest reads it
 * back only at boot, and nothing depends on its value afterwards. */
extern const struct device_ops acpi_pm_device_ops;

#endif
