/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The builder's view of virtio: one call creates every virtio-mmio device a
 * vm_config asks for, wires it into the VM (MMIO bus, irqfd, ioeventfds on
 * the VMM thread's event loop) and says how the guest finds it.
 *
 * Order (fixed, and the same on the command line and in the DSDT): the root
 * drive first, then the other drives in configuration order, then the rng.
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
struct virtio_notifier {
	struct virtio_mmio_dev *dev;
	unsigned int qidx;
	int fd;
	bool in_loop;
};

struct virtio_slot {
	struct virtio_mmio_dev *dev;
	int irq_fd;
	int nr_notifiers;
	bool limit_in_loop; /* dev->limit_timer_fd is on the event loop */
	struct virtio_notifier notifiers[VIRTIO_MMIO_MAX_QUEUES];
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
 * to @el (handler: drain the eventfd, virtio_mmio_notify()). @vm and @el
 * must outlive @vd. Call before any vCPU runs.
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
			  char *err, size_t errlen);

/*
 * Removes the ioeventfds from the event loop, closes the eventfds and frees
 * the devices. Call after the vCPU threads have been joined and the event
 * loop has stopped, before event_loop_destroy() and vm_destroy() (the bus
 * keeps pointers to the devices; nothing may dispatch on it afterwards).
 * Safe on a zeroed or already destroyed @vd.
 */
void virtio_devices_destroy(struct virtio_devices *vd);

#endif
