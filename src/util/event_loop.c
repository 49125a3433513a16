// SPDX-License-Identifier: Apache-2.0
#include "util/event_loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct event_source {
	int fd;
	event_handler handler;
	void *opaque;
	struct event_source *next;
};

int event_loop_init(struct event_loop *el)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	el->sources = NULL;
	el->status = 0;
	el->stopping = 0;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (el->epfd < 0)
		return -errno;
	el->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (el->stop_fd < 0 ||
	    epoll_ctl(el->epfd, EPOLL_CTL_ADD, el->stop_fd, &ev) < 0) {
		int ret = -errno;

		event_loop_destroy(el);
		return ret;
	}
	return 0;
}

void event_loop_destroy(struct event_loop *el)
{
	while (el->sources) {
		struct event_source *s = el->sources;

		el->sources = s->next;
		free(s);
	}
	if (el->stop_fd >= 0)
		close(el->stop_fd);
	if (el->epfd >= 0)
		close(el->epfd);
	el->stop_fd = el->epfd = -1;
}

/* A source removed by event_loop_del() for @fd, kept until destroy. */
static struct event_source *dead_source(struct event_loop *el, int fd)
{
	for (struct event_source *s = el->sources; s; s = s->next)
		if (s->fd == fd && !s->handler)
			return s;
	return NULL;
}

int event_loop_add(struct event_loop *el, int fd, uint32_t events,
		   event_handler handler, void *opaque)
{
	struct event_source *s = dead_source(el, fd);
	struct epoll_event ev = { .events = events };

	/* Watching an fd again (the console after a pause) reuses its old
	 * entry, so add/del cycles do not grow the list. */
	if (s) {
		ev.data.ptr = s;
		if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		s->opaque = opaque;
		s->handler = handler;
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->handler = handler;
	s->opaque = opaque;
	ev.data.ptr = s;
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int ret = -errno;

		free(s);
		return ret;
	}
	s->next = el->sources;
	el->sources = s;
	return 0;
}

int event_loop_del(struct event_loop *el, int fd)
{
	for (struct event_source **p = &el->sources; *p; p = &(*p)->next) {
		struct event_source *s = *p;

		if (s->fd != fd)
			continue;
		epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL);
		/* Keep the source alive until the loop is destroyed: a handler
		 * for it may still be in this epoll_wait batch. */
		s->handler = NULL;
		return 0;
	}
	return -ENOENT;
}

int event_loop_run(struct event_loop *el)
{
	struct epoll_event evs[32];

	while (__atomic_load_n(&el->stopping, __ATOMIC_ACQUIRE) != 1) {
		int n = epoll_wait(el->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct event_source *s = evs[i].data.ptr;

			if (!s)
				continue; /* stop_fd */
			if (s->handler)
				s->handler(s->opaque, evs[i].events);
		}
	}
	return el->status;
}

void event_loop_stop(struct event_loop *el, int status)
{
	uint64_t one = 1;

	int idle = 0;

	/* The first stop wins: its status is what the VM ends with. It claims
	 * the loop (2), publishes the status, then releases the stop (1). */
	if (!__atomic_compare_exchange_n(&el->stopping, &idle, 2, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	el->status = status;
	__atomic_store_n(&el->stopping, 1, __ATOMIC_RELEASE);
	if (write(el->stop_fd, &one, sizeof(one)) < 0) {
		/* eventfd write fails only on overflow: the loop is awake. */
	}
}
