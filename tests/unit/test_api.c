// SPDX-License-Identifier: Apache-2.0
/* The API end to end over its socket, with a fake VMM on its own event loop:
 * routes, pre/post-boot rules, the bridge to the VMM thread and its timeout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "config/config_apply.h"
#include "config/json_util.h"
#include "util/event_loop.h"
#include "util/metrics.h"

struct fake_vmm {
	pthread_t self;
	int starts, pauses, resumes, cad, flushes, updates;
	bool wrong_thread;
	bool fail_start;
	struct vm_config pending; /* what the configuration calls built */
	struct vm_config cfg;	  /* what InstanceStart started */
	char drive_path[256];
	uint64_t bw_size; /* the last rate limiter given */
};

static struct event_loop loop;
static pthread_t loop_thread;
static struct fake_vmm vmm;
static struct api_server *api;
static char sock_path[108];

static void on_vmm(void)
{
	if (!pthread_equal(pthread_self(), vmm.self))
		vmm.wrong_thread = true;
}

static int fake_start(void *v, char *err, size_t errlen)
{
	(void)v;
	on_vmm();
	vmm.starts++;
	if (vm_config_validate(&vmm.pending, err, errlen))
		return -EINVAL;
	if (vmm.fail_start) {
		snprintf(err, errlen, "no kernel here");
		return -ENOENT;
	}
	return vm_config_copy(&vmm.cfg, &vmm.pending);
}

/* As the VMM: the configuration calls change its one copy. */
static int fake_configure(void *v, int res, const char *id, const char *body,
			  char *err, size_t errlen)
{
	json_t *j;
	int ret;

	(void)v;
	on_vmm();
	j = json_decode(body, strlen(body), err, errlen);
	if (!j)
		return -EINVAL;
	ret = config_apply(&vmm.pending, (enum config_resource)res, id, j, err,
			   errlen);
	json_decref(j);
	return ret;
}

static int fake_get_config(void *v, int res, char **out, char *err,
			   size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	on_vmm();
	*out = config_to_text(&vmm.pending, (enum config_resource)res);
	return *out ? 0 : -ENOMEM;
}

#define SIMPLE(name, counter)                                \
	static int name(void *v, char *err, size_t errlen)  \
	{                                                    \
		(void)v, (void)err, (void)errlen;            \
		on_vmm();                                    \
		vmm.counter++;                               \
		return 0;                                    \
	}
SIMPLE(fake_pause, pauses)
SIMPLE(fake_resume, resumes)
SIMPLE(fake_cad, cad)
SIMPLE(fake_flush, flushes)

static int fake_drive_update(void *v, const char *id, const char *path,
			     const struct rate_limiter_config *rl, char *err,
			     size_t errlen)
{
	bool found = false;

	(void)v;
	on_vmm();
	for (int i = 0; i < vmm.cfg.nr_drives; i++)
		found = found || !strcmp(vmm.cfg.drives[i].id, id);
	if (!found) {
		snprintf(err, errlen, "no drive with id '%s'", id);
		return -ENOENT;
	}
	vmm.updates++;
	/* as the VMM: its configuration records the change */
	config_drive_updated(&vmm.pending, id, path, rl);
	if (path)
		snprintf(vmm.drive_path, sizeof(vmm.drive_path), "%s", path);
	if (rl)
		vmm.bw_size = rl->bandwidth.size;
	return 0;
}

static const struct api_vmm_ops ops = {
	.instance_start = fake_start,
	.configure = fake_configure,
	.get_config = fake_get_config,
	.pause = fake_pause,
	.resume = fake_resume,
	.send_ctrl_alt_del = fake_cad,
	.flush_metrics = fake_flush,
	.drive_update = fake_drive_update,
};

static void *loop_main(void *arg)
{
	(void)arg;
	vmm.self = pthread_self();
	return (void *)(intptr_t)event_loop_run(&loop);
}

static void start_api(bool run_loop, unsigned vmm_timeout_ms)
{
	struct api_options o = { .vmm_timeout_ms = vmm_timeout_ms,
				 .start_timeout_ms = vmm_timeout_ms };

	snprintf(sock_path, sizeof(sock_path), "/tmp/figment-test-api-%d.sock",
		 getpid());
	o.sock_path = sock_path;
	memset(&vmm, 0, sizeof(vmm));
	vm_config_init(&vmm.pending);
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(api_start(&api, &o, &loop, &ops, &vmm), 0);
	if (run_loop)
		pthread_create(&loop_thread, NULL, loop_main, NULL);
}

/* PUT /boot-source and PUT /drives open the files they name: give them
 * some, in a directory of their own that the tests run in. */
static char files_dir[] = "/tmp/figment-test-api-XXXXXX";

static void make_files(void)
{
	static const char *const names[] = { "vmlinux", "k", "root.img",
					     "2.img" };

	cr_assert_not_null(mkdtemp(files_dir));
	cr_assert_eq(chdir(files_dir), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd = open(names[i], O_CREAT | O_WRONLY, 0644);

		cr_assert_geq(fd, 0);
		cr_assert_eq(ftruncate(fd, 4096), 0);
		close(fd);
	}
}

static void remove_files(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", files_dir);
	cr_assert_eq(system(cmd), 0);
}

static void setup(void)
{
	make_files();
	start_api(true, 2000);
}

static void teardown(void)
{
	event_loop_stop(&loop, 0);
	pthread_join(loop_thread, NULL);
	api_stop(api);
	event_loop_destroy(&loop);
	vm_config_free(&vmm.cfg);
	vm_config_free(&vmm.pending);
	cr_assert_eq(access(sock_path, F_OK), -1, "socket left behind");
	remove_files();
}

static int connect_api(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, sock_path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One request on a new connection; returns the status, body in @body. */
static int call(const char *method, const char *path, const char *json,
		char *body, size_t bodylen)
{
	char req[4096], resp[8192];
	int fd = connect_api();
	size_t len = 0;
	ssize_t n;
	int status = -1;
	char *b;

	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 method, path, json ? strlen(json) : 0, json ? json : "");
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, resp + len, sizeof(resp) - 1 - len)) > 0)
		len += n;
	resp[len] = '\0';
	close(fd);
	sscanf(resp, "HTTP/1.1 %d", &status);
	b = strstr(resp, "\r\n\r\n");
	if (body)
		snprintf(body, bodylen, "%s", b ? b + 4 : "");
	return status;
}

TestSuite(api, .init = setup, .fini = teardown, .timeout = 30);

Test(api, info_and_version)
{
	char body[1024];

	cr_assert_eq(call("GET", "/", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"state\":\"Not started\""), "%s", body);
	cr_assert(strstr(body, "\"id\":\"anonymous-instance\""), "%s", body);
	cr_assert_eq(call("GET", "/version", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"firecracker_version\""), "%s", body);
}

Test(api, socket_is_private)
{
	struct stat st;

	cr_assert_eq(stat(sock_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(api, machine_config)
{
	char body[1024];

	cr_assert_eq(call("GET", "/machine-config", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"vcpu_count\":1,\"mem_size_mib\":128"), "%s", body);
	cr_assert_eq(call("PUT", "/machine-config",
			  "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", NULL, 0), 204);
	cr_assert_eq(call("PATCH", "/machine-config", "{\"mem_size_mib\": 512}",
			  NULL, 0), 204);
	cr_assert_eq(call("GET", "/machine-config", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"vcpu_count\":2,\"mem_size_mib\":512"), "%s", body);
	cr_assert_eq(call("PUT", "/machine-config", "{\"vcpu_count\": 2}", body,
			  sizeof(body)), 400);
	cr_assert(strstr(body, "fault_message") && strstr(body, "mem_size_mib"),
		  "%s", body);
}

Test(api, errors_like_firecracker)
{
	char body[1024];

	cr_assert_eq(call("GET", "/nope", NULL, body, sizeof(body)), 400);
	cr_assert(strstr(body, "Invalid request method and/or path"), "%s", body);
	cr_assert_eq(call("POST", "/machine-config", "{}", body, sizeof(body)), 400);
	cr_assert(strstr(body, "Invalid request method and/or path"), "%s", body);
	cr_assert_eq(call("GET", "/boot-source", NULL, body, sizeof(body)), 400);
	cr_assert_eq(call("PUT", "/boot-source", NULL, body, sizeof(body)), 400);
	cr_assert(strstr(body, "Empty PUT request."), "%s", body);
	cr_assert_eq(call("GET", "/machine-config", "{}", body, sizeof(body)), 400);
	cr_assert(strstr(body, "GET request cannot have a body."), "%s", body);
	cr_assert_eq(call("PUT", "/vsock", "{}", body, sizeof(body)), 400);
	cr_assert(strstr(body, "guest_cid"), "%s", body);
	cr_assert_eq(call("PUT", "/network-interfaces/eth0", "{}", body,
			  sizeof(body)), 400);
	cr_assert(strstr(body, "iface_id"), "%s", body);
	cr_assert_eq(call("PUT", "/network-interfaces/eth0",
			  "{\"iface_id\": \"eth0\", \"host_dev_name\": \"nosuchtap9\"}",
			  body, sizeof(body)), 400);
	cr_assert(strstr(body, "no network device 'nosuchtap9'"), "%s", body);
	cr_assert_eq(call("PUT", "/boot-source", "{\"kernel_image_path\": 1", body,
			  sizeof(body)), 400);
	cr_assert(strstr(body, "invalid JSON"), "%s", body);
	cr_assert_eq(call("PUT", "/drives/a", "{\"drive_id\": \"b\", \"path_on_host\": \"/x\","
			  " \"is_root_device\": false}", body, sizeof(body)), 400);
	cr_assert(strstr(body, "does not match"), "%s", body);
	cr_assert_eq(call("PATCH", "/vm", "{\"state\": \"Paused\"}", body,
			  sizeof(body)), 400);
	cr_assert(strstr(body, "before starting"), "%s", body);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			  body, sizeof(body)), 400);
	cr_assert(strstr(body, "no kernel"), "%s", body);
	/* the VMM validated its configuration and built nothing */
	cr_assert_eq(vmm.starts, 1);
	cr_assert_null(vmm.cfg.boot.kernel_image_path);
}

Test(api, boot_and_post_boot_rules)
{
	char body[2048];

	cr_assert_eq(call("PUT", "/boot-source", "{\"kernel_image_path\": \"vmlinux\"}",
			  NULL, 0), 204);
	cr_assert_eq(call("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\","
			  " \"path_on_host\": \"root.img\", \"is_root_device\": true}",
			  NULL, 0), 204);
	cr_assert_eq(call("PUT", "/drives/second", "{\"drive_id\": \"second\","
			  " \"path_on_host\": \"2.img\", \"is_root_device\": true}",
			  body, sizeof(body)), 400);
	cr_assert(strstr(body, "root device"), "%s", body);
	cr_assert_eq(call("PUT", "/entropy", "{}", NULL, 0), 204);
	cr_assert_eq(call("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\","
			  " \"path_on_host\": \"/x\"}", body, sizeof(body)), 400);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			  body, sizeof(body)), 204, "%s", body);
	cr_assert_eq(vmm.starts, 1);
	cr_assert_not(vmm.wrong_thread);
	cr_assert_str_eq(vmm.cfg.boot.kernel_image_path, "vmlinux");
	cr_assert_eq(vmm.cfg.nr_drives, 1);
	cr_assert(vmm.cfg.entropy);

	cr_assert_eq(call("GET", "/", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"state\":\"Running\""), "%s", body);
	cr_assert_eq(call("PUT", "/machine-config",
			  "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", body,
			  sizeof(body)), 400);
	cr_assert(strstr(body, "after starting"), "%s", body);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			  body, sizeof(body)), 400);
	cr_assert_eq(call("PUT", "/boot-source", "{\"kernel_image_path\": \"k\"}",
			  body, sizeof(body)), 400);

	cr_assert_eq(call("PATCH", "/vm", "{\"state\": \"Paused\"}", NULL, 0), 204);
	cr_assert_eq(call("GET", "/", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"state\":\"Paused\""), "%s", body);
	cr_assert_eq(call("PATCH", "/vm", "{\"state\": \"Resumed\"}", NULL, 0), 204);
	cr_assert_eq(call("PATCH", "/vm", "{\"state\": \"Frozen\"}", NULL, 0), 400);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}",
			  NULL, 0), 204);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}",
			  NULL, 0), 204);
	cr_assert_eq(call("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\","
			  " \"path_on_host\": \"/new.img\"}", NULL, 0), 204);
	cr_assert_str_eq(vmm.drive_path, "/new.img");
	cr_assert_eq(call("PATCH", "/drives/nope", "{\"drive_id\": \"nope\","
			  " \"path_on_host\": \"/new.img\"}", NULL, 0), 400);
	cr_assert_eq(vmm.pauses, 1);
	cr_assert_eq(vmm.resumes, 1);
	cr_assert_eq(vmm.cad, 1);
	cr_assert_eq(vmm.flushes, 1);
	cr_assert_not(vmm.wrong_thread);

	cr_assert_eq(call("GET", "/vm/config", NULL, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"path_on_host\":\"/new.img\""), "%s", body);
	cr_assert(strstr(body, "\"kernel_image_path\":\"vmlinux\""), "%s", body);
}

Test(api, failed_start_can_be_retried)
{
	char body[1024];

	vmm.fail_start = true;
	cr_assert_eq(call("PUT", "/boot-source", "{\"kernel_image_path\": \"k\"}",
			  NULL, 0), 204);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			  body, sizeof(body)), 400);
	cr_assert(strstr(body, "no kernel here"), "%s", body);
	vmm.fail_start = false;
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			  NULL, 0), 204);
}

Test(api, keep_alive_and_pipelining)
{
	const char *reqs = "GET /version HTTP/1.1\r\n\r\n"
			   "PUT /machine-config HTTP/1.1\r\nContent-Length: 37\r\n\r\n"
			   "{\"vcpu_count\": 2, \"mem_size_mib\": 64}"
			   "GET /machine-config HTTP/1.1\r\nConnection: close\r\n\r\n";
	char resp[4096];
	size_t len = 0;
	ssize_t n;
	int fd = connect_api();

	cr_assert_eq(write(fd, reqs, strlen(reqs)), (ssize_t)strlen(reqs));
	while ((n = read(fd, resp + len, sizeof(resp) - 1 - len)) > 0)
		len += n;
	resp[len] = '\0';
	close(fd);
	cr_assert(strstr(resp, "HTTP/1.1 200 OK"), "%s", resp);
	cr_assert(strstr(resp, "HTTP/1.1 204 No Content"), "%s", resp);
	cr_assert(strstr(resp, "\"vcpu_count\":2,\"mem_size_mib\":64"), "%s", resp);
}

Test(api, malformed_request_closes)
{
	char resp[1024];
	ssize_t n;
	int fd = connect_api();
	const char *bad = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";

	cr_assert_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	n = read(fd, resp, sizeof(resp) - 1);
	cr_assert_gt(n, 0);
	resp[n] = '\0';
	cr_assert(strstr(resp, "HTTP/1.1 501"), "%s", resp);
	cr_assert(strstr(resp, "Connection: close"), "%s", resp);
	cr_assert_eq(read(fd, resp, sizeof(resp)), 0);
	close(fd);
	/* Still serving. */
	cr_assert_eq(call("GET", "/", NULL, NULL, 0), 200);
}

Test(api, live_socket_is_refused)
{
	struct api_server *other;
	struct api_options o = { .sock_path = sock_path };

	cr_assert_eq(api_start(&other, &o, &loop, &ops, &vmm), -EADDRINUSE);
	cr_assert_eq(call("GET", "/", NULL, NULL, 0), 200);
}

Test(api, metrics_file)
{
	char path[64], line[4096] = "";
	char body[512];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/figment-test-metrics-%d", getpid());
	unlink(path);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", path);
	cr_assert_eq(call("PUT", "/metrics", body, NULL, 0), 204);
	cr_assert_eq(call("PUT", "/metrics", body, NULL, 0), 400);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}",
			  NULL, 0), 204);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	cr_assert(strstr(line, "\"put_api_requests\""), "%s", line);
	cr_assert(strstr(line, "\"metrics_count\":1"), "%s", line);
	unlink(path);
	metrics_reset();
}

/* The VMM loop is not running: the API answers with a timeout, not a hang. */
static void setup_stuck(void)
{
	make_files();
	start_api(false, 200);
}

static void teardown_stuck(void)
{
	api_stop(api);
	event_loop_destroy(&loop);
	vm_config_free(&vmm.pending);
	remove_files();
}

Test(api_stuck, vmm_timeout, .init = setup_stuck, .fini = teardown_stuck,
     .timeout = 10)
{
	char body[512];

	/* the files of a request are opened on the VMM thread: no answer
	 * from it is a timeout for the client, not a hang */
	cr_assert_eq(call("PUT", "/boot-source", "{\"kernel_image_path\": \"k\"}",
			  body, sizeof(body)), 504);
	cr_assert(strstr(body, "did not answer"), "%s", body);
	cr_assert_eq(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			  body, sizeof(body)), 504);
	cr_assert(strstr(body, "did not answer"), "%s", body);
	/* The start may still happen: config changes stay refused. */
	cr_assert_eq(call("PUT", "/machine-config",
			  "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", NULL, 0), 400);
	/* the configuration is the VMM thread's alone: reading it waits for
	 * that thread too */
	cr_assert_eq(call("GET", "/machine-config", NULL, NULL, 0), 504);
}
