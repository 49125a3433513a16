/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (device id 1) on any virtio transport, over a backend
 * (net_backend.h: a TAP, or user-mode networking through passt or
 * figment-slirp).
 *
 * Queues: 0 receive, 1 transmit; no control queue. Offered: MAC, STATUS
 * (link up), MTU (1500), MRG_RXBUF, and of the offloads what the backend
 * can take (a TAP all, user mode none): CSUM and HOST_TSO4/TSO6/UFO (the
 * guest may send unchecksummed and segmentation-offloaded frames: the TAP
 * takes them with their virtio-net header), GUEST_CSUM and GUEST_TSO4/6/UFO
 * (the TAP is told with TUNSETOFFLOAD, at activation, to hand over only
 * what the guest accepted).
 *
 * The VMM thread never waits on the TAP or the guest:
 *  - transmit: each chain is one frame (12-byte header, then the frame, at
 *    most VIRTIO_NET_MAX_FRAME bytes), written with one writev(); a header
 *    that is malformed or asks for offloads not negotiated, a chain too
 *    short for a header or a frame too large is dropped and counted; a full
 *    TAP (EAGAIN) drops the frame and counts it, as a full NIC queue would;
 *  - receive: the device watches the TAP (edge-triggered) while active and
 *    reads frames into its own buffer, then copies each into the guest's
 *    buffers (several of them with MRG_RXBUF, made visible at once); with
 *    no buffers it keeps the frame and stops reading until the guest adds
 *    some (its RX kick), so transmit goes on when receive is starved. One
 *    round moves at most a queue's worth of frames, then the device comes
 *    back through its own kick.
 * Rate limits (Firecracker's): tx through the common serve loop, rx here,
 * each waiting on a timer, never sleeping.
 * With the metadata service on (virtio_net_enable_mmds()), transmitted
 * frames for its address go to its stack (mmds/mmds_stack.h) instead of the
 * backend, and its answers are received ahead of the backend's frames.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_NET_NET_H
#define FIGMENT_DEVICES_VIRTIO_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "devices/virtio/virtio_dev.h"
#include "vstate/memory.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_HDR_LEN    12 /* struct virtio_net_hdr_v1 */
/* The largest frame either way, without its header: a 64 KiB GSO packet
 * and an Ethernet header with a VLAN tag. */
#define VIRTIO_NET_MAX_FRAME (65535 + 18)
#define VIRTIO_NET_MTU	     1500

/*
 * Creates the interface @n over @mem: opens its TAP (which must exist) or
 * starts its user-mode helper.
 * *@out (free with virtio_dev_destroy(), which closes the TAP). 0, or a
 * negative errno with a reason in @err.
 */
int virtio_net_create(const struct net_config *n,
		      const struct guest_memory *mem, struct virtio_dev **out,
		      char *err, size_t errlen);

/* The same on @fd, which the device then owns (also when this fails): a
 * TAP (@is_tap), or for
 * tests and fuzzers one end of a SOCK_SEQPACKET pair (header and frame in
 * one message each way, no offload ioctls). */
int virtio_net_create_on(const struct net_config *n, int fd, bool is_tap,
			 const struct guest_memory *mem,
			 struct virtio_dev **out, char *err, size_t errlen);

struct mmds;

/* Puts the metadata service @m on the interface, answering at @ipv4 (host
 * order). Before the device is active; 0, or -EINVAL (not an interface,
 * or on already) / -ENOMEM / a timerfd's errno. */
int virtio_net_enable_mmds(struct virtio_dev *dev, struct mmds *m,
			   uint32_t ipv4);

/* The interface's id, or NULL when @dev is not a virtio-net device. */
const char *virtio_net_iface_id(struct virtio_dev *dev);

/* New rx and tx rate limits (PATCH /network-interfaces/{id}); any thread. */
void virtio_net_set_rate_limits(struct virtio_dev *dev,
				const struct rate_limiter_config *rx,
				const struct rate_limiter_config *tx);

#endif
