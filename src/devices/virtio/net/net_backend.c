// SPDX-License-Identifier: Apache-2.0
/* The backends that read and write whole frames, header included, on one
 * descriptor (a TAP, a packet socket), and the choice of backend. */
#include "devices/virtio/net/net_backend.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "config/vm_config.h"
#include "devices/virtio/net/tap.h"

uint64_t net_backend_all_offloads(void)
{
	return NET_BACKEND_OFFLOADS;
}

static int fd_send(struct net_backend *b, const struct iovec *iov, int iovcnt)
{
	return writev(b->fd, iov, iovcnt) < 0 ? -errno : 0;
}

static ssize_t fd_recv(struct net_backend *b, uint8_t *buf, size_t len)
{
	ssize_t r = read(b->fd, buf, len);

	return r < 0 ? -errno : r;
}

static int tap_activate(struct net_backend *b, uint64_t guest_features)
{
	return tap_set_offloads(b->fd, guest_features);
}

static void fd_destroy(struct net_backend *b)
{
	close(b->fd);
	free(b);
}

static const struct net_backend_ops tap_ops = {
	.kind = "tap",
	.send = fd_send,
	.recv = fd_recv,
	.activate = tap_activate,
	.destroy = fd_destroy,
};

static const struct net_backend_ops packet_ops = {
	.kind = "packet socket",
	.send = fd_send,
	.recv = fd_recv,
	.destroy = fd_destroy,
};

struct net_backend *net_backend_on_fd(int fd, int is_tap)
{
	struct net_backend *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->ops = is_tap ? &tap_ops : &packet_ops;
	b->fd = fd;
	/* a packet socket stands in for a TAP in tests: same offloads, not
	 * mirrored anywhere */
	b->features = net_backend_all_offloads();
	return b;
}

int net_backend_open(const struct net_config *n, struct net_backend **out,
		     char *err, size_t errlen)
{
	int fd;

	switch (n->backend) {
	case NET_BACKEND_PASST:
	case NET_BACKEND_SLIRP:
		return net_user_open(n, out, err, errlen);
	case NET_BACKEND_TAP:
		break;
	}
	fd = tap_open(n->host_dev_name, err, errlen);
	if (fd < 0)
		return fd;
	*out = net_backend_on_fd(fd, true);
	if (!*out) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
