// SPDX-License-Identifier: Apache-2.0
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/safe_open.h"

#define LOG_LINE_MAX 4096

static enum log_level log_threshold = LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* The sink: the --log-path file, or -1 for stderr_fd. */
static int log_fd = -1;
/* -1 until first used, then a non-blocking description of stderr (or
 * stderr itself where none can be had). */
static int stderr_fd = -1;
static uint64_t dropped, dropped_reported;
/* the guest budget: a one-second window */
static time_t guest_window;
static unsigned int guest_in_window;
static uint64_t guest_suppressed, guest_suppressed_reported;

static const char *const level_names[] = {
	[LOG_ERROR] = "Error",
	[LOG_WARN] = "Warn",
	[LOG_INFO] = "Info",
	[LOG_DEBUG] = "Debug",
};

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

int log_set_path(const char *path, char *err, size_t errlen)
{
	int fd = safe_open(path, O_WRONLY | O_APPEND | O_CREAT, 0644,
			   SAFE_OPEN_REG | SAFE_OPEN_FIFO | SAFE_OPEN_CHR, 1,
			   "log file", NULL, err, errlen);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&log_lock);
	if (log_fd > STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* Lock held. Stderr may be a pipe whose reader stalls: write through a
 * description of our own that does not block. Where the kernel gives none
 * (a socket), the shared one stays blocking: setting O_NONBLOCK on it
 * would change it for the processes we share it with. */
static int stderr_sink(void)
{
	int shared;

	if (stderr_fd >= 0)
		return stderr_fd;
	stderr_fd = reopen_nonblocking(STDERR_FILENO, &shared);
	if (stderr_fd >= 0 && shared) {
		fcntl(stderr_fd, F_SETFL, fcntl(stderr_fd, F_GETFL) & ~O_NONBLOCK);
		close(stderr_fd);
		stderr_fd = -1;
	}
	if (stderr_fd < 0)
		stderr_fd = STDERR_FILENO;
	return stderr_fd;
}

/* Lock held: one write() per line, so lines from threads never interleave
 * and a full sink loses whole lines. */
static bool log_write(int fd, const char *line, size_t len)
{
	ssize_t n;

	do {
		n = write(fd, line, len);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)len;
}

static size_t log_format(char *buf, size_t size, enum log_level level,
			 const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf, size, "%s.%06ldZ [figment:%s] ", stamp,
		     ts.tv_nsec / 1000, level_names[level]);
	m = vsnprintf(buf + n, size - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > size - 2) { /* cut: say so */
		m = (int)(size - 2) - n;
		memcpy(buf + n + m - 3, "...", 3);
	}
	buf[n + m] = '\n';
	return (size_t)(n + m + 1);
}

static void log_emit(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Lock held. */
static void log_vemit(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len = log_format(line, sizeof(line), level, fmt, ap);

	if (!log_write(log_fd >= 0 ? log_fd : stderr_sink(), line, len))
		dropped++;
}

static void log_emit(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, fmt, ap);
	va_end(ap);
}

/* Lock held: what was lost since the last report, before the next line. */
static void log_report_losses(void)
{
	if (dropped != dropped_reported) {
		uint64_t n = dropped - dropped_reported;

		dropped_reported = dropped;
		log_emit(LOG_WARN,
			 "%llu log lines were dropped: the log reader did not keep up",
			 (unsigned long long)n);
	}
	if (guest_suppressed != guest_suppressed_reported) {
		uint64_t n = guest_suppressed - guest_suppressed_reported;

		guest_suppressed_reported = guest_suppressed;
		log_emit(LOG_WARN,
			 "%llu guest-caused log lines were suppressed (at most %d a second)",
			 (unsigned long long)n, LOG_GUEST_PER_SEC);
	}
}

static void log_vmsg(enum log_level level, bool guest, const char *fmt,
		     va_list ap)
{
	if (level > log_threshold)
		return;
	pthread_mutex_lock(&log_lock);
	if (guest) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != guest_window) {
			guest_window = now.tv_sec;
			guest_in_window = 0;
		}
		if (guest_in_window >= LOG_GUEST_PER_SEC) {
			guest_suppressed++;
			pthread_mutex_unlock(&log_lock);
			return;
		}
		guest_in_window++;
	}
	log_report_losses();
	log_vemit(level, fmt, ap);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, false, fmt, ap);
	va_end(ap);
}

void log_guest(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, true, fmt, ap);
	va_end(ap);
}

void log_prepare(void)
{
	pthread_mutex_lock(&log_lock);
	stderr_sink();
	pthread_mutex_unlock(&log_lock);
	tzset(); /* strftime() reads the time zone file once, here */
}

int log_sink_fd(void)
{
	return log_fd;
}

uint64_t log_lines_dropped(void)
{
	uint64_t n;

	pthread_mutex_lock(&log_lock);
	n = dropped;
	pthread_mutex_unlock(&log_lock);
	return n;
}

uint64_t log_guest_lines_suppressed(void)
{
	uint64_t n;

	pthread_mutex_lock(&log_lock);
	n = guest_suppressed;
	pthread_mutex_unlock(&log_lock);
	return n;
}

static void log_vstderr(int wait_ms, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len, done = 0;
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	pthread_mutex_lock(&log_lock);
	while (done < len) {
		struct pollfd pfd = { .fd = stderr_sink(), .events = POLLOUT };
		ssize_t w = write(pfd.fd, line + done, len - done);

		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN && wait_ms > 0 &&
		    poll(&pfd, 1, wait_ms) > 0)
			continue;
		dropped++;
		break;
	}
	pthread_mutex_unlock(&log_lock);
}

void log_stderr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vstderr(0, fmt, ap);
	va_end(ap);
}

void log_stderr_within(int wait_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vstderr(wait_ms, fmt, ap);
	va_end(ap);
}

void log_flush_losses(void)
{
	pthread_mutex_lock(&log_lock);
	log_report_losses();
	pthread_mutex_unlock(&log_lock);
}
