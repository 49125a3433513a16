// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net against a hostile guest and a hostile backend: the input is
 * guest RAM (rings, descriptors, headers), negotiated features, and frames
 * the "TAP" (a SOCK_SEQPACKET pair) delivers. Transmit and receive both
 * run; anything that reaches the backend must be a header plus at most
 * VIRTIO_NET_MAX_FRAME bytes, and the device never crashes or reads out of
 * guest RAM (ASan). The metadata service is on (at 0.0.0.0 here, so
 * zeroed frames reach it too), as it is in front of any backend.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/net/net.h"
#include "mmds/mmds.h"
#include "support/virtio_fuzz_driver.h"
#include "support/virtio_test_host.h"

#define RAM (1u << 18)

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_mmio mt;

static void wr(uint64_t off, uint32_t v)
{
	virtio_fuzz_wr(&mt, off, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 64];
	struct net_config n = { .id = "fuzz" };
	struct virtio_test_host th;
	struct virtio_dev *dev;
	struct mmds *m;
	char err[256];
	int sv[2];
	ssize_t got;

	if (size < 12)
		return 0;
	m = mmds_create(0);
	if (!ram) {
		ram = aligned_alloc(4096, RAM);
		guest_memory_init_from(&mem, 0, ram, RAM);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
		abort();
	if (virtio_net_create_on(&n, sv[0], false, &mem, &dev, err,
				 sizeof(err)))
		abort();
	if (!m || virtio_net_enable_mmds(dev, m, 0))
		abort();
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
	memset(ram, 0, RAM);
	memcpy(ram, data + 12, size - 12 < RAM ? size - 12 : RAM);

	/* data[0..7]: the driver's features; data[8..9]: queue sizes */
	virtio_fuzz_bring_up(&mt, dev, data, 2);

	/* the backend delivers frames of the sizes data[10..11] say, from
	 * tiny (shorter than a header) to the largest */
	for (int i = 0; i < 3; i++) {
		size_t len = ((size_t)data[10 + (i & 1)] << 8 | data[11]) % sizeof(frame);

		memset(frame, i, len);
		if (len)
			send(sv[1], frame, len, 0);
	}
	virtio_test_host_fire(&th, dev, sv[0]);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* transmit */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* receive buffers */
	while ((got = recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT)) >= 0)
		if (got < VIRTIO_NET_HDR_LEN ||
		    got > VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)
			abort();
	wr(VIRTIO_MMIO_STATUS, 0); /* reset with whatever is in flight */
	virtio_dev_destroy(dev);
	mmds_destroy(m);
	close(sv[1]);
	return 0;
}
