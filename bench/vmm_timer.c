// SPDX-License-Identifier: Apache-2.0
/*
 * vmm_timer: runs one VMM command and prints one line of measurements, so
 * that figment and QEMU are timed by the same code, in the lab as on the
 * host (built static by bench/run.sh: the lab has no compiler or Python).
 *
 *   vmm_timer [options] -- COMMAND [ARGS...]
 *     -n NAME     label for the output line (default "vmm")
 *     -m MARKER   time the first occurrence of MARKER in the VMM's stdout
 *     -e MARKER   the same for an "output complete" marker
 *     -g MIB      guest RAM size: its anonymous mapping of exactly this size
 *                 is left out of the overhead figures (0: none)
 *     -i MS       sample /proc/PID/smaps every MS milliseconds (0: never)
 *     -t SEC      SIGKILL the VMM after SEC seconds (default 120)
 *     -b TAG      report the integer that follows TAG in the VMM's stderr
 *                 (figment's "guest boot time N us")
 *     -o PREFIX   keep the VMM's stdout and stderr in PREFIX.out, PREFIX.err
 *
 * Times are microseconds of CLOCK_MONOTONIC since just before fork(), -1 when
 * the event did not happen. Memory is in KiB: maxrss from wait4(), and the
 * peaks over the smaps samples of total Rss, of Rss outside the guest RAM
 * mapping ("overhead"), and of anonymous memory outside it.
 *
 * The output line is "key=value" words; status is the exit status, or 128+N
 * for a signal, or "timeout".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define ERRBUF_MAX (64 * 1024)

struct marker {
	const char *text;
	size_t len;
	size_t matched; /* bytes of text matched so far, across reads */
	int64_t at_us;
};

struct mem_peak {
	long samples;
	long rss_kib;
	long ovh_kib;
	long ovh_anon_kib;
	long guest_kib; /* guest RAM resident at the overhead peak */
};

static struct timespec t0;

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0.tv_sec) * 1000000 +
	       (t.tv_nsec - t0.tv_nsec) / 1000;
}

/*
 * Streaming match, so a marker split across two pipe reads is still seen.
 * Markers here have no repeated prefix, so restarting the match on a
 * mismatch (and retrying the byte as a first byte) is exact enough.
 */
static void marker_feed(struct marker *m, const char *buf, size_t n)
{
	if (!m->text || m->at_us >= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == m->text[m->matched]) {
			if (++m->matched == m->len) {
				m->at_us = now_us();
				return;
			}
		} else {
			m->matched = buf[i] == m->text[0] ? 1 : 0;
		}
	}
}

/*
 * One smaps sample. The guest RAM is the anonymous mapping (no path, inode 0)
 * of exactly the guest's size: both figment and QEMU map it that way, and
 * nothing else they map has that size.
 */
static void sample_smaps(pid_t pid, long guest_kib, struct mem_peak *p)
{
	char path[64], line[512];
	long rss = 0, anon = 0, g_rss = 0, g_anon = 0;
	long size = 0;
	bool is_anon = false, is_guest = false, guest_found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return; /* exited meanwhile */
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		int pathpos = 0;
		long v;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end,
			   perms, &off, &maj, &min, &ino, &pathpos) == 7) {
			/* hugetlbfs guest RAM (figment --hugepages 2M) is
			 * an anonymous mapping named /anon_hugepage */
			is_anon = (ino == 0 && (line[pathpos] == '\0' ||
						line[pathpos] == '\n')) ||
				  !strncmp(line + pathpos, "/anon_hugepage", 14);
			size = (long)((end - start) / 1024);
			is_guest = !guest_found && is_anon && guest_kib > 0 &&
				   size == guest_kib;
			guest_found |= is_guest;
			continue;
		}
		if (sscanf(line, "Rss: %ld kB", &v) == 1 ||
		    /* hugetlbfs pages are not in Rss */
		    sscanf(line, "Private_Hugetlb: %ld kB", &v) == 1 ||
		    sscanf(line, "Shared_Hugetlb: %ld kB", &v) == 1) {
			rss += v;
			if (is_guest)
				g_rss += v;
		} else if (sscanf(line, "Anonymous: %ld kB", &v) == 1) {
			anon += v;
			if (is_guest)
				g_anon = v;
		}
	}
	fclose(f);
	if (rss == 0)
		return; /* a zombie's smaps is empty: not a sample */
	p->samples++;
	if (rss > p->rss_kib)
		p->rss_kib = rss;
	if (rss - g_rss > p->ovh_kib) {
		p->ovh_kib = rss - g_rss;
		p->guest_kib = g_rss;
	}
	if (anon - g_anon > p->ovh_anon_kib)
		p->ovh_anon_kib = anon - g_anon;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vmm_timer [-n NAME] [-m MARKER] [-e MARKER] [-g MIB] "
		"[-i MS] [-t SEC] [-b TAG] [-o PREFIX] -- COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = "vmm", *boot_tag = NULL, *log_prefix = NULL;
	struct marker mark = { .at_us = -1 }, endm = { .at_us = -1 };
	long guest_kib = 0, interval_ms = 0, timeout_s = 120;
	struct mem_peak peak = { 0 };
	static char errbuf[ERRBUF_MAX + 1];
	size_t errlen = 0;
	int64_t first_us = -1, exit_us = -1, next_sample, deadline;
	int outp[2], errp[2], opt, wstatus = 0, log_out, log_err;
	bool timed_out = false, out_open = true, err_open = true;
	struct rusage ru;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+n:m:e:g:i:t:b:o:")) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'm': mark.text = optarg; break;
		case 'e': endm.text = optarg; break;
		case 'g': guest_kib = atol(optarg) * 1024; break;
		case 'i': interval_ms = atol(optarg); break;
		case 't': timeout_s = atol(optarg); break;
		case 'b': boot_tag = optarg; break;
		case 'o': log_prefix = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	mark.len = mark.text ? strlen(mark.text) : 0;
	endm.len = endm.text ? strlen(endm.text) : 0;
	if ((mark.text && !mark.len) || (endm.text && !endm.len))
		usage();
	log_out = open_log(log_prefix, "out");
	log_err = open_log(log_prefix, "err");

	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		die("pipe2");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = spawn_piped(argv + optind, outp, errp);

	next_sample = interval_ms > 0 ? 0 : INT64_MAX;
	deadline = (int64_t)timeout_s * 1000000;
	while (out_open || err_open) {
		struct pollfd pfd[2] = {
			{ .fd = out_open ? outp[0] : -1, .events = POLLIN },
			{ .fd = err_open ? errp[0] : -1, .events = POLLIN },
		};
		int64_t t = now_us(), wait_us;
		char buf[4096];
		int n;

		if (t >= deadline) {
			kill(pid, SIGKILL);
			timed_out = true;
			break;
		}
		if (t >= next_sample) {
			sample_smaps(pid, guest_kib, &peak);
			next_sample = now_us() + interval_ms * 1000;
		}
		wait_us = (next_sample < deadline ? next_sample : deadline) - t;
		n = poll(pfd, 2, wait_us > 0 ? (int)((wait_us + 999) / 1000) : 0);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			ssize_t r = read(outp[0], buf, sizeof(buf));
			bool had_mark = mark.at_us >= 0, had_end = endm.at_us >= 0;

			if (r <= 0) {
				out_open = false;
			} else {
				if (first_us < 0)
					first_us = now_us();
				marker_feed(&mark, buf, (size_t)r);
				marker_feed(&endm, buf, (size_t)r);
				write_all(log_out, buf, (size_t)r);
				/* The guest is done: the VMM's memory is at
				 * its fullest now, before teardown frees it. */
				if ((!had_end && endm.at_us >= 0) ||
				    (!had_mark && mark.at_us >= 0 && interval_ms))
					sample_smaps(pid, guest_kib, &peak);
			}
		}
		if (pfd[1].revents) {
			ssize_t r = read(errp[0], buf, sizeof(buf));

			if (r <= 0) {
				err_open = false;
			} else {
				size_t room = ERRBUF_MAX - errlen;
				size_t k = (size_t)r < room ? (size_t)r : room;

				memcpy(errbuf + errlen, buf, k);
				errlen += k;
				write_all(log_err, buf, (size_t)r);
			}
		}
	}
	/* Both pipes closed: the VMM is exiting (or killed); reap it. */
	while (wait4(pid, &wstatus, 0, &ru) < 0) {
		if (errno != EINTR)
			die("wait4");
	}
	exit_us = now_us();
	errbuf[errlen] = '\0';

	long boot_us = -1;
	if (boot_tag) {
		char *p = strstr(errbuf, boot_tag);

		if (p)
			boot_us = strtol(p + strlen(boot_tag), NULL, 10);
	}
	char status[16];
	if (timed_out)
		snprintf(status, sizeof(status), "timeout");
	else if (WIFSIGNALED(wstatus))
		snprintf(status, sizeof(status), "%d", 128 + WTERMSIG(wstatus));
	else
		snprintf(status, sizeof(status), "%d", WEXITSTATUS(wstatus));

	printf("vmm=%s status=%s first_us=%lld marker_us=%lld end_us=%lld "
	       "exit_us=%lld maxrss_kib=%ld peak_rss_kib=%ld ovh_kib=%ld "
	       "ovh_anon_kib=%ld guest_kib=%ld samples=%ld boottimer_us=%ld\n",
	       name, status, (long long)first_us, (long long)mark.at_us,
	       (long long)endm.at_us, (long long)exit_us, ru.ru_maxrss,
	       peak.rss_kib, peak.ovh_kib, peak.ovh_anon_kib, peak.guest_kib,
	       peak.samples, boot_us);
	return 0;
}
