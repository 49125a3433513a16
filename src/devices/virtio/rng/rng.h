/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (device id 4): one request queue; each chain's device-writable
 * buffers are filled from getrandom(2), at most VIRTIO_RNG_MAX_PER_CHAIN
 * bytes per chain, and at most a queue's worth of chains per notification
 * (virtio_dev_notify_later()), so one notification costs the VMM a bounded
 * amount of work. Readable buffers in a chain are ignored.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_RNG_RNG_H
#define FIGMENT_DEVICES_VIRTIO_RNG_RNG_H

#include "devices/virtio/virtio_dev.h"
#include "vstate/memory.h"

#define VIRTIO_RNG_QUEUE_SIZE	 256
#define VIRTIO_RNG_MAX_PER_CHAIN (64 * 1024)

/* Creates the device over @mem (which must outlive it); stores it in *@out
 * (free with virtio_dev_destroy()). Returns 0 or a negative errno. */
int virtio_rng_create(const struct guest_memory *mem,
		      struct virtio_dev **out);

#endif
