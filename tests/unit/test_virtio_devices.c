// SPDX-License-Identifier: Apache-2.0
/* The builder helper on a real KVM VM (skipped without /dev/kvm): windows,
 * IRQs, command line, ACPI list, an ioeventfd kick through the loop. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_mmio.h>

#include "devices/virtio/virtio_devices.h"

/* a list entry that is not a virtio device, and has nothing to destroy */
static const struct device_ops test_nop_ops = { .kind = "nop" };
static struct device_list list;

static struct vm vm;
static struct event_loop el;
static struct vm_config cfg;
static struct virtio_devices vd;
static char err[256];
static char paths[3][64];

static bool kvm_setup(void)
{
	memset(&vm, 0, sizeof(vm));
	if (vm_create(&vm, "/dev/kvm", err, sizeof(err)))
		return false;
	cr_assert_eq(vm_add_memory(&vm, 16 << 20, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(event_loop_init(&el), 0);
	vm_config_init(&cfg);
	for (int i = 0; i < 3; i++) {
		int fd;

		strcpy(paths[i], "/tmp/figment-vd-XXXXXX");
		fd = mkstemp(paths[i]);
		cr_assert_geq(fd, 0);
		cr_assert_eq(ftruncate(fd, 1 << 20), 0);
		close(fd);
	}
	return true;
}

static void kvm_teardown(void)
{
	virtio_devices_destroy(&vd);
	event_loop_destroy(&el);
	vm_destroy(&vm);
	for (int i = 0; i < 3; i++)
		unlink(paths[i]);
}

static void add_drive(const char *id, int path, bool root, bool ro)
{
	struct drive_config *d = &cfg.drives[cfg.nr_drives++];

	memset(d, 0, sizeof(*d));
	strcpy(d->id, id);
	d->path_on_host = paths[path];
	d->is_root_device = root;
	d->is_read_only = ro;
}

Test(virtio_devices, create_and_destroy, .timeout = 20)
{
	uint32_t v = 0;

	if (!kvm_setup()) {
		cr_skip_test("no usable /dev/kvm: %s", err);
	}
	add_drive("data", 0, false, false);
	add_drive("root", 1, true, true);
	cfg.entropy = true;
	memset(&list, 0, sizeof(list));
	cr_assert_eq(device_list_add(&list, &test_nop_ops, NULL, "x"), 0);
	cr_assert_eq(virtio_devices_create(&vd, &vm, &el, &cfg, &list, err,
					   sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd.nr, 3);
	/* each slot is in the VM's device list, drives by their id */
	cr_assert_eq(list.nr, 4);
	cr_assert_str_eq(list.items[1].name, "drive 'root'");
	cr_assert_str_eq(list.items[2].name, "drive 'data'");
	cr_assert_str_eq(list.items[3].name, "virtio-rng");
	cr_assert_eq(device_list_find(&list, "drive", "data"), &list.items[2]);
	cr_assert_eq(virtio_mmio_device_of(&list.items[2]), vd.slots[1].dev);
	cr_assert_null(device_list_find(&list, "drive", "rng"));
	cr_assert_null(virtio_mmio_device_of(&list.items[0]));
	cr_assert_str_eq(vd.cmdline_devices,
			 "virtio_mmio.device=4K@0xd0001000:5 "
			 "virtio_mmio.device=4K@0xd0002000:6 "
			 "virtio_mmio.device=4K@0xd0003000:7");
	cr_assert_str_eq(vd.cmdline_root, "root=/dev/vda ro");
	for (int i = 0; i < 3; i++) {
		/* where each transport sits, for its DSDT node */
		cr_assert_eq(vd.slots[i].mmio.mmio_base,
			     0xd0001000ULL + 0x1000ULL * (uint64_t)i);
		cr_assert_eq(vd.slots[i].mmio.gsi, 5u + (uint32_t)i);
		cr_assert_eq(vd.slots[i].mmio.index, (uint32_t)i);
	}
	/* the root drive sits in the first window, the rng in the last */
	cr_assert(bus_read(&vm.mmio, 0xd0001000 + VIRTIO_MMIO_DEVICE_ID,
			   (uint8_t *)&v, 4));
	cr_assert_eq(v, 2);
	cr_assert(bus_read(&vm.mmio, 0xd0003000 + VIRTIO_MMIO_DEVICE_ID,
			   (uint8_t *)&v, 4));
	cr_assert_eq(v, 4);
	/* a device that stops at its per-notification budget kicks its
	 * queue again through the queue's ioeventfd */
	for (int i = 0; i < 3; i++) {
		uint64_t count = 0;

		pthread_mutex_lock(&vd.slots[i].dev->lock);
		virtio_dev_notify_later(vd.slots[i].dev, 0);
		pthread_mutex_unlock(&vd.slots[i].dev->lock);
		cr_assert_eq(read(vd.slots[i].notifiers[0].fd, &count,
				  sizeof(count)),
			     sizeof(count));
		cr_assert_eq(count, 1);
	}
	/* teardown is the device list's: every slot is released */
	device_list_destroy(&list);
	cr_assert_eq(list.nr, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_null(vd.slots[i].dev);
	virtio_devices_destroy(&vd);
	cr_assert_eq(vd.nr, 0);
	virtio_devices_destroy(&vd); /* twice is fine */
	kvm_teardown();
}

Test(virtio_devices, failure_leaves_nothing, .timeout = 20)
{
	int before;

	if (!kvm_setup()) {
		cr_skip_test("no usable /dev/kvm: %s", err);
	}
	before = vm.mmio.nr_ranges;
	add_drive("a", 0, true, false);
	add_drive("b", 1, false, false);
	cfg.drives[1].path_on_host = "/nonexistent/x.img";
	cr_assert_lt(virtio_devices_create(&vd, &vm, &el, &cfg, NULL,
					   err, sizeof(err)), 0);
	cr_assert(strstr(err, "drive 'b'"), "%s", err);
	cr_assert_eq(vm.mmio.nr_ranges, before);
	cr_assert_eq(vd.nr, 0);
	kvm_teardown();
}

Test(virtio_devices, no_devices)
{
	if (!kvm_setup()) {
		cr_skip_test("no usable /dev/kvm: %s", err);
	}
	cr_assert_eq(virtio_devices_create(&vd, &vm, &el, &cfg, NULL,
					   err, sizeof(err)), 0);
	cr_assert_eq(vd.nr, 0);
	cr_assert_str_eq(vd.cmdline_devices, "");
	cr_assert_str_eq(vd.cmdline_root, "");
	kvm_teardown();
}

Test(virtio_devices, root_partuuid, .timeout = 20)
{
	if (!kvm_setup()) {
		cr_skip_test("no usable /dev/kvm: %s", err);
	}
	add_drive("root", 0, true, false);
	cfg.drives[0].partuuid = "0eaa91a0-01";
	cr_assert_eq(virtio_devices_create(&vd, &vm, &el, &cfg, NULL,
					   err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(vd.cmdline_root, "root=PARTUUID=0eaa91a0-01 rw");
	kvm_teardown();
}

/* The ioeventfds stay registered with KVM until the VM goes away, so a
 * failed create is followed by vm_destroy(), as here. */
Test(virtio_devices, root_partuuid_refused, .timeout = 20)
{
	if (!kvm_setup()) {
		cr_skip_test("no usable /dev/kvm: %s", err);
	}
	add_drive("root", 0, true, false);
	cfg.drives[0].partuuid = "x init=/bin/sh";
	cr_assert_lt(virtio_devices_create(&vd, &vm, &el, &cfg, NULL,
					   err, sizeof(err)), 0);
	cr_assert(strstr(err, "partuuid"), "%s", err);
	kvm_teardown();
}
