/* SPDX-License-Identifier: Apache-2.0 */
/* Log lines go to stderr (or the --log-path file) as
 * "<timestamp> [figment:<level>] message". The guest console owns stdout.
 *
 * Writing a line never waits on the sink: a reader that stops reading (a
 * full pipe, a FIFO) costs dropped lines, counted and reported once it
 * reads again, never a stalled vCPU or VMM thread. Lines that the guest can
 * cause (log_guest()) also share a rate budget, so a guest cannot flood the
 * host's log. */
#ifndef FIGMENT_UTIL_LOG_H
#define FIGMENT_UTIL_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Guest-caused lines allowed per second; the rest are counted and the
 * count is logged with the next line that is allowed. */
#define LOG_GUEST_PER_SEC 10

void log_set_level(enum log_level level);
/* Redirects log lines to @path (appended; a FIFO needs a reader, see
 * util/safe_open.h). 0, or a negative errno with the reason in @err. */
int log_set_path(const char *path, char *err, size_t errlen);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line the guest caused (from a device, on any thread). */
void log_guest(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes @fmt as it is (no prefix; the caller ends it with a newline) to
 * stderr, without blocking: what figment itself tells the user while the
 * VM runs (--boot-timer). */
void log_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, waiting up to @wait_ms for a full stderr to take it (at exit,
 * where nothing else waits on this thread). */
void log_stderr_within(int wait_ms, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Says now what was dropped or suppressed since the last line (at exit). */
void log_flush_losses(void);

/* Lines lost so far: dropped by a full sink, suppressed by the guest
 * budget. */
uint64_t log_lines_dropped(void);
/* Does the first line's set-up (the non-blocking stderr, the time zone)
 * now, on the main thread, so that no thread opens a file for it later
 * under seccomp. */
void log_prepare(void);
/* The --log-path / PUT /logger file's descriptor, or -1 (stderr);
 * async-signal-safe. */
int log_sink_fd(void);
uint64_t log_guest_lines_suppressed(void);

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
