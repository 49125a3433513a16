/* SPDX-License-Identifier: Apache-2.0 */
/* The SIGSYS reporter: a forbidden call is named, with its thread, on
 * stderr and in the log, and then the process dies of SIGSYS. */
#ifndef FIGMENT_SANDBOX_SIGSYS_H
#define FIGMENT_SANDBOX_SIGSYS_H

/* 0 or a negative errno. */
int sigsys_reporter_install(void);

/* The calling thread's name in the message; copied. */
void sigsys_set_thread_label(const char *label);

#endif
