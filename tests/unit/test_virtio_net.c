// SPDX-License-Identifier: Apache-2.0
/* virtio-net over a SOCK_SEQPACKET pair standing in for the TAP (one
 * message = header + frame): transmit, receive with and without mergeable
 * buffers, a starved receive queue, hostile transmit chains, reset with a
 * frame in flight, the rx rate limit. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "config/net_config.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/net/net_backend.h"
#include "mmds/mmds.h"
#include "persist/snapshot_file.h"
#include "support/virtio_test_host.h"

#define RAM   (1u << 22)
#define QSIZE 16
#define DATA  0x100000 /* buffers from here on */

static const uint64_t ring_base[2] = { 0x1000, 0x8000 }; /* rx, tx */

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_dev *dev;
static struct virtio_mmio mt;
static struct virtio_test_host th;
static int peer, dev_fd;
static uint16_t avail_idx[2], next_desc[2], used_seen[2];
static uint64_t next_buf;
static int extra_watched; /* the metadata service's timer */

#define DESC(q)	 (ring_base[q])
#define AVAIL(q) (ring_base[q] + 0x1000)
#define USED(q)	 (ring_base[q] + 0x2000)

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

static void make(const struct net_config *n)
{
	int sv[2];
	char err[256];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv),
		     0);
	peer = sv[1];
	dev_fd = sv[0];
	cr_assert_eq(virtio_net_create_on(n, dev_fd, false, &mem, &dev, err,
					  sizeof(err)),
		     0, "%s", err);
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
}

/* Negotiates the offered features less @drop (EVENT_IDX is always left
 * out, so that every chain is signalled), sets up both queues. */
static void bring_up(uint64_t drop)
{
	uint64_t f;

	wr(VIRTIO_MMIO_STATUS, 1);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	f &= ~(drop | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_STATUS, 0xb);
	for (int q = 0; q < 2; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
		wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC(q));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL(q));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED(q));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		avail_idx[q] = next_desc[q] = used_seen[q] = 0;
	}
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	/* active: it watches its backend and its rx timer */
	cr_assert_eq(th.nr_watched, 2 + extra_watched);
}

static void setup(void)
{
	struct net_config n = { .id = "eth0", .host_dev_name = "unused",
				.has_mac = true,
				.mac = { 0x06, 0, 0xac, 0x10, 0, 2 } };

	ram = calloc(1, RAM);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, RAM);
	next_buf = DATA;
	make(&n);
}

static void teardown(void)
{
	virtio_dev_destroy(dev); /* closes dev_fd */
	close(peer);
	free(ram);
}

TestSuite(net, .init = setup, .fini = teardown, .timeout = 20);

struct seg {
	uint32_t len;
	bool write;
	const void *data; /* readable: copied in */
};

/* Offers a chain on queue @q; returns the guest address of its first
 * buffer (the others follow it). */
static uint64_t offer(int q, const struct seg *s, int n, bool kick)
{
	uint16_t head = next_desc[q] % QSIZE;
	uint64_t first = next_buf;

	for (int i = 0; i < n; i++) {
		uint16_t idx = next_desc[q]++ % QSIZE;
		struct vring_desc d = {
			.addr = next_buf,
			.len = s[i].len,
			.flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i < n - 1 ? VRING_DESC_F_NEXT : 0),
			.next = (uint16_t)(next_desc[q] % QSIZE),
		};

		if (s[i].data)
			memcpy(ram + next_buf, s[i].data, s[i].len);
		memcpy(ram + DESC(q) + 16 * idx, &d, sizeof(d));
		next_buf += (s[i].len + 4095) & ~4095u;
		cr_assert_lt(next_buf, RAM);
	}
	memcpy(ram + AVAIL(q) + 4 + 2 * (avail_idx[q] % QSIZE), &head, 2);
	avail_idx[q]++;
	memcpy(ram + AVAIL(q) + 2, &avail_idx[q], 2);
	if (kick)
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)q);
	return first;
}

/* The next used element of queue @q, or false when there is none. */
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

/* The frame the device transmitted, into @buf; its length or -1. */
static ssize_t sent(uint8_t *buf, size_t len)
{
	return recv(peer, buf, len, MSG_DONTWAIT);
}

/* A frame from the "TAP": header (zero) + @len bytes of @fill. */
static void inject(size_t len, uint8_t fill)
{
	static uint8_t frame[VIRTIO_NET_HDR_LEN + 65600];

	memset(frame, 0, VIRTIO_NET_HDR_LEN);
	memset(frame + VIRTIO_NET_HDR_LEN, fill, len);
	cr_assert_eq(send(peer, frame, VIRTIO_NET_HDR_LEN + len, 0),
		     (ssize_t)(VIRTIO_NET_HDR_LEN + len));
}

static void fire_backend(void)
{
	cr_assert(virtio_test_host_fire(&th, dev, dev_fd));
}

Test(net, config_space_mac_link_mtu)
{
	uint8_t mac[6];
	uint16_t status, mtu;

	bring_up(0);
	for (int i = 0; i < 6; i++)
		virtio_mmio_read(&mt, 0x100 + (uint64_t)i, &mac[i], 1);
	cr_assert_eq(memcmp(mac, "\x06\x00\xac\x10\x00\x02", 6), 0);
	virtio_mmio_read(&mt, 0x100 + 6, (uint8_t *)&status, 2);
	cr_assert_eq(status, VIRTIO_NET_S_LINK_UP);
	virtio_mmio_read(&mt, 0x100 + 10, (uint8_t *)&mtu, 2);
	cr_assert_eq(mtu, 1500);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
}

Test(net, mac_made_up_from_the_id_is_stable_and_unicast)
{
	struct net_config a = { .id = "eth0" }, b = { .id = "eth1" };
	uint8_t m1[6], m2[6], m3[6];

	net_config_mac(&a, m1);
	net_config_mac(&a, m2);
	net_config_mac(&b, m3);
	cr_assert_eq(memcmp(m1, m2, 6), 0);
	cr_assert_neq(memcmp(m1, m3, 6), 0);
	cr_assert_eq(m1[0] & 1, 0, "unicast");
	cr_assert_eq(m1[0] & 2, 2, "locally administered");
}

Test(net, transmit_gathers_header_and_frame)
{
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 }, a[20], b[40], out[128];
	struct seg s[] = { { sizeof(hdr), false, hdr },
			   { sizeof(a), false, a },
			   { sizeof(b), false, b } };
	struct vring_used_elem e;

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	bring_up(0);
	offer(1, s, 3, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(out, sizeof(out)), VIRTIO_NET_HDR_LEN + 60);
	cr_assert_eq(out[VIRTIO_NET_HDR_LEN], 0xaa);
	cr_assert_eq(out[VIRTIO_NET_HDR_LEN + 59], 0xbb);
}

Test(net, hostile_transmit_chains_are_dropped_not_sent)
{
	uint8_t small[8] = { 0 }, out[256];
	struct virtio_net_hdr_v1 bad = { 0 };
	uint8_t frame[64] = { 0 };
	struct vring_used_elem e;

	bring_up((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_CSUM));
	/* shorter than a header */
	offer(1, (struct seg[]){ { sizeof(small), false, small } }, 1, true);
	cr_assert(take_used(1, &e));
	/* an unknown GSO type */
	bad.gso_type = 9;
	offer(1, (struct seg[]){ { sizeof(bad), false, &bad },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	/* TSO the guest did not negotiate */
	bad.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	offer(1, (struct seg[]){ { sizeof(bad), false, &bad },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	/* a checksum offload the guest did not negotiate */
	memset(&bad, 0, sizeof(bad));
	bad.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	offer(1, (struct seg[]){ { sizeof(bad), false, &bad },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	/* a frame larger than 64 KiB */
	memset(&bad, 0, sizeof(bad));
	offer(1, (struct seg[]){ { sizeof(bad), false, &bad },
				 { 70000, false, NULL } },
	      2, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(out, sizeof(out)), -1, "nothing reached the TAP");
	/* the queue still works */
	offer(1, (struct seg[]){ { sizeof(bad), false, &bad },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(out, sizeof(out)), VIRTIO_NET_HDR_LEN + 64);
	cr_assert_not(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

Test(net, receive_merges_buffers_and_counts_them)
{
	struct vring_used_elem e1, e2, e3;
	struct virtio_net_hdr_v1 h;
	uint64_t b1, b2;

	bring_up(0);
	b1 = offer(0, (struct seg[]){ { 512, true, NULL } }, 1, false);
	b2 = offer(0, (struct seg[]){ { 512, true, NULL } }, 1, false);
	offer(0, (struct seg[]){ { 512, true, NULL } }, 1, true);
	inject(1000, 0x5a);
	fire_backend();
	cr_assert(take_used(0, &e1));
	cr_assert(take_used(0, &e2));
	cr_assert_not(take_used(0, &e3), "two buffers for 1012 bytes");
	cr_assert_eq(e1.len, 512);
	cr_assert_eq(e2.len, 500);
	memcpy(&h, ram + b1, sizeof(h));
	cr_assert_eq(h.num_buffers, 2);
	cr_assert_eq(ram[b1 + VIRTIO_NET_HDR_LEN], 0x5a);
	cr_assert_eq(ram[b2 + 499], 0x5a);
}

Test(net, receive_without_buffers_waits_and_transmit_goes_on)
{
	struct vring_used_elem e;
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 }, frame[60] = { 0 }, out[128];
	uint64_t b;

	bring_up(0);
	inject(100, 0x11);
	fire_backend();
	cr_assert_not(take_used(0, &e), "no buffers: nothing received");
	/* transmit does not wait for receive */
	offer(1, (struct seg[]){ { sizeof(hdr), false, hdr },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(out, sizeof(out)), VIRTIO_NET_HDR_LEN + 60);
	/* the guest's buffers and kick bring the waiting frame in */
	b = offer(0, (struct seg[]){ { 2048, true, NULL } }, 1, true);
	cr_assert(take_used(0, &e));
	cr_assert_eq(e.len, VIRTIO_NET_HDR_LEN + 100);
	cr_assert_eq(ram[b + VIRTIO_NET_HDR_LEN + 99], 0x11);
}

/* Frames too short to be Ethernet are dropped, but a round of receive
 * still ends after a queue's worth of them: a peer that sends only those
 * (faster than the VMM drops them) cannot keep the VMM thread in it. */
Test(net, runts_spend_the_receive_budget)
{
	struct vring_used_elem e;
	uint8_t drain[64];
	int left = 0;

	bring_up(0);
	for (int i = 0; i < 3 * QSIZE; i++)
		inject(1, 0x22);
	fire_backend();
	cr_assert_not(take_used(0, &e));
	while (recv(dev_fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		left++;
	cr_assert_eq(left, 2 * QSIZE, "one round drops %d runts, not %d",
		     QSIZE, 3 * QSIZE - left);
}

Test(net, without_mergeable_a_small_buffer_drops_the_frame)
{
	struct vring_used_elem e;
	struct virtio_net_hdr_v1 h;
	uint64_t b;

	bring_up(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	offer(0, (struct seg[]){ { 512, true, NULL } }, 1, false);
	b = offer(0, (struct seg[]){ { 4096, true, NULL } }, 1, true);
	inject(1000, 0x22); /* needs 1012 bytes in one buffer */
	inject(200, 0x33);
	fire_backend();
	cr_assert(take_used(0, &e));
	cr_assert_eq(e.len, 0, "the first frame is dropped");
	cr_assert(take_used(0, &e));
	cr_assert_eq(e.len, VIRTIO_NET_HDR_LEN + 200);
	memcpy(&h, ram + b, sizeof(h));
	cr_assert_eq(h.num_buffers, 1);
	cr_assert_eq(ram[b + VIRTIO_NET_HDR_LEN], 0x33);
}

Test(net, reset_with_a_frame_waiting_then_up_again)
{
	struct vring_used_elem e;
	uint64_t b;

	bring_up(0);
	inject(100, 0x44);
	fire_backend(); /* read, waiting for buffers */
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(th.nr_watched, 0, "deactivated: nothing watched");
	cr_assert_not(virtio_test_host_fire(&th, dev, dev_fd));
	memset(ram, 0, RAM);
	next_buf = DATA;
	bring_up(0);
	inject(50, 0x55);
	b = offer(0, (struct seg[]){ { 2048, true, NULL } }, 1, true);
	fire_backend();
	cr_assert(take_used(0, &e));
	cr_assert_eq(e.len, VIRTIO_NET_HDR_LEN + 50,
		     "the frame from before the reset was dropped");
	cr_assert_eq(ram[b + VIRTIO_NET_HDR_LEN], 0x55);
}

Test(net, rx_rate_limit_waits_on_its_timer)
{
	struct rate_limiter_config rx = { .ops = { .size = 1, .refill_ms = 100 } };
	struct vring_used_elem e;
	struct timespec ts = { .tv_nsec = 150 * 1000000L };
	int timer_fd;

	bring_up(0);
	virtio_net_set_rate_limits(dev, &rx, NULL);
	offer(0, (struct seg[]){ { 2048, true, NULL } }, 1, false);
	offer(0, (struct seg[]){ { 2048, true, NULL } }, 1, true);
	inject(60, 1);
	inject(60, 2);
	fire_backend();
	cr_assert(take_used(0, &e));
	cr_assert_not(take_used(0, &e), "the second frame waits for a token");
	/* the timer is the other watched fd */
	timer_fd = th.watched_fd[0] == dev_fd ? th.watched_fd[1] : th.watched_fd[0];
	nanosleep(&ts, NULL);
	cr_assert(virtio_test_host_fire(&th, dev, timer_fd));
	cr_assert(take_used(0, &e));
}

Test(net, bad_net_specs_are_refused)
{
	struct net_config n;
	char err[256];

	cr_assert_eq(net_config_parse("id=eth0,tap=fig0,mac=06:00:ac:10:00:02", &n,
				      err, sizeof(err)),
		     0, "%s", err);
	cr_assert(n.has_mac);
	cr_assert_lt(net_config_parse("id=eth0", &n, err, sizeof(err)), 0);
	cr_assert(strstr(err, "tap"), "%s", err);
	cr_assert_lt(net_config_parse("id=eth0,tap=waytoolongforaniface", &n, err,
				      sizeof(err)),
		     0);
	cr_assert_lt(net_config_parse("id=eth0,tap=t,mac=06:00:ac:10:00", &n, err,
				      sizeof(err)),
		     0);
	cr_assert_lt(net_config_parse("id=eth0,tap=t,mac=zz:00:ac:10:00:02", &n,
				      err, sizeof(err)),
		     0);
	cr_assert_lt(net_config_parse("id=e-0,tap=t", &n, err, sizeof(err)), 0);
	cr_assert_lt(net_config_parse("id=a,tap=t,tap=u", &n, err, sizeof(err)), 0);
	cr_assert_lt(net_config_parse("id=a,tap=t,", &n, err, sizeof(err)), 0);
}

Test(net, interface_sets_are_checked)
{
	struct vm_config cfg;
	char err[256];

	vm_config_init(&cfg);
	cfg.nr_nets = 2;
	cfg.nets[0] = (struct net_config){ .id = "a", .host_dev_name = "t0" };
	cfg.nets[1] = (struct net_config){ .id = "b", .host_dev_name = "t1" };
	cr_assert_eq(vm_config_validate_nets(&cfg, err, sizeof(err)), 0, "%s",
		     err);
	strcpy(cfg.nets[1].host_dev_name, "t0");
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "same TAP"), "%s", err);
	strcpy(cfg.nets[1].host_dev_name, "t1");
	cfg.nets[0].has_mac = cfg.nets[1].has_mac = true;
	memcpy(cfg.nets[0].mac, "\x06\x00\x00\x00\x00\x01", 6);
	memcpy(cfg.nets[1].mac, "\x06\x00\x00\x00\x00\x01", 6);
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "same MAC"), "%s", err);
	memcpy(cfg.nets[1].mac, "\x01\x00\x5e\x00\x00\x01", 6);
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "unicast"), "%s", err);
	strcpy(cfg.nets[1].host_dev_name, "a/b");
	cfg.nets[1].has_mac = false;
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	strcpy(cfg.nets[1].id, "a");
	strcpy(cfg.nets[1].host_dev_name, "t1");
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "twice"), "%s", err);
}

/* A snapshot of a running interface restores onto a fresh device (a new
 * backend, as a restore reopens its TAP): activated again, it receives and
 * transmits where the old one left off. */
Test(net, snapshot_state_round_trip)
{
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 }, frame[60] = { 0 }, out[128];
	struct net_config n = { .id = "eth0", .host_dev_name = "unused" };
	struct vring_used_elem e;
	struct snap_buf b, r;
	int old_peer = peer;

	bring_up(0);
	offer(1, (struct seg[]){ { sizeof(hdr), false, hdr },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	snap_buf_init_write(&b);
	cr_assert_eq(virtio_mmio_device_ops.save(&mt, &b), 0);
	virtio_dev_destroy(dev);
	close(old_peer);

	make(&n); /* a new backend; the test host activates at once */
	snap_buf_init_read(&r, b.p, b.len);
	cr_assert_eq(virtio_mmio_device_ops.restore(&mt, &r), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	cr_assert_eq(th.nr_watched, 2, "active again: watching its backend");
	/* transmit goes on at the next chain */
	offer(1, (struct seg[]){ { sizeof(hdr), false, hdr },
				 { sizeof(frame), false, frame } },
	      2, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(out, sizeof(out)), VIRTIO_NET_HDR_LEN + 60);
	/* and so does receive */
	offer(0, (struct seg[]){ { 2048, true, NULL } }, 1, true);
	inject(80, 0x66);
	fire_backend();
	cr_assert(take_used(0, &e));
	cr_assert_eq(e.len, VIRTIO_NET_HDR_LEN + 80);
	snap_buf_free(&b);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A device saved on a backend without offloads (user mode) restores on
 * one with them (a TAP, here the packet socket) offering what it offered
 * then; other differences in the offer still refuse the state. */
Test(net, restores_onto_a_backend_that_takes_more_offloads)
{
	struct net_config n = { .id = "eth0", .host_dev_name = "unused" };
	const size_t off = 4; /* after the device id: the offer */
	uint64_t offered, got;
	struct snap_buf b, r;

	bring_up(NET_BACKEND_OFFLOADS);
	snap_buf_init_write(&b);
	cr_assert_eq(virtio_mmio_device_ops.save(&mt, &b), 0);
	offered = get_le64(b.p + off);
	cr_assert_eq(offered & NET_BACKEND_OFFLOADS, NET_BACKEND_OFFLOADS);
	/* as a user-mode interface offers */
	put_le64(b.p + off, offered & ~NET_BACKEND_OFFLOADS);
	virtio_dev_destroy(dev);
	close(peer);

	make(&n);
	snap_buf_init_read(&r, b.p, b.len);
	cr_assert_eq(virtio_mmio_device_ops.restore(&mt, &r), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	got = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	got |= (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	cr_assert_eq(got, offered & ~NET_BACKEND_OFFLOADS,
		     "it offers what the driver negotiated from");

	/* an offer that differs elsewhere (no MAC) is another device */
	virtio_dev_destroy(dev);
	close(peer);
	make(&n);
	put_le64(b.p + off, offered & ~(1ULL << VIRTIO_NET_F_MAC));
	snap_buf_init_read(&r, b.p, b.len);
	cr_assert_neq(virtio_mmio_device_ops.restore(&mt, &r), 0);
	/* and so is one of more than it can take */
	virtio_dev_destroy(dev);
	close(peer);
	make(&n);
	put_le64(b.p + off, offered | (1ULL << 50));
	snap_buf_init_read(&r, b.p, b.len);
	cr_assert_neq(virtio_mmio_device_ops.restore(&mt, &r), 0);
	/* nor one where the driver took a feature the device has not */
	put_le64(b.p + off, offered);
	put_le64(b.p + off + 8, 1ULL << 50);
	snap_buf_init_read(&r, b.p, b.len);
	cr_assert_neq(virtio_mmio_device_ops.restore(&mt, &r), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)offered,
		     "a refused state leaves the offer as it was");
	snap_buf_free(&b);
}

Test(net, metadata_frames_are_answered_not_sent)
{
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 }, arp[42] = { 0 }, buf[256];
	uint8_t other[60] = { 0 };
	struct mmds *m = mmds_create(0);
	struct vring_used_elem e;
	uint64_t rx;

	cr_assert(m);
	cr_assert_eq(virtio_net_enable_mmds(dev, m, 0xa9fea9fe), 0);
	cr_assert_eq(virtio_net_enable_mmds(dev, m, 0xa9fea9fe), -EINVAL);
	extra_watched = 1;
	bring_up(0);
	rx = offer(0, (struct seg[]){ { 2048, true, NULL } }, 1, true);
	/* who has 169.254.169.254? */
	memset(arp, 0xff, 6);
	memcpy(arp + 6, "\x06\x00\xac\x10\x00\x02", 6);
	memcpy(arp + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(arp + 22, "\x06\x00\xac\x10\x00\x02\xac\x10\x00\x02", 10);
	memcpy(arp + 38, "\xa9\xfe\xa9\xfe", 4);
	offer(1, (struct seg[]){ { sizeof(hdr), false, hdr },
				 { sizeof(arp), false, arp } },
	      2, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(buf, sizeof(buf)), -1, "not on the backend");
	cr_assert(take_used(0, &e), "the answer was received");
	cr_assert_eq(e.len, VIRTIO_NET_HDR_LEN + 42);
	cr_assert_eq(ram[rx + VIRTIO_NET_HDR_LEN + 21], 2, "an ARP reply");
	cr_assert_eq(memcmp(ram + rx + VIRTIO_NET_HDR_LEN + 22,
			    "\x06\x01\x23\x45\x67\x01", 6), 0);
	/* anything else still goes out */
	memcpy(other + 12, "\x08\x00", 2);
	offer(1, (struct seg[]){ { sizeof(hdr), false, hdr },
				 { sizeof(other), false, other } },
	      2, true);
	cr_assert(take_used(1, &e));
	cr_assert_eq(sent(buf, sizeof(buf)), VIRTIO_NET_HDR_LEN + 60);
	virtio_dev_destroy(dev);
	dev = NULL;
	mmds_destroy(m);
	extra_watched = 0;
	/* teardown's destroy is a no-op now */
}
