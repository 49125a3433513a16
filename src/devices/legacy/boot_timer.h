/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot-time marker: when the guest's /init writes the magic byte to
 * LAYOUT_BOOT_MARKER, figment logs how long the guest took to boot since
 * the VMM process started (as Firecracker's boot timer does).
 */
#ifndef FIGMENT_DEVICES_LEGACY_BOOT_TIMER_H
#define FIGMENT_DEVICES_LEGACY_BOOT_TIMER_H

#include <stdint.h>

#include "bus/bus.h"
#include "devices/device.h"

struct boot_timer {
	uint64_t start_ns; /* CLOCK_MONOTONIC at process start */
	uint64_t guest_start_ns; /* first vCPU entry */
	uint64_t marked_ns; /* 0 until the guest writes the marker */
	int print; /* also print the line to stderr (--boot-timer) */
};

extern const struct bus_ops boot_timer_ops;
/* Its entry in the device list: no state a snapshot needs. */
extern const struct device_ops boot_timer_device_ops;

uint64_t boot_timer_now_ns(void);

#endif
