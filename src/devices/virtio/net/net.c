// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/net/net.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "config/net_config.h"
#include "devices/virtio/net/net_backend.h"
#include "mmds/mmds_stack.h"
#include "util/log.h"
#include "util/metrics.h"

#define RXQ 0
#define TXQ 1

_Static_assert(sizeof(struct virtio_net_hdr_v1) == VIRTIO_NET_HDR_LEN,
	       "the version 1 header, num_buffers included");

struct virtio_net {
	struct virtio_dev vdev; /* first: the transport's view */
	struct net_backend *be; /* where the frames go (net_backend.h) */
	char iface_id[CONFIG_ID_MAX + 1];
	struct virtio_net_config config;

	/* receive: one frame read from the TAP, header first, waiting for
	 * guest buffers (or rx tokens) while rx_len > 0 */
	_Alignas(8) uint8_t rx_frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME];
	size_t rx_len;
	struct rate_limit rx_limit;
	int rx_timer_fd; /* the rx limit's wait */
	bool rx_waiting; /* for rx tokens: the timer brings it back */

	/* the metadata service on this interface (NULL: none): its frames
	 * never reach the backend; its answers are received first */
	struct mmds_stack *mmds;
	int mmds_timer_fd; /* its retransmissions; -1: none */
	uint64_t mmds_armed; /* the deadline the timer is set to; 0: none */
	uint8_t *mmds_frame; /* a whole frame for it, copied out of the ring */

	/* scratch, used under vdev.lock */
	struct virtq_chain chain, first;
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE];
	struct iovec iov[VIRTQ_MAX_SIZE + 1];

	/* metrics group "net_<id>" */
	struct {
		uint64_t *rx_packets, *rx_bytes, *rx_dropped, *rx_no_buffers;
		uint64_t *tx_packets, *tx_bytes, *tx_dropped, *tx_malformed;
		uint64_t *rx_throttled, *tx_throttled, *tap_errors;
	} m;
};

static struct virtio_net *to_net(struct virtio_dev *dev)
{
	return (struct virtio_net *)dev;
}

static bool negotiated(const struct virtio_dev *dev, unsigned int bit)
{
	return dev->driver_features & (1ULL << bit);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- transmit --- */

/* A header the guest may send: known flags and GSO types, offloads it
 * negotiated, and a checksum range inside the frame. */
static bool tx_header_ok(const struct virtio_dev *dev,
			 const struct virtio_net_hdr_v1 *h, uint64_t frame_len)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (!negotiated(dev, VIRTIO_NET_F_CSUM) ||
	     (uint64_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 >
		     frame_len))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return negotiated(dev, VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return negotiated(dev, VIRTIO_NET_F_HOST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return negotiated(dev, VIRTIO_NET_F_HOST_UFO);
	default:
		return false;
	}
}

/* --- the metadata service --- */

/* Arms the service's timer for its next retransmission, or disarms it
 * (a system call only when that changes). */
static void mmds_arm(struct virtio_net *n)
{
	uint64_t d = mmds_stack_deadline(n->mmds);
	struct itimerspec its = { 0 };

	if (d == n->mmds_armed)
		return;
	n->mmds_armed = d;
	if (d) {
		its.it_value.tv_sec = (time_t)(d / 1000000000ULL);
		its.it_value.tv_nsec = (long)(d % 1000000000ULL);
	}
	timerfd_settime(n->mmds_timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* A frame for the service is taken here, whole, and handed to it: true.
 * False: it goes to the backend. */
static bool mmds_take(struct virtio_net *n, const struct virtq_chain *c,
		      uint64_t frame_len)
{
	uint8_t head[MMDS_CLAIM_LEN];
	uint64_t want = frame_len < sizeof(head) ? frame_len : sizeof(head);

	virtq_chain_read(c, VIRTIO_NET_HDR_LEN, head, want);
	if (!mmds_stack_claims(n->mmds, head, (size_t)want))
		return false;
	virtq_chain_read(c, VIRTIO_NET_HDR_LEN, n->mmds_frame, frame_len);
	mmds_stack_input(n->mmds, n->mmds_frame, (size_t)frame_len, now_ns());
	return true;
}

static uint32_t tx_serve_chain(struct virtio_dev *dev,
			       const struct virtq_chain *c, uint64_t *work)
{
	struct virtio_net *n = to_net(dev);
	struct virtio_net_hdr_v1 hdr;
	uint64_t frame_len;
	int nr, ret;

	*work += c->read_len;
	if (c->read_len < VIRTIO_NET_HDR_LEN ||
	    c->read_len - VIRTIO_NET_HDR_LEN > VIRTIO_NET_MAX_FRAME) {
		metrics_inc(n->m.tx_malformed);
		return 0;
	}
	frame_len = c->read_len - VIRTIO_NET_HDR_LEN;
	/* The header is copied once and only the copy is checked and sent:
	 * the guest cannot change it between the two. */
	virtq_chain_read(c, 0, &hdr, sizeof(hdr));
	if (!tx_header_ok(dev, &hdr, frame_len)) {
		metrics_inc(n->m.tx_malformed);
		return 0;
	}
	if (n->mmds && mmds_take(n, c, frame_len))
		return 0;
	hdr.num_buffers = 0;
	n->iov[0].iov_base = &hdr;
	n->iov[0].iov_len = sizeof(hdr);
	nr = virtq_chain_iov(c, false, VIRTIO_NET_HDR_LEN, frame_len,
			     n->iov + 1, VIRTQ_MAX_SIZE);
	if (nr < 0) {
		metrics_inc(n->m.tx_malformed);
		return 0;
	}
	ret = n->be->ops->send(n->be, n->iov, nr + 1);
	if (ret < 0) {
		/* a full TAP (EAGAIN) drops the frame, as a full NIC queue */
		if (ret != -EAGAIN)
			metrics_inc(n->m.tap_errors);
		metrics_inc(n->m.tx_dropped);
		return 0;
	}
	metrics_inc(n->m.tx_packets);
	metrics_add(n->m.tx_bytes, frame_len);
	return 0;
}

/* --- receive --- */

/* Arms the rx timer for @ns from now. */
static void rx_wait(struct virtio_net *n, uint64_t ns)
{
	struct itimerspec its = { 0 };

	if (ns > 3600ULL * 1000000000ULL)
		ns = 3600ULL * 1000000000ULL;
	its.it_value.tv_sec = (time_t)(ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(ns % 1000000000ULL);
	if (timerfd_settime(n->rx_timer_fd, 0, &its, NULL) == 0)
		n->rx_waiting = true;
}

/*
 * Copies the pending frame into the guest's receive buffers and returns
 * them: 1 done (or dropped), 0 not enough buffers (nothing taken: the
 * chains are given back), -EIO the queue broke.
 */
static int rx_deliver(struct virtio_net *n)
{
	struct virtio_dev *dev = &n->vdev;
	struct virtq *q = virtio_dev_queue(dev, RXQ);
	bool mergeable = negotiated(dev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)n->rx_frame;
	size_t off = 0;
	unsigned int k = 0;
	uint16_t nbufs;
	int ret = 0;

	/* what the guest did not accept, the TAP was told not to send; a
	 * guest without GUEST_CSUM gets flags 0 (virtio 1.2, 5.1.6.4.1) */
	if (!negotiated(dev, VIRTIO_NET_F_GUEST_CSUM))
		h->flags = 0;
	while (off < n->rx_len) {
		struct virtq_chain *c = k == 0 ? &n->first : &n->chain;
		uint64_t put;

		ret = virtq_pop(q, c);
		if (ret < 0)
			return -EIO;
		if (ret == 0 || (k > 0 && !mergeable))
			goto give_back;
		/* the header must fit the first buffer; without MRG_RXBUF the
		 * frame must fit one */
		if (c->write_len < (k == 0 ? VIRTIO_NET_HDR_LEN : 1) ||
		    (!mergeable && c->write_len < n->rx_len)) {
			/* buffers that cannot take it: the frame is dropped,
			 * and they go back empty (the driver drops a packet
			 * shorter than its header) */
			n->heads[k++] = c->head;
			for (unsigned int i = 0; i < k; i++)
				n->lens[i] = 0;
			metrics_inc(n->m.rx_dropped);
			return virtq_push_n(q, n->heads, n->lens, k) ? -EIO : 1;
		}
		put = n->rx_len - off < c->write_len ? n->rx_len - off
						    : c->write_len;
		virtq_chain_write(c, 0, n->rx_frame + off, put);
		n->heads[k] = c->head;
		n->lens[k++] = (uint32_t)put;
		off += put;
		if (k == q->size && off < n->rx_len)
			goto give_back; /* cannot happen with a sane ring */
	}
	nbufs = htole16((uint16_t)k);
	virtq_chain_write(&n->first, offsetof(struct virtio_net_hdr_v1,
					      num_buffers),
			  &nbufs, sizeof(nbufs));
	if (virtq_push_n(q, n->heads, n->lens, k))
		return -EIO;
	metrics_inc(n->m.rx_packets);
	metrics_add(n->m.rx_bytes, n->rx_len - VIRTIO_NET_HDR_LEN);
	return 1;

give_back:
	/* the popped chains go back, last first, untouched for the driver */
	if (ret > 0)
		virtq_unpop(q);
	while (k-- > 0)
		virtq_unpop(q);
	metrics_inc(n->m.rx_no_buffers);
	return 0;
}

/*
 * Moves frames from the TAP into the guest until the TAP is empty, the
 * guest has no buffers, the rx limit says wait, or a round's budget (a
 * queue's worth) is spent; then signals the guest once.
 */
static void rx_process(struct virtio_net *n)
{
	struct virtio_dev *dev = &n->vdev;
	struct virtq *q = virtio_dev_queue(dev, RXQ);
	unsigned int budget = q->size;
	bool pushed = false, more = false;

	if (!q->ready || q->broken || n->rx_waiting)
		return;
	while (budget > 0) {
		uint64_t wait;
		int ret;

		if (n->rx_len == 0 && n->mmds) {
			size_t m = mmds_stack_output(
				n->mmds, n->rx_frame + VIRTIO_NET_HDR_LEN,
				sizeof(n->rx_frame) - VIRTIO_NET_HDR_LEN,
				now_ns());

			if (m) {
				/* checksums complete, no offload */
				memset(n->rx_frame, 0, VIRTIO_NET_HDR_LEN);
				n->rx_len = VIRTIO_NET_HDR_LEN + m;
			}
		}
		if (n->rx_len == 0) {
			ssize_t r = n->be->ops->recv(n->be, n->rx_frame,
						     sizeof(n->rx_frame));

			if (r < 0) {
				if (r != -EAGAIN && r != -EINTR)
					metrics_inc(n->m.tap_errors);
				break; /* drained: the next frame is an edge */
			}
			if (r < VIRTIO_NET_HDR_LEN + 14) {
				/* a runt is dropped, and spends the budget
				 * as a frame would: a peer (a user-mode
				 * helper the guest took over) that sends
				 * nothing else must not hold the VMM thread
				 * in this loop */
				metrics_inc(n->m.rx_dropped);
				budget--;
				more = budget == 0;
				continue;
			}
			n->rx_len = (size_t)r;
		}
		if (!rate_limit_is_off(&n->rx_limit) &&
		    (wait = rate_limit_take(&n->rx_limit,
					    n->rx_len - VIRTIO_NET_HDR_LEN,
					    now_ns()))) {
			metrics_inc(n->m.rx_throttled);
			rx_wait(n, wait);
			break;
		}
		ret = rx_deliver(n);
		if (ret < 0) {
			virtq_set_broken(q, "receive queue broken");
			break;
		}
		if (ret == 0) {
			/* no buffers: the guest's RX kick brings us back
			 * (with EVENT_IDX, pop published avail_event), and
			 * the frame's tokens are spent already */
			break;
		}
		pushed = true;
		n->rx_len = 0;
		budget--;
		more = budget == 0;
	}
	if (pushed)
		virtio_dev_signal_used(dev, q);
	if (more)
		virtio_dev_notify_later(dev, RXQ);
	if (n->mmds)
		mmds_arm(n); /* what it sent may need sending again */
}

static void net_backend_ready(struct virtio_dev *dev, int fd,
			      uint32_t events)
{
	struct virtio_net *n = to_net(dev);

	(void)fd;
	if ((events & EPOLLOUT) && n->be->ops->writable)
		n->be->ops->writable(n->be);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		rx_process(n);
}

static void net_rx_timer(struct virtio_dev *dev, int fd, uint32_t events)
{
	struct virtio_net *n = to_net(dev);
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	n->rx_waiting = false;
	rx_process(n);
}

static void net_mmds_timer(struct virtio_dev *dev, int fd, uint32_t events)
{
	struct virtio_net *n = to_net(dev);
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	n->mmds_armed = 0; /* it fired */
	mmds_stack_tick(n->mmds, now_ns());
	rx_process(n);
	mmds_arm(n);
}

static void net_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_net *n = to_net(dev);

	if (qidx == RXQ) {
		rx_process(n); /* new buffers: a waiting frame may go now */
	} else {
		virtio_serve_queue(dev, TXQ, &n->chain, tx_serve_chain);
		if (!n->mmds)
			return;
		/* what the service owes the guest for what it just sent */
		rx_process(n);
		mmds_arm(n);
	}
}

/* --- life cycle --- */

static int net_activate(struct virtio_dev *dev)
{
	struct virtio_net *n = to_net(dev);
	uint32_t events = EPOLLIN | EPOLLET |
			  (n->be->ops->writable ? EPOLLOUT : 0);
	int ret = n->be->ops->activate
			  ? n->be->ops->activate(n->be, dev->driver_features)
			  : 0;

	if (ret)
		return ret;
	ret = virtio_dev_watch(dev, n->be->fd, events, net_backend_ready);
	if (!ret)
		ret = virtio_dev_watch(dev, n->rx_timer_fd, EPOLLIN,
				       net_rx_timer);
	if (!ret && n->mmds)
		ret = virtio_dev_watch(dev, n->mmds_timer_fd, EPOLLIN,
				       net_mmds_timer);
	if (ret)
		return ret;
	/* frames that came while the device was down: an edge was missed */
	rx_process(n);
	return 0;
}

/* On the thread that wrote the status, a vCPU's: no system calls here
 * (its seccomp filter has none for this). A timer still armed fires into
 * a device that is not live and is ignored; deactivate disarms it. */
static void net_reset(struct virtio_dev *dev)
{
	struct virtio_net *n = to_net(dev);

	/* a frame read for the old driver is dropped */
	n->rx_len = 0;
	n->rx_waiting = false;
}

/* VMM thread. */
static void net_deactivate(struct virtio_dev *dev)
{
	struct virtio_net *n = to_net(dev);
	struct itimerspec off = { 0 };

	net_reset(dev);
	timerfd_settime(n->rx_timer_fd, 0, &off, NULL);
	if (n->mmds) {
		timerfd_settime(n->mmds_timer_fd, 0, &off, NULL);
		n->mmds_armed = 0;
	}
}

static void net_config_read(struct virtio_dev *dev, uint32_t offset,
			    uint8_t *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&to_net(dev)->config + offset, len);
}

static void net_destroy(struct virtio_dev *dev)
{
	struct virtio_net *n = to_net(dev);

	net_backend_destroy(n->be);
	close(n->rx_timer_fd);
	if (n->mmds) {
		mmds_stack_destroy(n->mmds);
		close(n->mmds_timer_fd);
		free(n->mmds_frame);
	}
	virtio_dev_uninit(dev);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max_size = VIRTIO_NET_QUEUE_SIZE,
	/* mac, status, max_virtqueue_pairs, mtu */
	.config_size = offsetof(struct virtio_net_config, speed),
	/* a user-mode interface (none) restored onto a TAP (all), or the
	 * other way while the driver took none */
	.narrowable_features = NET_BACKEND_OFFLOADS,
	.config_read = net_config_read,
	.activate = net_activate,
	.deactivate = net_deactivate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
};

static void net_register_metrics(struct virtio_net *n)
{
	char group[METRICS_NAME_MAX];

	if (snprintf(group, sizeof(group), "net_%s", n->iface_id) >=
	    (int)sizeof(group))
		return;
	n->m.rx_packets = metrics_counter(group, "rx_packets_count");
	n->m.rx_bytes = metrics_counter(group, "rx_bytes_count");
	n->m.rx_dropped = metrics_counter(group, "rx_dropped");
	n->m.rx_no_buffers = metrics_counter(group, "no_rx_avail_buffer");
	n->m.rx_throttled = metrics_counter(group, "rx_rate_limiter_throttled");
	n->m.tx_packets = metrics_counter(group, "tx_packets_count");
	n->m.tx_bytes = metrics_counter(group, "tx_bytes_count");
	n->m.tx_dropped = metrics_counter(group, "tx_dropped");
	n->m.tx_malformed = metrics_counter(group, "tx_malformed_frames");
	n->m.tx_throttled = metrics_counter(group, "tx_rate_limiter_throttled");
	n->m.tap_errors = metrics_counter(group, "tap_errors");
}

static void limit_init(struct rate_limit *l,
		       const struct rate_limiter_config *rl, uint64_t now)
{
	token_bucket_init(&l->bw, rl->bandwidth.size,
			  rl->bandwidth.one_time_burst, rl->bandwidth.refill_ms,
			  now);
	token_bucket_init(&l->ops, rl->ops.size, rl->ops.one_time_burst,
			  rl->ops.refill_ms, now);
}

void virtio_net_set_rate_limits(struct virtio_dev *dev,
				const struct rate_limiter_config *rx,
				const struct rate_limiter_config *tx)
{
	struct virtio_net *n = to_net(dev);

	if (dev->ops != &net_ops)
		return;
	if (tx)
		virtio_dev_set_rate_limit(dev, tx);
	if (rx) {
		pthread_mutex_lock(&dev->lock);
		limit_init(&n->rx_limit, rx, now_ns());
		/* a frame waiting on the old limit is looked at again */
		if (n->rx_waiting)
			rx_wait(n, 1);
		pthread_mutex_unlock(&dev->lock);
	}
}

int virtio_net_enable_mmds(struct virtio_dev *dev, struct mmds *m,
			   uint32_t ipv4)
{
	struct virtio_net *n = to_net(dev);

	if (dev->ops != &net_ops || n->mmds)
		return -EINVAL;
	n->mmds_frame = malloc(VIRTIO_NET_MAX_FRAME);
	n->mmds = n->mmds_frame ? mmds_stack_create(m, ipv4) : NULL;
	if (!n->mmds) {
		free(n->mmds_frame);
		n->mmds_frame = NULL;
		return -ENOMEM;
	}
	n->mmds_timer_fd = timerfd_create(CLOCK_MONOTONIC,
					  TFD_CLOEXEC | TFD_NONBLOCK);
	if (n->mmds_timer_fd < 0) {
		int ret = -errno;

		mmds_stack_destroy(n->mmds);
		free(n->mmds_frame);
		n->mmds = NULL;
		n->mmds_frame = NULL;
		return ret;
	}
	return 0;
}

const char *virtio_net_iface_id(struct virtio_dev *dev)
{
	return dev->ops == &net_ops ? to_net(dev)->iface_id : NULL;
}

/* Takes @be: on failure it is destroyed too. */
static int net_create(const struct net_config *cfg, struct net_backend *be,
		      const struct guest_memory *mem, struct virtio_dev **out,
		      char *err, size_t errlen)
{
	uint64_t features;
	struct virtio_net *n;
	int ret;

	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "network interface '%s': out of memory",
			 cfg->id);
		net_backend_destroy(be);
		return -ENOMEM;
	}
	snprintf(n->iface_id, sizeof(n->iface_id), "%s", cfg->id);
	n->mmds_timer_fd = -1;
	n->rx_timer_fd = timerfd_create(CLOCK_MONOTONIC,
					TFD_CLOEXEC | TFD_NONBLOCK);
	if (n->rx_timer_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "network interface '%s': timerfd: %s",
			 cfg->id, strerror(errno));
		net_backend_destroy(be);
		free(n);
		return ret;
	}
	net_config_mac(cfg, n->config.mac);
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->config.max_virtqueue_pairs = htole16(1);
	n->config.mtu = htole16(VIRTIO_NET_MTU);
	/* the offloads the backend can take, both ways */
	features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
		   (1ULL << VIRTIO_NET_F_MTU) |
		   (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
		   (be->features & net_backend_all_offloads());
	ret = virtio_dev_init(&n->vdev, &net_ops, mem, features);
	if (ret) {
		snprintf(err, errlen, "network interface '%s': %s", cfg->id,
			 strerror(-ret));
		net_backend_destroy(be);
		close(n->rx_timer_fd);
		free(n);
		return ret;
	}
	n->be = be;
	net_register_metrics(n);
	n->vdev.m_throttled = n->m.tx_throttled;
	limit_init(&n->rx_limit, &cfg->rx_rate_limiter, now_ns());
	*out = &n->vdev;
	return 0;
}

int virtio_net_create_on(const struct net_config *cfg, int fd, bool is_tap,
			 const struct guest_memory *mem,
			 struct virtio_dev **out, char *err, size_t errlen)
{
	struct net_backend *be = net_backend_on_fd(fd, is_tap);

	if (!be) {
		snprintf(err, errlen, "network interface '%s': out of memory",
			 cfg->id);
		return -ENOMEM;
	}
	return net_create(cfg, be, mem, out, err, errlen);
}

int virtio_net_create(const struct net_config *cfg,
		      const struct guest_memory *mem, struct virtio_dev **out,
		      char *err, size_t errlen)
{
	struct net_backend *be;
	char why[256];
	int ret = net_backend_open(cfg, &be, why, sizeof(why));

	if (ret) {
		snprintf(err, errlen, "network interface '%s': %s", cfg->id, why);
		return ret;
	}
	return net_create(cfg, be, mem, out, err, errlen);
}
