// SPDX-License-Identifier: Apache-2.0
/*
 * vsockbench: both ends of the vsock benchmark (bench/vsock.sh,
 * bench/vsock_lab.sh), one static program:
 *
 *   vsockbench serve PORT                       in the guest
 *   vsockbench h2g TARGET PORT SECONDS          on the host: sends for
 *        SECONDS, half-closes, waits for the guest's count of what arrived
 *   vsockbench g2h TARGET PORT SECONDS          on the host: the guest
 *        sends for SECONDS, then closes
 *   vsockbench connect TARGET PORT N            on the host: N connections
 *        one after the other, each timed from the connect call to the
 *        connection being usable, then closed
 *
 * TARGET is unix:PATH (figment's Unix socket: the time to "OK" after
 * "CONNECT PORT\n", Firecracker's model) or vsock:CID (AF_VSOCK, QEMU's
 * vhost-vsock: connect() returns once the guest's RESPONSE came). Prints
 * one line of key=value pairs: "bytes=N us=N" or "n=N median_us=N
 * p90_us=N"; exits 1 on any error (with a reason on stderr).
 *
 * The guest's server takes one byte first: 'S' to sink (it answers with the
 * 8-byte count at EOF), 'G' and 4 bytes of seconds to generate, anything
 * else (or EOF: the connect test) to close.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define CHUNK (256 * 1024)

static uint8_t buf[CHUNK];

static void die(const char *what)
{
	fprintf(stderr, "vsockbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int full_write(int fd, const void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (const uint8_t *)p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int full_read(int fd, void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t r = read(fd, (uint8_t *)p + off, n - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/* A connection to @target's @port, usable (the handshake done). */
static int dial(const char *target, unsigned int port)
{
	int fd;

	if (!strncmp(target, "vsock:", 6)) {
		struct sockaddr_vm a = {
			.svm_family = AF_VSOCK, .svm_port = port,
			.svm_cid = (unsigned int)atoi(target + 6),
		};

		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			die("vsock connect");
		return fd;
	}
	if (strncmp(target, "unix:", 5)) {
		fprintf(stderr, "vsockbench: target '%s' is not unix:PATH or vsock:CID\n",
			target);
		exit(2);
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[32];
	size_t n = 0;
	int len;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", target + 5);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("unix connect");
	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (full_write(fd, line, (size_t)len))
		die("write CONNECT");
	/* byte by byte: what follows the line is the stream's */
	while (n < sizeof(line) - 1) {
		if (full_read(fd, line + n, 1))
			die("no OK");
		if (line[n++] == '\n')
			break;
	}
	if (strncmp(line, "OK ", 3)) {
		fprintf(stderr, "vsockbench: no OK: '%.*s'\n", (int)n, line);
		exit(1);
	}
	return fd;
}

/* Writes for @secs seconds; the bytes written. */
static uint64_t send_for(int fd, unsigned int secs)
{
	uint64_t end = now_us() + (uint64_t)secs * 1000000, sent = 0;

	memset(buf, 'v', sizeof(buf));
	while (now_us() < end) {
		ssize_t w = write(fd, buf, sizeof(buf));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		sent += (uint64_t)w;
	}
	return sent;
}

static void serve_one(int fd)
{
	uint8_t mode = 0;
	uint32_t secs;
	uint64_t got = 0;
	ssize_t r;

	if (full_read(fd, &mode, 1))
		_exit(0); /* the connect test: nothing sent */
	switch (mode) {
	case 'S':
		while ((r = read(fd, buf, sizeof(buf))) > 0 ||
		       (r < 0 && errno == EINTR))
			if (r > 0)
				got += (uint64_t)r;
		full_write(fd, &got, sizeof(got));
		break;
	case 'G':
		if (full_read(fd, &secs, sizeof(secs)) == 0)
			send_for(fd, secs);
		break;
	}
	_exit(0);
}

static _Noreturn void serve(unsigned int port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_port = port,
				 .svm_cid = VMADDR_CID_ANY };
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 256))
		die("vsock listen");
	signal(SIGCHLD, SIG_IGN);
	printf("VSOCKBENCH-READY\n");
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (fork() == 0) {
			close(lfd);
			serve_one(fd);
		}
		close(fd);
	}
}

static int h2g(const char *target, unsigned int port, unsigned int secs)
{
	int fd = dial(target, port);
	uint64_t t0 = now_us(), sent, got;

	if (full_write(fd, "S", 1))
		die("write");
	sent = send_for(fd, secs);
	shutdown(fd, SHUT_WR);
	if (full_read(fd, &got, sizeof(got)))
		die("no count from the guest");
	if (got != sent) {
		fprintf(stderr, "vsockbench: sent %llu, the guest got %llu\n",
			(unsigned long long)sent, (unsigned long long)got);
		return 1;
	}
	printf("bytes=%llu us=%llu\n", (unsigned long long)got,
	       (unsigned long long)(now_us() - t0));
	return 0;
}

static int g2h(const char *target, unsigned int port, unsigned int secs)
{
	uint8_t cmd[5] = { 'G' };
	uint64_t t0, got = 0;
	ssize_t r;
	int fd = dial(target, port);

	memcpy(cmd + 1, &secs, 4);
	t0 = now_us();
	if (full_write(fd, cmd, sizeof(cmd)))
		die("write");
	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			got += (uint64_t)r;
	if (r < 0)
		die("read");
	printf("bytes=%llu us=%llu\n", (unsigned long long)got,
	       (unsigned long long)(now_us() - t0));
	return got ? 0 : 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int connects(const char *target, unsigned int port, unsigned int n)
{
	uint64_t *us = calloc(n ? n : 1, sizeof(*us));

	if (!us || n == 0)
		return 2;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		int fd = dial(target, port);

		us[i] = now_us() - t0;
		close(fd);
	}
	qsort(us, n, sizeof(*us), cmp_u64);
	printf("n=%u median_us=%llu p90_us=%llu\n", n,
	       (unsigned long long)us[n / 2],
	       (unsigned long long)us[n * 9 / 10]);
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(cmd, "serve") && argc == 3)
		serve((unsigned int)atoi(argv[2]));
	if (argc == 5) {
		unsigned int port = (unsigned int)atoi(argv[3]);
		unsigned int v = (unsigned int)atoi(argv[4]);

		if (!strcmp(cmd, "h2g"))
			return h2g(argv[2], port, v);
		if (!strcmp(cmd, "g2h"))
			return g2h(argv[2], port, v);
		if (!strcmp(cmd, "connect"))
			return connects(argv[2], port, v);
	}
	fprintf(stderr, "usage: see bench/vsockbench.c\n");
	return 2;
}
