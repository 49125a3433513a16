// SPDX-License-Identifier: Apache-2.0
/*
 * blkmon: runs one VMM whose guest runs bench/blkio.c, and measures the VMM
 * process's CPU time over each of the guest's I/O phases (built static by
 * bench/blk.sh: it runs in the nested lab, which has no libc of its own).
 *
 *   blkmon [-n NAME] [-t SEC] [-o PREFIX] -- COMMAND [ARGS...]
 *     -n NAME     label, "SET:VMM"; each output line is NAME:PHASE
 *     -t SEC      SIGKILL the VMM after SEC seconds (default 300)
 *     -o PREFIX   keep the VMM's stdout and stderr in PREFIX.out, PREFIX.err
 *
 * When a line of the VMM's stdout (the guest console) contains
 * "BLKIO-BEGIN <phase>" or "BLKIO-END <phase> bytes=... ops=... us=...",
 * blkmon reads /proc/PID/stat: utime + stime (all the process's threads,
 * including the vCPU threads while they run the guest) and guest_time (the
 * part of it spent running guest code), and the utime + stime of the vCPU
 * threads (by name: figment's "fc_vcpu N", QEMU's "CPU N/KVM", which QEMU
 * sets only with -name ...,debug-threads=on). After the
 * VMM exits it prints, per phase that ended:
 *
 *   blk=NAME:PHASE status=S bytes=N ops=N guest_us=N wall_us=N cpu_us=N
 *       guestcpu_us=N vcpu_us=N
 *
 * (one line). guest_us is the phase's length by the guest's clock (what the
 * throughput is computed from), wall_us by this side's clock between the
 * two lines; cpu_us, guestcpu_us and vcpu_us are the CPU-time deltas between
 * them (-1 when a sample failed). cpu_us - vcpu_us is what the VMM's other
 * threads (event loop, I/O workers) spent. status is the VMM's exit status,
 * 128+N for a signal, or "timeout".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_PHASES   16
#define LINE_MAX_LEN 4096

struct sample {
	int64_t wall_us, cpu_us, guest_us, vcpu_us;
};

struct phase {
	char name[32];
	struct sample begin, end;
	unsigned long long bytes, ops;
	long long us;
	int ended;
};

static struct phase phases[MAX_PHASES];
static int nphases;
static long clk_tck;

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t ticks_us(unsigned long long t)
{
	return (int64_t)(t * 1000000ULL / (unsigned long long)clk_tck);
}

/* vCPU threads: figment names them "fc_vcpu N", QEMU "CPU N/KVM". */
static int is_vcpu_thread(const char *comm)
{
	size_t n = strlen(comm);

	return !strncmp(comm, "fc_vcpu", 7) ||
	       (!strncmp(comm, "CPU ", 4) && n > 4 &&
		!strcmp(comm + n - 4, "/KVM"));
}

/*
 * One sample of the process's CPU time: utime + stime (fields 14, 15) and
 * guest_time (field 43) of /proc/PID/stat, which include threads that have
 * exited, and utime + stime of the live vCPU threads (/proc/PID/task/).
 */
static void sample_cpu(pid_t pid, struct sample *s)
{
	unsigned long long v[48];
	char path[96], comm[64];
	struct dirent *de;
	DIR *d;

	s->wall_us = now_us();
	s->cpu_us = s->guest_us = s->vcpu_us = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_stat(path, v, 48, comm, sizeof(comm)) < 41)
		return;
	s->cpu_us = ticks_us(v[11] + v[12]);
	s->guest_us = ticks_us(v[40]);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	s->vcpu_us = 0;
	int nvcpu = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/stat",
			 (int)pid, de->d_name);
		if (read_stat(path, v, 48, comm, sizeof(comm)) >= 13 &&
		    is_vcpu_thread(comm)) {
			s->vcpu_us += ticks_us(v[11] + v[12]);
			nvcpu++;
		}
	}
	closedir(d);
	if (nvcpu == 0)
		s->vcpu_us = -1; /* unnamed threads: cannot tell */
}

static struct phase *phase_get(const char *name, size_t len)
{
	for (int i = 0; i < nphases; i++)
		if (strlen(phases[i].name) == len &&
		    !strncmp(phases[i].name, name, len))
			return &phases[i];
	if (nphases == MAX_PHASES || len >= sizeof(phases[0].name))
		return NULL;
	memcpy(phases[nphases].name, name, len);
	phases[nphases].name[len] = '\0';
	return &phases[nphases++];
}

static void on_line(pid_t pid, const char *line)
{
	const char *b = strstr(line, "BLKIO-BEGIN "),
		   *e = strstr(line, "BLKIO-END ");
	struct phase *ph;
	size_t len;

	if (b) {
		b += strlen("BLKIO-BEGIN ");
		len = strcspn(b, " \r\n");
		ph = phase_get(b, len);
		if (ph)
			sample_cpu(pid, &ph->begin);
	} else if (e) {
		struct sample s;

		sample_cpu(pid, &s);
		e += strlen("BLKIO-END ");
		len = strcspn(e, " \r\n");
		ph = phase_get(e, len);
		if (!ph || !ph->begin.wall_us)
			return;
		ph->end = s;
		if (sscanf(e + len, " bytes=%llu ops=%llu us=%lld", &ph->bytes,
			   &ph->ops, &ph->us) == 3)
			ph->ended = 1;
	}
}

/* -1 when either sample failed */
static long long delta(int64_t a, int64_t b)
{
	return a < 0 || b < 0 ? -1 : (long long)(b - a);
}

static void usage(void)
{
	fprintf(stderr, "usage: blkmon [-n NAME] [-t SEC] [-o PREFIX] -- "
			"COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = "vmm", *prefix = NULL;
	static char line[LINE_MAX_LEN + 1];
	size_t linelen = 0;
	long timeout_s = 300;
	int outp[2], errp[2], opt, wstatus = 0, log_out, log_err;
	int out_open = 1, err_open = 1, timed_out = 0;
	int64_t deadline;
	char status[16];
	pid_t pid;

	while ((opt = getopt(argc, argv, "+n:t:o:")) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 't':
			timeout_s = atol(optarg);
			break;
		case 'o':
			prefix = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	clk_tck = sysconf(_SC_CLK_TCK);
	if (clk_tck <= 0)
		clk_tck = 100;
	log_out = open_log(prefix, "out");
	log_err = open_log(prefix, "err");
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		die("pipe2");
	deadline = now_us() + (int64_t)timeout_s * 1000000;
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(126);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);

	while (out_open || err_open) {
		struct pollfd pfd[2] = {
			{.fd = out_open ? outp[0] : -1, .events = POLLIN},
			{.fd = err_open ? errp[0] : -1, .events = POLLIN},
		};
		int64_t left = deadline - now_us();
		char buf[4096];
		int n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		n = poll(pfd, 2, (int)((left + 999) / 1000));
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			ssize_t r = read(outp[0], buf, sizeof(buf));

			if (r <= 0)
				out_open = 0;
			for (ssize_t i = 0; i < r; i++) {
				if (buf[i] == '\n' || linelen == LINE_MAX_LEN) {
					line[linelen] = '\0';
					on_line(pid, line);
					linelen = 0;
				}
				if (buf[i] != '\n')
					line[linelen++] = buf[i];
			}
			if (r > 0)
				write_all(log_out, buf, (size_t)r);
		}
		if (pfd[1].revents) {
			ssize_t r = read(errp[0], buf, sizeof(buf));

			if (r <= 0)
				err_open = 0;
			else
				write_all(log_err, buf, (size_t)r);
		}
	}
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (timed_out)
		snprintf(status, sizeof(status), "timeout");
	else if (WIFSIGNALED(wstatus))
		snprintf(status, sizeof(status), "%d", 128 + WTERMSIG(wstatus));
	else
		snprintf(status, sizeof(status), "%d", WEXITSTATUS(wstatus));
	if (nphases == 0)
		printf("blk=%s:none status=%s\n", name, status);
	for (int i = 0; i < nphases; i++) {
		struct phase *ph = &phases[i];

		if (!ph->ended) {
			printf("blk=%s:%s status=%s ended=0\n", name, ph->name,
			       status);
			continue;
		}
		printf("blk=%s:%s status=%s bytes=%llu ops=%llu guest_us=%lld "
		       "wall_us=%lld cpu_us=%lld guestcpu_us=%lld "
		       "vcpu_us=%lld\n",
		       name, ph->name, status, ph->bytes, ph->ops, ph->us,
		       (long long)(ph->end.wall_us - ph->begin.wall_us),
		       delta(ph->begin.cpu_us, ph->end.cpu_us),
		       delta(ph->begin.guest_us, ph->end.guest_us),
		       delta(ph->begin.vcpu_us, ph->end.vcpu_us));
	}
	return 0;
}
