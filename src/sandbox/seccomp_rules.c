// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in allow-lists, one per kind of thread, for the calls each makes
 * once it is filtered (see sandbox.h for when that is). Everything else
 * traps. Calls made only while setting up (creating the VM and its threads,
 * binding the API socket, mapping guest RAM) are not here: they happen
 * before the filters go on. `figment --print-seccomp-filter` prints these
 * lists as a filter file to start a custom one from.
 */
#include <sys/ioctl.h>

#include <linux/if_tun.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "sandbox/seccomp_filter.h"

#define CALL(name, why) { .nr = __NR_##name, .comment = why }
/* ioctl(fd, REQ, ...): the request number is the low 32 bits of arg 1. */
#define IOCTL(req, why)                                                       \
	{ .nr = __NR_ioctl, .nr_conds = 1,                                    \
	  .conds = { { .arg = 1, .op = SECCOMP_OP_EQ, .value = (req) } },     \
	  .comment = #req ": " why }
/* @name with argument @arg equal to @val. */
#define CALL_ARG(name, arg_, val, why)                                        \
	{ .nr = __NR_##name, .nr_conds = 1,                                   \
	  .conds = { { .arg = arg_, .op = SECCOMP_OP_EQ, .value = (val) } },  \
	  .comment = why }
/* Memory that is never executable: no PROT_EXEC in @arg. */
#define NO_EXEC(name, arg_, why)                                              \
	{ .nr = __NR_##name, .nr_conds = 1,                                   \
	  .conds = { { .arg = arg_, .op = SECCOMP_OP_MASKED_EQ,               \
		       .mask = PROT_EXEC, .value = 0 } },                     \
	  .comment = why }

/* What every thread needs: memory for malloc, locks, time, signals, its
 * own end. */
#define COMMON_RULES                                                          \
	NO_EXEC(mmap, 2, "malloc arenas and large allocations, never executable"), \
	NO_EXEC(mprotect, 2, "malloc growing an arena, never executable"),    \
	CALL(munmap, "free of large allocations, thread stacks at exit"),     \
	CALL(madvise, "free returning memory (MADV_DONTNEED)"),               \
	CALL(futex, "mutexes and condition variables between the threads"),  \
	CALL(clock_gettime, "timestamps, when the vDSO cannot answer"),       \
	CALL(rt_sigprocmask, "signal masks (pthread, the kick signal)"),      \
	CALL(rt_sigreturn, "return from a signal handler"),                   \
	CALL(restart_syscall, "a call interrupted by a signal resumes"),      \
	CALL(write, "log lines, eventfd notifications, SIGSYS report"),       \
	CALL(exit, "the thread ends"),                                        \
	CALL(exit_group, "the process ends")

/*
 * The sanitizer build (make asan, a test build) logs, instead of trapping,
 * the calls no rule allows: its runtime makes calls figment never does (an
 * alternate signal stack per thread; at exit LeakSanitizer clones a ptrace
 * helper that walks /proc). The release build traps.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FIGMENT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIGMENT_SANITIZED 1
#endif
#endif
#ifdef FIGMENT_SANITIZED
#define BUILTIN_DEFAULT SECCOMP_ACT_LOG
#else
#define BUILTIN_DEFAULT SECCOMP_ACT_TRAP
#endif

static struct seccomp_rule vmm_rules[] = {
	COMMON_RULES,
	CALL(brk, "malloc: all threads share the main arena"),
	CALL(read, "eventfds, signalfd, timerfds, console input, files, TAP frames, vsock streams"),
	CALL(readv, "console and file input, vsock streams to the guest"),
	CALL(writev, "console output, TAP frames (virtio-net transmit), vsock streams"),
	CALL(pread64, "disk images, snapshot state"),
	CALL(pwrite64, "disk images, snapshot files"),
	CALL(preadv, "virtio-blk reads"),
	CALL(pwritev, "virtio-blk writes"),
	CALL(lseek, "file sizes"),
	CALL(fdatasync, "virtio-blk flush"),
	CALL(fsync, "snapshot files reach the disk before they are renamed"),
	CALL(fallocate, "virtio-blk discard and write-zeroes"),
	CALL(ftruncate, "snapshot memory file size"),
	CALL(openat, "PATCH /drives, snapshot files (the API thread opens nothing)"),
	CALL(close, "files and descriptors the VM no longer needs"),
	CALL(newfstatat, "file type and size checks (safe_open)"),
	CALL(fstat, "file type and size checks"),
	CALL(rename, "a snapshot file appears whole or not at all"),
	CALL(unlink, "a failed snapshot's partial files; the API and vsock sockets at exit"),
	CALL(mincore, "Diff snapshots: which pages of a file mapping exist"),
	CALL_ARG(fcntl, 1, F_GETFL, "non-blocking console and log output"),
	CALL_ARG(fcntl, 1, F_SETFL, "non-blocking console and log output"),
	CALL_ARG(fcntl, 1, F_GETFD, "close-on-exec checks"),
	CALL_ARG(fcntl, 1, F_SETFD, "close-on-exec"),
	CALL(epoll_wait, "the event loop"),
	CALL(epoll_pwait, "the event loop"),
	CALL(epoll_ctl, "handlers added and removed (console, rate-limit timers, vsock sockets)"),
	CALL(poll, "the bounded final console drain"),
	CALL(ppoll, "the bounded final console drain"),
	CALL(timerfd_settime, "rate limiters, metrics period"),
	CALL(getrandom, "virtio-rng, new VM generation ids"),
	CALL_ARG(accept4, 3, SOCK_NONBLOCK | SOCK_CLOEXEC,
		 "vsock: host connections to the device's Unix socket"),
	/* only the one kind of socket vsock makes: a non-blocking Unix
	 * stream socket, to connect to <uds>_<port> */
	{ .nr = __NR_socket, .nr_conds = 3,
	  .conds = { { .arg = 0, .op = SECCOMP_OP_EQ, .value = AF_UNIX },
		     { .arg = 1, .op = SECCOMP_OP_EQ,
		       .value = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC },
		     { .arg = 2, .op = SECCOMP_OP_EQ, .value = 0 } },
	  .comment = "vsock: a guest connection to a host port (AF_UNIX streams only)" },
	CALL(connect, "vsock: a guest connection to <uds>_<port>"),
	CALL(recvfrom, "vsock: a host connection's CONNECT line (MSG_PEEK)"),
	CALL(shutdown, "vsock: the guest half-closed a connection"),
	CALL(getpid, "pthread_kill (vCPU kick)"),
	CALL(gettid, "pthread_kill (vCPU kick)"),
	CALL(tgkill, "vCPU kick signal; abort()"),
	IOCTL(KVM_IRQ_LINE, "legacy device interrupts"),
	IOCTL(KVM_GET_DIRTY_LOG, "Diff snapshots"),
	IOCTL(KVM_GET_CLOCK, "snapshot: kvmclock"),
	IOCTL(KVM_GET_IRQCHIP, "snapshot: PIC and IOAPIC"),
	IOCTL(KVM_GET_PIT2, "snapshot: PIT"),
	IOCTL(KVM_CHECK_EXTENSION, "snapshot: what the host can save"),
	IOCTL(BLKGETSIZE64, "PATCH /drives with a block device"),
	IOCTL(TUNSETOFFLOAD, "virtio-net: the offloads a guest accepted, at its activation"),
	IOCTL(TCGETS, "console: is it a terminal, its mode"),
	IOCTL(TCSETS, "console: raw mode on, and off at exit"),
	IOCTL(TCSETSW, "console: mode restored at exit"),
};

static struct seccomp_rule api_rules[] = {
	COMMON_RULES,
	CALL(brk, "malloc: all threads share the main arena"),
	CALL(accept4, "API clients"),
	CALL(read, "requests; the bridge's eventfd"),
	CALL(recvfrom, "requests"),
	CALL(sendto, "responses"),
	CALL(close, "a client that is done"),
	CALL(epoll_wait, "the API thread's own event loop"),
	CALL(epoll_pwait, "the API thread's own event loop"),
	CALL(epoll_ctl, "clients added and removed"),
};

static struct seccomp_rule vcpu_rules[] = {
	COMMON_RULES,
	CALL(brk, "malloc: all threads share the main arena"),
	CALL(getpid, "pthread_kill; abort()"),
	CALL(gettid, "pthread_kill; abort()"),
	CALL(tgkill, "abort()"),
	IOCTL(KVM_RUN, "run the guest"),
	IOCTL(KVM_IRQ_LINE, "legacy devices (serial, i8042) interrupt from the exit handler"),
	IOCTL(KVM_GET_REGS, "exit reports and snapshots"),
	IOCTL(KVM_GET_SREGS, "snapshot"),
	IOCTL(KVM_GET_XSAVE, "snapshot"),
	IOCTL(KVM_GET_XCRS, "snapshot"),
	IOCTL(KVM_GET_DEBUGREGS, "snapshot"),
	IOCTL(KVM_GET_LAPIC, "snapshot"),
	IOCTL(KVM_GET_MP_STATE, "snapshot"),
	IOCTL(KVM_GET_VCPU_EVENTS, "snapshot"),
	IOCTL(KVM_GET_MSRS, "snapshot"),
	IOCTL(KVM_GET_MSR_INDEX_LIST, "snapshot: which MSRs to save"),
	IOCTL(KVM_GET_CPUID2, "snapshot"),
	IOCTL(KVM_GET_TSC_KHZ, "snapshot"),
};

#define N(a) (sizeof(a) / sizeof(*(a)))

void seccomp_policy_builtin(struct seccomp_policy *p)
{
	static struct seccomp_rule *const rules[] = { vmm_rules, api_rules,
						      vcpu_rules };
	static const size_t counts[] = { N(vmm_rules), N(api_rules),
					 N(vcpu_rules) };
	int k;

	for (k = 0; k < SECCOMP_THREAD_KINDS; k++)
		p->thread[k] = (struct seccomp_filter){
			.default_action = { .kind = BUILTIN_DEFAULT },
			.filter_action = { .kind = SECCOMP_ACT_ALLOW },
			.rules = rules[k],
			.nr_rules = counts[k],
			.rules_owned = false,
		};
}

size_t seccomp_filter_calls(const struct seccomp_filter *f)
{
	size_t i, j, n = 0;

	for (i = 0; i < f->nr_rules; i++) {
		for (j = 0; j < i; j++)
			if (f->rules[j].nr == f->rules[i].nr)
				break;
		n += j == i;
	}
	return n;
}
