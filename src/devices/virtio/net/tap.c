// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

int tap_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = (int)sizeof(struct virtio_net_hdr_v1);
	int fd, ret;

	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "TAP name '%s' is longer than %d characters",
			 name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	/* TUNSETIFF would make a TAP of that name where there is none (as
	 * root): figment uses interfaces, it does not create them */
	if (if_nametoindex(name) == 0) {
		snprintf(err, errlen, "there is no network device '%s' (create the TAP first, e.g. ip tuntap add %s mode tap)",
			 name, name);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open /dev/net/tun: %s",
			 strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	/* IFF_TUN_EXCL is not set: attaching to an existing TAP is the point;
	 * IFF_NO_PI: frames only; IFF_VNET_HDR: the offload header */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach to TAP '%s': %s%s", name,
			 strerror(errno),
			 errno == EPERM ? " (it must exist and belong to this user, or run as root)" :
			 errno == EBUSY ? " (another process has it)" : "");
		close(fd);
		return ret;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    /* no offloads until the guest accepts some */
	    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "TAP '%s': %s", name, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

int tap_set_offloads(int fd, uint64_t f)
{
	unsigned int flags = 0;

	if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
		flags |= TUN_F_CSUM;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
			flags |= TUN_F_TSO4;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
			flags |= TUN_F_TSO6;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_UFO))
			flags |= TUN_F_UFO;
	}
	return ioctl(fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}
