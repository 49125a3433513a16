// SPDX-License-Identifier: Apache-2.0
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

static enum log_level log_threshold = LOG_WARN;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

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

int log_set_path(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;
	FILE *out;

	if (level > log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	pthread_mutex_lock(&log_lock);
	out = log_file ? log_file : stderr;
	fprintf(out, "%s.%06ldZ [figment:%s] ", stamp, ts.tv_nsec / 1000,
		level_names[level]);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	pthread_mutex_unlock(&log_lock);
}
