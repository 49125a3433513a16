// SPDX-License-Identifier: Apache-2.0
#include "mmds/mmds_stack.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mmds/mmds_tcp.h"
#include "util/be.h"
#include "util/metrics.h"

#define ETH_HLEN   14
#define ETH_P_IPV4 0x0800
#define ETH_P_ARP  0x0806
#define IP_HLEN	   20
#define TCP_HLEN   20
#define ARP_LEN	   28
#define MMDS_PORT  80
#define CTRL_SLOTS 16
#define CTRL_MAX   (ETH_HLEN + IP_HLEN + TCP_HLEN)
/* a connection idle this long may make room for a new one */
#define IDLE_NS (10ULL * 1000000000ULL)

static const uint8_t mmds_mac[6] = { 0x06, 0x01, 0x23, 0x45, 0x67, 0x01 };

/* Frames owed that belong to no connection: ARP answers, resets. */
struct ctrl_frame {
	uint8_t bytes[CTRL_MAX];
	size_t len;
};

struct mmds_stack {
	struct mmds *mmds;
	uint32_t ip;
	uint16_t ip_id;
	uint32_t next_iss;
	struct tcp_conn conns[MMDS_MAX_CONNS];
	bool used[MMDS_MAX_CONNS];
	unsigned int rr; /* where the next output round starts */
	struct ctrl_frame ctrl[CTRL_SLOTS];
	unsigned int ctrl_head, ctrl_count;
	struct {
		uint64_t *rx_frames, *rx_malformed, *rx_dropped, *tx_frames;
		uint64_t *tx_bytes, *conn_opened, *conn_closed, *conn_refused;
		uint64_t *timeouts;
	} m;
};





/* RFC 1071: the one's complement sum, folded later. */
static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
	for (; n > 1; n -= 2, p += 2)
		acc += be16_get(p);
	if (n)
		acc += (uint32_t)p[0] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

struct mmds_stack *mmds_stack_create(struct mmds *m, uint32_t ipv4)
{
	struct mmds_stack *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->mmds = m;
	st->ip = ipv4;
	/* initial sequence numbers a guest cannot guess in advance */
	if (getrandom(&st->next_iss, sizeof(st->next_iss), GRND_NONBLOCK) !=
	    sizeof(st->next_iss))
		st->next_iss = 0x6d6d6473;
	st->m.rx_frames = metrics_counter("mmds", "rx_frames");
	st->m.rx_malformed = metrics_counter("mmds", "rx_malformed");
	st->m.rx_dropped = metrics_counter("mmds", "rx_dropped");
	st->m.tx_frames = metrics_counter("mmds", "tx_frames");
	st->m.tx_bytes = metrics_counter("mmds", "tx_bytes");
	st->m.conn_opened = metrics_counter("mmds", "connections_created");
	st->m.conn_closed = metrics_counter("mmds", "connections_destroyed");
	st->m.conn_refused = metrics_counter("mmds", "connections_refused");
	st->m.timeouts = metrics_counter("mmds", "retransmit_timeouts");
	return st;
}

static void conn_drop(struct mmds_stack *st, int i)
{
	tcp_conn_free(&st->conns[i]);
	st->used[i] = false;
	metrics_inc(st->m.conn_closed);
}

void mmds_stack_destroy(struct mmds_stack *st)
{
	if (!st)
		return;
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		if (st->used[i])
			conn_drop(st, i);
	free(st);
}

bool mmds_stack_claims(const struct mmds_stack *st, const uint8_t *head,
		       size_t len)
{
	if (len < ETH_HLEN + IP_HLEN)
		return false;
	switch (be16_get(head + 12)) {
	case ETH_P_IPV4:
		return be32_get(head + ETH_HLEN + 16) == st->ip;
	case ETH_P_ARP:
		/* target protocol address */
		return len >= ETH_HLEN + ARP_LEN &&
		       be32_get(head + ETH_HLEN + 24) == st->ip;
	default:
		return false;
	}
}

/* --- frames out --- */

static size_t eth_header(uint8_t *b, const uint8_t *dst, uint16_t type)
{
	memcpy(b, dst, 6);
	memcpy(b + 6, mmds_mac, 6);
	be16_put(b + 12, type);
	return ETH_HLEN;
}

/* Ethernet, IPv4 and TCP headers for @s to @c's peer, then its data, into
 * @b (@cap bytes); the frame's length, 0 when it does not fit. */
static size_t tcp_frame(struct mmds_stack *st, uint8_t *b, size_t cap,
			const uint8_t *mac, uint32_t ip, uint16_t port,
			const struct tcp_seg *s)
{
	size_t tcp_len = TCP_HLEN + (s->mss ? 4 : 0);
	size_t ip_len = IP_HLEN + tcp_len + s->len;
	uint8_t *iph = b + ETH_HLEN, *th = iph + IP_HLEN;
	uint32_t acc;

	if (ETH_HLEN + ip_len > cap)
		return 0;
	eth_header(b, mac, ETH_P_IPV4);
	memset(iph, 0, IP_HLEN + tcp_len);
	iph[0] = 0x45;
	be16_put(iph + 2, (uint16_t)ip_len);
	be16_put(iph + 4, st->ip_id++);
	be16_put(iph + 6, 0x4000); /* don't fragment */
	iph[8] = 64;
	iph[9] = 6;
	be32_put(iph + 12, st->ip);
	be32_put(iph + 16, ip);
	be16_put(iph + 10, fold(sum16(0, iph, IP_HLEN)));
	be16_put(th, MMDS_PORT);
	be16_put(th + 2, port);
	be32_put(th + 4, s->seq);
	be32_put(th + 8, s->flags & TCP_ACK ? s->ack : 0);
	th[12] = (uint8_t)((tcp_len / 4) << 4);
	th[13] = s->flags;
	be16_put(th + 14, s->wnd);
	if (s->mss) {
		th[20] = 2;
		th[21] = 4;
		be16_put(th + 22, s->mss);
	}
	if (s->len)
		memcpy(th + tcp_len, s->data, s->len);
	/* the pseudo header, then the segment */
	acc = sum16(0, iph + 12, 8) + 6 + (uint32_t)(tcp_len + s->len);
	acc = sum16(acc, th, tcp_len + s->len);
	be16_put(th + 16, fold(acc));
	return ETH_HLEN + ip_len;
}

static struct ctrl_frame *ctrl_slot(struct mmds_stack *st)
{
	struct ctrl_frame *f;

	if (st->ctrl_count == CTRL_SLOTS) {
		/* a guest sending faster than it reads: it retransmits */
		metrics_inc(st->m.rx_dropped);
		return NULL;
	}
	f = &st->ctrl[(st->ctrl_head + st->ctrl_count++) % CTRL_SLOTS];
	return f;
}

static void queue_arp_reply(struct mmds_stack *st, const uint8_t *arp,
			    const uint8_t *eth_src)
{
	struct ctrl_frame *f = ctrl_slot(st);
	uint8_t *a;

	if (!f)
		return;
	eth_header(f->bytes, eth_src, ETH_P_ARP);
	a = f->bytes + ETH_HLEN;
	memcpy(a, arp, 6); /* hardware and protocol types and sizes */
	be16_put(a + 6, 2);   /* reply */
	memcpy(a + 8, mmds_mac, 6);
	be32_put(a + 14, st->ip);
	memcpy(a + 18, arp + 8, 10); /* the asker's MAC and address */
	f->len = ETH_HLEN + ARP_LEN;
}

/* RFC 9293 3.10.7.1: a segment for no connection gets a reset. */
static void queue_reset(struct mmds_stack *st, const uint8_t *mac,
			uint32_t ip, uint16_t port, const struct tcp_seg *in)
{
	struct ctrl_frame *f;
	struct tcp_seg r = { 0 };

	if (in->flags & TCP_RST || !(f = ctrl_slot(st)))
		return;
	if (in->flags & TCP_ACK) {
		r.seq = in->ack;
		r.flags = TCP_RST;
	} else {
		r.ack = in->seq + (uint32_t)in->len +
			!!(in->flags & TCP_SYN) + !!(in->flags & TCP_FIN);
		r.flags = TCP_RST | TCP_ACK;
	}
	f->len = tcp_frame(st, f->bytes, sizeof(f->bytes), mac, ip, port, &r);
}

/* --- frames in --- */

static void arp_input(struct mmds_stack *st, const uint8_t *frame,
		      size_t len)
{
	const uint8_t *a = frame + ETH_HLEN;

	/* Ethernet and IPv4, 6 and 4 bytes, a request */
	if (len < ETH_HLEN + ARP_LEN || be16_get(a) != 1 ||
	    be16_get(a + 2) != ETH_P_IPV4 || a[4] != 6 || a[5] != 4) {
		metrics_inc(st->m.rx_malformed);
		return;
	}
	if (be16_get(a + 6) != 1)
		return; /* a reply or an announcement: nothing to answer */
	queue_arp_reply(st, a, frame + 6);
}

static int find_conn(const struct mmds_stack *st, uint32_t ip, uint16_t port)
{
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		if (st->used[i] && st->conns[i].peer_ip == ip &&
		    st->conns[i].peer_port == port)
			return i;
	return -1;
}

/* A free slot, or that of a connection idle for IDLE_NS (the longest
 * idle one); -1 when all are busy. */
static int free_conn(struct mmds_stack *st, uint64_t now)
{
	int oldest = -1;

	for (int i = 0; i < MMDS_MAX_CONNS; i++) {
		if (!st->used[i])
			return i;
		if (st->conns[i].last_seen + IDLE_NS <= now &&
		    (oldest < 0 ||
		     st->conns[i].last_seen < st->conns[oldest].last_seen))
			oldest = i;
	}
	if (oldest >= 0)
		conn_drop(st, oldest);
	return oldest;
}

/* The MSS option of a SYN, 0 when it has none. */
static uint16_t find_mss(const uint8_t *opt, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (opt[i] == 0)
			break;
		if (opt[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || opt[i + 1] < 2 || i + opt[i + 1] > n)
			break;
		if (opt[i] == 2 && opt[i + 1] == 4)
			return be16_get(opt + i + 2);
		i += opt[i + 1];
	}
	return 0;
}

static void tcp_input(struct mmds_stack *st, const uint8_t *frame,
		      const uint8_t *th, size_t tcp_len, uint32_t src,
		      uint64_t now)
{
	size_t doff = (size_t)(th[12] >> 4) * 4;
	uint16_t port = be16_get(th);
	struct tcp_seg s = { 0 };
	int i;

	if (doff < TCP_HLEN || doff > tcp_len) {
		metrics_inc(st->m.rx_malformed);
		return;
	}
	s.seq = be32_get(th + 4);
	s.ack = be32_get(th + 8);
	s.flags = th[13] & (TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK);
	s.wnd = be16_get(th + 14);
	s.data = th + doff;
	s.len = tcp_len - doff;
	if (be16_get(th + 2) != MMDS_PORT) {
		queue_reset(st, frame + 6, src, port, &s);
		return;
	}
	i = find_conn(st, src, port);
	if (i < 0) {
		if ((s.flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN) {
			queue_reset(st, frame + 6, src, port, &s);
			return;
		}
		s.mss = find_mss(th + TCP_HLEN, doff - TCP_HLEN);
		i = free_conn(st, now);
		if (i < 0 || tcp_conn_open(&st->conns[i], &s,
					   st->next_iss, now)) {
			metrics_inc(st->m.conn_refused);
			queue_reset(st, frame + 6, src, port, &s);
			return;
		}
		st->next_iss += 64000 + (uint32_t)(now & 0xffff);
		st->used[i] = true;
		st->conns[i].peer_ip = src;
		st->conns[i].peer_port = port;
		memcpy(st->conns[i].peer_mac, frame + 6, 6);
		metrics_inc(st->m.conn_opened);
		return;
	}
	tcp_conn_input(&st->conns[i], st->mmds, &s, now);
	if (st->conns[i].dead)
		conn_drop(st, i);
}

static void ipv4_input(struct mmds_stack *st, const uint8_t *frame,
		       size_t len, uint64_t now)
{
	const uint8_t *iph = frame + ETH_HLEN;
	size_t avail = len - ETH_HLEN, ihl, tot;

	if (avail < IP_HLEN || iph[0] >> 4 != 4) {
		metrics_inc(st->m.rx_malformed);
		return;
	}
	ihl = (size_t)(iph[0] & 15) * 4;
	tot = be16_get(iph + 2);
	if (ihl < IP_HLEN || tot < ihl || tot > avail) {
		metrics_inc(st->m.rx_malformed);
		return;
	}
	/* fragments (more to come, or an offset) and anything but TCP */
	if ((be16_get(iph + 6) & 0x3fff) || iph[9] != 6) {
		metrics_inc(st->m.rx_dropped);
		return;
	}
	if (tot - ihl < TCP_HLEN) {
		metrics_inc(st->m.rx_malformed);
		return;
	}
	tcp_input(st, frame, iph + ihl, tot - ihl, be32_get(iph + 12), now);
}

void mmds_stack_input(struct mmds_stack *st, const uint8_t *frame,
		      size_t len, uint64_t now_ns)
{
	if (len < ETH_HLEN + IP_HLEN) {
		metrics_inc(st->m.rx_malformed);
		return;
	}
	metrics_inc(st->m.rx_frames);
	if (be16_get(frame + 12) == ETH_P_ARP)
		arp_input(st, frame, len);
	else
		ipv4_input(st, frame, len, now_ns);
}

size_t mmds_stack_output(struct mmds_stack *st, uint8_t *buf, size_t cap,
			 uint64_t now_ns)
{
	size_t n = 0;

	if (st->ctrl_count) {
		struct ctrl_frame *f = &st->ctrl[st->ctrl_head];

		st->ctrl_head = (st->ctrl_head + 1) % CTRL_SLOTS;
		st->ctrl_count--;
		if (f->len <= cap) {
			memcpy(buf, f->bytes, f->len);
			n = f->len;
		}
	}
	/* each connection in turn, so that one long answer does not hold
	 * back the others */
	for (unsigned int k = 0; !n && k < MMDS_MAX_CONNS; k++) {
		unsigned int i = (st->rr + k) % MMDS_MAX_CONNS;
		struct tcp_conn *c = &st->conns[i];
		struct tcp_seg s;

		if (!st->used[i])
			continue;
		if (tcp_conn_output(c, &s, now_ns)) {
			n = tcp_frame(st, buf, cap, c->peer_mac, c->peer_ip,
				      c->peer_port, &s);
			st->rr = i + 1;
		}
		if (c->dead)
			conn_drop(st, (int)i);
	}
	if (n) {
		metrics_inc(st->m.tx_frames);
		metrics_add(st->m.tx_bytes, n);
	}
	return n;
}

uint64_t mmds_stack_deadline(const struct mmds_stack *st)
{
	uint64_t d = 0;

	for (int i = 0; i < MMDS_MAX_CONNS; i++) {
		uint64_t t = st->used[i] ? st->conns[i].rto_deadline : 0;

		if (t && (!d || t < d))
			d = t;
	}
	return d;
}

void mmds_stack_tick(struct mmds_stack *st, uint64_t now_ns)
{
	for (int i = 0; i < MMDS_MAX_CONNS; i++) {
		struct tcp_conn *c = &st->conns[i];

		if (st->used[i] && c->rto_deadline && c->rto_deadline <= now_ns) {
			metrics_inc(st->m.timeouts);
			tcp_conn_timeout(c, now_ns);
		}
	}
}
