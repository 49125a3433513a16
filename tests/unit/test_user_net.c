// SPDX-License-Identifier: Apache-2.0
/* The user-mode backends' framing (devices/virtio/net/user_net.c) over a
 * stream socket pair standing in for passt or figment-slirp: frames leave
 * with a 32-bit big-endian length and no header, a frame the socket takes
 * only in part goes on whole before any other, frames arrive whole however
 * the stream cuts them, and a peer that breaks the framing or ends is
 * noticed. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net/net.h"
#include "config/net_config.h"
#include "config/vm_config.h"
#include "devices/virtio/net/net_backend.h"

static struct net_backend *be;
static int peer;
static uint8_t buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME];

static void setup(void)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	be = net_user_on_fd(sv[0], "test-peer", "eth0");
	cr_assert(be);
	peer = sv[1];
}

static void teardown(void)
{
	net_backend_destroy(be);
	if (peer >= 0)
		close(peer);
}

TestSuite(user_net, .init = setup, .fini = teardown);

static int send_frame(const uint8_t *frame, size_t len)
{
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 };
	/* the frame in two pieces, as a guest's chain may give it */
	struct iovec iov[3] = { { hdr, sizeof(hdr) },
				{ (void *)frame, len / 2 },
				{ (void *)(frame + len / 2), len - len / 2 } };

	return be->ops->send(be, iov, 3);
}

/* Reads exactly @len bytes from the peer (it is non-blocking: waits). */
static void peer_read(uint8_t *out, size_t len)
{
	size_t got = 0;

	for (int spins = 0; got < len && spins < 100000; spins++) {
		ssize_t r = read(peer, out + got, len - got);

		if (r > 0)
			got += (size_t)r;
		else
			usleep(10);
	}
	cr_assert_eq(got, len);
}

static void put_frame(uint8_t *out, uint32_t len, uint8_t fill)
{
	uint32_t be_len = htobe32(len);

	memcpy(out, &be_len, 4);
	memset(out + 4, fill, len);
}

Test(user_net, offers_no_offloads)
{
	cr_assert_eq(be->features, 0);
	cr_assert_null(be->ops->activate);
	cr_assert(be->ops->writable);
}

Test(user_net, a_frame_leaves_with_its_length_and_no_header)
{
	uint8_t frame[100], got[104];
	uint32_t len;

	for (int i = 0; i < 100; i++)
		frame[i] = (uint8_t)i;
	cr_assert_eq(send_frame(frame, sizeof(frame)), 0);
	peer_read(got, sizeof(got));
	memcpy(&len, got, 4);
	cr_assert_eq(be32toh(len), 100);
	cr_assert_arr_eq(got + 4, frame, 100);
}

/* A socket that takes part of a frame: the rest goes first, later frames
 * are dropped until it has; the peer sees whole frames only. */
Test(user_net, a_partly_sent_frame_goes_on_whole)
{
	static uint8_t frame[60000], got[4 + 60000];
	int small = 4096, sent = 0, dropped = 0;
	uint32_t len;

	setsockopt(be->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int k = 0; k < 8; k++) {
		memset(frame, 'a' + k, sizeof(frame));
		int r = send_frame(frame, sizeof(frame));

		if (r == 0)
			sent++;
		else if (r == -EAGAIN)
			dropped++;
		else
			cr_assert_fail("send: %d", r);
	}
	cr_assert_geq(sent, 1);
	cr_assert_geq(dropped, 1, "a small socket cannot take 8 x 60 kB");
	/* drain while telling the backend it may write again */
	for (int k = 0; k < sent; k++) {
		size_t got_n = 0;

		while (got_n < sizeof(got)) {
			ssize_t r = read(peer, got + got_n, sizeof(got) - got_n);

			if (r > 0)
				got_n += (size_t)r;
			else
				be->ops->writable(be);
		}
		memcpy(&len, got, 4);
		cr_assert_eq(be32toh(len), sizeof(frame), "frame %d", k);
		for (size_t i = 4; i < sizeof(got); i++)
			cr_assert_eq(got[i], got[4], "frame %d torn at %zu", k, i);
	}
	be->ops->writable(be);
	cr_assert_eq(read(peer, got, 1), -1, "nothing more than whole frames");
}

Test(user_net, frames_arrive_whole_however_the_stream_cuts_them)
{
	static uint8_t stream[3 * (4 + 1500)];
	size_t n = 0;
	ssize_t r;

	put_frame(stream, 60, 0x11);
	n += 64;
	put_frame(stream + n, 1500, 0x22);
	n += 1504;
	put_frame(stream + n, 100, 0x33);
	/* the first, the second, and half of the third */
	cr_assert_eq(write(peer, stream, n + 50), (ssize_t)(n + 50));
	r = be->ops->recv(be, buf, sizeof(buf));
	cr_assert_eq(r, VIRTIO_NET_HDR_LEN + 60);
	for (int i = 0; i < VIRTIO_NET_HDR_LEN; i++)
		cr_assert_eq(buf[i], 0, "a header of zeroes");
	cr_assert_eq(buf[VIRTIO_NET_HDR_LEN], 0x11);
	r = be->ops->recv(be, buf, sizeof(buf));
	cr_assert_eq(r, VIRTIO_NET_HDR_LEN + 1500);
	cr_assert_eq(buf[VIRTIO_NET_HDR_LEN + 1499], 0x22);
	cr_assert_eq(be->ops->recv(be, buf, sizeof(buf)), -EAGAIN);
	cr_assert_eq(write(peer, stream + n + 50, 54), 54);
	r = be->ops->recv(be, buf, sizeof(buf));
	cr_assert_eq(r, VIRTIO_NET_HDR_LEN + 100);
	cr_assert_eq(buf[VIRTIO_NET_HDR_LEN + 99], 0x33);
	cr_assert_eq(be->ops->recv(be, buf, sizeof(buf)), -EAGAIN);
}

Test(user_net, a_nonsense_length_ends_the_stream)
{
	uint32_t lens[] = { htobe32(0), htobe32(VIRTIO_NET_MAX_FRAME + 1) };

	for (int k = 0; k < 2; k++) {
		if (k) {
			teardown();
			setup();
		}
		cr_assert_eq(write(peer, &lens[k], 4), 4);
		cr_assert_eq(be->ops->recv(be, buf, sizeof(buf)), -EPROTO);
		/* from then on nothing crosses, either way */
		cr_assert_eq(be->ops->recv(be, buf, sizeof(buf)), -EPIPE);
		cr_assert_eq(send_frame(buf, 60), -EPIPE);
	}
}

Test(user_net, the_peer_ending_is_noticed)
{
	close(peer);
	peer = -1;
	cr_assert_eq(be->ops->recv(be, buf, sizeof(buf)), -EPIPE);
	cr_assert_eq(send_frame(buf, 60), -EPIPE);
}

/* --net ...,user=...,hostfwd=... and the checks on a set of interfaces */
Test(user_net_config, flags_parse_and_bad_ones_are_refused)
{
	static const char *const bad[] = {
		"id=a,user=on,tap=t",		 /* both */
		"id=a,user=vde",		 /* no such backend */
		"id=a,tap=t,hostfwd=tcp::1-:2",	 /* forwards need user mode */
		"id=a,user=on,hostfwd=tcp:2222:22",
		"id=a,user=on,hostfwd=tcp::2222-10.0.2.16:22",
		"id=a,user=on,hostfwd=tcp::70000-:22",
		"id=a,user=on,hostfwd=sctp::1-:2",
		"id=a,user=on,hostfwd=tcp:1.2.3:1-:2",
		"id=a,user=on,user=slirp",
	};
	struct net_config n;
	struct vm_config cfg;
	char err[256], fwd[48];

	cr_assert_eq(net_config_parse("id=eth0,user=slirp,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::53-10.0.2.15:53",
				      &n, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(n.backend, NET_BACKEND_SLIRP);
	cr_assert_eq(n.nr_hostfwd, 2);
	cr_assert_eq(n.hostfwd[0].host_port, 2222);
	cr_assert_eq(n.hostfwd[0].guest_port, 22);
	cr_assert(n.hostfwd[1].udp);
	net_hostfwd_format(&n.hostfwd[1], fwd);
	cr_assert_str_eq(fwd, "udp:127.0.0.1:53-:53");
	/* every address only when asked for, and so it stays (the snapshot
	 * keeps the formatted forward) */
	cr_assert_eq(net_config_parse("id=eth0,user=on,hostfwd=tcp:0.0.0.0:8080-:80",
				      &n, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(n.hostfwd[0].host_addr, htonl(INADDR_ANY));
	net_hostfwd_format(&n.hostfwd[0], fwd);
	cr_assert_str_eq(fwd, "tcp:0.0.0.0:8080-:80");
	cr_assert_eq(net_hostfwd_parse(fwd, &n.hostfwd[1]), 0);
	cr_assert_eq(n.hostfwd[1].host_addr, htonl(INADDR_ANY));
	cr_assert_eq(net_hostfwd_parse("tcp::8080-:80", &n.hostfwd[1]), 0);
	cr_assert_eq(n.hostfwd[1].host_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq(net_config_parse("id=e,user=on", &n, err, sizeof(err)), 0);
	cr_assert_eq(n.backend, NET_BACKEND_PASST, "on is the default backend");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_lt(net_config_parse(bad[i], &n, err, sizeof(err)), 0,
			     "%s", bad[i]);

	/* one host port forwarded by two interfaces; a TAP name on a
	 * user-mode interface */
	vm_config_init(&cfg);
	cr_assert_eq(net_config_parse("id=a,user=on,hostfwd=tcp::2222-:22",
				      &cfg.nets[0], err, sizeof(err)), 0);
	cr_assert_eq(net_config_parse("id=b,user=slirp,hostfwd=tcp::2222-:80",
				      &cfg.nets[1], err, sizeof(err)), 0);
	cfg.nr_nets = 2;
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "forwarded twice"), "%s", err);
	cfg.nets[1].hostfwd[0].udp = true; /* UDP 2222 is another port */
	cr_assert_eq(vm_config_validate_nets(&cfg, err, sizeof(err)), 0, "%s", err);
	strcpy(cfg.nets[1].host_dev_name, "t0");
	cr_assert_lt(vm_config_validate_nets(&cfg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "no TAP"), "%s", err);
}
