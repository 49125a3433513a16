/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counters, flushed as one JSON object per line to the metrics file (set by
 * --metrics-path, the config file or PUT /metrics), periodically and on
 * FlushMetrics. As in Firecracker, each line holds what happened since the
 * previous line: {"utc_timestamp_ms": T, "<group>": {"<name>": delta, ...}}.
 *
 * Counters are registered once (any thread), then incremented lock-free from
 * any thread, vCPU threads included.
 */
#ifndef FIGMENT_UTIL_METRICS_H
#define FIGMENT_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct event_loop;

#define METRICS_MAX_COUNTERS 1024
#define METRICS_NAME_MAX 48
#define METRICS_FLUSH_INTERVAL_S 60

/*
 * Returns the counter named @name in @group, creating it at zero the first
 * time. The pointer stays valid for the life of the process. NULL when the
 * table is full or a name is too long (metrics_inc(NULL) is a no-op, so
 * callers need not check).
 */
uint64_t *metrics_counter(const char *group, const char *name);

/*
 * A gauge: like a counter, but each line holds its current value, not the
 * change since the previous line (memory figures). Set with metrics_set().
 */
uint64_t *metrics_gauge(const char *group, const char *name);

static inline void metrics_set(uint64_t *g, uint64_t v)
{
	if (g)
		__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

/* @fn(@opaque) runs on the event loop's thread before each periodic line,
 * to refresh gauges (one hook; NULL removes it). */
void metrics_set_refresh(void (*fn)(void *), void *opaque);

static inline void metrics_add(uint64_t *c, uint64_t n)
{
	if (c)
		__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline void metrics_inc(uint64_t *c)
{
	metrics_add(c, 1);
}

/* Counts one KVM exit of @reason (KVM_EXIT_*) under group "vcpu". */
void metrics_vcpu_exit(uint32_t reason);

/* Opens (creating, appending) the metrics file without blocking (a FIFO
 * needs a reader, see util/safe_open.h); replaces a previous one. 0 or a
 * negative errno with the reason in @err. */
int metrics_set_path(const char *path, char *err, size_t errlen);

/* Writes one line when a metrics file is set. 0 (also when none is set) or a
 * negative errno. Serialized internally; callable from any thread. */
int metrics_flush(void);

/* Flushes every @interval_s seconds (0: METRICS_FLUSH_INTERVAL_S) from a
 * timerfd on @el. Call once, on @el's thread or before it runs. */
int metrics_periodic_start(struct event_loop *el, unsigned interval_s);

/* Closes the file and forgets all counter values (for tests). */
void metrics_reset(void);

#endif
