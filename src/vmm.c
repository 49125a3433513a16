// SPDX-License-Identifier: Apache-2.0
/* The running VM: vCPU threads, the VMM thread's event loop (console,
 * signals, devices), pause/resume and the way it ends. */
#include "vmm.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "mmds/mmds.h"
#include "util/log.h"
#include "vstate/vcpu.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A, then x to quit */
#define VMM_JOIN_TIMEOUT_MS 5000
#define VMM_VCPU_EVENT_MS 2000 /* a vCPU answers an event within this */
#define VMM_CONSOLE_DRAIN_MS 1000 /* at exit, for a reader that stalls */
#define CONSOLE_READ_MAX 256 /* each byte read may become two for the guest */

void vmm_request_stop(struct vmm *vmm, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vmm->lock);
	if (vmm->stopping) {
		pthread_mutex_unlock(&vmm->lock);
		return;
	}
	vmm->stopping = true;
	vmm->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(vmm->exit_reason, sizeof(vmm->exit_reason), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&vmm->cond);
	pthread_mutex_unlock(&vmm->lock);

	for (uint32_t i = 0; i < vmm->nr_vcpus; i++)
		vcpu_request_stop(&vmm->vcpus[i]);
	event_loop_stop(&vmm->loop, status);
}

void vmm_vcpu_stop(void *opaque, int status, const char *reason)
{
	vmm_request_stop(opaque, status, "%s", reason);
}

/* Posts @ev to every vCPU and waits for each answer. */
static int vmm_post_all(struct vmm *vmm, enum vcpu_event ev)
{
	int ret = 0;

	for (uint32_t i = 0; i < vmm->nr_vcpus && !ret; i++)
		ret = vcpu_post(&vmm->vcpus[i], ev, NULL, VMM_VCPU_EVENT_MS);
	return ret;
}

int vmm_pause(struct vmm *vmm)
{
	int ret;

	if (vmm->state != VMM_RUNNING)
		return vmm->state == VMM_PAUSED ? 0 : -EINVAL;
	/* Each vCPU answers once parked: "paused" means no guest code runs
	 * once this returns. */
	ret = vmm_post_all(vmm, VCPU_EV_PAUSE);
	if (ret) {
		vmm_post_all(vmm, VCPU_EV_RESUME); /* all of them or none */
		return ret;
	}
	vmm->state = VMM_PAUSED;
	return 0;
}

int vmm_resume(struct vmm *vmm)
{
	int ret;

	if (vmm->state != VMM_PAUSED)
		return vmm->state == VMM_RUNNING ? 0 : -EINVAL;
	ret = vmm_post_all(vmm, VCPU_EV_RESUME);
	if (!ret) {
		vmm->state = VMM_RUNNING;
		vmgenid_notify(&vmm->vmgenid);
	}
	return ret;
}

static void console_restore(struct vmm *vmm)
{
	if (vmm->tty_raw) {
		tcsetattr(vmm->console_in, TCSANOW, &vmm->tty_saved);
		vmm->tty_raw = false;
	}
}

static void console_make_raw(struct vmm *vmm)
{
	struct termios raw;

	if (!isatty(vmm->console_in) ||
	    tcgetattr(vmm->console_in, &vmm->tty_saved) < 0)
		return;
	raw = vmm->tty_saved;
	cfmakeraw(&raw);
	/* Keep output processing: the guest writes \r\n itself, and our own
	 * log lines stay readable. */
	raw.c_oflag |= OPOST;
	if (tcsetattr(vmm->console_in, TCSANOW, &raw) == 0)
		vmm->tty_raw = true;
}

/* Input from the terminal: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A. */
static void console_input(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	uint8_t buf[CONSOLE_READ_MAX], out[2 * CONSOLE_READ_MAX];
	size_t n_out = 0;
	ssize_t n;

	(void)events;
	if (serial_input_room(&vmm->serial) < sizeof(out)) {
		/* The guest is not reading: stop watching until it does
		 * (console_output() watches again). */
		event_loop_del(&vmm->loop, vmm->console_in);
		vmm->console_in_paused = true;
		return;
	}
	n = read(vmm->console_in, buf, sizeof(buf));
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		event_loop_del(&vmm->loop, vmm->console_in); /* EOF */
		vmm->console_in = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (vmm->console_escape) {
			vmm->console_escape = false;
			if (c == 'x' || c == 'X') {
				vmm_request_stop(vmm, VMM_EXIT_STOPPED,
						 "stopped from the console (Ctrl-A x)");
				return;
			}
			if (c != CONSOLE_ESCAPE)
				out[n_out++] = CONSOLE_ESCAPE;
			out[n_out++] = c;
		} else if (c == CONSOLE_ESCAPE && vmm->tty_raw) {
			vmm->console_escape = true;
		} else {
			out[n_out++] = c;
		}
	}
	serial_push_input(&vmm->serial, out, n_out);
}

static void console_room(void *opaque)
{
	struct vmm *vmm = opaque;
	uint64_t one = 1;

	/* From a vCPU thread, which must not touch the event loop's list:
	 * wake console_output() on the VMM thread, which watches the input
	 * again if it was paused. */
	if (write(vmm->serial.notify_fd, &one, sizeof(one)) < 0) {
		/* only fails when already signalled */
	}
}

/* VMM thread: watches the console input again once the guest made room
 * (also after it emptied its FIFO without reading it). */
static void console_input_resume(struct vmm *vmm)
{
	if (!vmm->console_in_paused || vmm->console_in < 0 ||
	    serial_input_room(&vmm->serial) < 2 * CONSOLE_READ_MAX)
		return;
	if (event_loop_add(&vmm->loop, vmm->console_in, EPOLLIN,
			   console_input, vmm) == 0)
		vmm->console_in_paused = false;
}

static void console_writable(void *opaque, uint32_t events);

/* Writes what the guest queued, without ever waiting: the console's fd does
 * not block. When the reader is not keeping up (-EAGAIN), nothing is lost:
 * the bytes stay queued (the guest sees its transmitter busy and waits on
 * THRE) and the event loop watches the fd for room. One call writes at most
 * the ring's worth, then leaves the loop to its other events. */
static void console_write_some(struct vmm *vmm)
{
	int ret = -EINPROGRESS;

	for (int i = 0; i < SERIAL_OUT_RING / 4096 && ret == -EINPROGRESS; i++)
		ret = serial_flush_output(&vmm->serial);
	if (ret == -EAGAIN && !vmm->console_out_waiting) {
		if (event_loop_add(&vmm->loop, vmm->serial.out_fd, EPOLLOUT,
				   console_writable, vmm) == 0)
			vmm->console_out_waiting = true;
	} else if (ret != -EAGAIN && vmm->console_out_waiting) {
		event_loop_del(&vmm->loop, vmm->serial.out_fd);
		vmm->console_out_waiting = false;
	}
	if (ret == -EINPROGRESS) {
		uint64_t one = 1; /* more queued: come back after the others */

		if (write(vmm->serial.notify_fd, &one, sizeof(one)) < 0) {
			/* only fails when already signalled */
		}
	}
}

static void console_writable(void *opaque, uint32_t events)
{
	(void)events;
	console_write_some(opaque);
}

static void console_output(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	uint64_t cnt;

	(void)events;
	if (read(vmm->serial.notify_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	console_input_resume(vmm);
	if (!vmm->console_out_waiting)
		console_write_some(vmm);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At exit: what the guest printed last reaches the console, but a reader
 * that stopped reading holds figment up for @budget_ms at most; what is
 * left then is dropped and said. */
static void console_final_drain(struct vmm *vmm, int budget_ms)
{
	struct pollfd pfd = { .fd = vmm->serial.out_fd, .events = POLLOUT };
	int64_t deadline = now_ms() + budget_ms;
	size_t left;
	int ret;

	while ((ret = serial_flush_output(&vmm->serial)) != 0) {
		int64_t wait = deadline - now_ms();

		if (wait <= 0 || (ret == -EAGAIN && poll(&pfd, 1, (int)wait) <= 0))
			break;
	}
	left = serial_output_queued(&vmm->serial);
	if (left)
		log_warn("%zu bytes of guest console output were not written: the console reader did not keep up",
			 left);
}

static void vmm_signal(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vmm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	vmm_request_stop(vmm, VMM_EXIT_STOPPED, "stopped by signal %s",
			 strsignal((int)si.ssi_signo));
}

/* Signals end the VMM whether or not a VM runs yet (API mode). */
static int vmm_setup_signals(struct vmm *vmm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked in every thread (inherited), delivered through signalfd. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A client that hangs up on the API socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	vmm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vmm->signal_fd < 0)
		return -errno;
	return event_loop_add(&vmm->loop, vmm->signal_fd, EPOLLIN, vmm_signal,
			      vmm);
}

static int vmm_setup_console(struct vmm *vmm)
{
	int ret = event_loop_add(&vmm->loop, vmm->serial.notify_fd, EPOLLIN,
				 console_output, vmm);

	if (ret)
		return ret;
	vmm->console_in = -1;
	if (vmm->cfg->serial.mode != SERIAL_NONE) {
		vmm->console_in = STDIN_FILENO;
		vmm->serial.input_room = console_room;
		console_make_raw(vmm);
		/* stdin may be /dev/null or closed: then there is no input. */
		if (event_loop_add(&vmm->loop, STDIN_FILENO, EPOLLIN,
				   console_input, vmm))
			vmm->console_in = -1;
	}
	return 0;
}

int vmm_start(struct vmm *vmm, char *err, size_t errlen)
{
	int ret = vmm_setup_console(vmm);

	if (ret) {
		snprintf(err, errlen, "cannot set up the console: %s",
			 strerror(-ret));
		return VMM_EXIT_ERROR;
	}
	pthread_mutex_lock(&vmm->lock);
	vmm->state = vmm->start_paused ? VMM_PAUSED : VMM_RUNNING;
	pthread_mutex_unlock(&vmm->lock);
	vmm->timer.guest_start_ns = boot_timer_now_ns();
	for (uint32_t i = 0; i < vmm->nr_vcpus; i++) {
		ret = vcpu_start(&vmm->vcpus[i], vmm->start_paused);
		if (ret) {
			vmm_request_stop(vmm, VMM_EXIT_ERROR,
					 "cannot start vCPU %u: %s", i,
					 strerror(-ret));
			break;
		}
	}
	/* A vCPU that stopped the VM at once may have asked its siblings to
	 * stop before they were started: ask again now that they are. */
	pthread_mutex_lock(&vmm->lock);
	if (vmm->stopping) {
		pthread_mutex_unlock(&vmm->lock);
		for (uint32_t i = 0; i < vmm->nr_vcpus; i++)
			vcpu_request_stop(&vmm->vcpus[i]);
	} else {
		pthread_mutex_unlock(&vmm->lock);
		/* A restored guest learns it is a new generation once it
		 * runs (restored paused: at the resume). */
		if (!vmm->start_paused)
			vmgenid_notify(&vmm->vmgenid);
	}
	return 0;
}

int vmm_finish(struct vmm *vmm)
{
	for (uint32_t i = 0; i < vmm->nr_vcpus; i++) {
		if (vcpu_join(&vmm->vcpus[i], VMM_JOIN_TIMEOUT_MS) == 0)
			continue;
		/* A vCPU that never leaves KVM_RUN must not keep the process
		 * alive: report it and leave without releasing the VM. */
		fprintf(stderr, "figment: vCPU %u did not stop; exiting anyway\n",
			i);
		console_restore(vmm);
		_exit(vmm->exit_status ? vmm->exit_status : VMM_EXIT_ERROR);
	}
	if (vmm->serial.notify_fd >= 0)
		console_final_drain(vmm, VMM_CONSOLE_DRAIN_MS);
	vmm->state = VMM_STOPPED;
	log_flush_losses();
	console_restore(vmm);
	return vmm->exit_status;
}

void vmm_report_exit(struct vmm *vmm, int status, const char *prog)
{
	if (status)
		log_stderr_within(VMM_CONSOLE_DRAIN_MS, "%s: %s\n", prog,
				  vmm->exit_reason);
	else
		log_info("%s", vmm->exit_reason);
}

int vmm_run(struct vmm *vmm)
{
	int ret = vmm_start(vmm, vmm->exit_reason, sizeof(vmm->exit_reason));

	if (!ret)
		ret = vmm_enter_sandbox(vmm);
	if (ret)
		return ret;
	event_loop_run(&vmm->loop);
	return vmm_finish(vmm);
}

int vmm_enter_sandbox(struct vmm *vmm)
{
	int ret;

	if (vmm->sandboxed)
		return 0;
	ret = sandbox_enter(SECCOMP_THREAD_VMM, "vmm");
	if (ret) {
		vmm_request_stop(vmm, VMM_EXIT_ERROR,
				 "cannot put the VMM thread under seccomp: %s",
				 strerror(-ret));
		return ret;
	}
	vmm->sandboxed = true;
	return 0;
}

int vmm_init(struct vmm *vmm)
{
	sigset_t kick;
	int ret;

	memset(vmm, 0, sizeof(*vmm));
	vmm->vm.kvm_fd = vmm->vm.vm_fd = -1;
	vmm->signal_fd = -1;
	vmm->console_in = -1;
	vmm->serial.notify_fd = -1;
	pthread_mutex_init(&vmm->lock, NULL);
	pthread_cond_init(&vmm->cond, NULL);
	vmm->timer.start_ns = boot_timer_now_ns();
	ret = event_loop_init(&vmm->loop);
	if (ret)
		return ret;
	/* vCPU threads unblock the kick signal themselves; the others keep
	 * it blocked so a kick never lands elsewhere. */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	ret = vcpu_signals_init();
	if (!ret)
		ret = vmm_setup_signals(vmm);
	return ret;
}

void vmm_release_vm(struct vmm *vmm)
{
	console_restore(vmm);
	for (uint32_t i = 0; i < vmm->nr_vcpus; i++)
		vcpu_destroy(&vmm->vcpus[i]);
	free(vmm->vcpus);
	vmm->vcpus = NULL;
	vmm->nr_vcpus = 0;
	if (vmm->serial.notify_fd >= 0) {
		event_loop_del(&vmm->loop, vmm->serial.notify_fd);
		if (vmm->console_out_waiting)
			event_loop_del(&vmm->loop, vmm->serial.out_fd);
		vmm->console_out_waiting = false;
		if (vmm->console_out_shared)
			fcntl(vmm->serial.out_fd, F_SETFL,
			      fcntl(vmm->serial.out_fd, F_GETFL) & ~O_NONBLOCK);
		vmm->console_out_shared = 0;
		if (vmm->serial.out_fd > STDERR_FILENO)
			close(vmm->serial.out_fd);
		vmm->serial.out_fd = -1;
	}
	if (vmm->console_in >= 0)
		event_loop_del(&vmm->loop, vmm->console_in);
	vmm->console_in = -1;
	vmm->console_in_paused = false;
	/* every device, last first (the serial port's eventfd, the virtio
	 * devices' fds and backing files) */
	device_list_destroy(&vmm->devices);
	/* a build that failed before its devices were listed */
	if (vmm->serial.notify_fd >= 0)
		serial_destroy(&vmm->serial);
	virtio_devices_destroy(&vmm->virtio);
	vm_destroy(&vmm->vm);
	vmm->state = VMM_CONFIGURED;
}

struct mmds *vmm_mmds(struct vmm *vmm)
{
	if (!vmm->mmds)
		vmm->mmds = mmds_create(vmm->mmds_size_limit);
	return vmm->mmds;
}

void vmm_destroy(struct vmm *vmm)
{
	vmm_release_vm(vmm);
	mmds_destroy(vmm->mmds);
	vmm->mmds = NULL;
	event_loop_destroy(&vmm->loop);
	if (vmm->signal_fd >= 0)
		close(vmm->signal_fd);
	pthread_cond_destroy(&vmm->cond);
	pthread_mutex_destroy(&vmm->lock);
}
