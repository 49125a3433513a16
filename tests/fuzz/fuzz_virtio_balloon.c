// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon against a hostile guest: the input is the balloon's
 * configuration (which queues exist), the driver's features, queue sizes,
 * what it writes into config space (actual, poison), the host's calls
 * (target, statistics interval, a hinting run) and guest RAM (the rings,
 * PFN arrays, statistics buffers, reported and hinted ranges). Every queue
 * is served, the statistics timer fires, the state goes through a snapshot
 * into a second device and back, and a reset ends it; the device never
 * crashes, reads outside guest RAM (ASan), holds more pages than there
 * are, restores other than it saved, or keeps pages past a reset.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/mmio.h"
#include "persist/snapshot_file.h"
#include "support/virtio_fuzz_driver.h"
#include "support/virtio_test_host.h"

#define RAM  (1u << 18)
#define HEAD 20 /* bytes of the input before guest RAM */

static uint8_t *ram;
static struct guest_memory mem;

static void wr(struct virtio_mmio *mt, uint64_t off, uint32_t v)
{
	virtio_fuzz_wr(mt, off, v);
}

static struct virtio_dev *make(const struct balloon_config *c,
			       struct virtio_mmio *mt,
			       struct virtio_test_host *th)
{
	struct virtio_dev *dev;
	char err[256];

	if (virtio_balloon_create(c, &mem, &dev, err, sizeof(err)))
		abort();
	virtio_mmio_init(mt, dev);
	virtio_test_host_attach(th, dev);
	return dev;
}

static void serve_all(struct virtio_mmio *mt, struct virtio_dev *dev)
{
	for (unsigned q = 0; q < dev->ops->nr_queues; q++)
		wr(mt, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct balloon_config c = { .present = true };
	struct virtio_test_host th, th2;
	struct virtio_mmio mt, mt2;
	struct virtio_dev *dev, *dev2;
	struct snap_buf b, rb;
	char err[256];
	uint64_t held;

	if (size < HEAD)
		return 0;
	if (!ram) {
		ram = aligned_alloc(4096, RAM);
		guest_memory_init_from(&mem, 0, ram, RAM);
	}
	/* data[13]: the configuration */
	c.stats_interval_s = data[13] & 1;
	c.free_page_hinting = data[13] & 2;
	c.free_page_reporting = data[13] & 4;
	c.deflate_on_oom = data[13] & 8;
	dev = make(&c, &mt, &th);
	memset(ram, 0, RAM);
	memcpy(ram, data + HEAD, size - HEAD < RAM ? size - HEAD : RAM);

	/* data[0..7] features, data[8..12] queue sizes */
	virtio_fuzz_bring_up(&mt, dev, data, dev->ops->nr_queues);
	/* data[14..15]: config writes (actual, poison), any offset */
	wr(&mt, VIRTIO_MMIO_CONFIG + (data[14] & 15), data[15]);
	if (data[16] & 1)
		virtio_balloon_hint_start(dev, data[16] & 2, err, sizeof(err));
	serve_all(&mt, dev);
	virtio_test_host_fire(&th, dev, virtio_balloon_stats_timer_fd(dev));
	virtio_balloon_set_target(dev, data[17], err, sizeof(err));
	virtio_balloon_set_stats_interval(dev, data[18], err, sizeof(err));
	serve_all(&mt, dev); /* the same rings again: double inflates */
	if (data[16] & 4)
		virtio_balloon_hint_stop(dev, err, sizeof(err));
	held = virtio_balloon_held_pages(dev);
	if (held > RAM / 4096)
		abort();

	/* a snapshot: the second device restores exactly what was held */
	snap_buf_init_write(&b);
	if (virtio_mmio_device_ops.save(&mt, &b))
		abort();
	dev2 = make(&c, &mt2, &th2);
	snap_buf_init_read(&rb, b.p, b.len);
	if (virtio_mmio_device_ops.restore(&mt2, &rb) ||
	    virtio_balloon_held_pages(dev2) != held)
		abort();
	snap_buf_free(&b);
	serve_all(&mt2, dev2);
	virtio_test_host_fire(&th2, dev2, virtio_balloon_stats_timer_fd(dev2));
	/* a cut or flipped state is refused or restored, never a crash */
	{
		struct virtio_mmio mt3;
		struct virtio_test_host th3;
		struct virtio_dev *dev3 = make(&c, &mt3, &th3);
		uint8_t state[4096];
		size_t n;

		snap_buf_init_write(&b);
		if (virtio_mmio_device_ops.save(&mt2, &b))
			abort();
		n = b.len < sizeof(state) ? b.len : sizeof(state);
		memcpy(state, b.p, n);
		state[data[19] % n] ^= (uint8_t)(data[18] | 1);
		snap_buf_init_read(&rb, state, (data[19] & 1) ? n : n / 2);
		virtio_mmio_device_ops.restore(&mt3, &rb);
		if (virtio_balloon_held_pages(dev3) > RAM / 4096)
			abort();
		snap_buf_free(&b);
		virtio_dev_destroy(dev3);
	}

	/* a reset: the guest owns every page again */
	wr(&mt2, VIRTIO_MMIO_STATUS, 0);
	wr(&mt, VIRTIO_MMIO_STATUS, 0);
	if (virtio_balloon_held_pages(dev) || virtio_balloon_held_pages(dev2))
		abort();
	virtio_dev_destroy(dev2);
	virtio_dev_destroy(dev);
	return 0;
}
