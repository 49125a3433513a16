/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The builder's view of virtio: one call creates every virtio-mmio device a
 * vm_config asks for, wires it into the VM (MMIO bus, irqfd, ioeventfds on
 * the VMM thread's event loop) and says how the guest finds it.
 *
 * Order (fixed, and the same on the command line and in the DSDT): the root
 * drive first, then the other drives in configuration order, the network
 * interfaces, the rng, then vsock, then the balloon (last, so that the
 * others keep their places with or without them: snapshots stay
 * restorable).
 * Device i gets the window LAYOUT_VIRTIO_MMIO_BASE + i *
 * LAYOUT_VIRTIO_MMIO_SIZE and IRQ LAYOUT_VIRTIO_IRQ_BASE + i. virtio_mmio
 * registers command-line devices in the order given and virtio_blk names disks
 * vda, vdb, ... in probe order, so the root drive is /dev/vda and the k-th
 * other drive is the (k+1)-th letter. With ACPI-described devices and modular
 * drivers (Debian's cloud kernel) the probe order follows the DSDT, which is
 * the same order.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_VIRTIO_DEVICES_H
#define FIGMENT_DEVICES_VIRTIO_VIRTIO_DEVICES_H

#include <stddef.h>

#include "arch/x86/layout.h"
#include "config/vm_config.h"
#include "devices/virtio/mmio.h"
#include "util/event_loop.h"
#include "vstate/vm.h"

#define VIRTIO_DEVICES_CMDLINE_MAX 1024

/* One queue's ioeventfd and the device it kicks (the handler's opaque). */
struct virtio_slot;

/* One queue's notification: the ioeventfd KVM signals on a QueueNotify
 * write for that queue. */
struct virtio_notifier {
	struct virtio_slot *slot;
	unsigned int qidx;
	int fd;
	bool in_loop;
};

/* An fd the device watches while it is active (virtio_dev_watch()). */
struct virtio_watched {
	struct virtio_slot *slot;
	int fd;
	virtio_watch_fn fn;
};

/* A virtio device, its MMIO transport and its environment (the host ops
 * of virtio_dev.h): interrupt, notifiers, the sync eventfd through which
 * a vCPU thread's DRIVER_OK or reset reaches the VMM thread, and the fds
 * the device watches. */
struct virtio_slot {
	struct virtio_devices *vd;
	struct virtio_dev *dev;
	struct virtio_mmio mmio;
	int irq_fd;
	int sync_fd; /* -1: none */
	bool sync_in_loop;
	int nr_notifiers;
	bool limit_in_loop; /* dev->limit_timer_fd is on the event loop */
	struct virtio_notifier notifiers[VIRTIO_MAX_QUEUES];
	int nr_watched;
	struct virtio_watched watched[VIRTIO_MAX_WATCHED_FDS];
};

struct virtio_devices {
	struct event_loop *el;
	int nr;
	struct virtio_slot slots[LAYOUT_VIRTIO_MAX_DEVICES];
	/* "virtio_mmio.device=4K@0xd0001000:5 ..." (the minimal kernel; empty
	 * when there are no devices) */
	char cmdline_devices[VIRTIO_DEVICES_CMDLINE_MAX];
	/* "root=/dev/vda rw" (or "ro"), "root=PARTUUID=<partuuid> rw" when
	 * the root drive has a partuuid; empty when no drive is root */
	char cmdline_root[128];
};

/*
 * Creates the devices of @cfg (drives, then rng if cfg->entropy) on @vm:
 * each is registered on vm->mmio, gets an eventfd wired to its IRQ with
 * vm_irqfd() and one ioeventfd per queue on its QueueNotify register
 * (datamatch = queue index) with vm_ioeventfd(), which this function adds
 * to @el (handler: drain the eventfd, virtio_dev_notify()), and a sync
 * eventfd on @el that runs the device's activation (virtio_dev_sync()).
 * With @list (may be NULL), each device is appended to it, drives named by
 * their id in group "drive", and the list's destroy releases the slot.
 * @vm and @el must outlive @vd. Call before any vCPU runs.
 * Returns 0, or a negative errno with a reason in @err (-E2BIG: more
 * devices than LAYOUT_VIRTIO_MAX_DEVICES; -EINVAL: a root partuuid that is
 * not hex digits and dashes); on error nothing is left registered on the
 * bus or the loop and @vd needs no destroy. KVM keeps the ioeventfds it
 * was given until the VM is destroyed (vm.h has no deassign), so after an
 * error, or after virtio_devices_destroy(), the VM is not reused for
 * another virtio_devices_create(): destroy it.
 */
int virtio_devices_create(struct virtio_devices *vd, struct vm *vm,
			  struct event_loop *el, const struct vm_config *cfg,
			  struct device_list *list, char *err, size_t errlen);

/*
 * Removes the ioeventfds from the event loop, closes the eventfds and frees
 * the devices. Call after the vCPU threads have been joined and the event
 * loop has stopped, before event_loop_destroy() and vm_destroy() (the bus
 * keeps pointers to the devices; nothing may dispatch on it afterwards).
 * Safe on a zeroed or already destroyed @vd.
 */
void virtio_devices_destroy(struct virtio_devices *vd);

#endif
