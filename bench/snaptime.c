// SPDX-License-Identifier: Apache-2.0
/*
 * snaptime: the timing half of the lab snapshot benchmark (bench/snapshot_lab.sh,
 * bench/snapshot_lab_run.sh), so that figment and QEMU are timed by the same
 * code. Built static by snapshot_lab.sh: the lab has no compiler, Python or
 * HTTP client.
 *
 * The guest prints "TICK <n>" lines on its serial console, n counting up. "The
 * guest runs again" after a restore is the first TICK line with n greater than
 * the last one the snapshotted VM wrote (`snaptime last`).
 *
 *   snaptime wait FILE N TIMEOUT_S
 *       wait until FILE has a complete TICK line with n >= N (status 1: not in time)
 *   snaptime last FILE
 *       print the number of the last complete TICK line of FILE, plus one when
 *       a line was under way after it (that tick had started before the snapshot)
 *   snaptime fig-create NAME SOCK DIR
 *       figment's API: PATCH /vm Paused, then PUT /snapshot/create into
 *       DIR/state and DIR/memory; prints pause_us, create_us, total_us
 *   snaptime qemu-save NAME QMP-SOCK FILE
 *       QEMU's QMP: FILE, opened here, handed to QEMU (getfd), no bandwidth
 *       limit; then `stop` and `migrate fd:...` until the MIGRATION event says
 *       completed (QEMU writes the file itself, as figment does: no helper
 *       process, unlike exec:); prints stop_us, migrate_us, total_us
 *   snaptime restore [-n NAME] -a AFTER [-t SEC] [-o PREFIX] [-l MARKER]
 *                    [-f SOCK -d DIR | -q SOCK -u URI] -- COMMAND [ARGS...]
 *       run COMMAND (a VMM restoring a snapshot) and time, from just before
 *       fork(), the first TICK after AFTER on its stdout (tick_us) and MARKER
 *       on its stderr (log_us). With -f: once SOCK accepts (sock_us), the
 *       figment API call PUT /snapshot/load of DIR/state + DIR/memory with
 *       resume_vm; with -q: QMP `migrate-incoming URI` on a QEMU started with
 *       -incoming defer. call_us is the call until its answer, call_tick_us
 *       the call's start until the first TICK after AFTER; out_us is the first
 *       byte on stdout. The VMM is killed (SIGKILL) once that TICK is seen.
 *       The first TICK seen at all must be AFTER + 1 (first_tick): a guest
 *       that booted afresh (TICK 1...) or lost a tick is a failure, not a
 *       restore.
 *       With -o, PREFIX.out and PREFIX.err get what the VMM wrote, and
 *       PREFIX.lines its stdout lines, each after the time it was read.
 *
 * Output: one line "snap=NAME status=ok|fail|timeout key=value ...", times in
 * microseconds of CLOCK_MONOTONIC, -1 for what did not happen. Exit status
 * 0 when the line says ok, 1 otherwise, 2 usage.
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
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static struct timespec t0;

static void start_clock(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0.tv_sec) * 1000000 +
	       (t.tv_nsec - t0.tv_nsec) / 1000;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: snaptime wait FILE N TIMEOUT_S | last FILE |\n"
		"       fig-create NAME SOCK DIR | qemu-save NAME QMP-SOCK FILE |\n"
		"       restore [-n NAME] -a AFTER [-t SEC] [-o PREFIX] [-l MARKER]\n"
		"               [-f SOCK -d DIR | -q SOCK -u URI] -- COMMAND [ARGS...]\n");
	exit(2);
}

/* ---- TICK lines ---- */

struct ticks {
	char line[256];
	size_t len;
	long after;     /* a tick counts when its number is above this */
	long last;      /* number of the last complete TICK line, -1: none */
	long first_new; /* the first number above `after`, -1: none yet */
	long first_seen; /* the first TICK number seen at all, -1: none yet */
	int64_t at_us;  /* when it was seen */
	int lines_fd;   /* each line with its time, or -1 */
};

/* The number of a "TICK <n>" line (anywhere in the line), or -1. */
static long tick_of(const char *line)
{
	const char *p = strstr(line, "TICK ");
	char *end;
	long n;

	if (!p)
		return -1;
	p += 5;
	if (*p < '0' || *p > '9')
		return -1;
	n = strtol(p, &end, 10);
	return *end == '\0' || *end == '\r' || *end == ' ' ? n : -1;
}

static void ticks_feed(struct ticks *t, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (t->len < sizeof(t->line) - 1)
				t->line[t->len++] = buf[i];
			continue;
		}
		t->line[t->len] = '\0';
		t->len = 0;
		if (t->lines_fd >= 0)
			dprintf(t->lines_fd, "%lld %s\n", (long long)now_us(), t->line);
		long k = tick_of(t->line);
		if (k < 0)
			continue;
		t->last = k;
		if (t->first_seen < 0)
			t->first_seen = k;
		if (t->first_new < 0 && k > t->after) {
			t->first_new = k;
			t->at_us = now_us();
		}
	}
}

static void ticks_init(struct ticks *t, long after)
{
	memset(t, 0, sizeof(*t));
	t->after = after;
	t->last = -1;
	t->first_new = -1;
	t->first_seen = -1;
	t->at_us = -1;
	t->lines_fd = -1;
}

/* Reads FILE through a fresh scanner; returns false when it cannot be read. */
static bool ticks_of_file(const char *path, struct ticks *t)
{
	char buf[65536];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		ticks_feed(t, buf, (size_t)r);
	close(fd);
	return true;
}

static int cmd_wait(int argc, char **argv)
{
	if (argc != 5)
		usage();
	long want = atol(argv[3]);
	int64_t deadline = (int64_t)atol(argv[4]) * 1000000;

	start_clock();
	for (;;) {
		struct ticks t;

		ticks_init(&t, want - 1);
		if (ticks_of_file(argv[2], &t) && t.first_new >= 0)
			return 0;
		if (now_us() > deadline) {
			fprintf(stderr, "snaptime: no TICK %ld in %s after %s s\n",
				want, argv[2], argv[4]);
			return 1;
		}
		usleep(20000);
	}
}

static int cmd_last(int argc, char **argv)
{
	struct ticks t;

	if (argc != 3)
		usage();
	ticks_init(&t, -1);
	if (!ticks_of_file(argv[2], &t) || t.last < 0) {
		fprintf(stderr, "snaptime: no TICK line in %s\n", argv[2]);
		return 1;
	}
	/* A line under way: its tick started before the snapshot. */
	t.line[t.len] = '\0';
	bool under_way = t.len > 0 && (strstr(t.line, "TICK") ||
				       !strncmp(t.line, "TICK ", t.len < 5 ? t.len : 5));

	printf("%ld\n", t.last + (under_way ? 1 : 0));
	return 0;
}

/* ---- sockets: HTTP for figment's API, QMP for QEMU ---- */

static const struct timeval io_timeout = { .tv_sec = 120 };

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	/* A VMM that stops answering fails the measurement, not the lab. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof(io_timeout)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof(io_timeout)))
		die("setsockopt");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

static bool http_send(int fd, const char *method, const char *path,
		      const char *body)
{
	char req[4096];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);

	return n > 0 && (size_t)n < sizeof(req) && send_all(fd, req, (size_t)n);
}

/* The status code of a complete response, 0 when it is not one. */
static int http_status(const char *resp)
{
	int code;

	return sscanf(resp, "HTTP/1.%*d %d", &code) == 1 ? code : 0;
}

/* One request on its own connection, read to EOF; returns the status code. */
static int http_call(const char *sock, const char *method, const char *path,
		     const char *body)
{
	char resp[8192];
	size_t len = 0;
	ssize_t r;
	int fd = unix_connect(sock), code;

	if (fd < 0) {
		fprintf(stderr, "snaptime: connect %s: %s\n", sock, strerror(errno));
		return 0;
	}
	if (!http_send(fd, method, path, body)) {
		close(fd);
		return 0;
	}
	while (len < sizeof(resp) - 1 &&
	       (r = read(fd, resp + len, sizeof(resp) - 1 - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)r;
	}
	close(fd);
	resp[len] = '\0';
	code = http_status(resp);
	if (code < 200 || code >= 300)
		fprintf(stderr, "snaptime: %s %s: %s\n", method, path, resp);
	return code;
}

struct lines {
	int fd;
	char buf[65536];
	size_t len;
	bool eof;
};

/* Reads what is there (one read) into the buffer; false at EOF or error. */
static bool lines_fill(struct lines *l)
{
	ssize_t r;

	if (l->len >= sizeof(l->buf) - 1)
		l->len = 0; /* an absurd line: drop it */
	do {
		r = read(l->fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		l->eof = true;
		return false;
	}
	l->len += (size_t)r;
	l->buf[l->len] = '\0';
	return true;
}

/* Takes one complete line out of the buffer into out; false when none. */
static bool lines_take(struct lines *l, char *out, size_t outsz)
{
	char *nl = memchr(l->buf, '\n', l->len);
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - l->buf) + 1;
	snprintf(out, outsz, "%.*s", (int)(n - 1), l->buf);
	memmove(l->buf, l->buf + n, l->len - n);
	l->len -= n;
	l->buf[l->len] = '\0';
	return true;
}

/* Set by any QMP line that is a MIGRATION event: 1 completed, -1 failed. */
static int migration_done;

static void qmp_note(const char *line)
{
	if (!strstr(line, "\"event\"") || !strstr(line, "\"MIGRATION\""))
		return;
	if (strstr(line, "\"completed\""))
		migration_done = 1;
	else if (strstr(line, "\"failed\"") || strstr(line, "\"cancelled\""))
		migration_done = -1;
}

/* Next QMP line (blocking, events noted), false at EOF. */
static bool qmp_line(struct lines *l, char *out, size_t outsz)
{
	while (!lines_take(l, out, outsz)) {
		if (!lines_fill(l))
			return false;
	}
	qmp_note(out);
	return true;
}

/* Sends one command and waits for its answer; false on an error answer. */
static bool qmp_cmd(struct lines *l, const char *cmd)
{
	char line[65536];

	if (!send_all(l->fd, cmd, strlen(cmd)) || !send_all(l->fd, "\n", 1))
		return false;
	while (qmp_line(l, line, sizeof(line))) {
		if (strstr(line, "\"return\""))
			return true;
		if (strstr(line, "\"error\"")) {
			fprintf(stderr, "snaptime: QMP %s: %s\n", cmd, line);
			return false;
		}
	}
	fprintf(stderr, "snaptime: QMP connection closed after %s\n", cmd);
	return false;
}

/* A command with a file descriptor attached (SCM_RIGHTS), as getfd takes it. */
static bool qmp_send_fd(struct lines *l, const char *cmd, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)cmd, .iov_len = strlen(cmd) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	char line[65536];

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(l->fd, &msg, 0) != (ssize_t)iov.iov_len || !send_all(l->fd, "\n", 1))
		return false;
	while (qmp_line(l, line, sizeof(line))) {
		if (strstr(line, "\"return\""))
			return true;
		if (strstr(line, "\"error\"")) {
			fprintf(stderr, "snaptime: QMP %s: %s\n", cmd, line);
			return false;
		}
	}
	return false;
}

/* Greeting and capabilities negotiation. */
static bool qmp_open(struct lines *l)
{
	char line[65536];

	return qmp_line(l, line, sizeof(line)) && strstr(line, "\"QMP\"") &&
	       qmp_cmd(l, "{\"execute\": \"qmp_capabilities\"}");
}

static int cmd_fig_create(int argc, char **argv)
{
	char body[4096];
	int64_t paused, created;
	int ok;

	if (argc != 5)
		usage();
	const char *name = argv[2], *sock = argv[3], *dir = argv[4];

	snprintf(body, sizeof(body),
		 "{\"snapshot_path\": \"%s/state\", \"mem_file_path\": \"%s/memory\"}",
		 dir, dir);
	start_clock();
	ok = http_call(sock, "PATCH", "/vm", "{\"state\": \"Paused\"}") / 100 == 2;
	paused = now_us();
	ok = ok && http_call(sock, "PUT", "/snapshot/create", body) / 100 == 2;
	created = now_us();
	printf("snap=%s status=%s pause_us=%lld create_us=%lld total_us=%lld\n",
	       name, ok ? "ok" : "fail", (long long)paused,
	       (long long)(created - paused), (long long)created);
	return ok ? 0 : 1;
}

static int cmd_qemu_save(int argc, char **argv)
{
	static struct lines l;
	char cmd[4096], line[65536];
	int64_t stopped = -1, done = -1;
	bool ok;

	if (argc != 5)
		usage();
	const char *name = argv[2], *sock = argv[3], *file = argv[4];
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die(file);
	l.fd = unix_connect(sock);
	if (l.fd < 0) {
		fprintf(stderr, "snaptime: connect %s: %s\n", sock, strerror(errno));
		return 1;
	}
	/* MIGRATION events say when it is done; no bandwidth limit (QEMU's
	 * default, 128 MiB/s, is for live migration over a network), as
	 * libvirt sets for a save to a file. */
	ok = qmp_open(&l) &&
	     qmp_send_fd(&l, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"snap\"}}",
			 fd) &&
	     qmp_cmd(&l, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
			 "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}}") &&
	     qmp_cmd(&l, "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
			 "{\"max-bandwidth\": 1099511627776}}");
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"fd:snap\"}}");
	start_clock();
	if (ok) {
		ok = qmp_cmd(&l, "{\"execute\": \"stop\"}");
		stopped = now_us();
	}
	ok = ok && qmp_cmd(&l, cmd);
	while (ok && !migration_done && qmp_line(&l, line, sizeof(line)))
		;
	if (ok && migration_done)
		done = now_us();
	ok = ok && migration_done == 1;
	printf("snap=%s status=%s stop_us=%lld migrate_us=%lld total_us=%lld\n",
	       name, ok ? "ok" : "fail", (long long)stopped,
	       (long long)(done >= 0 ? done - stopped : -1), (long long)done);
	close(l.fd);
	close(fd);
	return ok ? 0 : 1;
}

/* ---- restore ---- */

struct marker {
	const char *text;
	size_t len, matched;
	int64_t at_us;
};

/* Streaming match across reads (markers here have no repeated prefix). */
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

enum call_kind { CALL_NONE, CALL_FIGMENT, CALL_QEMU };

static int cmd_restore(int argc, char **argv)
{
	const char *name = "restore", *prefix = NULL, *sock = NULL, *dir = NULL,
		   *uri = NULL;
	enum call_kind kind = CALL_NONE;
	long after = -1, timeout_s = 120;
	struct marker logm = { .at_us = -1 };
	static struct lines api;
	struct ticks tk;
	int64_t sock_us = -1, call_start = -1, call_us = -1, out_us = -1, deadline,
		next_try = 0;
	int outp[2], errp[2], opt, log_out, log_err, wstatus;
	bool out_open = true, err_open = true, failed = false, timed_out = false;
	bool have_after = false;
	pid_t pid;

	optind = 1;
	argc--;
	argv++; /* getopt sees "restore" as the program name */
	while ((opt = getopt(argc, argv, "+n:a:t:o:l:f:d:q:u:")) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'a': after = atol(optarg); have_after = true; break;
		case 't': timeout_s = atol(optarg); break;
		case 'o': prefix = optarg; break;
		case 'l': logm.text = optarg; logm.len = strlen(optarg); break;
		case 'f': kind = CALL_FIGMENT; sock = optarg; break;
		case 'd': dir = optarg; break;
		case 'q': kind = CALL_QEMU; sock = optarg; break;
		case 'u': uri = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || !have_after || (logm.text && !logm.len) ||
	    (kind == CALL_FIGMENT && !dir) || (kind == CALL_QEMU && !uri))
		usage();
	ticks_init(&tk, after);
	log_out = open_log(prefix, "out");
	log_err = open_log(prefix, "err");
	tk.lines_fd = open_log(prefix, "lines");
	api.fd = -1;

	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		die("pipe2");
	start_clock();
	pid = spawn_piped(argv + optind, outp, errp);

	deadline = (int64_t)timeout_s * 1000000;
	/* Until the new TICK, and the call's answer when there is a call (the
	 * guest may well print before figment's answer is read). */
	while ((out_open || err_open) && !failed &&
	       (tk.first_seen < 0 || tk.first_seen == after + 1) &&
	       (tk.at_us < 0 || (kind != CALL_NONE && call_us < 0))) {
		struct pollfd pfd[3] = {
			{ .fd = out_open ? outp[0] : -1, .events = POLLIN },
			{ .fd = err_open ? errp[0] : -1, .events = POLLIN },
			{ .fd = call_start >= 0 && call_us < 0 ? api.fd : -1,
			  .events = POLLIN },
		};
		int64_t t = now_us();
		bool connecting = kind != CALL_NONE && api.fd < 0;
		char buf[4096];
		int n, wait_ms;

		if (t >= deadline) {
			timed_out = true;
			break;
		}
		if (connecting && t >= next_try) {
			api.fd = unix_connect(sock);
			if (api.fd < 0) {
				next_try = now_us() + 1000; /* not there yet */
			} else {
				char body[4096];

				sock_us = now_us();
				if (kind == CALL_FIGMENT) {
					snprintf(body, sizeof(body),
						 "{\"snapshot_path\": \"%s/state\", \"mem_backend\": "
						 "{\"backend_type\": \"File\", \"backend_path\": \"%s/memory\"}, "
						 "\"resume_vm\": true}",
						 dir, dir);
					call_start = now_us();
					failed = !http_send(api.fd, "PUT", "/snapshot/load", body);
				} else {
					snprintf(body, sizeof(body),
						 "{\"execute\": \"migrate-incoming\", \"arguments\": "
						 "{\"uri\": \"%s\"}}\n",
						 uri);
					failed = !qmp_open(&api);
					call_start = now_us();
					failed = failed || !send_all(api.fd, body, strlen(body));
				}
				if (failed)
					fprintf(stderr, "snaptime: cannot send the restore call\n");
				continue;
			}
		}
		wait_ms = (int)((deadline - t + 999) / 1000);
		if (connecting && wait_ms > 1)
			wait_ms = 1;
		n = poll(pfd, 3, wait_ms);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			ssize_t r = read(outp[0], buf, sizeof(buf));

			if (r <= 0) {
				out_open = false;
			} else {
				if (out_us < 0)
					out_us = now_us();
				ticks_feed(&tk, buf, (size_t)r);
				write_all(log_out, buf, (size_t)r);
			}
		}
		if (pfd[1].revents) {
			ssize_t r = read(errp[0], buf, sizeof(buf));

			if (r <= 0) {
				err_open = false;
			} else {
				marker_feed(&logm, buf, (size_t)r);
				write_all(log_err, buf, (size_t)r);
			}
		}
		if (pfd[2].revents) {
			bool more = lines_fill(&api);

			if (kind == CALL_FIGMENT) {
				/* Connection: close: the answer ends at EOF. */
				if (!more) {
					int code = http_status(api.buf);

					call_us = now_us() - call_start;
					if (code < 200 || code >= 300) {
						fprintf(stderr, "snaptime: PUT /snapshot/load: %s\n",
							api.buf);
						failed = true;
					}
				}
			} else {
				char line[65536];

				while (lines_take(&api, line, sizeof(line))) {
					qmp_note(line);
					if (strstr(line, "\"return\"")) {
						call_us = now_us() - call_start;
					} else if (strstr(line, "\"error\"")) {
						fprintf(stderr, "snaptime: migrate-incoming: %s\n", line);
						failed = true;
					}
				}
				if (!more && call_us < 0)
					failed = true;
			}
		}
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (api.fd >= 0)
		close(api.fd);

	/* The restored guest goes on where it was: its first tick is the next
	 * one. Anything else (TICK 1 of a guest that booted afresh, a gap) is
	 * not a restore, however soon it came. */
	bool continues = tk.first_seen == after + 1;

	if (tk.first_seen >= 0 && !continues)
		fprintf(stderr, "snaptime: %s: the first TICK is %ld, not %ld: not a restore\n",
			name, tk.first_seen, after + 1);
	const char *status = tk.at_us >= 0 && continues && !failed ? "ok" :
			     timed_out				       ? "timeout" :
								 "fail";
	if (tk.at_us < 0 && !timed_out && !failed && WIFEXITED(wstatus))
		fprintf(stderr, "snaptime: %s exited with status %d before a new TICK\n",
			argv[optind], WEXITSTATUS(wstatus));
	printf("snap=%s status=%s after=%ld first_tick=%ld tick_us=%lld out_us=%lld "
	       "sock_us=%lld call_us=%lld call_tick_us=%lld log_us=%lld\n",
	       name, status, after, tk.first_seen, (long long)tk.at_us, (long long)out_us,
	       (long long)sock_us, (long long)call_us,
	       (long long)(tk.at_us >= 0 && call_start >= 0 ? tk.at_us - call_start : -1),
	       (long long)logm.at_us);
	return strcmp(status, "ok") ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* A VMM that went away must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "wait"))
		return cmd_wait(argc, argv);
	if (!strcmp(argv[1], "last"))
		return cmd_last(argc, argv);
	if (!strcmp(argv[1], "fig-create"))
		return cmd_fig_create(argc, argv);
	if (!strcmp(argv[1], "qemu-save"))
		return cmd_qemu_save(argc, argv);
	if (!strcmp(argv[1], "restore"))
		return cmd_restore(argc, argv);
	usage();
	return 2;
}
