// SPDX-License-Identifier: Apache-2.0
/* The VMM thread's epoll loop: dispatch, stop from any thread, removal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/event_loop.h"

static struct event_loop el;

static void setup(void)
{
	cr_assert_eq(event_loop_init(&el), 0);
}

static void teardown(void)
{
	event_loop_destroy(&el);
}

/* A hang here is a failure, not a stuck test run. */
TestSuite(event_loop, .init = setup, .fini = teardown, .timeout = 5);

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	cr_assert_geq(fd, 0);
	return fd;
}

static void kick(int fd)
{
	uint64_t one = 1;

	cr_assert_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

struct counter {
	int fd;
	int calls;
	uint32_t events;
	int stop_after; /* stop the loop on this call; 0: never */
};

static void count_and_maybe_stop(void *opaque, uint32_t events)
{
	struct counter *c = opaque;

	drain(c->fd);
	c->calls++;
	c->events = events;
	if (c->calls == c->stop_after)
		event_loop_stop(&el, 100 + c->calls);
}

Test(event_loop, handler_runs_for_a_readable_fd)
{
	struct counter c = { .fd = new_eventfd(), .stop_after = 1 };

	cr_assert_eq(event_loop_add(&el, c.fd, EPOLLIN, count_and_maybe_stop, &c),
		     0);
	kick(c.fd);
	cr_expect_eq(event_loop_run(&el), 101);
	cr_expect_eq(c.calls, 1);
	cr_expect(c.events & EPOLLIN);
	close(c.fd);
}

/* Re-arms its own fd until it has run three times. */
static void rearm_three_times(void *opaque, uint32_t events)
{
	struct counter *c = opaque;

	(void)events;
	drain(c->fd);
	if (++c->calls < 3)
		kick(c->fd);
	else
		event_loop_stop(&el, 3);
}

Test(event_loop, handler_runs_again_for_each_wakeup)
{
	struct counter c = { .fd = new_eventfd() };

	cr_assert_eq(event_loop_add(&el, c.fd, EPOLLIN, rearm_three_times, &c),
		     0);
	kick(c.fd);
	kick(c.fd); /* kicks before a wakeup coalesce: still one call */
	cr_expect_eq(event_loop_run(&el), 3);
	cr_expect_eq(c.calls, 3);
	close(c.fd);
}

Test(event_loop, idle_fd_is_not_dispatched)
{
	struct counter idle = { .fd = new_eventfd() };
	struct counter stop = { .fd = new_eventfd(), .stop_after = 1 };

	cr_assert_eq(event_loop_add(&el, idle.fd, EPOLLIN, count_and_maybe_stop,
				    &idle),
		     0);
	cr_assert_eq(event_loop_add(&el, stop.fd, EPOLLIN, count_and_maybe_stop,
				    &stop),
		     0);
	kick(stop.fd);
	cr_expect_eq(event_loop_run(&el), 101);
	cr_expect_eq(idle.calls, 0);
	close(idle.fd);
	close(stop.fd);
}

struct stopper {
	int status;
	int delay_ms;
};

static void *stop_later(void *opaque)
{
	struct stopper *s = opaque;
	struct timespec ts = { 0, (long)s->delay_ms * 1000000L };

	nanosleep(&ts, NULL);
	event_loop_stop(&el, s->status);
	return NULL;
}

Test(event_loop, stop_from_another_thread_returns_its_status)
{
	struct stopper s = { .status = -42, .delay_ms = 20 };
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, stop_later, &s), 0);
	cr_expect_eq(event_loop_run(&el), -42);
	pthread_join(t, NULL);
}

Test(event_loop, stop_before_run_returns_at_once)
{
	event_loop_stop(&el, 7);
	cr_expect_eq(event_loop_run(&el), 7);
}

Test(event_loop, first_stop_wins)
{
	event_loop_stop(&el, 1);
	event_loop_stop(&el, 2);
	event_loop_stop(&el, 0);
	cr_expect_eq(event_loop_run(&el), 1);
}

static void *stop_with_index(void *opaque)
{
	event_loop_stop(&el, (int)(intptr_t)opaque);
	return NULL;
}

Test(event_loop, racing_stops_agree_on_one_status)
{
	pthread_t t[8];
	int status;

	for (intptr_t i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, stop_with_index,
					    (void *)(i + 1)),
			     0);
	status = event_loop_run(&el);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	cr_expect(status >= 1 && status <= 8);
	cr_expect_eq(el.status, status, "no later stop overwrote it");
}

Test(event_loop, deleted_fd_is_no_longer_dispatched)
{
	struct counter gone = { .fd = new_eventfd() };
	struct counter stop = { .fd = new_eventfd(), .stop_after = 1 };

	cr_assert_eq(event_loop_add(&el, gone.fd, EPOLLIN, count_and_maybe_stop,
				    &gone),
		     0);
	cr_assert_eq(event_loop_add(&el, stop.fd, EPOLLIN, count_and_maybe_stop,
				    &stop),
		     0);
	cr_expect_eq(event_loop_del(&el, gone.fd), 0);
	kick(gone.fd);
	kick(stop.fd);
	cr_expect_eq(event_loop_run(&el), 101);
	cr_expect_eq(gone.calls, 0);
	cr_expect_eq(drain(gone.fd), 1, "its event was never consumed");
	close(gone.fd);
	close(stop.fd);
}

/* Two ready fds whose handlers each remove the other: whichever runs first
 * must keep the second from running, even within one epoll_wait batch. */
static struct counter pair[2];

static void delete_the_other(void *opaque, uint32_t events)
{
	struct counter *c = opaque;
	struct counter *other = c == &pair[0] ? &pair[1] : &pair[0];

	(void)events;
	c->calls++;
	cr_expect_eq(event_loop_del(&el, other->fd), 0);
	event_loop_stop(&el, 0);
}

Test(event_loop, fd_deleted_by_a_handler_is_skipped_in_the_same_batch)
{
	for (int i = 0; i < 2; i++) {
		pair[i] = (struct counter){ .fd = new_eventfd() };
		cr_assert_eq(event_loop_add(&el, pair[i].fd, EPOLLIN,
					    delete_the_other, &pair[i]),
			     0);
		kick(pair[i].fd);
	}
	cr_expect_eq(event_loop_run(&el), 0);
	cr_expect_eq(pair[0].calls + pair[1].calls, 1);
	close(pair[0].fd);
	close(pair[1].fd);
}

Test(event_loop, delete_of_an_unknown_fd_is_enoent)
{
	cr_expect_eq(event_loop_del(&el, 12345), -ENOENT);
}

Test(event_loop, add_of_a_bad_fd_fails_and_adds_nothing)
{
	cr_expect_eq(event_loop_add(&el, -1, EPOLLIN, count_and_maybe_stop,
				    NULL),
		     -EBADF);
	cr_expect_null(el.sources);
}

Test(event_loop, add_of_the_same_fd_twice_is_eexist)
{
	struct counter c = { .fd = new_eventfd() };

	cr_assert_eq(event_loop_add(&el, c.fd, EPOLLIN, count_and_maybe_stop, &c),
		     0);
	cr_expect_eq(event_loop_add(&el, c.fd, EPOLLIN, count_and_maybe_stop,
				    &c),
		     -EEXIST);
	close(c.fd);
}

/* Watching an fd again after event_loop_del (the console after a pause)
 * calls the new handler with the new opaque, never the old one. */
static int readd_old_calls, readd_new_calls;
static struct event_loop readd_el;

static void readd_old(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	readd_old_calls++;
}

static void readd_new(void *opaque, uint32_t events)
{
	(void)events;
	cr_expect_eq(*(int *)opaque, 42);
	readd_new_calls++;
	event_loop_stop(&readd_el, 7);
}

Test(event_loop, del_then_add_uses_the_new_handler, .timeout = 5)
{
	int fd = eventfd(1, EFD_NONBLOCK); /* readable from the start */
	int tag = 42;

	cr_assert_eq(event_loop_init(&readd_el), 0);
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(event_loop_add(&readd_el, fd, EPOLLIN, readd_old, NULL), 0);
		cr_assert_eq(event_loop_del(&readd_el, fd), 0);
	}
	cr_assert_eq(event_loop_add(&readd_el, fd, EPOLLIN, readd_new, &tag), 0);
	cr_expect_eq(event_loop_add(&readd_el, fd, EPOLLIN, readd_new, &tag), -EEXIST);
	cr_expect_eq(event_loop_run(&readd_el), 7);
	cr_expect_eq(readd_new_calls, 1);
	cr_expect_eq(readd_old_calls, 0);
	event_loop_destroy(&readd_el);
	close(fd);
}
