/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver side of the virtio fuzzers: bring a device up through its
 * MMIO registers with the features and queue sizes the input chose.
 */
#ifndef FIGMENT_TESTS_VIRTIO_FUZZ_DRIVER_H
#define FIGMENT_TESTS_VIRTIO_FUZZ_DRIVER_H

#include <stdint.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/mmio.h"

static inline void virtio_fuzz_wr(struct virtio_mmio *mt, uint64_t off,
				  uint32_t v)
{
	virtio_mmio_write(mt, off, (const uint8_t *)&v, 4);
}

/*
 * Negotiates data[0..7] of what @dev offers (VERSION_1 always), sets up
 * @nr_queues queues of 2^(data[8 + q] % 9) entries with their rings at
 * 0x4000 * q (descriptors, then avail at +0x1000, used at +0x2000), and
 * sets DRIVER_OK. @data holds at least 8 + @nr_queues bytes.
 */
static inline void virtio_fuzz_bring_up(struct virtio_mmio *mt,
					struct virtio_dev *dev,
					const uint8_t *data,
					uint32_t nr_queues)
{
	uint64_t features;

	memcpy(&features, data, 8);
	features = (features & dev->device_features) |
		   (1ULL << VIRTIO_F_VERSION_1);
	virtio_fuzz_wr(mt, VIRTIO_MMIO_STATUS, 1);
	virtio_fuzz_wr(mt, VIRTIO_MMIO_STATUS, 3);
	virtio_fuzz_wr(mt, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_fuzz_wr(mt, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	virtio_fuzz_wr(mt, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_fuzz_wr(mt, VIRTIO_MMIO_DRIVER_FEATURES,
		       (uint32_t)(features >> 32));
	virtio_fuzz_wr(mt, VIRTIO_MMIO_STATUS, 0xb);
	for (uint32_t q = 0; q < nr_queues; q++) {
		virtio_fuzz_wr(mt, VIRTIO_MMIO_QUEUE_SEL, q);
		virtio_fuzz_wr(mt, VIRTIO_MMIO_QUEUE_NUM,
			       1u << (data[8 + q] % 9));
		virtio_fuzz_wr(mt, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x4000 * q);
		virtio_fuzz_wr(mt, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
			       0x4000 * q + 0x1000);
		virtio_fuzz_wr(mt, VIRTIO_MMIO_QUEUE_USED_LOW,
			       0x4000 * q + 0x2000);
		virtio_fuzz_wr(mt, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	virtio_fuzz_wr(mt, VIRTIO_MMIO_STATUS, 0xf);
}

#endif
