// SPDX-License-Identifier: Apache-2.0
/*
 * blkio: the block benchmark's load generator, run inside the guest (built
 * static by bench/blk.sh and put on the guest's root disk: the guest has
 * busybox and nothing else).
 *
 *   blkio DEVICE SECONDS PHASE...
 *     PHASE: seqwrite | seqread   256 KiB O_DIRECT writes / reads, in order,
 *                                 wrapping around at the end of DEVICE
 *            randread             4 KiB O_DIRECT reads at uniformly random
 *                                 4 KiB-aligned offsets (queue depth 1)
 *
 * Each phase runs for SECONDS of the guest's CLOCK_MONOTONIC (time-bound, so
 * a slow machine makes the figures smaller, not the run longer), one
 * synchronous request at a time, and prints
 *
 *   BLKIO-BEGIN <phase>
 *   BLKIO-END <phase> bytes=N ops=N us=N
 *
 * on stdout, flushed, so that a monitor on the host side
 * (bench/blkmon.c) can sample the VMM's CPU time at both lines. O_DIRECT keeps
 * the guest's page cache out of the way: every request reaches the device.
 * Exits 0 when every phase ran; 1 with a message on an I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS	(256 * 1024)
#define RAND_BS 4096

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* xorshift64*: deterministic, so every run reads the same offsets. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int run_phase(int fd, const char *phase, uint64_t dev_bytes,
		     int64_t dur_us, unsigned char *buf)
{
	int rand = !strcmp(phase, "randread");
	int write = !strcmp(phase, "seqwrite");
	size_t bs = rand ? RAND_BS : SEQ_BS;
	uint64_t blocks = dev_bytes / bs, next = 0, ops = 0,
		 seed = 88172645463325252ULL;
	int64_t start, end;

	if (!rand && !write && strcmp(phase, "seqread")) {
		fprintf(stderr, "blkio: unknown phase %s\n", phase);
		return -1;
	}
	if (blocks == 0) {
		fprintf(stderr, "blkio: device smaller than one block\n");
		return -1;
	}
	printf("BLKIO-BEGIN %s\n", phase);
	fflush(stdout);
	start = now_us();
	do {
		/* a batch between clock reads: the clock is cheap, but not free
		 * under emulation */
		for (int i = 0; i < 8; i++) {
			uint64_t blk = rand ? rng_next(&seed) % blocks
					    : next++ % blocks;
			off_t off = (off_t)(blk * bs);
			ssize_t r = write ? pwrite(fd, buf, bs, off)
					  : pread(fd, buf, bs, off);

			if (r != (ssize_t)bs) {
				fprintf(stderr, "blkio: %s at %lld: %s\n",
					phase, (long long)off,
					r < 0 ? strerror(errno)
					      : "short transfer");
				return -1;
			}
			ops++;
		}
		end = now_us();
	} while (end - start < dur_us);
	printf("BLKIO-END %s bytes=%llu ops=%llu us=%lld\n", phase,
	       (unsigned long long)(ops * bs), (unsigned long long)ops,
	       (long long)(end - start));
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *buf;
	uint64_t dev_bytes = 0;
	double secs;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: blkio DEVICE SECONDS PHASE...\n");
		return 2;
	}
	secs = atof(argv[2]);
	if (secs <= 0) {
		fprintf(stderr, "blkio: SECONDS must be positive\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &dev_bytes)) {
		perror(argv[1]);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, SEQ_BS)) {
		fprintf(stderr, "blkio: out of memory\n");
		return 1;
	}
	/* not zeroes: a back end may treat all-zero blocks specially */
	for (size_t i = 0; i < SEQ_BS; i++)
		buf[i] = (unsigned char)(i * 31 + 7);
	for (int i = 3; i < argc; i++) {
		if (run_phase(fd, argv[i], dev_bytes, (int64_t)(secs * 1e6),
			      buf))
			return 1;
	}
	return 0;
}
