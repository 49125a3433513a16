// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock against a hostile guest and hostile host programs: the input
 * is the negotiated features, queue sizes, the first line a host program
 * writes on figment's Unix socket, bytes host programs send, and guest RAM
 * (the rings and the packets in them). A host echo listener waits at
 * <uds>_1234, so guest REQUESTs to that port get real connections and the
 * RW, SHUTDOWN, credit and RST paths run over them. Transmit, receive, the
 * event queue, the host side and a reset mid-transfer all run; the device
 * never crashes, reads outside guest RAM (ASan) or keeps a connection past
 * its reset.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock/vsock.h"
#include "support/virtio_fuzz_driver.h"
#include "support/virtio_test_host.h"

#define RAM  (1u << 18)
#define HEAD 48 /* bytes of the input before guest RAM */

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_mmio mt;
static struct vsock_config cfg = { .present = true, .guest_cid = 3 };
static int listener = -1;

static void wr(uint64_t off, uint32_t v)
{
	virtio_fuzz_wr(&mt, off, v);
}

static int unix_sock(const char *path, bool listen_on)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (listen_on) {
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(fd, 4096))
			abort();
	} else if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void once(void)
{
	char dir[64], path[128];

	ram = aligned_alloc(4096, RAM);
	guest_memory_init_from(&mem, 0, ram, RAM);
	snprintf(dir, sizeof(dir), "/tmp/fuzz-vsock-%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(cfg.uds_path, sizeof(cfg.uds_path), "%s/v.sock", dir);
	snprintf(path, sizeof(path), "%s_1234", cfg.uds_path);
	unlink(path);
	listener = unix_sock(path, true);
}

static void fire(struct virtio_test_host *th, struct virtio_dev *dev)
{
	virtio_test_host_fire(th, dev, virtio_vsock_mux_fd(dev));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_test_host th;
	struct virtio_dev *dev;
	int host[4] = { -1, -1, -1, -1 }, peers[8];
	int nr_peers = 0;
	char err[256];

	if (size < HEAD)
		return 0;
	if (!ram)
		once();
	if (virtio_vsock_create(&cfg, &mem, &dev, err, sizeof(err)))
		abort();
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
	memset(ram, 0, RAM);
	memcpy(ram, data + HEAD, size - HEAD < RAM ? size - HEAD : RAM);

	/* data[0..7]: the driver's features; data[8..10]: queue sizes */
	virtio_fuzz_bring_up(&mt, dev, data, 3);

	/* data[11] host programs connect; the first writes data[16..47] as
	 * its first line (a CONNECT line, or garbage), the others a fixed
	 * one to the port data[12] says */
	for (int i = 0; i < (data[11] & 3); i++) {
		host[i] = unix_sock(cfg.uds_path, false);
		if (host[i] < 0)
			continue;
		if (i == 0) {
			size_t n = strnlen((const char *)data + 16, 32);

			if (send(host[i], data + 16, n, MSG_NOSIGNAL) < 0) {
				/* full: the device reads slowly */
			}
		} else {
			char line[32];
			int n = snprintf(line, sizeof(line), "CONNECT %u\n",
					 data[12]);

			if (send(host[i], line, (size_t)n, MSG_NOSIGNAL) < 0) {
				/* as above */
			}
		}
	}
	fire(&th, dev);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* the guest's packets */
	/* the host ends of guest connections: some data back, some closed */
	while (nr_peers < 8 &&
	       (peers[nr_peers] = accept(listener, NULL, NULL)) >= 0)
		nr_peers++;
	for (int i = 0; i < nr_peers; i++) {
		if (send(peers[i], data + 16, data[13] % 32, MSG_NOSIGNAL) < 0) {
			/* the device reset it already */
		}
		if (data[14] & (1u << i))
			shutdown(peers[i], SHUT_WR);
	}
	fire(&th, dev);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* receive buffers */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 2); /* event buffers */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* the same packets again */
	if (data[15] & 1)
		for (int i = 0; i < nr_peers; i++)
			close(peers[i]), peers[i] = -1;
	fire(&th, dev);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* reset with whatever is in flight: every connection goes */
	wr(VIRTIO_MMIO_STATUS, 0);
	if (virtio_vsock_nr_conns(dev) != 0)
		abort();
	virtio_dev_destroy(dev);
	for (int i = 0; i < 4; i++)
		if (host[i] >= 0)
			close(host[i]);
	for (int i = 0; i < nr_peers; i++)
		if (peers[i] >= 0)
			close(peers[i]);
	return 0;
}
