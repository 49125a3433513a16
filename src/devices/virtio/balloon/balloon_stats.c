// SPDX-License-Identifier: Apache-2.0
/*
 * The balloon's statistics queue (virtio 1.2, 5.5.6.3): the driver gives
 * one buffer of (le16 tag, le64 value) pairs; the device reads it and
 * keeps it until it wants fresh values, then returns it (a used buffer)
 * and the driver refills and gives it again. Here that is every
 * stats_interval_s, on a timerfd on the VMM's loop.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/virtio/balloon/balloon_priv.h"
#include "util/log.h"
#include "util/metrics.h"

#define STAT_LEN 10 /* le16 tag, le64 value, packed */

static void read_stats(struct virtio_balloon *b, const struct virtq_chain *c)
{
	uint64_t len = c->read_len;
	uint8_t e[STAT_LEN];

	/* a buffer past every tag there is: kept, not read (bounded work) */
	if (len > BALLOON_MAX_STATS_LEN)
		return;
	for (uint64_t off = 0; off + STAT_LEN <= len; off += STAT_LEN) {
		uint16_t tag;
		uint64_t val;

		if (virtq_chain_read(c, off, e, STAT_LEN) != STAT_LEN)
			break;
		memcpy(&tag, e, 2);
		memcpy(&val, e + 2, 8);
		tag = le16toh(tag);
		if (tag >= BALLOON_NR_STATS)
			continue; /* a tag newer than ours */
		b->stats.val[tag] = le64toh(val);
		b->stats.seen |= 1u << tag;
	}
	b->n.stats_updates++;
	metrics_inc(b->m.stats_updates);
}

/* The driver gave a buffer. It should only ever have one out; a second
 * one means the first comes back at once (counted), so a guest that
 * floods the queue costs one pop and one push per buffer, within the
 * queue's size per notification. */
void balloon_stats_notify(struct virtio_balloon *b, unsigned int qidx)
{
	struct virtq *q = virtio_dev_queue(&b->vdev, qidx);
	bool pushed = false;

	for (unsigned int n = 0; n < q->size; n++) {
		int r = virtq_pop(q, &b->chain);

		if (r < 0) {
			virtio_dev_needs_reset(&b->vdev, q->why_broken);
			break;
		}
		if (r == 0)
			break;
		if (b->stats.have_buf) {
			b->n.stats_extra++;
			metrics_inc(b->m.stats_extra);
			if (virtq_push(q, b->stats.head, 0) == 0)
				pushed = true;
		}
		read_stats(b, &b->chain);
		b->stats.have_buf = true;
		b->stats.head = b->chain.head;
	}
	if (pushed)
		virtio_dev_signal_used(&b->vdev, q);
}

bool balloon_stats_request(struct virtio_balloon *b)
{
	int qidx = balloon_queue_of(b, BQ_STATS);

	if (qidx < 0 || !b->stats.have_buf)
		return false;
	b->stats.have_buf = false;
	return virtq_push(virtio_dev_queue(&b->vdev, (unsigned)qidx),
			  b->stats.head, 0) == 0;
}

static void stats_timer_fired(struct virtio_dev *dev, int fd, uint32_t events)
{
	struct virtio_balloon *b = to_balloon(dev);
	uint64_t expirations;
	int qidx = balloon_queue_of(b, BQ_STATS);

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		log_debug("balloon stats timer: %s", strerror(errno));
	if (qidx >= 0 && balloon_stats_request(b))
		virtio_dev_signal_used(dev,
				       virtio_dev_queue(dev, (unsigned)qidx));
}

void balloon_stats_arm(struct virtio_balloon *b)
{
	struct itimerspec its = { 0 };

	if (b->stats.interval_s && balloon_queue_of(b, BQ_STATS) >= 0) {
		its.it_value.tv_sec = b->stats.interval_s;
		its.it_interval.tv_sec = b->stats.interval_s;
	}
	if (timerfd_settime(b->stats_timer_fd, 0, &its, NULL) < 0)
		log_warn("balloon stats timer: %s", strerror(errno));
}

int balloon_stats_activate(struct virtio_balloon *b)
{
	int ret;

	if (balloon_queue_of(b, BQ_STATS) < 0)
		return 0;
	ret = virtio_dev_watch(&b->vdev, b->stats_timer_fd, EPOLLIN,
			       stats_timer_fired);
	if (ret == 0)
		balloon_stats_arm(b);
	/* without a host to watch for it (tests), the test fires it */
	return ret == -EOPNOTSUPP ? 0 : ret;
}

void balloon_stats_deactivate(struct virtio_balloon *b)
{
	struct itimerspec off = { 0 };

	if (b->stats_timer_fd >= 0)
		timerfd_settime(b->stats_timer_fd, 0, &off, NULL);
}
