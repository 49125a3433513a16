/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TAP device, the host end of a virtio-net interface: opened by name,
 * non-blocking, with a virtio-net header (struct virtio_net_hdr_v1, 12
 * bytes) in front of every frame both ways, and the offloads the guest
 * accepted mirrored on it (a TAP hands over only the segmentation and
 * checksum work the reader said it can take).
 */
#ifndef FIGMENT_DEVICES_VIRTIO_NET_TAP_H
#define FIGMENT_DEVICES_VIRTIO_NET_TAP_H

#include <stddef.h>
#include <stdint.h>

/* Opens TAP @name (it must exist, as Firecracker's: figment does not create
 * interfaces). Returns the fd, or a negative errno with a reason in @err. */
int tap_open(const char *name, char *err, size_t errlen);

/* TUNSETOFFLOAD from the virtio-net features the guest accepted (its
 * GUEST_CSUM, GUEST_TSO4/6, GUEST_UFO). 0 or a negative errno. */
int tap_set_offloads(int fd, uint64_t guest_features);

#endif
