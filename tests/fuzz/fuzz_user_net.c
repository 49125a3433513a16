// SPDX-License-Identifier: Apache-2.0
/*
 * The user-mode backends' framing against a hostile peer (passt or
 * figment-slirp gone wrong): the input is the byte stream the peer sends,
 * cut into writes where data[0] says. Every frame the backend hands on
 * is a zero header plus 1..VIRTIO_NET_MAX_FRAME bytes; a bad length ends the
 * stream; nothing crashes or reads past its buffers (ASan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net/net.h"
#include "devices/virtio/net/net_backend.h"

static void drain(struct net_backend *b, uint8_t *buf, size_t len)
{
	ssize_t r;

	while ((r = b->ops->recv(b, buf, len)) > 0) {
		if (r <= VIRTIO_NET_HDR_LEN ||
		    r > VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)
			abort();
		for (int i = 0; i < VIRTIO_NET_HDR_LEN; i++)
			if (buf[i])
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME];
	struct net_backend *b;
	size_t at = 1, cut;
	int sv[2];

	if (size < 1)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	b = net_user_on_fd(sv[0], "fuzz", "fuzz");
	if (!b)
		abort();
	cut = (size_t)data[0] * 7 + 1;
	while (at < size) {
		size_t n = size - at < cut ? size - at : cut;
		ssize_t w = write(sv[1], data + at, n);

		if (w <= 0)
			break;
		at += (size_t)w;
		drain(b, buf, sizeof(buf));
	}
	drain(b, buf, sizeof(buf));
	net_backend_destroy(b);
	close(sv[1]);
	return 0;
}
