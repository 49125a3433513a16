// SPDX-License-Identifier: Apache-2.0
#include "util/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/event_loop.h"
#include "util/safe_open.h"

struct metric {
	char group[METRICS_NAME_MAX];
	char name[METRICS_NAME_MAX];
	uint64_t value;
	uint64_t flushed; /* value at the previous line */
	bool gauge;	  /* lines hold the value itself */
};

static struct metric metrics[METRICS_MAX_COUNTERS];
static int nr_metrics;
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static int metrics_fd = -1;
static int timer_fd = -1;
static void (*refresh_fn)(void *);
static void *refresh_opaque;

#define NR_EXIT_REASONS 64
static uint64_t *exit_counters[NR_EXIT_REASONS + 1]; /* last: the rest */

static uint64_t *metric_get(const char *group, const char *name, bool gauge);

uint64_t *metrics_counter(const char *group, const char *name)
{
	return metric_get(group, name, false);
}

uint64_t *metrics_gauge(const char *group, const char *name)
{
	return metric_get(group, name, true);
}

void metrics_set_refresh(void (*fn)(void *), void *opaque)
{
	pthread_mutex_lock(&metrics_lock);
	refresh_fn = fn;
	refresh_opaque = opaque;
	pthread_mutex_unlock(&metrics_lock);
}

static uint64_t *metric_get(const char *group, const char *name, bool gauge)
{
	uint64_t *c = NULL;

	if (strlen(group) >= METRICS_NAME_MAX || strlen(name) >= METRICS_NAME_MAX)
		return NULL;
	pthread_mutex_lock(&metrics_lock);
	for (int i = 0; i < nr_metrics; i++) {
		if (!strcmp(metrics[i].group, group) &&
		    !strcmp(metrics[i].name, name)) {
			c = &metrics[i].value;
			goto out;
		}
	}
	if (nr_metrics < METRICS_MAX_COUNTERS) {
		struct metric *m = &metrics[nr_metrics];

		strcpy(m->group, group);
		strcpy(m->name, name);
		m->value = m->flushed = 0;
		m->gauge = gauge;
		c = &m->value;
		nr_metrics++;
	}
out:
	pthread_mutex_unlock(&metrics_lock);
	return c;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "exit_io";
	case KVM_EXIT_MMIO: return "exit_mmio";
	case KVM_EXIT_HLT: return "exit_hlt";
	case KVM_EXIT_SHUTDOWN: return "exit_shutdown";
	case KVM_EXIT_FAIL_ENTRY: return "exit_fail_entry";
	case KVM_EXIT_INTERNAL_ERROR: return "exit_internal_error";
	case KVM_EXIT_SYSTEM_EVENT: return "exit_system_event";
	case KVM_EXIT_INTR: return "exit_intr";
	case KVM_EXIT_DEBUG: return "exit_debug";
	default: return NULL;
	}
}

void metrics_vcpu_exit(uint32_t reason)
{
	uint32_t slot = reason < NR_EXIT_REASONS ? reason : NR_EXIT_REASONS;
	uint64_t *c = __atomic_load_n(&exit_counters[slot], __ATOMIC_ACQUIRE);

	if (!c) {
		const char *name = exit_name(reason);
		char buf[METRICS_NAME_MAX];

		if (!name) {
			if (slot == NR_EXIT_REASONS)
				snprintf(buf, sizeof(buf), "exit_other");
			else
				snprintf(buf, sizeof(buf), "exit_%u", reason);
			name = buf;
		}
		/* Two threads may race here: both get the same counter. */
		c = metrics_counter("vcpu", name);
		__atomic_store_n(&exit_counters[slot], c, __ATOMIC_RELEASE);
	}
	metrics_inc(c);
}

int metrics_set_path(const char *path, char *err, size_t errlen)
{
	/* Non-blocking: a named pipe nobody drains must not stall the VMM. */
	int fd = safe_open(path, O_WRONLY | O_APPEND | O_CREAT, 0600,
			   SAFE_OPEN_REG | SAFE_OPEN_FIFO | SAFE_OPEN_CHR, 1,
			   "metrics file", NULL, err, errlen);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&metrics_lock);
	if (metrics_fd >= 0)
		close(metrics_fd);
	metrics_fd = fd;
	pthread_mutex_unlock(&metrics_lock);
	return 0;
}

/* Builds the line under metrics_lock. NULL on ENOMEM. */
static char *metrics_line(void)
{
	json_t *root = json_object();
	struct timespec ts;
	char *line;

	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(root, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 +
					 ts.tv_nsec / 1000000));
	for (int i = 0; i < nr_metrics; i++) {
		struct metric *m = &metrics[i];
		uint64_t now = __atomic_load_n(&m->value, __ATOMIC_RELAXED);
		json_t *group = json_object_get(root, m->group);

		if (!group) {
			group = json_object();
			json_object_set_new(root, m->group, group);
		}
		json_object_set_new(group, m->name,
				    json_integer((json_int_t)(m->gauge ? now :
								now - m->flushed)));
		m->flushed = now;
	}
	line = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return line;
}

int metrics_flush(void)
{
	char *line;
	size_t len, off = 0;
	int ret = 0;

	pthread_mutex_lock(&metrics_lock);
	if (metrics_fd < 0)
		goto out;
	line = metrics_line();
	if (!line) {
		ret = -ENOMEM;
		goto out;
	}
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps leaves room for its NUL */
	while (off < len) {
		ssize_t n = write(metrics_fd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += n;
	}
	free(line);
out:
	pthread_mutex_unlock(&metrics_lock);
	return ret;
}

static void metrics_tick(void *opaque, uint32_t events)
{
	uint64_t expirations;

	void (*fn)(void *);
	void *arg;

	(void)opaque;
	(void)events;
	if (read(timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&metrics_lock);
	fn = refresh_fn;
	arg = refresh_opaque;
	pthread_mutex_unlock(&metrics_lock);
	if (fn)
		fn(arg);
	metrics_flush();
}

int metrics_periodic_start(struct event_loop *el, unsigned interval_s)
{
	struct itimerspec its = { 0 };
	int ret;

	if (timer_fd >= 0)
		return -EBUSY;
	if (!interval_s)
		interval_s = METRICS_FLUSH_INTERVAL_S;
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (timer_fd < 0)
		return -errno;
	its.it_value.tv_sec = interval_s;
	its.it_interval.tv_sec = interval_s;
	if (timerfd_settime(timer_fd, 0, &its, NULL) < 0) {
		ret = -errno;
		goto err;
	}
	ret = event_loop_add(el, timer_fd, EPOLLIN, metrics_tick,
			     NULL);
	if (ret)
		goto err;
	return 0;
err:
	close(timer_fd);
	timer_fd = -1;
	return ret;
}

void metrics_reset(void)
{
	pthread_mutex_lock(&metrics_lock);
	if (metrics_fd >= 0)
		close(metrics_fd);
	metrics_fd = -1;
	for (int i = 0; i < nr_metrics; i++)
		metrics[i].value = metrics[i].flushed = 0;
	pthread_mutex_unlock(&metrics_lock);
}
