/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (device id 19, virtio 1.2 section 5.10) over Unix sockets,
 * as Firecracker has it (vsock_muxer.h: the host side).
 *
 * Queues: 0 receive (to the guest), 1 transmit (from the guest), 2 events
 * (TRANSPORT_RESET after a snapshot restore). Config space: the guest's
 * CID. Stream sockets only (no SEQPACKET).
 *
 * Every packet from the guest is a 44-byte header and at most
 * VSOCK_MAX_PKT bytes of payload, copied once and checked: a chain shorter
 * than its header or its `len`, a `len` over the limit, or a source CID
 * that is not the guest's is dropped and counted; a packet for a port pair
 * with no connection, of an unknown type or operation, or to another CID
 * than the host's is answered with RST. Connections:
 *  - at most VSOCK_MAX_CONNS per VM, counting host connections that have
 *    not sent their CONNECT line yet: past that a guest REQUEST gets RST
 *    and a host connection is closed at once, so neither side can make
 *    figment run out of file descriptors;
 *  - credit (buf_alloc/fwd_cnt) both ways: figment offers VSOCK_CONN_BUF
 *    bytes per connection and buffers what the host socket does not take
 *    at once, within that credit (a guest that sends past its credit is
 *    reset); it sends the guest no more than the guest's own credit, and
 *    stops reading that host socket meanwhile (the others go on), asking
 *    once with CREDIT_REQUEST;
 *  - SHUTDOWN from the guest half-closes the host socket (SEND) or stops
 *    reading it (RCV); both, or RST, close it (after the buffered bytes
 *    went, for SHUTDOWN); the host's half-close is a SHUTDOWN(SEND) to the
 *    guest, its close (or a socket error) an RST;
 *  - deadlines, so that nobody holds a slot and a descriptor by saying
 *    nothing: a host connection that has not sent its whole CONNECT line
 *    VSOCK_CONNECT_LINE_TIMEOUT_MS after it connected is closed; a REQUEST
 *    the guest has not answered (RESPONSE or RST) within
 *    VSOCK_REQUEST_TIMEOUT_MS, and a connection the guest shut both ways
 *    whose buffered bytes the host has not taken within
 *    VSOCK_SHUTDOWN_TIMEOUT_MS, are given up: the host socket closed, an
 *    RST to the guest (Firecracker's 2 s for the last two). One timerfd,
 *    in the muxer's epoll set, is armed for the earliest;
 *  - a device reset, or the driver going away, closes every connection.
 * The VMM thread never waits: host sockets are non-blocking, control
 * packets wait in the connection (or, for RSTs of connections that are
 * gone, a bounded ring) until the guest gives receive buffers, and one
 * round moves at most a queue's worth of packets.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_VSOCK_VSOCK_H
#define FIGMENT_DEVICES_VIRTIO_VSOCK_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "devices/virtio/virtio_dev.h"
#include "vstate/memory.h"

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_HDR_LEN	 44
#define VSOCK_HOST_CID	 2
#define VSOCK_MAX_PKT	 (64 * 1024) /* payload, either way */
#define VSOCK_CONN_BUF	 (256 * 1024) /* the credit figment offers */
#define VSOCK_MAX_CONNS	 256
#define VSOCK_RST_RING	 256 /* RSTs waiting for receive buffers */
#define VSOCK_CONNECT_LINE_TIMEOUT_MS 2000
#define VSOCK_REQUEST_TIMEOUT_MS      2000
#define VSOCK_SHUTDOWN_TIMEOUT_MS     2000

/*
 * Creates the vsock device of @v over @mem: binds and listens on
 * v->uds_path (setup only: see vsock_muxer_open()). *@out (free with
 * virtio_dev_destroy(), which closes every socket and removes the socket
 * file). 0, or a negative errno with a reason in @err.
 */
int virtio_vsock_create(const struct vsock_config *v,
			const struct guest_memory *mem, struct virtio_dev **out,
			char *err, size_t errlen);

/* The epoll fd the device watches (for tests: fire it to serve the host
 * side); -1 when @dev is not a vsock device. */
int virtio_vsock_mux_fd(struct virtio_dev *dev);

/* Open connections (for tests); -1 when @dev is not a vsock device. */
int virtio_vsock_nr_conns(struct virtio_dev *dev);

/* Sets @dev's three timeouts (see above; for tests, which want them
 * short). Takes effect for deadlines set from then on. */
void virtio_vsock_set_timeouts(struct virtio_dev *dev, uint32_t line_ms,
			       uint32_t request_ms, uint32_t shutdown_ms);

#endif
