// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock with the test playing the guest (rings in fake RAM) and the
 * host programs (real Unix sockets in a temporary folder): connections both
 * ways, the CONNECT line, hostile packets, credit both ways, RST for ports
 * nobody listens on, the connection cap, half-close and close, a reset
 * with data in flight, the snapshot's TRANSPORT_RESET event, and the
 * --vsock / JSON configuration checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#include "config/config_json.h"
#include "config/vsock_config.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock/vsock.h"
#include "devices/virtio/vsock/vsock_muxer.h"
#include "persist/snapshot_file.h"
#include "support/virtio_test_host.h"
#include "util/metrics.h"

#define RAM	 (8u << 20)
#define QSIZE	 256
#define DATA	 0x100000 /* buffers from here on, cycling */
#define CID	 3
#define OP(x)	 VIRTIO_VSOCK_OP_##x
#define HOSTPORT 5000

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_dev *dev;
static struct virtio_mmio mt;
static struct virtio_test_host th;
static uint16_t avail_idx[3], next_desc[3], used_seen[3];
static uint64_t next_buf;
static char dir[32], uds[64];
static int listener = -1; /* the host program at <uds>_HOSTPORT */

#define DESC(q)	 (0x4000u * (q) + 0x10000)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q)	 (DESC(q) + 0x2000)

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xffffffff;

	virtio_mmio_read(&mt, off, (uint8_t *)&v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&mt, off, (const uint8_t *)&v, 4);
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", path);
	cr_assert_eq(listen(fd, 1024), 0);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s",
		     strerror(errno));
	return fd;
}

static void bring_up(void)
{
	uint64_t f;

	wr(VIRTIO_MMIO_STATUS, 1);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	f &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_STATUS, 0xb);
	memset(ram + DESC(0), 0, 0x4000 * 3);
	for (int q = 0; q < 3; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
		wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(q));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL(q));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED(q));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		avail_idx[q] = next_desc[q] = used_seen[q] = 0;
	}
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	cr_assert_eq(th.nr_watched, 1, "it watches its epoll set (the timer is in it)");
}

static void make(void)
{
	struct vsock_config v = { .present = true, .guest_cid = CID };
	char err[256];

	snprintf(v.uds_path, sizeof(v.uds_path), "%s", uds);
	cr_assert_eq(virtio_vsock_create(&v, &mem, &dev, err, sizeof(err)), 0,
		     "%s", err);
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
}

static void setup(void)
{
	char path[100];

	ram = calloc(1, RAM);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, RAM);
	next_buf = DATA;
	snprintf(dir, sizeof(dir), "/tmp/fig-vsock-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(path, sizeof(path), "%s_%d", uds, HOSTPORT);
	listener = unix_listen(path);
	make();
}

static void teardown(void)
{
	char path[100];

	virtio_dev_destroy(dev);
	close(listener);
	snprintf(path, sizeof(path), "%s_%d", uds, HOSTPORT);
	unlink(path);
	unlink(uds);
	rmdir(dir);
	free(ram);
}

TestSuite(vsock, .init = setup, .fini = teardown, .timeout = 30);

/* A chain of one or two buffers on queue @q: @len1 bytes (readable with
 * @data, else writable), then @len2 more of the same kind when not 0. */
static uint64_t offer2(int q, const void *data, uint32_t len1, uint32_t len2,
		       bool kick)
{
	uint16_t head = next_desc[q] % QSIZE;
	uint64_t first;
	int n = len2 ? 2 : 1;

	if (next_buf + len1 + len2 + 8192 > RAM)
		next_buf = DATA; /* the old buffers were all used */
	first = next_buf;
	for (int i = 0; i < n; i++) {
		uint32_t len = i ? len2 : len1;
		uint16_t idx = next_desc[q]++ % QSIZE;
		struct vring_desc d = {
			.addr = next_buf,
			.len = len,
			.flags = (data ? 0 : VRING_DESC_F_WRITE) |
				 (i < n - 1 ? VRING_DESC_F_NEXT : 0),
			.next = (uint16_t)(next_desc[q] % QSIZE),
		};

		if (data)
			memcpy(ram + next_buf, (const uint8_t *)data +
						       (i ? len1 : 0), len);
		else
			memset(ram + next_buf, 0xee, len);
		memcpy(ram + DESC(q) + 16 * idx, &d, sizeof(d));
		next_buf += (len + 4095) & ~4095u;
	}
	memcpy(ram + AVAIL(q) + 4 + 2 * (avail_idx[q] % QSIZE), &head, 2);
	avail_idx[q]++;
	memcpy(ram + AVAIL(q) + 2, &avail_idx[q], 2);
	if (kick)
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)q);
	return first;
}

static bool take_used(int q, struct vring_used_elem *e)
{
	uint16_t idx;

	memcpy(&idx, ram + USED(q) + 2, 2);
	if (idx == used_seen[q])
		return false;
	memcpy(e, ram + USED(q) + 4 + 8 * (used_seen[q] % QSIZE), sizeof(*e));
	used_seen[q]++;
	return true;
}

/* The guest sends a packet (header and payload in one buffer). */
static void send_pkt(uint16_t op, uint32_t src_port, uint32_t dst_port,
		     const void *payload, uint32_t len, uint32_t flags,
		     uint32_t buf_alloc, uint32_t fwd_cnt)
{
	static uint8_t pkt[VSOCK_HDR_LEN + VSOCK_MAX_PKT + 16];
	struct virtio_vsock_hdr h = {
		.src_cid = CID, .dst_cid = VSOCK_HOST_CID,
		.src_port = src_port, .dst_port = dst_port, .len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt,
	};

	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), payload, len);
	offer2(1, pkt, VSOCK_HDR_LEN + len, 0, true);
}

/* The guest gives @n receive buffers of @size bytes. */
static void give_rx(int n, uint32_t size)
{
	for (int i = 0; i < n; i++)
		offer2(0, NULL, size, 0, i == n - 1);
}

struct rx {
	struct virtio_vsock_hdr h;
	uint8_t data[VSOCK_MAX_PKT];
	uint32_t used;
	uint64_t gpa;
};

/* The next packet the device put in a receive buffer (buffers offered one
 * descriptor each, in order, so the gpa follows from the head). */
static bool next_rx(struct rx *r)
{
	struct vring_used_elem e;
	struct vring_desc d;

	if (!take_used(0, &e))
		return false;
	memcpy(&d, ram + DESC(0) + 16 * (e.id % QSIZE), sizeof(d));
	r->used = e.len;
	r->gpa = d.addr;
	memset(&r->h, 0, sizeof(r->h));
	if (e.len >= VSOCK_HDR_LEN) {
		memcpy(&r->h, ram + d.addr, sizeof(r->h));
		memcpy(r->data, ram + d.addr + VSOCK_HDR_LEN,
		       e.len - VSOCK_HDR_LEN);
	}
	return true;
}

static void expect_rx(struct rx *r, uint16_t op)
{
	cr_assert(next_rx(r), "expected a packet, op %u", op);
	cr_assert_eq(r->h.op, op, "op %u, expected %u", r->h.op, op);
	cr_assert_eq(r->h.src_cid, VSOCK_HOST_CID);
	cr_assert_eq(r->h.dst_cid, CID);
	cr_assert_eq(r->h.type, VIRTIO_VSOCK_TYPE_STREAM);
	cr_assert_eq(r->used, VSOCK_HDR_LEN + r->h.len);
}

/* As the event loop while the device's epoll set is readable (the loop
 * watches it level-triggered). */
static void fire(void)
{
	struct pollfd p = { .fd = virtio_vsock_mux_fd(dev), .events = POLLIN };

	cr_assert(virtio_test_host_fire(&th, dev, p.fd));
	for (int i = 0; i < 100 && poll(&p, 1, 0) == 1; i++)
		virtio_test_host_fire(&th, dev, p.fd);
}

static int accept_host(void)
{
	int fd = accept(listener, NULL, NULL);

	cr_assert_geq(fd, 0);
	return fd;
}

static ssize_t read_wait(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, 2000), 1, "nothing to read");
	return read(fd, buf, len);
}

static uint64_t counter(const char *name)
{
	return *metrics_counter("vsock", name);
}

/* A guest connection from port 1234 to HOSTPORT, established: the host's
 * end of it. */
static int guest_connects(uint32_t buf_alloc)
{
	struct rx r;

	give_rx(1, 4096);
	send_pkt(OP(REQUEST), 1234, HOSTPORT, NULL, 0, 0, buf_alloc, 0);
	expect_rx(&r, OP(RESPONSE));
	cr_assert_eq(r.h.src_port, HOSTPORT);
	cr_assert_eq(r.h.dst_port, 1234);
	cr_assert_eq(r.h.buf_alloc, VSOCK_CONN_BUF);
	return accept_host();
}

Test(vsock, config_space_holds_the_cid)
{
	uint64_t cid = 0;

	bring_up();
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	virtio_mmio_read(&mt, 0x100, (uint8_t *)&cid, 8);
	cr_assert_eq(cid, CID);
	struct stat st;
	cr_assert_eq(stat(uds, &st), 0, "the listening socket exists");
	cr_assert(S_ISSOCK(st.st_mode));
}

Test(vsock, guest_connection_both_ways)
{
	char buf[64];
	struct rx r;
	int h;

	bring_up();
	h = guest_connects(4096);
	send_pkt(OP(RW), 1234, HOSTPORT, "hello", 5, 0, 4096, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	cr_assert_eq(write(h, "world!", 6), 6);
	give_rx(1, 4096);
	fire();
	expect_rx(&r, OP(RW));
	cr_assert_eq(r.h.len, 6);
	cr_assert_eq(memcmp(r.data, "world!", 6), 0);
	cr_assert_eq(r.h.src_port, HOSTPORT);
	cr_assert_eq(r.h.dst_port, 1234);
	cr_assert_eq(r.h.fwd_cnt, 5, "the 5 bytes forwarded");
	cr_assert_eq(virtio_vsock_nr_conns(dev), 1);
	close(h);
}

Test(vsock, receive_buffer_in_two_parts)
{
	struct vring_used_elem e;
	struct virtio_vsock_hdr hdr;
	struct vring_desc d0, d1;
	int h;

	bring_up();
	h = guest_connects(4096);
	cr_assert_eq(write(h, "split", 5), 5);
	offer2(0, NULL, VSOCK_HDR_LEN, 4096, true); /* Linux 6.1's layout */
	fire();
	cr_assert(take_used(0, &e));
	cr_assert_eq(e.len, VSOCK_HDR_LEN + 5);
	memcpy(&d0, ram + DESC(0) + 16 * (e.id % QSIZE), sizeof(d0));
	memcpy(&d1, ram + DESC(0) + 16 * ((e.id + 1) % QSIZE), sizeof(d1));
	memcpy(&hdr, ram + d0.addr, sizeof(hdr));
	cr_assert_eq(hdr.op, OP(RW));
	cr_assert_eq(memcmp(ram + d1.addr, "split", 5), 0);
	close(h);
}

Test(vsock, nobody_listening_is_rst)
{
	struct rx r;

	bring_up();
	give_rx(1, 4096);
	send_pkt(OP(REQUEST), 77, 4999, NULL, 0, 0, 4096, 0);
	expect_rx(&r, OP(RST));
	cr_assert_eq(r.h.src_port, 4999);
	cr_assert_eq(r.h.dst_port, 77);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_geq(counter("conns_refused"), 1);
}

Test(vsock, host_connect_line_and_ok)
{
	char buf[64];
	struct rx r;
	int h;

	bring_up();
	give_rx(2, 4096);
	h = unix_connect(uds);
	cr_assert_eq(write(h, "CONNECT 52\nearly", 16), 16);
	fire();
	expect_rx(&r, OP(REQUEST));
	cr_assert_eq(r.h.dst_port, 52);
	cr_assert_eq(r.h.src_port, 1u << 30);
	send_pkt(OP(RESPONSE), 52, 1u << 30, NULL, 0, 0, 4096, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 14);
	cr_assert_eq(memcmp(buf, "OK 1073741824\n", 14), 0);
	/* what the host wrote right after its line is the stream's */
	expect_rx(&r, OP(RW));
	cr_assert_eq(r.h.len, 5);
	cr_assert_eq(memcmp(r.data, "early", 5), 0);
	close(h);
}

Test(vsock, host_connect_refused_by_the_guest_closes_the_host_socket)
{
	char buf[8];
	struct rx r;
	int h;

	bring_up();
	give_rx(1, 4096);
	h = unix_connect(uds);
	cr_assert_eq(write(h, "CONNECT 9\n", 10), 10);
	fire();
	expect_rx(&r, OP(REQUEST));
	send_pkt(OP(RST), 9, r.h.src_port, NULL, 0, 0, 0, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 0, "closed");
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	close(h);
}

Test(vsock, bad_connect_lines_are_closed)
{
	static const char *const bad[] = {
		"connect 5\n", "CONNECT \n", "CONNECT 4294967296\n",
		"CONNECT 5 \n", "CONNECT -1\n",
		"CONNECT 111111111111111111111111111111111111111\n",
	};
	char buf[8];

	bring_up();
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int h = unix_connect(uds);

		cr_assert_eq(write(h, bad[i], strlen(bad[i])),
			     (ssize_t)strlen(bad[i]));
		fire();
		fire();
		cr_assert_leq(read_wait(h, buf, sizeof(buf)), 0, "%s", bad[i]);
		close(h);
	}
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	/* nothing reached the guest */
	give_rx(1, 4096);
	struct rx r;
	cr_assert_not(next_rx(&r));
}

Test(vsock, connect_line_parser)
{
	uint32_t port;

	cr_assert_eq(vsock_parse_connect("CONNECT 52\n", 11, &port), 0);
	cr_assert_eq(port, 52);
	cr_assert_eq(vsock_parse_connect("CONNECT 4294967295\n", 19, &port), 0);
	cr_assert_eq(port, UINT32_MAX);
	cr_assert_eq(vsock_parse_connect("CONNECT 52", 10, &port), -EINVAL);
	cr_assert_eq(vsock_parse_connect("CONNECT 5x\n", 11, &port), -EINVAL);
	cr_assert_eq(vsock_parse_connect("CONNECT52\n", 10, &port), -EINVAL);
	cr_assert_eq(vsock_parse_connect("", 0, &port), -EINVAL);
}

Test(vsock, hostile_packets_are_dropped_or_reset)
{
	static uint8_t junk[VSOCK_HDR_LEN];
	struct virtio_vsock_hdr h = {
		.src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = 1,
		.dst_port = HOSTPORT, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = OP(RW), .len = 100,
	};
	uint8_t pkt[VSOCK_HDR_LEN + 8];
	uint64_t malformed = counter("tx_malformed_packets");
	struct rx r;

	bring_up();
	give_rx(8, 4096);
	/* shorter than a header */
	offer2(1, junk, 20, 0, true);
	/* len says 100, the chain has 8 */
	memcpy(pkt, &h, sizeof(h));
	offer2(1, pkt, sizeof(pkt), 0, true);
	/* len over 64 KiB */
	h.len = VSOCK_MAX_PKT + 1;
	memcpy(pkt, &h, sizeof(h));
	offer2(1, pkt, sizeof(pkt), 0, true);
	/* not the guest's CID */
	h.len = 0;
	h.src_cid = 7;
	memcpy(pkt, &h, sizeof(h));
	offer2(1, pkt, sizeof(pkt), 0, true);
	cr_assert_eq(counter("tx_malformed_packets"), malformed + 4);
	cr_assert_not(next_rx(&r), "dropped, not answered");

	/* answered with RST: unknown op, unknown type, another CID, data for
	 * no connection, a credit request for none */
	send_pkt(99, 1, HOSTPORT, NULL, 0, 0, 0, 0);
	expect_rx(&r, OP(RST));
	h.src_cid = CID;
	h.type = 7;
	h.op = OP(REQUEST);
	memcpy(pkt, &h, sizeof(h));
	offer2(1, pkt, VSOCK_HDR_LEN, 0, true);
	expect_rx(&r, OP(RST));
	h.type = VIRTIO_VSOCK_TYPE_STREAM;
	h.dst_cid = 9;
	memcpy(pkt, &h, sizeof(h));
	offer2(1, pkt, VSOCK_HDR_LEN, 0, true);
	cr_assert(next_rx(&r));
	cr_assert_eq(r.h.op, OP(RST));
	cr_assert_eq(r.h.src_cid, 9);
	send_pkt(OP(RW), 1, 4242, "x", 1, 0, 0, 0);
	expect_rx(&r, OP(RST));
	send_pkt(OP(CREDIT_REQUEST), 1, 4242, NULL, 0, 0, 0, 0);
	expect_rx(&r, OP(RST));
	/* an RST for nothing is not answered */
	send_pkt(OP(RST), 1, 4242, NULL, 0, 0, 0, 0);
	cr_assert_not(next_rx(&r));
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf, "the device still works");
}

Test(vsock, guest_credit_bounds_what_the_host_sends)
{
	static uint8_t big[1000];
	struct rx r;
	int h;

	bring_up();
	h = guest_connects(100);
	memset(big, 'z', sizeof(big));
	cr_assert_eq(write(h, big, sizeof(big)), (ssize_t)sizeof(big));
	give_rx(8, 4096);
	fire();
	expect_rx(&r, OP(RW));
	cr_assert_eq(r.h.len, 100, "no more than the guest's credit");
	expect_rx(&r, OP(CREDIT_REQUEST));
	cr_assert_not(next_rx(&r), "then it waits");
	/* a guest that never returns credit stalls only its connection: a
	 * second one still works */
	send_pkt(OP(REQUEST), 1235, HOSTPORT, NULL, 0, 0, 4096, 0);
	expect_rx(&r, OP(RESPONSE));
	int h2 = accept_host();
	cr_assert_eq(write(h2, "ok", 2), 2);
	fire();
	expect_rx(&r, OP(RW));
	cr_assert_eq(r.h.dst_port, 1235);
	/* credit comes back: the next 100 */
	send_pkt(OP(CREDIT_UPDATE), 1234, HOSTPORT, NULL, 0, 0, 100, 100);
	expect_rx(&r, OP(RW));
	cr_assert_eq(r.h.len, 100);
	cr_assert_eq(r.h.dst_port, 1234);
	close(h);
	close(h2);
}

Test(vsock, figment_credit_updates_and_violations)
{
	static uint8_t chunk[VSOCK_MAX_PKT];
	uint64_t viol = counter("credit_violations");
	bool rst = false;
	struct rx r;
	int h, sz = 4096;

	bring_up();
	h = guest_connects(4096);
	/* the host reads nothing, and its socket takes little */
	cr_assert_eq(setsockopt(h, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	give_rx(64, 4096);
	memset(chunk, 'q', sizeof(chunk));
	/* the guest ignores its credit and keeps sending */
	for (int i = 0; i < 40 && !rst; i++) {
		send_pkt(OP(RW), 1234, HOSTPORT, chunk, sizeof(chunk), 0, 4096, 0);
		while (next_rx(&r))
			if (r.h.op == OP(RST))
				rst = true;
	}
	cr_assert(rst, "reset once past its credit");
	cr_assert_eq(counter("credit_violations"), viol + 1);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	close(h);

	/* one that keeps to its credit gets CREDIT_UPDATEs as the host
	 * reads */
	h = guest_connects(4096);
	uint32_t announced = 0;
	for (int i = 0; i < 8; i++) {
		send_pkt(OP(RW), 1234, HOSTPORT, chunk, 16384, 0, 4096, 0);
		for (uint32_t got = 0; got < 16384;) {
			ssize_t n = read_wait(h, chunk, 16384 - got);

			cr_assert_gt(n, 0);
			got += (uint32_t)n;
		}
		fire();
		while (next_rx(&r))
			if (r.h.op == OP(CREDIT_UPDATE))
				announced = r.h.fwd_cnt;
	}
	cr_assert_eq(announced, 8 * 16384, "told of every byte forwarded");
	close(h);
}

Test(vsock, host_half_close_and_close)
{
	char buf[16];
	struct rx r;
	int h;

	bring_up();
	h = guest_connects(4096);
	give_rx(4, 4096);
	cr_assert_eq(shutdown(h, SHUT_WR), 0);
	fire();
	expect_rx(&r, OP(SHUTDOWN));
	cr_assert_eq(r.h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* the guest may still send */
	send_pkt(OP(RW), 1234, HOSTPORT, "late", 4, 0, 4096, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 4);
	close(h);
	fire();
	expect_rx(&r, OP(RST));
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
}

Test(vsock, killed_host_peer_is_rst)
{
	struct rx r;
	int h;

	bring_up();
	h = guest_connects(4096);
	give_rx(4, 4096);
	cr_assert_eq(write(h, "last", 4), 4);
	close(h); /* the host program died after writing */
	fire();
	expect_rx(&r, OP(RW));
	cr_assert_eq(memcmp(r.data, "last", 4), 0, "its data first");
	expect_rx(&r, OP(RST));
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
}

Test(vsock, guest_shutdown_and_rst)
{
	char buf[16];
	struct rx r;
	int h;

	bring_up();
	h = guest_connects(4096);
	give_rx(4, 4096);
	/* SEND only: the host reads EOF and may still write */
	send_pkt(OP(SHUTDOWN), 1234, HOSTPORT, NULL, 0,
		 VIRTIO_VSOCK_SHUTDOWN_SEND, 4096, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 0);
	cr_assert_eq(write(h, "bye", 3), 3);
	fire();
	expect_rx(&r, OP(RW));
	/* both: RST and closed */
	send_pkt(OP(SHUTDOWN), 1234, HOSTPORT, NULL, 0,
		 VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV, 4096, 0);
	expect_rx(&r, OP(RST));
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_lt(send(h, "x", 1, MSG_NOSIGNAL), 0, "the host end is closed");
	close(h);

	/* RST from the guest closes at once, unanswered */
	h = guest_connects(4096);
	send_pkt(OP(RST), 1234, HOSTPORT, NULL, 0, 0, 0, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 0);
	cr_assert_not(next_rx(&r));
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	close(h);
}

Test(vsock, connection_cap)
{
	int extra = 20, responses = 0, rsts = 0, h;
	uint64_t refused = counter("conns_refused");
	uint64_t cap = counter("conns_refused_cap");
	char buf[4];
	struct rx r;

	bring_up();
	for (int i = 0; i < VSOCK_MAX_CONNS + extra; i++) {
		give_rx(1, 4096);
		send_pkt(OP(REQUEST), 10000 + (uint32_t)i, HOSTPORT, NULL, 0,
			 0, 4096, 0);
		while (next_rx(&r)) {
			responses += r.h.op == OP(RESPONSE);
			rsts += r.h.op == OP(RST);
		}
	}
	cr_assert_eq(responses, VSOCK_MAX_CONNS);
	cr_assert_eq(rsts, extra);
	cr_assert_eq(virtio_vsock_nr_conns(dev), VSOCK_MAX_CONNS);
	/* a host connection past the cap is closed at once */
	h = unix_connect(uds);
	fire();
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 0);
	close(h);
	cr_assert_eq(counter("conns_refused"), refused + (uint64_t)extra + 1);
	cr_assert_eq(counter("conns_refused_cap"), cap + (uint64_t)extra + 1);
	/* a reset lets them all go */
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		close(accept_host());
}

Test(vsock, reset_mid_transfer)
{
	static uint8_t chunk[8192];
	char buf[16];
	struct rx r;
	int h, h2;

	bring_up();
	h = guest_connects(1u << 20);
	memset(chunk, 'm', sizeof(chunk));
	cr_assert_eq(write(h, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	give_rx(1, 4096); /* takes part of it */
	fire();
	expect_rx(&r, OP(RW));
	send_pkt(OP(RW), 1234, HOSTPORT, chunk, 1000, 0, 1u << 20, 0);
	/* the driver resets with data both ways in flight */
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_eq(th.nr_watched, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), sizeof(buf));
	while (read(h, chunk, sizeof(chunk)) > 0)
		;
	close(h);
	/* and comes back: the device works again */
	next_buf = DATA;
	bring_up();
	h2 = guest_connects(4096);
	send_pkt(OP(RW), 1234, HOSTPORT, "again", 5, 0, 4096, 0);
	cr_assert_eq(read_wait(h2, buf, sizeof(buf)), 5);
	close(h2);
}

Test(vsock, receive_buffers_too_small)
{
	struct rx r;
	int h;

	bring_up();
	h = guest_connects(4096);
	cr_assert_eq(write(h, "data", 4), 4);
	offer2(0, NULL, 10, 0, false);		  /* no header fits */
	offer2(0, NULL, VSOCK_HDR_LEN, 0, false); /* no data fits */
	offer2(0, NULL, 4096, 0, true);
	fire();
	cr_assert(next_rx(&r));
	cr_assert_eq(r.used, 0);
	cr_assert(next_rx(&r));
	cr_assert_eq(r.used, 0);
	expect_rx(&r, OP(RW));
	cr_assert_eq(r.h.len, 4);
	close(h);
}

Test(vsock, snapshot_restore_sends_transport_reset)
{
	struct vring_used_elem e;
	struct vring_desc d;
	struct snap_buf b;
	uint32_t id = 99;
	int h;

	bring_up();
	h = guest_connects(4096);
	snap_buf_init_write(&b);
	cr_assert_eq(dev->ops->save(dev, &b), 0);
	close(h);
	/* a new device, as a restore makes it: no connections, and the
	 * event once the driver (still up in the guest's memory) is back */
	virtio_dev_destroy(dev);
	make();
	struct snap_buf rb;
	snap_buf_init_read(&rb, b.p, b.len);
	cr_assert_eq(dev->ops->restore(dev, &rb), 0);
	cr_assert(snap_get_done(&rb));
	snap_buf_free(&b);
	next_buf = DATA;
	bring_up();
	cr_assert_not(take_used(2, &e), "no event buffer yet");
	offer2(2, NULL, 4, 0, true);
	cr_assert(take_used(2, &e));
	cr_assert_eq(e.len, 4);
	memcpy(&d, ram + DESC(2) + 16 * (e.id % QSIZE), sizeof(d));
	memcpy(&id, ram + d.addr, 4);
	cr_assert_eq(id, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);

	/* a snapshot with another CID or version is refused */
	uint8_t bad[9] = { 1, 4 };
	snap_buf_init_read(&rb, bad, sizeof(bad));
	cr_assert_neq(dev->ops->restore(dev, &rb), 0);
}

Test(vsock, second_device_on_a_live_socket_is_refused)
{
	struct vsock_config v = { .present = true, .guest_cid = 4 };
	struct virtio_dev *other;
	char err[256];

	snprintf(v.uds_path, sizeof(v.uds_path), "%s", uds);
	cr_assert_neq(virtio_vsock_create(&v, &mem, &other, err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "in use"), "%s", err);
}

Test(vsock, stale_socket_file_is_replaced)
{
	struct vsock_config v = { .present = true, .guest_cid = 4 };
	struct virtio_dev *other;
	char err[256];
	int fd;

	snprintf(v.uds_path, sizeof(v.uds_path), "%s/stale.sock", dir);
	fd = unix_listen(v.uds_path);
	close(fd); /* the file stays, nobody listens */
	cr_assert_eq(virtio_vsock_create(&v, &mem, &other, err, sizeof(err)),
		     0, "%s", err);
	virtio_dev_destroy(other);
	cr_assert_neq(access(v.uds_path, F_OK), 0, "removed at the end");
}

Test(vsock, cli_and_json_configuration)
{
	struct vsock_config v;
	char err[256], path[300];
	json_t *j;

	cr_assert_eq(vsock_config_parse("cid=3,uds=/tmp/v.sock", &v, err,
					sizeof(err)),
		     0);
	cr_assert(v.present);
	cr_assert_eq(v.guest_cid, 3);
	cr_assert_str_eq(v.uds_path, "/tmp/v.sock");
	cr_assert_eq(vm_config_validate_vsock(&v, err, sizeof(err)), 0);
	cr_assert_eq(vsock_config_parse("cid=2,uds=/tmp/v.sock", &v, err,
					sizeof(err)),
		     0);
	cr_assert_neq(vm_config_validate_vsock(&v, err, sizeof(err)), 0);
	cr_assert(strstr(err, "CID"), "%s", err);
	cr_assert_neq(vsock_config_parse("cid=x,uds=/a", &v, err, sizeof(err)), 0);
	cr_assert_neq(vsock_config_parse("cid=3", &v, err, sizeof(err)), 0);
	cr_assert_neq(vsock_config_parse("uds=/a", &v, err, sizeof(err)), 0);
	cr_assert_neq(vsock_config_parse("cid=3,uds=/a,x=1", &v, err, sizeof(err)),
		      0);
	memset(path, 'p', sizeof(path));
	memcpy(path, "cid=3,uds=/", 11);
	path[11 + 120] = '\0';
	cr_assert_eq(vsock_config_parse(path, &v, err, sizeof(err)),
		     -ENAMETOOLONG);
	cr_assert_neq(vsock_check_uds_path("/nonexistent-folder/v.sock", err,
					   sizeof(err)),
		      0);
	cr_assert(strstr(err, "does not exist"), "%s", err);
	cr_assert_neq(vsock_check_uds_path("/etc/passwd", err, sizeof(err)), 0);
	cr_assert_eq(vsock_check_uds_path(uds, err, sizeof(err)), 0);

	j = json_loads("{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\", "
		       "\"vsock_id\": \"vsock0\"}",
		       0, NULL);
	cr_assert_eq(vsock_from_json(j, &v, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(v.vsock_id, "vsock0");
	json_decref(j);
	j = json_loads("{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}", 0,
		       NULL);
	cr_assert_neq(vsock_from_json(j, &v, err, sizeof(err)), 0);
	json_decref(j);
	j = json_loads("{\"uds_path\": \"/tmp/v.sock\"}", 0, NULL);
	cr_assert_neq(vsock_from_json(j, &v, err, sizeof(err)), 0);
	json_decref(j);
	j = json_loads("{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\", "
		       "\"x\": 1}",
		       0, NULL);
	cr_assert_neq(vsock_from_json(j, &v, err, sizeof(err)), 0);
	json_decref(j);
}

Test(vsock, out_of_descriptors_pauses_the_listener)
{
	struct rlimit old, low;
	struct pollfd p;
	struct rx r;
	int h, probe, c;
	uint64_t errs = counter("host_errors");

	bring_up();
	h = guest_connects(4096);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	probe = dup(0); /* the next free descriptor */
	close(probe);
	low = old;
	low.rlim_cur = (rlim_t)probe + 1; /* room for the client only */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	c = unix_connect(uds);
	cr_assert_eq(write(c, "CONNECT 7\n", 10), 10);
	fire(); /* accept4 fails: EMFILE */
	cr_assert_eq(counter("host_errors"), errs + 1);
	p = (struct pollfd){ .fd = virtio_vsock_mux_fd(dev), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "the listener is not spinning");
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* a connection goes: the listener is back, the waiting one served */
	give_rx(2, 4096);
	send_pkt(OP(RST), 1234, HOSTPORT, NULL, 0, 0, 0, 0);
	fire();
	expect_rx(&r, OP(REQUEST));
	cr_assert_eq(r.h.dst_port, 7);
	close(c);
	close(h);
}

/* Waits (up to 3 s) for the device's epoll set to be readable, i.e. its
 * deadline timer to fire, and serves it. */
static void wait_timer(void)
{
	struct pollfd p = { .fd = virtio_vsock_mux_fd(dev), .events = POLLIN };

	cr_assert_eq(poll(&p, 1, 3000), 1, "the timer did not fire");
	fire();
}

Test(vsock, silent_host_client_times_out)
{
	uint64_t timed_out = counter("conns_timed_out_connect_line");
	char buf[8];
	int a, b;

	bring_up();
	virtio_vsock_set_timeouts(dev, 100, 100, 100);
	a = unix_connect(uds);
	cr_assert_eq(write(a, "CONN", 4), 4); /* and never the rest */
	fire();
	cr_assert_eq(virtio_vsock_nr_conns(dev), 1);
	/* a later one with a later deadline: the timer is armed again */
	virtio_vsock_set_timeouts(dev, 1500, 100, 100);
	b = unix_connect(uds);
	fire();
	cr_assert_eq(virtio_vsock_nr_conns(dev), 2);
	wait_timer();
	/* closed with its bytes unread: ECONNRESET */
	cr_assert_leq(read_wait(a, buf, sizeof(buf)), 0, "a was closed");
	cr_assert_eq(virtio_vsock_nr_conns(dev), 1, "b is not due yet");
	cr_assert_eq(counter("conns_timed_out_connect_line"), timed_out + 1);
	wait_timer();
	cr_assert_eq(read_wait(b, buf, sizeof(buf)), 0, "b was closed");
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_eq(counter("conns_timed_out_connect_line"), timed_out + 2);
	close(a);
	close(b);
}

Test(vsock, connect_line_in_time_is_not_timed_out)
{
	char buf[32];
	struct pollfd p;
	struct rx r;
	int h;

	bring_up();
	virtio_vsock_set_timeouts(dev, 100, 100, 100);
	give_rx(1, 4096);
	h = unix_connect(uds);
	cr_assert_eq(write(h, "CONNECT 52\n", 11), 11);
	fire();
	expect_rx(&r, OP(REQUEST));
	send_pkt(OP(RESPONSE), 52, r.h.src_port, NULL, 0, 0, 4096, 0);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 14);
	/* past both deadlines, the established connection stays */
	p = (struct pollfd){ .fd = virtio_vsock_mux_fd(dev), .events = POLLIN };
	poll(&p, 1, 300);
	fire();
	cr_assert_eq(virtio_vsock_nr_conns(dev), 1);
	p = (struct pollfd){ .fd = h, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "the host socket is still open");
	close(h);
}

Test(vsock, unanswered_request_times_out)
{
	uint64_t timed_out = counter("conns_timed_out_request");
	uint32_t local;
	char buf[8];
	struct rx r;
	int h;

	bring_up();
	virtio_vsock_set_timeouts(dev, 100, 100, 100);
	give_rx(1, 4096);
	h = unix_connect(uds);
	cr_assert_eq(write(h, "CONNECT 52\n", 11), 11);
	fire();
	expect_rx(&r, OP(REQUEST));
	local = r.h.src_port;
	/* the guest never answers */
	give_rx(1, 4096);
	wait_timer();
	expect_rx(&r, OP(RST));
	cr_assert_eq(r.h.src_port, local);
	cr_assert_eq(r.h.dst_port, 52);
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 0, "the host was closed");
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_eq(counter("conns_timed_out_request"), timed_out + 1);
	/* its late answer is for no connection */
	give_rx(1, 4096);
	send_pkt(OP(RESPONSE), 52, local, NULL, 0, 0, 4096, 0);
	expect_rx(&r, OP(RST));
	close(h);
}

Test(vsock, request_without_receive_buffers_times_out)
{
	uint64_t timed_out = counter("conns_timed_out_request");
	char buf[8];
	int h;

	bring_up();
	virtio_vsock_set_timeouts(dev, 100, 100, 100);
	h = unix_connect(uds);
	cr_assert_eq(write(h, "CONNECT 52\n", 11), 11);
	fire(); /* the REQUEST waits: no receive buffer */
	wait_timer();
	cr_assert_eq(read_wait(h, buf, sizeof(buf)), 0);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_eq(counter("conns_timed_out_request"), timed_out + 1);
	close(h);
}

Test(vsock, unflushed_shutdown_times_out)
{
	uint64_t timed_out = counter("conns_timed_out_shutdown");
	static uint8_t chunk[4096];
	uint32_t sent = 0;
	struct rx r;
	int h;

	bring_up();
	virtio_vsock_set_timeouts(dev, 100, 100, 100);
	h = guest_connects(4096);
	memset(chunk, 's', sizeof(chunk));
	/* the host never reads: send until figment holds bytes itself */
	for (;;) {
		send_pkt(OP(RW), 1234, HOSTPORT, chunk, sizeof(chunk), 0,
			 4096, 0);
		sent += sizeof(chunk);
		give_rx(1, 4096);
		send_pkt(OP(CREDIT_REQUEST), 1234, HOSTPORT, NULL, 0, 0, 4096, 0);
		expect_rx(&r, OP(CREDIT_UPDATE));
		if (r.h.fwd_cnt < sent)
			break;
		cr_assert_lt(sent, 8u << 20, "the host socket never filled");
	}
	give_rx(1, 4096);
	send_pkt(OP(SHUTDOWN), 1234, HOSTPORT, NULL, 0,
		 VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, 4096, 0);
	cr_assert_eq(virtio_vsock_nr_conns(dev), 1, "still flushing");
	wait_timer();
	expect_rx(&r, OP(RST));
	cr_assert_eq(virtio_vsock_nr_conns(dev), 0);
	cr_assert_eq(counter("conns_timed_out_shutdown"), timed_out + 1);
	close(h);
}

Test(vsock, cap_refusals_are_counted_apart)
{
	uint64_t cap = counter("conns_refused_cap");
	struct rx r;

	bring_up();
	give_rx(1, 4096);
	send_pkt(OP(REQUEST), 77, 4999, NULL, 0, 0, 4096, 0); /* nobody */
	expect_rx(&r, OP(RST));
	cr_assert_eq(counter("conns_refused_cap"), cap);
}
