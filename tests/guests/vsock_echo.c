// SPDX-License-Identifier: Apache-2.0
/*
 * vsock-echo: the guest and host ends of the vsock lab test
 * (tests/integration/test_lab_vsock.py), one static program for both:
 *
 *   vsock-echo serve-vsock PORT          guest: echo every connection on
 *   vsock-echo serve-unix PATH           host: the same on a Unix socket
 *   vsock-echo client-vsock CID PORT N BYTES
 *   vsock-echo client-unix UDS PORT N BYTES
 *        N connections at once (to the host's <UDS>_PORT through the guest's
 *        vsock; or through figment's UDS with "CONNECT PORT"), each sends
 *        BYTES of a pattern, half-closes, reads the echo back and checks
 *        it; prints "ECHO-OK N" when all came back intact, exits 1 otherwise
 *   vsock-echo hold-vsock CID PORT | hold-unix UDS PORT
 *        connects and waits forever (for a test to kill it)
 *   vsock-echo watch-vsock CID PORT | watch-unix UDS PORT
 *        connects, prints "HOLDING", then reads until the connection ends
 *        and prints "HOLD-ENDED" with how (EOF or the error): a snapshot
 *        test's connection that the restore must end
 *   vsock-echo silent-unix UDS
 *        connects to figment's socket, says nothing, and prints
 *        "SILENT-CLOSED MS" once figment closed it (its CONNECT line timeout)
 *   vsock-echo once-vsock PORT           waits for one connection, then exits
 *
 * Built with gcc -static; no library beyond libc.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

static void die(const char *what)
{
	fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int vsock_listen(unsigned int port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_port = port,
				 .svm_cid = VMADDR_CID_ANY };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 256))
		die("vsock listen");
	return fd;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 256))
		die("unix listen");
	return fd;
}

static int vsock_dial(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_port = port,
				 .svm_cid = cid };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("vsock connect");
	return fd;
}

/* Firecracker's handshake: "CONNECT PORT\n", then "OK HOSTPORT\n". */
static int unix_dial(const char *uds, unsigned int port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char line[64];
	size_t n = 0;
	int len;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("unix connect");
	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write(fd, line, (size_t)len) != len)
		die("write CONNECT");
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);

		if (r <= 0) {
			fprintf(stderr, "vsock-echo: no OK for port %u\n", port);
			exit(1);
		}
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	if (strncmp(line, "OK ", 3)) {
		fprintf(stderr, "vsock-echo: '%s' is not OK\n", line);
		exit(1);
	}
	return fd;
}

static void echo(int fd)
{
	char buf[16384];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(fd, buf + off, (size_t)(r - off));

			if (w <= 0)
				exit(1);
			off += w;
		}
	exit(0);
}

static void serve(int lfd)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (fork() == 0) {
			close(lfd);
			echo(fd);
		}
		close(fd);
	}
}

static uint8_t pattern(size_t i, unsigned int k)
{
	return (uint8_t)(i * 7 + k * 13 + (i >> 9));
}

/* One connection: send, half-close, read back; 0 when intact. */
static int one(int fd, size_t bytes, unsigned int k)
{
	static uint8_t buf[65536];
	size_t sent = 0, got = 0;
	pid_t writer;

	/* a writer child, so that neither end waits on the other's buffer */
	writer = fork();
	if (writer == 0) {
		while (sent < bytes) {
			size_t n = bytes - sent < sizeof(buf) ? bytes - sent
							      : sizeof(buf);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(sent + i, k);
			w = write(fd, buf, n);
			if (w <= 0)
				_exit(1);
			sent += (size_t)w;
		}
		shutdown(fd, SHUT_WR);
		_exit(0);
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(got + (size_t)i, k))
				return 1;
		got += (size_t)r;
	}
	int st = 1;
	waitpid(writer, &st, 0);
	return got == bytes && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int clients(bool unix_side, const char *target, unsigned int port,
		   unsigned int n, size_t bytes)
{
	unsigned int ok = 0;

	for (unsigned int k = 0; k < n; k++) {
		if (fork() == 0) {
			int fd = unix_side ? unix_dial(target, port)
					   : vsock_dial((unsigned int)atoi(target),
							port);
			_exit(one(fd, bytes, k));
		}
	}
	for (unsigned int k = 0; k < n; k++) {
		int st;

		if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	printf("ECHO-%s %u of %u\n", ok == n ? "OK" : "FAIL", ok, n);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(cmd, "serve-vsock") && argc == 3)
		serve(vsock_listen((unsigned int)atoi(argv[2])));
	if (!strcmp(cmd, "serve-unix") && argc == 3)
		serve(unix_listen(argv[2]));
	if (!strcmp(cmd, "client-vsock") && argc == 6)
		return clients(false, argv[2], (unsigned int)atoi(argv[3]),
			       (unsigned int)atoi(argv[4]),
			       (size_t)atol(argv[5]));
	if (!strcmp(cmd, "client-unix") && argc == 6)
		return clients(true, argv[2], (unsigned int)atoi(argv[3]),
			       (unsigned int)atoi(argv[4]),
			       (size_t)atol(argv[5]));
	if (!strcmp(cmd, "hold-vsock") && argc == 4) {
		vsock_dial((unsigned int)atoi(argv[2]),
			   (unsigned int)atoi(argv[3]));
		printf("HOLDING\n");
		for (;;)
			pause();
	}
	if (!strcmp(cmd, "hold-unix") && argc == 4) {
		unix_dial(argv[2], (unsigned int)atoi(argv[3]));
		printf("HOLDING\n");
		for (;;)
			pause();
	}
	if ((!strcmp(cmd, "watch-vsock") || !strcmp(cmd, "watch-unix")) &&
	    argc == 4) {
		int fd = cmd[6] == 'v' ? vsock_dial((unsigned int)atoi(argv[2]),
						    (unsigned int)atoi(argv[3]))
				       : unix_dial(argv[2],
						   (unsigned int)atoi(argv[3]));
		char buf[256];
		ssize_t r;

		printf("HOLDING\n");
		while ((r = read(fd, buf, sizeof(buf))) > 0 ||
		       (r < 0 && errno == EINTR))
			;
		printf("HOLD-ENDED %s\n", r == 0 ? "EOF" : strerror(errno));
		return 0;
	}
	if (!strcmp(cmd, "silent-unix") && argc == 3) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct timespec t0, t1;
		char c;

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			die("unix connect");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (read(fd, &c, 1) < 0 && errno == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("SILENT-CLOSED %ld\n",
		       (long)((t1.tv_sec - t0.tv_sec) * 1000 +
			      (t1.tv_nsec - t0.tv_nsec) / 1000000));
		return 0;
	}
	if (!strcmp(cmd, "once-vsock") && argc == 3) {
		int lfd = vsock_listen((unsigned int)atoi(argv[2]));
		int fd = accept(lfd, NULL, NULL);

		return fd < 0;
	}
	fprintf(stderr, "usage: see tests/guests/vsock_echo.c\n");
	return 2;
}
