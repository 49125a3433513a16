/* SPDX-License-Identifier: Apache-2.0 */
/* Log lines go to stderr (or the --log-path file) as
 * "<timestamp> [figment:<level>] message". The guest console owns stdout. */
#ifndef FIGMENT_UTIL_LOG_H
#define FIGMENT_UTIL_LOG_H

#include <stdio.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
/* Redirects log lines to a file; returns 0 or a negative errno. */
int log_set_path(const char *path);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
