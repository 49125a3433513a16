// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the virtio-mmio transport. Input: byte 0 picks the
 * device (rng, or blk over a memfd), then a sequence of operations, each an
 * opcode byte and 10 argument bytes: register reads and writes at any
 * offset and width, notifications, pokes into guest RAM, a canned driver
 * bring-up, reset. Checks the status invariants after every step.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/blk/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/rng/rng.h"

#define RAM 0x10000
#define OP_SIZE 11

static uint8_t *ram;
static struct guest_memory mem;
static char disk_path[64];

static void init_once(void)
{
	int fd;

	ram = aligned_alloc(4096, RAM);
	guest_memory_init_from(&mem, 0, ram, RAM);
	fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0x8000))
		abort();
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", fd);
}

/* the transport of the device under test */
static struct virtio_mmio mt;

static void wr(struct virtio_dev *dev, uint64_t off, uint32_t v)
{
	mt.dev = dev;
	virtio_mmio_write(&mt, off, (const uint8_t *)&v, 4);
}

static void bring_up(struct virtio_dev *dev, const uint8_t *a)
{
	uint32_t lo, hi;

	memcpy(&lo, a, 4);
	memcpy(&hi, a + 4, 4);
	wr(dev, VIRTIO_MMIO_STATUS, 0);
	wr(dev, VIRTIO_MMIO_STATUS, 1);
	wr(dev, VIRTIO_MMIO_STATUS, 3);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, lo);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, hi | 1); /* VERSION_1 */
	wr(dev, VIRTIO_MMIO_STATUS, 0xb);
	wr(dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(dev, VIRTIO_MMIO_QUEUE_NUM, 1u << (a[8] % 9));
	wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x1000 + (a[9] & 1));
	wr(dev, VIRTIO_MMIO_QUEUE_USED_LOW, 0x2000);
	wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(dev, VIRTIO_MMIO_STATUS, 0xf);
}

static void check(const struct virtio_dev *dev)
{
	uint32_t s = dev->status;

	if ((s & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(s & VIRTIO_CONFIG_S_FEATURES_OK))
		abort();
	if ((s & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((dev->driver_features & ~dev->device_features) ||
	     !(dev->driver_features & (1ULL << VIRTIO_F_VERSION_1))))
		abort();
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq *q = &dev->queues[i];

		if (i >= dev->ops->nr_queues && (q->ready || q->max_size))
			abort();
		if (q->ready && (q->size == 0 || q->size > q->max_size ||
				 (q->size & (q->size - 1))))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[] = { 1, 2, 4, 8 };
	struct virtio_dev *dev = NULL;
	char err[256];

	if (size < 1)
		return 0;
	if (!ram)
		init_once();
	memset(ram, 0, RAM);
	if (data[0] & 1) {
		struct drive_config d;

		memset(&d, 0, sizeof(d));
		strcpy(d.id, "fuzz");
		d.path_on_host = disk_path;
		d.is_read_only = data[0] & 2;
		if (virtio_blk_create(&d, &mem, &dev, err, sizeof(err)))
			abort();
	} else if (virtio_rng_create(&mem, &dev)) {
		abort();
	}
	virtio_mmio_init(&mt, dev);
	data++;
	size--;
	for (; size >= OP_SIZE; data += OP_SIZE, size -= OP_SIZE) {
		const uint8_t *a = data + 1;
		uint8_t buf[8];
		uint16_t off;
		uint32_t v;

		memcpy(&off, a, 2);
		memcpy(&v, a + 2, 4);
		switch (data[0] % 8) {
		case 0: /* read anywhere */
			memset(buf, 0xff, sizeof(buf));
			virtio_mmio_read(&mt, off & 0xfff, buf,
					 widths[(data[0] >> 3) & 3]);
			break;
		case 1: /* 32-bit register write */
			wr(dev, off & 0xfc, v);
			break;
		case 2: /* write anywhere, any width */
			memcpy(buf, a + 2, 8);
			virtio_mmio_write(&mt, off & 0xfff, buf,
					  widths[(data[0] >> 3) & 3]);
			break;
		case 3:
			virtio_dev_notify(dev, v % 4);
			break;
		case 4: /* the guest writes its RAM */
			memcpy(ram + (off % (RAM - 8)), a + 2, 8);
			break;
		case 5:
			bring_up(dev, a);
			break;
		case 6:
			wr(dev, VIRTIO_MMIO_STATUS, 0);
			break;
		case 7:
			wr(dev, VIRTIO_MMIO_INTERRUPT_ACK, v);
			break;
		}
		check(dev);
	}
	virtio_dev_destroy(dev);
	return 0;
}
