/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host end of a virtio-net interface: where the frames the guest sends
 * go and where the frames it receives come from. Frames cross this
 * interface with their 12-byte virtio-net header (struct
 * virtio_net_hdr_v1) in front, both ways.
 *
 *  - TAP (tap.c): the kernel's TAP takes and gives the header itself, with
 *    checksum and segmentation offloads;
 *  - user mode (user_net.c): passt, or libslirp in figment-slirp (ours,
 *    tools/slirp/), each a process of its own, over a stream socket with a
 *    length in front of each frame and no header (so no offloads: the guest
 *    finishes its own checksums);
 *  - a packet socket (tests, fuzzers): one message per frame with its
 *    header, as a TAP reads and writes them.
 *
 * A backend never blocks: its fd is non-blocking and the device watches it
 * (edge-triggered) for frames to read.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_NET_NET_BACKEND_H
#define FIGMENT_DEVICES_VIRTIO_NET_NET_BACKEND_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <linux/virtio_net.h>

struct net_config;
struct net_backend;

struct net_backend_ops {
	const char *kind;
	/* One frame, @iov[0] its header; 0, -EAGAIN when the backend
	 * cannot take it now (the frame is dropped), another -errno. */
	int (*send)(struct net_backend *b, const struct iovec *iov, int iovcnt);
	/* The next frame, header first, into @buf: its length, -EAGAIN when
	 * there is none (wait for the fd), another -errno. */
	ssize_t (*recv)(struct net_backend *b, uint8_t *buf, size_t len);
	/* Optional: the guest accepted @guest_features (offloads to mirror). */
	int (*activate)(struct net_backend *b, uint64_t guest_features);
	/* Optional: the fd became writable (EPOLLOUT is watched then). */
	void (*writable)(struct net_backend *b);
	void (*destroy)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	int fd;		   /* the device watches it for frames to read */
	uint64_t features; /* virtio-net offload features it can take */
};

/* The backend @n names (TAP, passt or libslirp), made ready: *@out, or a
 * negative errno with a reason in @err. */
int net_backend_open(const struct net_config *n, struct net_backend **out,
		     char *err, size_t errlen);

/* A backend on @fd, which it then owns: a TAP (@is_tap: offloads mirrored
 * with TUNSETOFFLOAD) or a packet socket (no offloads). */
struct net_backend *net_backend_on_fd(int fd, int is_tap);

/* Every virtio-net offload feature (CSUM, GUEST_CSUM, TSO, UFO). */
#define NET_BACKEND_OFFLOADS                                              \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) | \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_UFO) | \
	 (1ULL << VIRTIO_NET_F_GUEST_CSUM) |                              \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) |                              \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_UFO))
uint64_t net_backend_all_offloads(void);

static inline void net_backend_destroy(struct net_backend *b)
{
	if (b)
		b->ops->destroy(b);
}

/* The user-mode backends (user_net.c): passt or figment-slirp, started. */
int net_user_open(const struct net_config *n, struct net_backend **out,
		  char *err, size_t errlen);
/* The same framing on @fd, a stream socket it then owns, with no helper
 * started (tests); @helper names the peer in messages. */
struct net_backend *net_user_on_fd(int fd, const char *helper, const char *id);

#endif
