// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for virtio-blk requests. Input: 2 bytes (options,
 * queue size exponent) then a 64 KiB guest RAM holding the rings (desc at
 * 0, avail at 0x1000, used at 0x2000) and the requests. The device is
 * reset and brought up for every input, then notified twice. Backing store:
 * a 32 KiB memfd, whose size must never change.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/blk/blk.h"
#include "devices/virtio/mmio.h"

#define RAM 0x10000
#define DISK 0x8000

#define O_INDIRECT 1
#define O_EVENT_IDX 2
#define O_RO 4

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_dev *devs[2]; /* read-write, read-only */
static int disk_fd;

/* the transport of the device under test */
static struct virtio_mmio mt;

static void wr(struct virtio_dev *dev, uint64_t off, uint32_t v)
{
	mt.dev = dev;
	virtio_mmio_write(&mt, off, (const uint8_t *)&v, 4);
}

static void init_once(void)
{
	struct drive_config d;
	char path[64], err[256];

	ram = aligned_alloc(4096, RAM);
	guest_memory_init_from(&mem, 0, ram, RAM);
	disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (disk_fd < 0 || ftruncate(disk_fd, DISK))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", disk_fd);
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "fuzz");
	d.path_on_host = path;
	d.cache_type = DRIVE_CACHE_WRITEBACK;
	for (int i = 0; i < 2; i++) {
		d.is_read_only = i;
		if (virtio_blk_create(&d, &mem, &devs[i], err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev *dev;
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	struct stat st;
	uint8_t opt;

	if (size < 2)
		return 0;
	if (!ram)
		init_once();
	opt = data[0];
	dev = devs[!!(opt & O_RO)];
	memset(ram, 0, RAM);
	memcpy(ram, data + 2, size - 2 < RAM ? size - 2 : RAM);

	wr(dev, VIRTIO_MMIO_STATUS, 0);
	wr(dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(dev, VIRTIO_MMIO_STATUS, 3);
	if (opt & O_INDIRECT)
		features |= 1ULL << 28;
	if (opt & O_EVENT_IDX)
		features |= 1ULL << 29;
	/* all the device offers of its own bits */
	features |= dev->device_features & 0xffffffULL;
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(dev, VIRTIO_MMIO_STATUS, 0xb);
	wr(dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(dev, VIRTIO_MMIO_QUEUE_NUM, 1u << (data[1] % 9));
	wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x1000);
	wr(dev, VIRTIO_MMIO_QUEUE_USED_LOW, 0x2000);
	wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(dev, VIRTIO_MMIO_STATUS, 0xf);
	wr(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_dev_notify(dev, 0);

	if (fstat(disk_fd, &st) || st.st_size != DISK)
		abort(); /* a request wrote outside the disk */
	return 0;
}
