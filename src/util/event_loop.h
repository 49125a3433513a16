/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM thread's epoll loop. Handlers run on the loop's thread only.
 * event_loop_stop() may be called from any thread.
 */
#ifndef FIGMENT_UTIL_EVENT_LOOP_H
#define FIGMENT_UTIL_EVENT_LOOP_H

#include <stdint.h>

typedef void (*event_handler)(void *opaque, uint32_t events);

struct event_source;

struct event_loop {
	int epfd;
	int stop_fd; /* eventfd: wakes the loop to stop */
	int status;  /* what event_loop_run() returns */
	int stopping;
	struct event_source *sources;
};

/* 0 or a negative errno. */
int event_loop_init(struct event_loop *el);
void event_loop_destroy(struct event_loop *el);

/* Watches @fd for @events (EPOLLIN...); the loop does not own @fd. */
int event_loop_add(struct event_loop *el, int fd, uint32_t events,
		   event_handler handler, void *opaque);
int event_loop_del(struct event_loop *el, int fd);

/* Runs handlers until event_loop_stop(); returns the status given there. */
int event_loop_run(struct event_loop *el);
void event_loop_stop(struct event_loop *el, int status);

#endif
