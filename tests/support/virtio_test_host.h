/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio device's environment for unit tests and fuzzers: interrupts and
 * deferred kicks go to eventfds the test owns (or nowhere, at -1), and
 * activation runs at once (no request_sync, no event loop, no watching).
 */
#ifndef FIGMENT_TESTS_VIRTIO_TEST_HOST_H
#define FIGMENT_TESTS_VIRTIO_TEST_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "devices/virtio/virtio_dev.h"

struct virtio_test_host {
	int irq_fd;
	int kick_fd[VIRTIO_MAX_QUEUES];
	/* what the device watches while active; the test plays the event
	 * loop with virtio_test_host_fire() */
	int nr_watched;
	int watched_fd[VIRTIO_MAX_WATCHED_FDS];
	virtio_watch_fn watched_fn[VIRTIO_MAX_WATCHED_FDS];
};

static inline void virtio_test_host_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* already pending */
	}
}

static inline void virtio_test_host_interrupt(void *host)
{
	virtio_test_host_signal(((struct virtio_test_host *)host)->irq_fd);
}

static inline void virtio_test_host_kick_later(void *host, unsigned int qidx)
{
	virtio_test_host_signal(((struct virtio_test_host *)host)->kick_fd[qidx]);
}

static inline int virtio_test_host_watch(void *host, int fd, uint32_t events,
					 virtio_watch_fn fn)
{
	struct virtio_test_host *h = host;

	(void)events;
	if (h->nr_watched >= VIRTIO_MAX_WATCHED_FDS)
		return -1;
	h->watched_fd[h->nr_watched] = fd;
	h->watched_fn[h->nr_watched++] = fn;
	return 0;
}

static inline void virtio_test_host_unwatch_all(void *host)
{
	((struct virtio_test_host *)host)->nr_watched = 0;
}

static const struct virtio_host_ops virtio_test_host_ops = {
	.interrupt = virtio_test_host_interrupt,
	.kick_later = virtio_test_host_kick_later,
	.watch = virtio_test_host_watch,
	.unwatch_all = virtio_test_host_unwatch_all,
};

/* As the event loop when watched fd @fd is ready; false when the device
 * does not watch it. */
static inline bool virtio_test_host_fire(struct virtio_test_host *h,
					 struct virtio_dev *dev, int fd)
{
	for (int i = 0; i < h->nr_watched; i++)
		if (h->watched_fd[i] == fd) {
			virtio_dev_watch_ready(dev, h->watched_fn[i], fd, 1);
			return true;
		}
	return false;
}

/* Wires @dev to @h, with no fds yet. */
static inline void virtio_test_host_attach(struct virtio_test_host *h,
					   struct virtio_dev *dev)
{
	h->irq_fd = -1;
	h->nr_watched = 0;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		h->kick_fd[i] = -1;
	virtio_dev_set_host(dev, &virtio_test_host_ops, h);
}

#endif
