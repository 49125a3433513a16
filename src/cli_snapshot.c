// SPDX-License-Identifier: Apache-2.0
/*
 * `figment snapshot --api-sock S --out DIR [--paused] [--diff]`: a client of
 * a running figment's API that pauses the VM, writes DIR/state and
 * DIR/memory, and resumes it (unless --paused).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vmm_exit.h"

#define RESPONSE_MAX 65536
#define CLIENT_TIMEOUT_S 120 /* a large guest's memory takes a while */

static int connect_api(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Sends one request, reads its answer: the HTTP status (0 when there is
 * none), the fault_message in @msg on an error. */
static int request(const char *sock, const char *method, const char *path,
		   json_t *body, char *msg, size_t msglen)
{
	char *text = json_dumps(body, JSON_COMPACT);
	char *req = NULL, resp[RESPONSE_MAX + 1];
	size_t got = 0;
	int fd, status = 0, n;

	json_decref(body);
	msg[0] = '\0';
	fd = connect_api(sock);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot reach the API at '%s': %s", sock,
			 strerror(errno));
		free(text);
		return 0;
	}
	n = text ? asprintf(&req,
			    "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    method, path, strlen(text), text) :
		   -1;
	if (n < 0 || write(fd, req, (size_t)n) != n) {
		snprintf(msg, msglen, "cannot send the request to '%s'", sock);
		goto out;
	}
	/* Connection: close: the answer ends where the stream does. */
	while (got < RESPONSE_MAX) {
		ssize_t r = read(fd, resp + got, RESPONSE_MAX - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.1 %d", &status) != 1) {
		snprintf(msg, msglen, "no answer from the API at '%s'", sock);
		status = 0;
		goto out;
	}
	if (status >= 300) {
		const char *b = strstr(resp, "\r\n\r\n");
		json_t *j = b ? json_loads(b + 4, 0, NULL) : NULL;
		const char *fm = j ? json_string_value(json_object_get(j, "fault_message")) :
				     NULL;

		snprintf(msg, msglen, "%s %s: %d %s", method, path, status,
			 fm ? fm : "");
		json_decref(j);
	}
out:
	free(req);
	free(text);
	close(fd);
	return status;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s snapshot --api-sock PATH --out DIR [--paused] [--diff]\n"
		"Pauses the microVM behind PATH, writes DIR/state and DIR/memory,\n"
		"and resumes it (--paused: leaves it paused).\n"
		"Restore with: %s run --restore DIR\n",
		prog, prog);
}

int cmd_snapshot(const char *prog, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api-sock", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "paused", no_argument, NULL, 'p' },
		{ "diff", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *out = NULL;
	char dir[PATH_MAX], state[PATH_MAX + 16], mem[PATH_MAX + 16];
	char msg[1024];
	bool paused = false, diff = false;
	struct timespec t0, t1;
	int opt, status;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			paused = true;
			break;
		case 'd':
			diff = true;
			break;
		case 'h':
			usage(stdout, prog);
			return 0;
		default:
			fprintf(stderr, "%s: snapshot: unknown option or missing value '%s'\n",
				prog, argv[optind - 1]);
			return VMM_EXIT_USAGE;
		}
	}
	if (!sock || !out || optind < argc) {
		usage(stderr, prog);
		return VMM_EXIT_USAGE;
	}
	/* The server resolves paths against its own directory: send
	 * absolute ones. */
	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create '%s': %s\n", prog, out,
			strerror(errno));
		return VMM_EXIT_CONFIG;
	}
	if (!realpath(out, dir)) {
		fprintf(stderr, "%s: '%s': %s\n", prog, out, strerror(errno));
		return VMM_EXIT_CONFIG;
	}
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(mem, sizeof(mem), "%s/memory", dir);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	status = request(sock, "PATCH", "/vm", json_pack("{s:s}", "state", "Paused"),
			 msg, sizeof(msg));
	if (status == 204)
		status = request(sock, "PUT", "/snapshot/create",
				 json_pack("{s:s, s:s, s:s}", "snapshot_type",
					   diff ? "Diff" : "Full", "snapshot_path",
					   state, "mem_file_path", mem),
				 msg, sizeof(msg));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!paused) {
		char rmsg[1024];
		int r = request(sock, "PATCH", "/vm",
				json_pack("{s:s}", "state", "Resumed"), rmsg,
				sizeof(rmsg));

		if (r != 204 && status == 204) {
			snprintf(msg, sizeof(msg), "%s", rmsg);
			status = r;
		}
	}
	if (status != 204) {
		fprintf(stderr, "%s: %s\n", prog, msg);
		return status == 0 ? VMM_EXIT_ERROR : VMM_EXIT_CONFIG;
	}
	printf("snapshot of %s in %s (%.1f ms)\n", sock, dir,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
