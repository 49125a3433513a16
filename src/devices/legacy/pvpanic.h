/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvpanic: one I/O port through which a guest kernel says it panicked
 * (bit 0) or that a crash kernel is loaded (bit 1). Reading it returns the
 * events the device supports.
 */
#ifndef FIGMENT_DEVICES_LEGACY_PVPANIC_H
#define FIGMENT_DEVICES_LEGACY_PVPANIC_H

#include "bus/bus.h"
#include "devices/device.h"

#define PVPANIC_PANICKED 0x1
#define PVPANIC_CRASH_LOADED 0x2

struct pvpanic {
	void (*panicked)(void *opaque); /* called on a PANICKED write */
	void *opaque;
};

extern const struct bus_ops pvpanic_ops;
/* Its entry in the device list: no state a snapshot needs; its DSDT node
 * (QEMU0001). */
extern const struct device_ops pvpanic_device_ops;

#endif
