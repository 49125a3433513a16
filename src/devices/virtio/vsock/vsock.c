// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock: the packets and the connections (see vsock.h). The Unix
 * sockets are vsock_muxer.c's; here they are only read and written.
 */
#include "devices/virtio/vsock/vsock.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "devices/virtio/vsock/vsock_muxer.h"
#include "persist/snapshot_file.h"
#include "util/log.h"
#include "util/metrics.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_LEN,
	       "the packet header");

#define SHUT_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)
/* send a CREDIT_UPDATE once this much was forwarded unannounced */
#define CREDIT_THRESHOLD (VSOCK_CONN_BUF / 4)
#define HASH_SIZE	 256
#define MUX_EVENTS	 64
#define ACCEPT_PER_ROUND 16
/* host-initiated connections get host ports from here on (Firecracker's) */
#define LOCAL_PORT_FIRST (1u << 30)
#define SNAP_VERSION	 1

enum conn_state {
	CONN_HOST_LINE,	 /* host connected, its CONNECT line not read yet */
	CONN_LOCAL_INIT, /* REQUEST to the guest, waiting for RESPONSE */
	CONN_CLOSING, /* the guest shut both ways: flushing, then RST */
	CONN_ESTABLISHED,
};
/* the states with a deadline come first: their timeouts' index */
#define CONN_TIMEOUTS CONN_ESTABLISHED
/* the muxer's epoll key of the deadline timer */
#define TIMER_KEY (VSOCK_MUX_LISTENER - 1)

/* control packets a connection owes the guest */
#define P_REQUEST	 1u
#define P_RESPONSE	 2u
#define P_SHUTDOWN	 4u
#define P_CREDIT_UPDATE	 8u
#define P_CREDIT_REQUEST 16u

struct vsock_conn {
	uint32_t idx, gen;
	enum conn_state state;
	int fd;
	uint32_t local_port, peer_port; /* host side, guest side */
	struct vsock_conn *hnext;	/* hash chain */
	struct vsock_conn *rx_prev, *rx_next;
	bool in_rx; /* in the round-robin list of those with work */
	uint32_t pending;    /* P_* */
	uint32_t shut_flags; /* what P_SHUTDOWN says */
	bool host_readable;  /* not read to EAGAIN since its last edge */
	bool host_hup;	     /* the host closed its end */
	bool host_eof;	     /* read gave 0: the host sends no more */
	bool host_wr_shut;   /* shutdown(SHUT_WR) done */
	bool credit_asked;
	uint32_t peer_shut; /* SHUTDOWN flags the guest sent */
	/* guest to host */
	uint32_t rx_cnt;	/* payload bytes the guest sent */
	uint32_t fwd_cnt;	/* of which the host socket took */
	uint32_t fwd_announced; /* fwd_cnt the guest last saw */
	uint8_t *buf;		/* VSOCK_CONN_BUF ring, while not empty */
	uint32_t buf_off, buf_len;
	/* host to guest */
	uint32_t tx_cnt; /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	/* CLOCK_MONOTONIC ns by which the connection must have moved on
	 * (its CONNECT line read, the guest's answer, the flush done); 0:
	 * none */
	uint64_t deadline;
};

struct rst_entry {
	uint64_t src_cid;
	uint32_t src_port, dst_port;
};

struct virtio_vsock {
	struct virtio_dev vdev; /* first: the transport's view */
	uint64_t guest_cid;
	struct virtio_vsock_config config;
	struct vsock_muxer mux;

	struct vsock_conn *slots[VSOCK_MAX_CONNS];
	uint32_t gens[VSOCK_MAX_CONNS];
	int nr_conns;
	struct vsock_conn *hash[HASH_SIZE];
	struct vsock_conn *rx_head, *rx_tail;
	struct rst_entry rst[VSOCK_RST_RING];
	unsigned int rst_head, rst_len;
	uint32_t next_local_port;
	bool reset_event_pending; /* TRANSPORT_RESET owed (after restore) */
	/* the deadlines: one timerfd, in the muxer's epoll set, armed for
	 * the earliest (timer_at, 0: disarmed) */
	int timer_fd;
	uint64_t timer_at;
	uint64_t timeout_ns[CONN_TIMEOUTS];

	/* scratch, used under vdev.lock */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct epoll_event events[MUX_EVENTS];

	/* metrics group "vsock" */
	struct {
		uint64_t *rx_packets, *rx_bytes, *rx_dropped, *rx_no_buffers;
		uint64_t *tx_packets, *tx_bytes, *tx_malformed, *rst_sent;
		uint64_t *conns_added, *conns_removed, *conns_refused;
		uint64_t *credit_violations, *host_errors, *events_sent;
		uint64_t *conns_refused_cap;
		uint64_t *timed_out[CONN_TIMEOUTS];
	} m;
};

static struct virtio_vsock *to_vsock(struct virtio_dev *dev)
{
	return (struct virtio_vsock *)dev;
}

static unsigned int hash_of(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) % HASH_SIZE;
}

static struct vsock_conn *conn_find(struct virtio_vsock *v, uint32_t local,
				    uint32_t peer)
{
	struct vsock_conn *c = v->hash[hash_of(local, peer)];

	while (c && (c->local_port != local || c->peer_port != peer))
		c = c->hnext;
	return c;
}

static void hash_insert(struct virtio_vsock *v, struct vsock_conn *c)
{
	unsigned int h = hash_of(c->local_port, c->peer_port);

	c->hnext = v->hash[h];
	v->hash[h] = c;
}

static void hash_remove(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct vsock_conn **p = &v->hash[hash_of(c->local_port, c->peer_port)];

	while (*p && *p != c)
		p = &(*p)->hnext;
	if (*p)
		*p = c->hnext;
}

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0
					       : c->peer_buf_alloc - in_flight;
}

/* Data from the host may go to the guest now (credit aside). */
static bool wants_to_send(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && c->host_readable &&
	       !c->host_eof && !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV);
}

static bool has_work(const struct vsock_conn *c)
{
	return c->pending || (wants_to_send(c) && peer_credit(c) > 0);
}

static void rx_list_remove(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (!c->in_rx)
		return;
	if (c->rx_prev)
		c->rx_prev->rx_next = c->rx_next;
	else
		v->rx_head = c->rx_next;
	if (c->rx_next)
		c->rx_next->rx_prev = c->rx_prev;
	else
		v->rx_tail = c->rx_prev;
	c->rx_prev = c->rx_next = NULL;
	c->in_rx = false;
}

/* Puts @c at the end of the round-robin list when it has something for
 * the guest; asks the guest for credit once when only credit is missing. */
static void rx_schedule(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (wants_to_send(c) && peer_credit(c) == 0 && !c->credit_asked) {
		c->pending |= P_CREDIT_REQUEST;
		c->credit_asked = true;
	}
	if (c->in_rx || !has_work(c))
		return;
	c->rx_prev = v->rx_tail;
	c->rx_next = NULL;
	if (v->rx_tail)
		v->rx_tail->rx_next = c;
	else
		v->rx_head = c;
	v->rx_tail = c;
	c->in_rx = true;
}

static void rst_push(struct virtio_vsock *v, uint64_t src_cid,
		     uint32_t src_port, uint32_t dst_port)
{
	if (v->rst_len == VSOCK_RST_RING) {
		/* the guest gives no receive buffers: its connect or send
		 * times out instead */
		metrics_inc(v->m.rx_dropped);
		return;
	}
	v->rst[(v->rst_head + v->rst_len++) % VSOCK_RST_RING] =
		(struct rst_entry){ .src_cid = src_cid, .src_port = src_port,
				    .dst_port = dst_port };
}

/* --- deadlines --- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Arms the timer for @at (absolute), or disarms it at 0. */
static void timer_set(struct virtio_vsock *v, uint64_t at)
{
	struct itimerspec its = { 0 };

	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
		its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	}
	if (timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		v->timer_at = at;
}

/* Gives @c until its state's timeout from now to leave that state (the
 * timer fires for the earliest deadline of all). */
static void conn_set_deadline(struct virtio_vsock *v, struct vsock_conn *c)
{
	c->deadline = c->state < CONN_TIMEOUTS
			      ? now_ns() + v->timeout_ns[c->state]
			      : 0;
	if (c->deadline && (!v->timer_at || c->deadline < v->timer_at))
		timer_set(v, c->deadline);
}

static void conn_kill(struct virtio_vsock *v, struct vsock_conn *c, bool rst);

/*
 * The timer fired: connections past their deadline go. A host client that
 * never finished its CONNECT line is closed; a REQUEST the guest never
 * answered, or a flush the host never took, is given up with an RST to the
 * guest and the host socket closed. Then the timer is armed for the next.
 */
static void conns_expire(struct virtio_vsock *v)
{
	uint64_t now = now_ns(), next = 0, buf;

	if (read(v->timer_fd, &buf, sizeof(buf)) < 0) {
		/* EAGAIN: called for another reason, or fired early */
	}
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = v->slots[i];

		if (!c || !c->deadline || c->state >= CONN_TIMEOUTS)
			continue;
		if (c->deadline <= now) {
			metrics_inc(v->m.timed_out[c->state]);
			conn_kill(v, c, true);
		} else if (!next || c->deadline < next) {
			next = c->deadline;
		}
	}
	timer_set(v, next);
}

/* --- connections --- */

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd,
				   enum conn_state state)
{
	struct vsock_conn *c;
	int i;

	if (v->nr_conns >= VSOCK_MAX_CONNS)
		return NULL;
	for (i = 0; i < VSOCK_MAX_CONNS && v->slots[i]; i++)
		;
	if (i == VSOCK_MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->idx = (uint32_t)i;
	c->gen = ++v->gens[i];
	c->fd = fd;
	c->state = state;
	if (vsock_muxer_add(&v->mux, fd, (uint64_t)c->gen << 32 | c->idx)) {
		free(c);
		return NULL;
	}
	v->slots[i] = c;
	v->nr_conns++;
	metrics_inc(v->m.conns_added);
	conn_set_deadline(v, c);
	return c;
}

/* Closes @c's socket and forgets it; with @rst the guest is told. */
static void conn_kill(struct virtio_vsock *v, struct vsock_conn *c, bool rst)
{
	if (rst && c->state != CONN_HOST_LINE)
		rst_push(v, VSOCK_HOST_CID, c->local_port, c->peer_port);
	if (c->state != CONN_HOST_LINE)
		hash_remove(v, c);
	rx_list_remove(v, c);
	close(c->fd);
	free(c->buf);
	v->slots[c->idx] = NULL;
	v->gens[c->idx]++;
	v->nr_conns--;
	metrics_inc(v->m.conns_removed);
	free(c);
	vsock_muxer_listen_resume(&v->mux); /* a descriptor is free again */
}

static void conn_kill_all(struct virtio_vsock *v)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->slots[i])
			conn_kill(v, v->slots[i], false);
	v->rst_len = 0;
}

/* The host port for a host-initiated connection: one no connection uses. */
static uint32_t local_port_alloc(struct virtio_vsock *v)
{
	for (;;) {
		uint32_t p = v->next_local_port++;
		bool used = false;

		if (v->next_local_port == 0)
			v->next_local_port = LOCAL_PORT_FIRST;
		for (int i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = v->slots[i] &&
			       v->slots[i]->state != CONN_HOST_LINE &&
			       v->slots[i]->local_port == p;
		if (!used)
			return p;
	}
}

static void credit_check(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->fwd_cnt - c->fwd_announced >= CREDIT_THRESHOLD)
		c->pending |= P_CREDIT_UPDATE;
	rx_schedule(v, c);
}

/* Writes what the connection buffered to the host socket. 0, or -EPIPE
 * when the socket is gone (the caller kills the connection). */
static int conn_flush(struct virtio_vsock *v, struct vsock_conn *c)
{
	while (c->buf_len > 0) {
		uint32_t first = VSOCK_CONN_BUF - c->buf_off;
		struct iovec iov[2];
		int n = 1;
		ssize_t w;

		if (first >= c->buf_len) {
			iov[0] = (struct iovec){ c->buf + c->buf_off, c->buf_len };
		} else {
			iov[0] = (struct iovec){ c->buf + c->buf_off, first };
			iov[1] = (struct iovec){ c->buf, c->buf_len - first };
			n = 2;
		}
		w = writev(c->fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break; /* EPOLLOUT brings us back */
			metrics_inc(v->m.host_errors);
			return -EPIPE;
		}
		c->buf_off = (c->buf_off + (uint32_t)w) % VSOCK_CONN_BUF;
		c->buf_len -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	if (c->buf_len == 0) {
		free(c->buf);
		c->buf = NULL;
		c->buf_off = 0;
		if ((c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) &&
		    !c->host_wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->host_wr_shut = true;
		}
	}
	credit_check(v, c);
	return 0;
}

/* After the guest's SHUTDOWN or a flush: a connection both sides are done
 * with goes (the guest waits for our RST). True when @c was killed. */
static bool conn_maybe_done(struct virtio_vsock *v, struct vsock_conn *c)
{
	bool guest_done = (c->peer_shut & SHUT_BOTH) == SHUT_BOTH;
	bool both_sent = (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) &&
			 c->host_eof;

	if ((guest_done || both_sent) && c->buf_len == 0) {
		conn_kill(v, c, true);
		return true;
	}
	if (guest_done && c->state != CONN_CLOSING) {
		c->state = CONN_CLOSING;
		conn_set_deadline(v, c);
	}
	return false;
}

/* --- from the guest (transmit queue) --- */

/* A REQUEST from the guest: a connection to "<uds>_<dst_port>". */
static void guest_connect(struct virtio_vsock *v,
			  const struct virtio_vsock_hdr *h)
{
	uint32_t local = le32toh(h->dst_port), peer = le32toh(h->src_port);
	struct vsock_conn *c;
	int fd;

	if (v->nr_conns >= VSOCK_MAX_CONNS) {
		metrics_inc(v->m.conns_refused);
		metrics_inc(v->m.conns_refused_cap);
		rst_push(v, VSOCK_HOST_CID, local, peer);
		return;
	}
	fd = vsock_muxer_connect(&v->mux, local);
	if (fd < 0) {
		/* nobody listens at <uds>_<port> */
		metrics_inc(v->m.conns_refused);
		rst_push(v, VSOCK_HOST_CID, local, peer);
		return;
	}
	c = conn_new(v, fd, CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		metrics_inc(v->m.conns_refused);
		rst_push(v, VSOCK_HOST_CID, local, peer);
		return;
	}
	c->local_port = local;
	c->peer_port = peer;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->pending |= P_RESPONSE;
	hash_insert(v, c);
	rx_schedule(v, c);
}

/* RW: the payload to the host socket, what it does not take into the
 * connection's buffer, within the credit figment gave. */
static void guest_data(struct virtio_vsock *v, struct vsock_conn *c,
		       const struct virtq_chain *ch, uint32_t len)
{
	uint64_t w = 0;

	if (c->state != CONN_ESTABLISHED ||
	    (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		conn_kill(v, c, true); /* data after its own shutdown */
		return;
	}
	if ((uint64_t)(c->rx_cnt - c->fwd_cnt) + len > VSOCK_CONN_BUF) {
		metrics_inc(v->m.credit_violations);
		conn_kill(v, c, true);
		return;
	}
	c->rx_cnt += len;
	if (c->buf_len == 0) {
		int n = virtq_chain_iov(ch, false, VSOCK_HDR_LEN, len, v->iov,
					VIRTQ_MAX_SIZE);
		ssize_t r = n < 0 ? -1 : writev(c->fd, v->iov, n);

		if (r < 0 && n >= 0 && errno != EAGAIN && errno != EINTR) {
			metrics_inc(v->m.host_errors);
			conn_kill(v, c, true);
			return;
		}
		w = r < 0 ? 0 : (uint64_t)r;
		c->fwd_cnt += (uint32_t)w;
	}
	if (w < len) {
		uint32_t rest = len - (uint32_t)w;
		uint32_t at, first;

		if (!c->buf) {
			c->buf = malloc(VSOCK_CONN_BUF);
			if (!c->buf) {
				metrics_inc(v->m.host_errors);
				conn_kill(v, c, true);
				return;
			}
			c->buf_off = 0;
		}
		at = (c->buf_off + c->buf_len) % VSOCK_CONN_BUF;
		first = VSOCK_CONN_BUF - at < rest ? VSOCK_CONN_BUF - at : rest;
		virtq_chain_read(ch, VSOCK_HDR_LEN + w, c->buf + at, first);
		virtq_chain_read(ch, VSOCK_HDR_LEN + w + first, c->buf,
				 rest - first);
		c->buf_len += rest;
	}
	credit_check(v, c);
}

static void guest_shutdown(struct virtio_vsock *v, struct vsock_conn *c,
			   uint32_t flags)
{
	c->peer_shut |= flags & SHUT_BOTH;
	if (c->state == CONN_LOCAL_INIT) {
		conn_kill(v, c, true);
		return;
	}
	if (conn_maybe_done(v, c))
		return;
	if ((c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && c->buf_len == 0 &&
	    !c->host_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
	rx_schedule(v, c);
}

/* RESPONSE: the guest accepted a host-initiated connection. */
static void guest_accepted(struct virtio_vsock *v, struct vsock_conn *c)
{
	char ok[24];
	int n;

	if (c->state != CONN_LOCAL_INIT) {
		conn_kill(v, c, true);
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->deadline = 0;
	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	/* a new socket's buffer takes a few bytes */
	if (write(c->fd, ok, (size_t)n) != n) {
		metrics_inc(v->m.host_errors);
		conn_kill(v, c, true);
		return;
	}
	c->host_readable = true; /* what the host sent before the OK */
	rx_schedule(v, c);
}

/* One packet from the guest (one chain). */
static uint32_t tx_serve_chain(struct virtio_dev *dev,
			       const struct virtq_chain *ch, uint64_t *work)
{
	struct virtio_vsock *v = to_vsock(dev);
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;
	uint32_t len;
	uint16_t op;

	*work += ch->read_len;
	if (ch->read_len < VSOCK_HDR_LEN) {
		metrics_inc(v->m.tx_malformed);
		return 0;
	}
	/* copied once; only the copy is looked at */
	virtq_chain_read(ch, 0, &h, sizeof(h));
	len = le32toh(h.len);
	op = le16toh(h.op);
	if (len > VSOCK_MAX_PKT || len > ch->read_len - VSOCK_HDR_LEN ||
	    le64toh(h.src_cid) != v->guest_cid) {
		metrics_inc(v->m.tx_malformed);
		return 0;
	}
	metrics_inc(v->m.tx_packets);
	if (op == VIRTIO_VSOCK_OP_RST && (le64toh(h.dst_cid) != VSOCK_HOST_CID ||
					  le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM)) {
		return 0; /* never answer an RST with one */
	}
	if (le64toh(h.dst_cid) != VSOCK_HOST_CID ||
	    le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM) {
		/* no such peer, or not a stream: refused */
		rst_push(v, le64toh(h.dst_cid), le32toh(h.dst_port),
			 le32toh(h.src_port));
		return 0;
	}
	c = conn_find(v, le32toh(h.dst_port), le32toh(h.src_port));
	if (c) {
		c->peer_buf_alloc = le32toh(h.buf_alloc);
		c->peer_fwd_cnt = le32toh(h.fwd_cnt);
		if (peer_credit(c) > 0)
			c->credit_asked = false;
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c) /* a second REQUEST for one port pair */
			conn_kill(v, c, true);
		else
			guest_connect(v, &h);
		return 0;
	case VIRTIO_VSOCK_OP_RST:
		if (c)
			conn_kill(v, c, false);
		return 0;
	default:
		break;
	}
	if (!c || op < VIRTIO_VSOCK_OP_RESPONSE ||
	    op > VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
		/* unknown operation, or for no connection */
		if (c)
			conn_kill(v, c, true);
		else
			rst_push(v, VSOCK_HOST_CID, le32toh(h.dst_port),
				 le32toh(h.src_port));
		return 0;
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		guest_accepted(v, c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		guest_shutdown(v, c, le32toh(h.flags));
		break;
	case VIRTIO_VSOCK_OP_RW:
		metrics_add(v->m.tx_bytes, len);
		guest_data(v, c, ch, len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pending |= P_CREDIT_UPDATE;
		rx_schedule(v, c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		rx_schedule(v, c); /* more credit: data may go */
		break;
	}
	return 0;
}

/* --- to the guest (receive queue) --- */

static void hdr_fill(struct virtio_vsock *v, struct virtio_vsock_hdr *h,
		     uint64_t src_cid, uint32_t src_port, uint32_t dst_port,
		     uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(src_cid);
	h->dst_cid = htole64(v->guest_cid);
	h->src_port = htole32(src_port);
	h->dst_port = htole32(dst_port);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
}

/* The next packet @c owes the guest into chain @ch (writable bytes past
 * the header). Its payload length, -EAGAIN when there was nothing after
 * all (the chain is not used), -ENOSPC when data waits but the chain has
 * no room past a header, or -ECONNRESET when @c was killed. */
static int conn_fill(struct virtio_vsock *v, struct vsock_conn *c,
		     const struct virtq_chain *ch, struct virtio_vsock_hdr *h)
{
	uint16_t op = 0;
	uint32_t flags = 0;
	uint64_t room;
	uint32_t want;
	ssize_t r;
	int n;

	if (c->pending & P_RESPONSE) {
		c->pending &= ~P_RESPONSE;
		op = VIRTIO_VSOCK_OP_RESPONSE;
	} else if (c->pending & P_REQUEST) {
		c->pending &= ~P_REQUEST;
		op = VIRTIO_VSOCK_OP_REQUEST;
	} else if (c->pending & P_SHUTDOWN) {
		c->pending &= ~P_SHUTDOWN;
		op = VIRTIO_VSOCK_OP_SHUTDOWN;
		flags = c->shut_flags;
	} else if (c->pending & P_CREDIT_UPDATE) {
		c->pending &= ~P_CREDIT_UPDATE;
		op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
	} else if (c->pending & P_CREDIT_REQUEST) {
		c->pending &= ~P_CREDIT_REQUEST;
		op = VIRTIO_VSOCK_OP_CREDIT_REQUEST;
	}
	hdr_fill(v, h, VSOCK_HOST_CID, c->local_port, c->peer_port, op);
	h->buf_alloc = htole32(VSOCK_CONN_BUF);
	h->fwd_cnt = htole32(c->fwd_cnt);
	h->flags = htole32(flags);
	if (op) {
		c->fwd_announced = c->fwd_cnt;
		return 0;
	}
	if (!wants_to_send(c) || peer_credit(c) == 0)
		return -EAGAIN;
	room = ch->write_len - VSOCK_HDR_LEN;
	want = peer_credit(c);
	if (want > VSOCK_MAX_PKT)
		want = VSOCK_MAX_PKT;
	if (want > room)
		want = (uint32_t)room;
	if (want == 0)
		return -ENOSPC;
	n = virtq_chain_iov(ch, true, VSOCK_HDR_LEN, want, v->iov,
			    VIRTQ_MAX_SIZE);
	if (n < 0)
		return -ENOSPC;
	r = readv(c->fd, v->iov, n);
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->host_readable = false; /* until its next edge */
		return -EAGAIN;
	}
	if (r <= 0 && (r < 0 || c->host_hup)) {
		/* closed, or broken: the guest is told at once (data it
		 * already has stays readable there) */
		if (r < 0)
			metrics_inc(v->m.host_errors);
		conn_kill(v, c, true);
		return -ECONNRESET;
	}
	if (r == 0) {
		/* half-closed: the guest reads EOF, and may still send */
		c->host_eof = true;
		if (conn_maybe_done(v, c))
			return -ECONNRESET;
		c->pending |= P_SHUTDOWN;
		c->shut_flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
		return -EAGAIN;
	}
	c->tx_cnt += (uint32_t)r;
	c->fwd_announced = c->fwd_cnt;
	h->op = htole16(VIRTIO_VSOCK_OP_RW);
	h->len = htole32((uint32_t)r);
	metrics_add(v->m.rx_bytes, (uint64_t)r);
	return (int)r;
}

/*
 * Moves what is owed to the guest (RSTs first, then each connection's
 * packets, round-robin) into its receive buffers, until there is nothing
 * left, no buffer, or a queue's worth went; then signals once.
 */
static void rx_process(struct virtio_vsock *v)
{
	struct virtio_dev *dev = &v->vdev;
	struct virtq *q = virtio_dev_queue(dev, RXQ);
	unsigned int budget = q->size;
	bool pushed = false;

	if (!q->ready || q->broken)
		return;
	while (budget > 0 && (v->rst_len || v->rx_head)) {
		struct virtio_vsock_hdr h;
		int len = 0, ret = virtq_pop(q, &v->chain);

		if (ret < 0) {
			virtq_set_broken(q, "vsock receive queue broken");
			break;
		}
		if (ret == 0) {
			metrics_inc(v->m.rx_no_buffers);
			break; /* the guest's RX kick brings us back */
		}
		budget--;
		if (v->chain.write_len < VSOCK_HDR_LEN) {
			/* a buffer no packet fits: back empty */
			metrics_inc(v->m.rx_dropped);
			if (virtq_push(q, v->chain.head, 0))
				break;
			pushed = true;
			continue;
		}
		if (v->rst_len) {
			struct rst_entry *e = &v->rst[v->rst_head];

			hdr_fill(v, &h, e->src_cid, e->src_port, e->dst_port,
				 VIRTIO_VSOCK_OP_RST);
			v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
			v->rst_len--;
			metrics_inc(v->m.rst_sent);
		} else {
			struct vsock_conn *c = v->rx_head;

			rx_list_remove(v, c);
			len = conn_fill(v, c, &v->chain, &h);
			if (len != -ECONNRESET)
				rx_schedule(v, c);
			if (len == -ENOSPC) {
				/* a buffer only a header fits, for data:
				 * back empty (so a guest offering only such
				 * buffers cannot make this spin) */
				metrics_inc(v->m.rx_dropped);
				if (virtq_push(q, v->chain.head, 0))
					break;
				pushed = true;
				continue;
			}
			if (len < 0) {
				/* nothing went: the chain is the next one's */
				virtq_unpop(q);
				continue;
			}
		}
		virtq_chain_write(&v->chain, 0, &h, sizeof(h));
		if (virtq_push(q, v->chain.head, VSOCK_HDR_LEN + (uint32_t)len))
			break;
		metrics_inc(v->m.rx_packets);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal_used(dev, q);
	if (budget == 0 && (v->rst_len || v->rx_head))
		virtio_dev_notify_later(dev, RXQ);
}

/* --- events --- */

/* The TRANSPORT_RESET event, into the guest's event buffer if it gave one
 * (else when it does). */
static void evq_process(struct virtio_vsock *v)
{
	struct virtq *q = virtio_dev_queue(&v->vdev, EVQ);
	struct virtio_vsock_event e = {
		.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)
	};
	int ret;

	if (!v->reset_event_pending || !q->ready || q->broken)
		return;
	ret = virtq_pop(q, &v->chain);
	if (ret < 0) {
		virtq_set_broken(q, "vsock event queue broken");
		return;
	}
	if (ret == 0)
		return;
	if (v->chain.write_len < sizeof(e)) {
		virtq_push(q, v->chain.head, 0);
		return; /* a buffer too small: the next one */
	}
	virtq_chain_write(&v->chain, 0, &e, sizeof(e));
	if (virtq_push(q, v->chain.head, sizeof(e)))
		return;
	v->reset_event_pending = false;
	metrics_inc(v->m.events_sent);
	virtio_dev_signal_used(&v->vdev, q);
}

/* --- the host side --- */

static void host_line(struct virtio_vsock *v, struct vsock_conn *c);

static void host_accept(struct virtio_vsock *v)
{
	for (int i = 0; i < ACCEPT_PER_ROUND; i++) {
		int fd = vsock_muxer_accept(&v->mux);
		struct vsock_conn *c;

		if (fd < 0) {
			if (fd != -EAGAIN && fd != -EINTR &&
			    fd != -ECONNABORTED) {
				/* out of descriptors (or memory): stop listening
				 * until a connection goes, rather than spin on a
				 * listener that stays readable */
				metrics_inc(v->m.host_errors);
				vsock_muxer_listen_pause(&v->mux);
			}
			return;
		}
		c = conn_new(v, fd, CONN_HOST_LINE);
		if (!c) {
			/* at the cap: closed at once, so the listener does not
			 * stay readable and the fd is not kept */
			metrics_inc(v->m.conns_refused);
			if (v->nr_conns >= VSOCK_MAX_CONNS)
				metrics_inc(v->m.conns_refused_cap);
			close(fd);
			continue;
		}
		host_line(v, c); /* the line may be there already */
	}
	/* more waiting: the listener is level-triggered, the loop is back */
}

/* A host connection's CONNECT line. */
static void host_line(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t port;
	int ret = vsock_muxer_read_connect(c->fd, &port);

	if (ret == -EAGAIN)
		return;
	if (ret) {
		if (ret != -EPIPE)
			metrics_inc(v->m.conns_refused);
		conn_kill(v, c, false);
		return;
	}
	c->local_port = local_port_alloc(v);
	c->peer_port = port;
	c->state = CONN_LOCAL_INIT;
	conn_set_deadline(v, c);
	c->pending |= P_REQUEST;
	c->host_readable = true;
	hash_insert(v, c);
	rx_schedule(v, c);
}

static void host_event(struct virtio_vsock *v, struct vsock_conn *c,
		       uint32_t events)
{
	if (events & EPOLLERR) {
		metrics_inc(v->m.host_errors);
		conn_kill(v, c, true);
		return;
	}
	if (events & EPOLLHUP)
		c->host_hup = true;
	if (c->state == CONN_HOST_LINE) {
		host_line(v, c);
		return;
	}
	if (c->host_hup && (c->state == CONN_LOCAL_INIT || c->host_eof)) {
		conn_kill(v, c, true);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		c->host_readable = true;
	if ((events & EPOLLOUT) && c->buf_len) {
		if (conn_flush(v, c)) {
			conn_kill(v, c, true);
			return;
		}
		if (conn_maybe_done(v, c))
			return;
	}
	if (c->host_hup && c->buf_len && c->state == CONN_CLOSING) {
		conn_kill(v, c, true); /* nobody reads what is left */
		return;
	}
	rx_schedule(v, c);
}

/* The muxer's epoll set is readable: serve what is ready. */
static void vsock_mux_ready(struct virtio_dev *dev, int fd, uint32_t events)
{
	struct virtio_vsock *v = to_vsock(dev);
	int n = vsock_muxer_wait(&v->mux, v->events, MUX_EVENTS);

	(void)fd;
	(void)events;
	for (int i = 0; i < n; i++) {
		uint64_t key = v->events[i].data.u64;
		uint32_t idx = (uint32_t)key, gen = (uint32_t)(key >> 32);
		struct vsock_conn *c;

		if (key == VSOCK_MUX_LISTENER) {
			host_accept(v);
			continue;
		}
		if (key == TIMER_KEY) {
			conns_expire(v);
			continue;
		}
		/* one killed earlier in this batch is skipped */
		if (idx >= VSOCK_MAX_CONNS || !(c = v->slots[idx]) ||
		    c->gen != gen)
			continue;
		host_event(v, c, v->events[i].events);
	}
	rx_process(v);
}

/* --- virtio --- */

static void vsock_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_vsock *v = to_vsock(dev);

	if (qidx == TXQ)
		virtio_serve_queue(dev, TXQ, &v->chain, tx_serve_chain);
	if (qidx == EVQ)
		evq_process(v);
	/* new receive buffers, or what the packets just served owe */
	rx_process(v);
}

static int vsock_activate(struct virtio_dev *dev)
{
	struct virtio_vsock *v = to_vsock(dev);
	int ret = virtio_dev_watch(dev, v->mux.epfd, EPOLLIN, vsock_mux_ready);

	if (ret)
		return ret;
	vsock_muxer_listen_resume(&v->mux);
	evq_process(v);
	return 0;
}

/* On the thread that wrote the status, a vCPU's: no system calls (its
 * seccomp filter has none for this). The connections' sockets are closed
 * by deactivate, on the VMM thread; until then nothing is served (the
 * device is not live). */
static void vsock_reset(struct virtio_dev *dev)
{
	struct virtio_vsock *v = to_vsock(dev);

	v->rst_len = 0;
	v->reset_event_pending = false;
}

/* VMM thread: every connection goes; the guest's driver is not there to
 * be told. */
static void vsock_deactivate(struct virtio_dev *dev)
{
	struct virtio_vsock *v = to_vsock(dev);

	conn_kill_all(v);
	timer_set(v, 0);
}

static void vsock_config_read(struct virtio_dev *dev, uint32_t offset,
			      uint8_t *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&to_vsock(dev)->config + offset, len);
}

static int vsock_save(struct virtio_dev *dev, struct snap_buf *b)
{
	snap_put_u8(b, SNAP_VERSION);
	snap_put_u64(b, to_vsock(dev)->guest_cid);
	return b->err ? -ENOMEM : 0;
}

/* The connections are not in a snapshot (their host sockets belong to the
 * process that saved it): the restored guest is sent TRANSPORT_RESET, so
 * it drops its connections and rereads its CID, as with Firecracker. */
static int vsock_restore(struct virtio_dev *dev, struct snap_buf *b)
{
	struct virtio_vsock *v = to_vsock(dev);
	uint8_t version = 0;
	uint64_t cid = 0;

	if (!snap_get_u8(b, &version) || !snap_get_u64(b, &cid) ||
	    version != SNAP_VERSION ||
	    cid != v->guest_cid)
		return -EINVAL;
	v->reset_event_pending = true;
	return 0;
}

static void vsock_destroy(struct virtio_dev *dev)
{
	struct virtio_vsock *v = to_vsock(dev);

	conn_kill_all(v);
	vsock_muxer_close(&v->mux);
	close(v->timer_fd);
	virtio_dev_uninit(dev);
	free(v);
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.queue_max_size = VSOCK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_vsock_config),
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.deactivate = vsock_deactivate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.save = vsock_save,
	.restore = vsock_restore,
	.destroy = vsock_destroy,
};

static void vsock_register_metrics(struct virtio_vsock *v)
{
	static const char g[] = "vsock";

	v->m.rx_packets = metrics_counter(g, "rx_packets_count");
	v->m.rx_bytes = metrics_counter(g, "rx_bytes_count");
	v->m.rx_dropped = metrics_counter(g, "rx_dropped");
	v->m.rx_no_buffers = metrics_counter(g, "no_rx_avail_buffer");
	v->m.tx_packets = metrics_counter(g, "tx_packets_count");
	v->m.tx_bytes = metrics_counter(g, "tx_bytes_count");
	v->m.tx_malformed = metrics_counter(g, "tx_malformed_packets");
	v->m.rst_sent = metrics_counter(g, "rst_sent");
	v->m.conns_added = metrics_counter(g, "conns_added");
	v->m.conns_removed = metrics_counter(g, "conns_removed");
	v->m.conns_refused = metrics_counter(g, "conns_refused");
	v->m.credit_violations = metrics_counter(g, "credit_violations");
	v->m.host_errors = metrics_counter(g, "host_errors");
	v->m.events_sent = metrics_counter(g, "transport_reset_events");
	v->m.conns_refused_cap = metrics_counter(g, "conns_refused_cap");
	v->m.timed_out[CONN_HOST_LINE] =
		metrics_counter(g, "conns_timed_out_connect_line");
	v->m.timed_out[CONN_LOCAL_INIT] =
		metrics_counter(g, "conns_timed_out_request");
	v->m.timed_out[CONN_CLOSING] =
		metrics_counter(g, "conns_timed_out_shutdown");
}

int virtio_vsock_mux_fd(struct virtio_dev *dev)
{
	return dev->ops == &vsock_ops ? to_vsock(dev)->mux.epfd : -1;
}

int virtio_vsock_nr_conns(struct virtio_dev *dev)
{
	return dev->ops == &vsock_ops ? to_vsock(dev)->nr_conns : -1;
}

void virtio_vsock_set_timeouts(struct virtio_dev *dev, uint32_t line_ms,
			       uint32_t request_ms, uint32_t shutdown_ms)
{
	struct virtio_vsock *v = to_vsock(dev);

	if (dev->ops != &vsock_ops)
		return;
	v->timeout_ns[CONN_HOST_LINE] = line_ms * 1000000ULL;
	v->timeout_ns[CONN_LOCAL_INIT] = request_ms * 1000000ULL;
	v->timeout_ns[CONN_CLOSING] = shutdown_ms * 1000000ULL;
}

int virtio_vsock_create(const struct vsock_config *cfg,
			const struct guest_memory *mem, struct virtio_dev **out,
			char *err, size_t errlen)
{
	struct virtio_vsock *v;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "vsock: out of memory");
		return -ENOMEM;
	}
	ret = vsock_muxer_open(&v->mux, cfg->uds_path, err, errlen);
	if (ret) {
		free(v);
		return ret;
	}
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->timer_fd < 0 ||
	    vsock_muxer_add_timer(&v->mux, v->timer_fd, TIMER_KEY)) {
		ret = -errno;
		snprintf(err, errlen, "vsock: timerfd: %s", strerror(errno));
		goto fail;
	}
	ret = virtio_dev_init(&v->vdev, &vsock_ops, mem, 0);
	if (ret) {
		snprintf(err, errlen, "vsock: %s", strerror(-ret));
		goto fail;
	}
	v->guest_cid = cfg->guest_cid;
	v->config.guest_cid = htole64(v->guest_cid);
	v->next_local_port = LOCAL_PORT_FIRST;
	virtio_vsock_set_timeouts(&v->vdev, VSOCK_CONNECT_LINE_TIMEOUT_MS,
				  VSOCK_REQUEST_TIMEOUT_MS,
				  VSOCK_SHUTDOWN_TIMEOUT_MS);
	vsock_register_metrics(v);
	*out = &v->vdev;
	return 0;

fail:
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	vsock_muxer_close(&v->mux);
	free(v);
	return ret;
}
