// SPDX-License-Identifier: Apache-2.0
/*
 * What happens on a forbidden system call. The filters trap (SIGSYS) rather
 * than kill, so that the process can say which call on which thread; the
 * handler writes that with write() alone, then makes the same call again:
 * SIGSYS is blocked inside its own handler, so the kernel's second trap
 * resets it to the default action and the process dies of SIGSYS, as it
 * would under SECCOMP_RET_KILL_PROCESS. Everything here is
 * async-signal-safe.
 */
#include "sandbox/sigsys.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "sandbox/seccomp_filter.h"
#include "util/log.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp trap (linux/signal.h) */
#endif

static __thread char thread_label[32];

void sigsys_set_thread_label(const char *label)
{
	strncpy(thread_label, label, sizeof(thread_label) - 1);
}

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	buf[at] = 0;
	return at;
}

static size_t append_uint(char *buf, size_t at, size_t cap, unsigned long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = '0' + v % 10;
	while ((v /= 10) && n < (int)sizeof(digits));
	while (n && at + 1 < cap)
		buf[at++] = digits[--n];
	buf[at] = 0;
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	const greg_t *r = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	const char *name = seccomp_syscall_name(si->si_syscall);
	char msg[192];
	size_t n = 0;
	int fd;

	(void)sig;
	if (si->si_code != SYS_SECCOMP)
		return; /* someone's kill(SIGSYS): not ours to report */
	n = append(msg, n, sizeof(msg), "figment: seccomp: the ");
	n = append(msg, n, sizeof(msg), thread_label[0] ? thread_label : "?");
	n = append(msg, n, sizeof(msg), " thread made a forbidden system call: ");
	n = append(msg, n, sizeof(msg), name ? name : "unknown");
	n = append(msg, n, sizeof(msg), " (");
	n = append_uint(msg, n, sizeof(msg), (unsigned)si->si_syscall);
	if (si->si_syscall == SYS_ioctl) {
		n = append(msg, n, sizeof(msg), ", request ");
		n = append_uint(msg, n, sizeof(msg), (uint32_t)r[REG_RSI]);
	}
	n = append(msg, n, sizeof(msg), "); killed with SIGSYS\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nothing more to try */
	}
	fd = log_sink_fd();
	if (fd > STDERR_FILENO && write(fd, msg, n) < 0) {
		/* as above */
	}
	syscall(si->si_syscall, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10],
		r[REG_R8], r[REG_R9]);
	syscall(SYS_exit_group, 128 + SIGSYS); /* not reached */
}

int sigsys_reporter_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}
