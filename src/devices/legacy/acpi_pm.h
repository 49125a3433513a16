/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ACPI hardware-reduced power registers the FADT points at: the sleep
 * control register (SLP_TYP S5 with SLP_EN = poweroff), the sleep status
 * register, and the reset register (reboot).
 */
#ifndef FIGMENT_DEVICES_LEGACY_ACPI_PM_H
#define FIGMENT_DEVICES_LEGACY_ACPI_PM_H

#include "bus/bus.h"
#include "devices/device.h"

enum acpi_pm_event { ACPI_PM_POWEROFF, ACPI_PM_RESET };

struct acpi_pm {
	void (*event)(void *opaque, enum acpi_pm_event ev);
	void *opaque;
};

/* Spans LAYOUT_PORT_ACPI_SLEEP_CTL .. LAYOUT_PORT_ACPI_RESET (3 ports). */
extern const struct bus_ops acpi_pm_ops;
/* Its entry in the device list: no state a snapshot needs. */
extern const struct device_ops acpi_pm_device_ops;

#endif
