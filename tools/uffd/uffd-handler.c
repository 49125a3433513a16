// SPDX-License-Identifier: Apache-2.0
/*
 * figment-uffd-handler SOCKET MEMORY-FILE
 *
 * A page-fault handler for snapshot restores with the `Uffd` memory backend
 * (Firecracker's protocol, which figment speaks): listens on the Unix socket
 * SOCKET, takes one VMM's message (a JSON array of regions and the
 * userfaultfd as SCM_RIGHTS), then serves each page fault in those regions
 * with the page at the same place in MEMORY-FILE (UFFDIO_COPY), until the
 * VMM goes away. Used by figment's tests; a small, complete example for
 * people who write their own (one that shares pages between clones, pulls
 * them over the network, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS 8
#define MSG_MAX 4096

struct region {
	uint64_t base, size, offset, page;
};

static int fail(const char *what)
{
	fprintf(stderr, "figment-uffd-handler: %s: %s\n", what, strerror(errno));
	return 1;
}

static int receive(int conn, char *buf, size_t len, int *uffd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(uffd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

static int parse(const char *text, struct region *r, int *nr)
{
	json_t *arr = json_loads(text, 0, NULL), *v;
	size_t i;

	*nr = 0;
	if (!json_is_array(arr) || json_array_size(arr) > MAX_REGIONS) {
		json_decref(arr);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		json_int_t base, size, off, page;

		if (json_unpack(v, "{s:I, s:I, s:I, s:I}", "base_host_virt_addr",
				&base, "size", &size, "offset", &off, "page_size",
				&page) || page <= 0 || size <= 0) {
			json_decref(arr);
			return -1;
		}
		r[*nr] = (struct region){ (uint64_t)base, (uint64_t)size,
					  (uint64_t)off, (uint64_t)page };
		(*nr)++;
	}
	json_decref(arr);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct region regions[MAX_REGIONS];
	char buf[MSG_MAX];
	int lfd, conn, uffd = -1, nr, mfd;
	uint64_t served = 0;
	const uint8_t *file;
	struct stat st;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: %s SOCKET MEMORY-FILE\n", argv[0]);
		return 2;
	}
	mfd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (mfd < 0 || fstat(mfd, &st) < 0)
		return fail(argv[2]);
	file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (file == MAP_FAILED)
		return fail("mmap");
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0)
		return fail(argv[1]);
	conn = accept(lfd, NULL, NULL);
	if (conn < 0)
		return fail("accept");
	if (receive(conn, buf, sizeof(buf), &uffd) ||
	    parse(buf, regions, &nr)) {
		fprintf(stderr, "figment-uffd-handler: bad handshake: %s\n", buf);
		return 1;
	}
	for (int i = 0; i < nr; i++) {
		if (regions[i].offset > (uint64_t)st.st_size ||
		    regions[i].size > (uint64_t)st.st_size - regions[i].offset) {
			fprintf(stderr, "figment-uffd-handler: region %d is past the end of %s\n",
				i, argv[2]);
			return 1;
		}
	}
	for (;;) {
		/* The VMM keeps the connection open while it runs: its end
		 * (EOF, hang-up) is ours. */
		struct pollfd pfd[2] = { { .fd = uffd, .events = POLLIN },
					 { .fd = conn, .events = POLLIN } };
		struct uffd_msg m;
		struct uffdio_copy copy;
		int i;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll");
		}
		if ((pfd[0].revents & (POLLHUP | POLLERR)) ||
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(uffd, &m, sizeof(m)) != sizeof(m)) {
			if (errno == EAGAIN)
				continue;
			break; /* the VMM is gone */
		}
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		for (i = 0; i < nr; i++) {
			uint64_t a = m.arg.pagefault.address;

			if (a >= regions[i].base && a - regions[i].base < regions[i].size)
				break;
		}
		if (i == nr) {
			fprintf(stderr, "figment-uffd-handler: fault at 0x%llx outside the regions\n",
				(unsigned long long)m.arg.pagefault.address);
			return 1;
		}
		{
			uint64_t page = regions[i].page;
			uint64_t at = (m.arg.pagefault.address - regions[i].base) &
				      ~(page - 1);

			copy = (struct uffdio_copy){
				.dst = regions[i].base + at,
				.src = (uintptr_t)(file + regions[i].offset + at),
				.len = page,
			};
		}
		if (ioctl(uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST) {
			if (errno == ESRCH || errno == ENOENT)
				break; /* the VMM exited under us */
			return fail("UFFDIO_COPY");
		}
		served++;
	}
	fprintf(stderr, "figment-uffd-handler: served %llu pages\n",
		(unsigned long long)served);
	return 0;
}
