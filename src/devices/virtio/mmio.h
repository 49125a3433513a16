/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2.2): the
 * register file a guest sees in one 4 KiB window, decoded into calls on a
 * transport-independent struct virtio_dev (virtio_dev.h). What is the
 * transport's own is here: the feature and queue selectors, and where the
 * window and its interrupt are. Accesses arrive on vCPU threads (through
 * the bus) and take the device's lock.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_MMIO_H
#define FIGMENT_DEVICES_VIRTIO_MMIO_H

#include <stdint.h>

#include <linux/virtio_mmio.h>

#include "bus/bus.h"
#include "devices/device.h"
#include "devices/virtio/virtio_dev.h"

#define VIRTIO_MMIO_MAGIC	  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR	  0x544d4746 /* "FGMT" */
#define VIRTIO_MMIO_CONFIG_OFFSET 0x100
#define VIRTIO_MMIO_WINDOW	  0x1000

_Static_assert(VIRTIO_MAX_CONFIG <= VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG_OFFSET,
	       "the largest config space fits the window");
_Static_assert(VIRTIO_INT_USED == VIRTIO_MMIO_INT_VRING &&
		       VIRTIO_INT_CONFIG == VIRTIO_MMIO_INT_CONFIG,
	       "InterruptStatus is the device's interrupt_status as it is");

struct virtio_mmio {
	struct virtio_dev *dev;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	/* Where virtio_devices.c placed the window, for its DSDT node: the
	 * guest-physical base, its GSI, and its index among the virtio
	 * devices (the node's name and _UID). */
	uint64_t mmio_base;
	uint32_t gsi;
	uint32_t index;
	/* The device list's destroy: set by whoever placed the transport
	 * (virtio_devices.c: it releases the fds it wired, then the device);
	 * NULL: just the device. */
	void (*release)(struct virtio_mmio *t);
};

/* Puts @dev behind transport @t (no window placed yet). */
void virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *dev);

/* A virtio-mmio device's entry in the device list (virtio_persist.c), on a
 * struct virtio_mmio: the transport's, the common device and queue state,
 * then the device's own (ops->save); the device's kind is checked through
 * its device id, saved with it. Its destroy is t->release. */
extern const struct device_ops virtio_mmio_device_ops;

/* The device of a device-list entry that is a virtio-mmio transport, or
 * NULL. */
struct virtio_dev *virtio_mmio_device_of(const struct device *d);

/* The device list's acpi_describe, on a struct virtio_mmio: an LNRO0005
 * node for the window at mmio_base with interrupt gsi (a window that does
 * not end below 4 GiB, or a GSI past the IOAPIC's pins marks @b invalid). */
void virtio_mmio_acpi_describe(const void *t, struct aml_buf *b);

/* Bus callbacks, on a struct virtio_mmio: register the transport with
 * bus_register(bus, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_bus_ops, t, ..).
 */
extern const struct bus_ops virtio_mmio_bus_ops;

/* The same accesses, callable directly (tests, fuzzers). @offset within
 * the window; @len 1, 2, 4 or 8; reads leave @data untouched (all-ones from
 * the bus) for anything they do not answer. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, uint8_t *data,
		      uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset,
		       const uint8_t *data, uint32_t len);

#endif
