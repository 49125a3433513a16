// SPDX-License-Identifier: Apache-2.0
/*
 * Guest RAM served by another process through userfaultfd (a snapshot's
 * `Uffd` memory backend), with Firecracker's handshake: figment creates the
 * RAM and a userfaultfd registered on it, connects to the handler's Unix
 * socket and sends, in one message, a JSON array describing each region
 * ({"base_host_virt_addr", "size", "offset", "page_size", "page_size_kib"},
 * the last in bytes despite its name, as Firecracker does) with the
 * userfaultfd as SCM_RIGHTS. The handler then fills each page on its first
 * touch, from wherever it keeps the memory file.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vstate/memory.h"


static int uffd_register_all(const struct guest_memory *mem, int uffd,
			     char *err, size_t errlen)
{
	struct uffdio_api api = { .api = UFFD_API };

	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		snprintf(err, errlen, "userfaultfd: UFFDIO_API: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < mem->nr_regions; i++) {
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)mem->regions[i].host,
				   .len = mem->regions[i].size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
			snprintf(err, errlen, "userfaultfd: UFFDIO_REGISTER: %s",
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static char *uffd_mappings_json(const struct guest_memory *mem)
{
	json_int_t page = (json_int_t)guest_memory_page_size(mem);
	json_t *arr = json_array();
	uint64_t off = 0;
	char *s;

	for (int i = 0; arr && i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		json_array_append_new(
			arr, json_pack("{s:I, s:I, s:I, s:I, s:I}",
				       "base_host_virt_addr",
				       (json_int_t)(uintptr_t)r->host, "size",
				       (json_int_t)r->size, "offset",
				       (json_int_t)off, "page_size", page,
				       "page_size_kib", page));
		off += r->size;
	}
	s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return s;
}

/* Sends the handshake; the connection stays open while the VM lives, so
 * that the handler sees the VMM go (EOF) and ends. */
static int uffd_send(const char *sock_path, const char *json, int uffd,
		     int *conn, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)json, .iov_len = strlen(json) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int fd, ret = 0;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "uffd socket path '%s' is too long", sock_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot reach the page-fault handler at '%s': %s",
			 sock_path, strerror(errno));
		goto out;
	}
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &uffd, sizeof(int));
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
		ret = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot send the guest memory to the page-fault handler at '%s': %s",
			 sock_path, strerror(-ret));
	}
out:
	if (ret && fd >= 0)
		close(fd);
	else
		*conn = fd;
	return ret;
}

int guest_memory_create_uffd(struct guest_memory *mem, uint64_t size,
			     const struct guest_memory_opts *o,
			     const char *sock_path, char *err, size_t errlen)
{
	char *json = NULL;
	int uffd, ret;

	/* hugetlbfs RAM too: the handler then fills 2 MiB at a time (the
	 * page size it is sent), as with Firecracker */
	ret = guest_memory_create_with(mem, size, o, err, errlen);
	if (ret)
		return ret;
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		ret = -errno;
		snprintf(err, errlen, "userfaultfd: %s", strerror(errno));
		goto fail;
	}
	ret = uffd_register_all(mem, uffd, err, errlen);
	if (!ret) {
		json = uffd_mappings_json(mem);
		ret = json ? uffd_send(sock_path, json, uffd, &mem->uffd_conn,
				       err, errlen) :
			     -ENOMEM;
	}
	free(json);
	/* The handler holds it now; the registration lives with it. */
	close(uffd);
	if (ret)
		goto fail;
	/* Untouched pages are the handler's, not zero: a snapshot must read
	 * them all, as for RAM mapped from a file. */
	for (int i = 0; i < mem->nr_regions; i++)
		mem->regions[i].from_file = true;
	return 0;
fail:
	guest_memory_destroy(mem);
	return ret;
}
