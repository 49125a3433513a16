// SPDX-License-Identifier: Apache-2.0
/*
 * netmon: one sample of a VMM's CPU time, for the network benchmark
 * (bench/net.sh; built static, it runs in the nested lab, which has no libc
 * of its own). bench/net_lab.sh takes one before and one after each iperf3
 * transfer and subtracts.
 *
 *   netmon PID [HELPER_COMM...]
 *
 * Prints one line:
 *
 *   wall_us=N cpu_us=N vcpu_us=N helper_us=N helpers=N
 *
 * wall_us: CLOCK_MONOTONIC. cpu_us: utime + stime of process PID
 * (/proc/PID/stat: all its threads, exited ones included). vcpu_us: utime +
 * stime of its live vCPU threads, by name (figment's "fc_vcpu N", QEMU's
 * "CPU N/KVM", which QEMU sets only with -name ...,debug-threads=on), -1 when
 * it has none so named. helper_us: utime + stime of every process whose
 * name is one of HELPER_COMM (figment's user-mode helpers, passt and
 * figment-slirp: separate processes whose work is the VMM's all the same;
 * passt may fork into its own PID namespace, so they are found by name, not
 * as children), and helpers how many there were. cpu_us is -1 when PID is
 * gone. Exit status 0, or 2 for bad arguments.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static long clk_tck;

static long long ticks_us(unsigned long long t)
{
	return (long long)(t * 1000000ULL / (unsigned long long)clk_tck);
}

static int is_vcpu_thread(const char *comm)
{
	size_t n = strlen(comm);

	return !strncmp(comm, "fc_vcpu", 7) ||
	       (!strncmp(comm, "CPU ", 4) && n > 4 &&
		!strcmp(comm + n - 4, "/KVM"));
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	long long cpu_us = -1, vcpu_us = -1, helper_us = 0;
	unsigned long long v[48];
	char path[96], comm[64];
	struct timespec t;
	struct dirent *de;
	int helpers = 0;
	DIR *d;

	if (argc < 2 || !all_digits(argv[1])) {
		fprintf(stderr, "usage: netmon PID [HELPER_COMM...]\n");
		return 2;
	}
	clk_tck = sysconf(_SC_CLK_TCK);
	if (clk_tck <= 0)
		clk_tck = 100;
	clock_gettime(CLOCK_MONOTONIC, &t);

	snprintf(path, sizeof(path), "/proc/%s/stat", argv[1]);
	if (read_stat(path, v, 48, comm, sizeof(comm)) >= 13) {
		int nvcpu = 0;

		cpu_us = ticks_us(v[11] + v[12]);
		snprintf(path, sizeof(path), "/proc/%s/task", argv[1]);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			if (!all_digits(de->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%.20s/stat",
				 argv[1], de->d_name);
			if (read_stat(path, v, 48, comm, sizeof(comm)) >= 13 &&
			    is_vcpu_thread(comm)) {
				if (!nvcpu++)
					vcpu_us = 0;
				vcpu_us += ticks_us(v[11] + v[12]);
			}
		}
		if (d)
			closedir(d);
	}

	if (argc > 2 && (d = opendir("/proc"))) {
		while ((de = readdir(d))) {
			if (!all_digits(de->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%.20s/stat",
				 de->d_name);
			if (read_stat(path, v, 48, comm, sizeof(comm)) < 13)
				continue;
			for (int i = 2; i < argc; i++) {
				if (!strcmp(comm, argv[i])) {
					helper_us += ticks_us(v[11] + v[12]);
					helpers++;
					break;
				}
			}
		}
		closedir(d);
	}

	printf("wall_us=%lld cpu_us=%lld vcpu_us=%lld helper_us=%lld "
	       "helpers=%d\n",
	       (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000, cpu_us,
	       vcpu_us, helper_us, helpers);
	return 0;
}
