// SPDX-License-Identifier: Apache-2.0
/*
 * figment-slirp: user-mode networking for one figment interface with
 * libslirp, in a process of its own (Debian ships libslirp only as a shared
 * library with GLib, and the guest's traffic is parsed here, away from the
 * VMM). figment starts it with one end of a stream socket pair:
 *
 *   figment-slirp --fd N [--tcp ADDR/PORT:GUESTPORT]... [--udp ...]
 *
 * and both speak passt's QEMU protocol on it: each Ethernet frame preceded
 * by its length, 32 bits, big-endian. The network is libslirp's usual one
 * (src/config/net_config.h): guest 10.0.2.15/24 by DHCP, gateway 10.0.2.2
 * (the host's loopback), DNS 10.0.2.3. Once set up (port forwards bound)
 * it drops root, if it has it, to 65534:65534, confines itself with Landlock
 * to reading /etc (where the kernel has Landlock) and puts itself under a
 * seccomp filter that allows sockets of the Internet families only and
 * opens for reading only. It ends
 * when figment's end of the socket closes.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/landlock.h>

#include <libslirp.h>

/* Landlock's later file rights (linux/landlock.h of an older kernel may
 * not name them) */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define FRAME_MAX  (65535 + 18)
#define LEN_BYTES  4
#define MAX_TIMERS 16
#define MAX_FWDS   8

static int vm_fd = -1;
static Slirp *slirp;

/* libslirp's timers (router advertisements; IPv6 is off, so few) */
struct timer {
	bool used, armed;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;
};
static struct timer timers[MAX_TIMERS];

/* poll set: [0] is figment's socket, then what libslirp asks for */
static struct pollfd *pfds;
static size_t npfds, cap_pfds;

static _Noreturn void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "figment-slirp: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A frame for the guest: written whole (the socket blocks), or the
 * stream would lose its framing. */
static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	uint32_t be = htobe32((uint32_t)len);
	struct iovec v[2] = { { &be, LEN_BYTES }, { (void *)buf, len } };
	size_t want = LEN_BYTES + len, done = 0;

	(void)opaque;
	if (len == 0 || len > FRAME_MAX)
		return 0;
	while (done < want) {
		ssize_t w;
		struct iovec *p = v;
		int n = 2;

		/* skip what went already */
		if (done >= LEN_BYTES) {
			v[1].iov_base = (uint8_t *)buf + (done - LEN_BYTES);
			v[1].iov_len = want - done;
			p = v + 1;
			n = 1;
		} else {
			v[0].iov_base = (uint8_t *)&be + done;
			v[0].iov_len = LEN_BYTES - done;
		}
		w = writev(vm_fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			exit(0); /* figment is gone */
		}
		done += (size_t)w;
	}
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "figment-slirp: guest error: %s\n", msg);
}

static int64_t clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	(void)opaque;
	for (int i = 0; i < MAX_TIMERS; i++)
		if (!timers[i].used) {
			timers[i] = (struct timer){ .used = true, .id = id,
						    .cb_opaque = cb_opaque };
			return &timers[i];
		}
	die("%s", "out of timers");
	return NULL;
}

static void timer_free(void *t, void *opaque)
{
	(void)opaque;
	memset(t, 0, sizeof(struct timer));
}

static void timer_mod(void *t, int64_t expire_ms, void *opaque)
{
	struct timer *tm = t;

	(void)opaque;
	tm->armed = true;
	tm->expire_ms = expire_ms;
}

static void no_fd_cb(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void notify(void *opaque)
{
	(void)opaque;
}

static int add_poll(int fd, int events, void *opaque)
{
	short ev = 0;

	(void)opaque;
	if (npfds == cap_pfds) {
		cap_pfds = cap_pfds ? cap_pfds * 2 : 64;
		pfds = realloc(pfds, cap_pfds * sizeof(*pfds));
		if (!pfds)
			die("%s", "out of memory");
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	pfds[npfds] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)npfds++;
}

static int get_revents(int idx, void *opaque)
{
	short r;
	int ev = 0;

	(void)opaque;
	if (idx < 0 || (size_t)idx >= npfds)
		return 0;
	r = pfds[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static const SlirpCb callbacks = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_get_ns,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = no_fd_cb,
	.unregister_poll_fd = no_fd_cb,
	.notify = notify,
	.timer_new_opaque = timer_new_opaque,
};

/* Frames from figment: as many as the socket has, each into libslirp. */
static uint8_t rx[4 * (LEN_BYTES + FRAME_MAX)];
static size_t rx_len;

static void from_vm(void)
{
	for (;;) {
		ssize_t r = recv(vm_fd, rx + rx_len, sizeof(rx) - rx_len,
				 MSG_DONTWAIT);
		size_t at = 0;

		if (r == 0)
			exit(0); /* figment is gone */
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			exit(0);
		}
		rx_len += (size_t)r;
		while (rx_len - at >= LEN_BYTES) {
			uint32_t len;

			memcpy(&len, rx + at, LEN_BYTES);
			len = be32toh(len);
			if (len == 0 || len > FRAME_MAX)
				die("%s", "figment sent a frame length that makes no sense");
			if (rx_len - at < LEN_BYTES + len)
				break;
			slirp_input(slirp, rx + at + LEN_BYTES, (int)len);
			at += LEN_BYTES + len;
		}
		memmove(rx, rx + at, rx_len - at);
		rx_len -= at;
	}
}

/* ADDR/PORT:GUESTPORT */
static void add_fwd(const char *spec, bool udp)
{
	char addr[INET_ADDRSTRLEN];
	unsigned int hp, gp;
	struct in_addr host, guest;
	int n = 0;

	if (sscanf(spec, "%15[0-9.]/%u:%u%n", addr, &hp, &gp, &n) != 3 ||
	    spec[n] || !hp || hp > 65535 || !gp || gp > 65535 ||
	    inet_pton(AF_INET, addr, &host) != 1)
		die("bad port forward '%s' (ADDR/PORT:GUESTPORT)", spec);
	inet_pton(AF_INET, "10.0.2.15", &guest);
	if (slirp_add_hostfwd(slirp, udp, host, (int)hp, guest, (int)gp) < 0)
		die("cannot forward %s (is the host port taken?)", spec);
}

static void sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg),
		     "figment-slirp: system call %d is not allowed; ending\n",
		     si->si_syscall);
	if (write(2, msg, (size_t)n) < 0)
		_exit(31);
	_exit(31);
}

/* Files: this process runs as the user who runs figment (unless that is
 * root), so a stack the guest took over could otherwise open what that
 * user can: write ~/.bashrc, read ~/.ssh, or open figment's /proc/PID/mem
 * (its parent's, same user) and rewrite the VMM. With Landlock it may read
 * files under /etc and where /etc/resolv.conf really lives (libslirp reads
 * it again when it changes), nothing else, and not ptrace (nor
 * /proc/PID/mem) a process outside its domain. Without Landlock (before
 * Linux 5.13, or off) the seccomp filter below still refuses every open
 * but a read-only one: no file written, but the user's files readable. */
static void allow_read_beneath(int ruleset, const char *dir)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE,
	};

	pb.parent_fd = open(dir, O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (pb.parent_fd < 0)
		return;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0))
		die("landlock_add_rule: %s", strerror(errno));
	close(pb.parent_fd);
}

static void enter_landlock(void)
{
	struct landlock_ruleset_attr ra = { 0 };
	char real[PATH_MAX];
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	int ruleset;

	if (abi < 1) {
		fprintf(stderr, "figment-slirp: no Landlock here (%s): only seccomp keeps files away from the guest's traffic\n",
			strerror(errno));
		return;
	}
	ra.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (ruleset < 0)
		die("landlock_create_ruleset: %s", strerror(errno));
	allow_read_beneath(ruleset, "/etc");
	if (realpath("/etc/resolv.conf", real))
		allow_read_beneath(ruleset, dirname(real));
	if (syscall(SYS_landlock_restrict_self, ruleset, 0))
		die("landlock_restrict_self: %s", strerror(errno));
	close(ruleset);
}

/* From here on: the calls a network stack of sockets needs, and sockets of
 * the Internet families only (not AF_UNIX, AF_NETLINK, AF_PACKET); files
 * opened for reading only (resolv.conf), ioctl() for FIONREAD and FIONBIO
 * only (not TIOCSTI on a terminal that stderr may be). */
static void enter_seccomp(void)
{
	static const int calls[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
		SCMP_SYS(writev), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
		SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(connect),
		SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept),
		SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
		SCMP_SYS(getsockname), SCMP_SYS(getpeername),
		SCMP_SYS(shutdown), SCMP_SYS(close), SCMP_SYS(fcntl),
		SCMP_SYS(poll), SCMP_SYS(ppoll),
		SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
		SCMP_SYS(time), SCMP_SYS(getrandom), SCMP_SYS(brk),
		SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(exit),
		SCMP_SYS(exit_group),
		/* /etc/resolv.conf, read again now and then for DNS */
		SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
	};
	/* any of these in openat's flags: not a plain read */
	const uint64_t not_read = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND |
				  __O_TMPFILE | O_PATH;
	struct sigaction sa = { .sa_sigaction = sigsys,
				.sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	bool ok = ctx != NULL;

	sigaction(SIGSYS, &sa, NULL);
	for (size_t i = 0; ok && i < sizeof(calls) / sizeof(*calls); i++)
		ok = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0) == 0;
	ok = ok &&
	     seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			      SCMP_A0(SCMP_CMP_EQ, AF_INET, 0)) == 0 &&
	     seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			      SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0)) == 0 &&
	     seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, not_read, 0)) == 0 &&
	     seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			      SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0)) == 0 &&
	     seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			      SCMP_A1(SCMP_CMP_EQ, FIONBIO, 0)) == 0 &&
	     seccomp_load(ctx) == 0;
	if (!ok)
		die("%s", "cannot install the seccomp filter");
	seccomp_release(ctx);
}

static void drop_root(void)
{
	if (geteuid() != 0)
		return;
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		die("cannot drop root: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	const char *fwds[2 * MAX_FWDS];
	bool fwd_udp[2 * MAX_FWDS];
	int nfwd = 0;
	SlirpConfig cfg = { .version = 4 };

	for (int i = 1; i < argc; i++) {
		bool last = i + 1 >= argc;

		if (!strcmp(argv[i], "--fd") && !last) {
			vm_fd = atoi(argv[++i]);
		} else if ((!strcmp(argv[i], "--tcp") ||
			    !strcmp(argv[i], "--udp")) && !last &&
			   nfwd < 2 * MAX_FWDS) {
			fwd_udp[nfwd] = argv[i][2] == 'u';
			fwds[nfwd++] = argv[++i];
		} else {
			die("usage: figment-slirp --fd N [--tcp|--udp ADDR/PORT:GUESTPORT]... (not '%s')",
			    argv[i]);
		}
	}
	if (vm_fd < 0 || fcntl(vm_fd, F_GETFD) < 0)
		die("%s", "--fd N: a socket from figment is required");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);

	cfg.in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.if_mtu = 1500;
	cfg.if_mru = 1500;
	slirp = slirp_new(&cfg, &callbacks, NULL);
	if (!slirp)
		die("%s", "libslirp did not start");
	for (int i = 0; i < nfwd; i++)
		add_fwd(fwds[i], fwd_udp[i]);
	drop_root();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die("no_new_privs: %s", strerror(errno));
	enter_landlock();
	enter_seccomp();

	for (;;) {
		uint32_t timeout = 1000;
		int64_t now_ms;
		int r;

		npfds = 0;
		add_poll(vm_fd, SLIRP_POLL_IN, NULL);
		slirp_pollfds_fill(slirp, &timeout, add_poll, NULL);
		now_ms = now_ns() / 1000000;
		for (int i = 0; i < MAX_TIMERS; i++)
			if (timers[i].armed) {
				int64_t d = timers[i].expire_ms - now_ms;

				if (d < 0)
					d = 0;
				if (d < (int64_t)timeout)
					timeout = (uint32_t)d;
			}
		r = poll(pfds, npfds, (int)timeout);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		now_ms = now_ns() / 1000000;
		for (int i = 0; i < MAX_TIMERS; i++)
			if (timers[i].armed && timers[i].expire_ms <= now_ms) {
				timers[i].armed = false;
				slirp_handle_timer(slirp, timers[i].id,
						   timers[i].cb_opaque);
			}
		slirp_pollfds_poll(slirp, r < 0, get_revents, NULL);
		if (r > 0 && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			from_vm();
	}
}
