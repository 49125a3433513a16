// SPDX-License-Identifier: Apache-2.0
#include "vstate/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/log.h"
#include "util/metrics.h"
#include "vmm_exit.h"
#include "vstate/vcpu_state.h"

#define VCPU_KICK_SIGNAL (SIGRTMIN + 0)

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

int vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vcpu *vcpu, const struct vcpu_env *env, uint32_t index)
{
	void *run;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->index = index;
	vcpu->env = env;
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->cond, NULL);
	vcpu->fd = ioctl(env->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return -errno;
	run = mmap(NULL, env->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED) {
		int ret = -errno;

		close(vcpu->fd);
		vcpu->fd = -1;
		return ret;
	}
	vcpu->run = run;
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->env->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
	pthread_cond_destroy(&vcpu->cond);
	pthread_mutex_destroy(&vcpu->lock);
}

/* Ends the VM through the environment, with a formatted reason. */
static void vcpu_fail(struct vcpu *vcpu, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vcpu_fail(struct vcpu *vcpu, int status, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	vcpu->env->stop(vcpu->env->opaque, status, reason);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct bus *pio = vcpu->env->pio;

	/* `rep ins/outs` arrive as one exit with count elements. The data
	 * area lies inside the kvm_run mapping, sized by KVM. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(pio, run->io.port, data, run->io.size);
		else
			bus_read(pio, run->io.port, data, run->io.size);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		bus_write(vcpu->env->mmio, run->mmio.phys_addr,
			  run->mmio.data, len);
	else
		bus_read(vcpu->env->mmio, run->mmio.phys_addr,
			 run->mmio.data, len);
}

static uint64_t vcpu_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return ~0ULL;
	return regs.rip;
}

static void vcpu_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char data[160] = "";
	size_t off = 0;
	uint32_t n = run->internal.ndata;

	if (n > 4)
		n = 4;
	for (uint32_t i = 0; i < n; i++)
		off += snprintf(data + off, sizeof(data) - off, " 0x%llx",
				(unsigned long long)run->internal.data[i]);
	vcpu_fail(vcpu, VMM_EXIT_KVM_INTERNAL,
		  "KVM internal error on vCPU %u: exit reason %u "
		  "(KVM_EXIT_INTERNAL_ERROR), suberror %u, RIP 0x%llx%s%s",
		  vcpu->index, run->exit_reason, run->internal.suberror,
		  (unsigned long long)vcpu_rip(vcpu), n ? ", data" : "", data);
}

/* Handles one exit; returns false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	metrics_vcpu_exit(run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; ours has one, so this is a
		 * backend quirk: go back in, interrupts will wake it. */
		return true;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
	case KVM_EXIT_TPR_ACCESS:
	case KVM_EXIT_SET_TPR:
	case KVM_EXIT_NMI:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fail(vcpu, VMM_EXIT_TRIPLE_FAULT,
				 "guest triple fault on vCPU %u (KVM_EXIT_SHUTDOWN) at RIP 0x%llx",
				 vcpu->index, (unsigned long long)vcpu_rip(vcpu));
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vcpu_fail(vcpu, VMM_EXIT_OK, "guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vcpu_fail(vcpu, VMM_EXIT_OK, "guest rebooted");
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vcpu_fail(vcpu, VMM_EXIT_GUEST_PANIC,
					 "guest reported a crash (vCPU %u)",
					 vcpu->index);
			break;
		default:
			vcpu_fail(vcpu, VMM_EXIT_ERROR,
					 "unknown KVM system event %u on vCPU %u",
					 run->system_event.type, vcpu->index);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_internal_error(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fail(vcpu, VMM_EXIT_KVM_INTERNAL,
				 "KVM could not enter vCPU %u: exit reason %u (KVM_EXIT_FAIL_ENTRY), hardware reason 0x%llx, RIP 0x%llx",
				 vcpu->index, run->exit_reason,
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
				 (unsigned long long)vcpu_rip(vcpu));
		return false;
	case KVM_EXIT_UNKNOWN:
		vcpu_fail(vcpu, VMM_EXIT_KVM_INTERNAL,
				 "unknown KVM exit on vCPU %u: hardware reason 0x%llx, RIP 0x%llx",
				 vcpu->index,
				 (unsigned long long)run->hw.hardware_exit_reason,
				 (unsigned long long)vcpu_rip(vcpu));
		return false;
	default:
		vcpu_fail(vcpu, VMM_EXIT_KVM_INTERNAL,
				 "unhandled KVM exit reason %u on vCPU %u at RIP 0x%llx",
				 run->exit_reason, vcpu->index,
				 (unsigned long long)vcpu_rip(vcpu));
		return false;
	}
}

/*
 * After an I/O or MMIO exit, KVM finishes the instruction (the data of an
 * IN, the RIP past an OUT) only on the next KVM_RUN. A vCPU parked in
 * between would be saved half-way through an instruction and repeat it when
 * restored, so parking first enters KVM_RUN with immediate_exit set: KVM
 * completes the pending I/O and returns at once. An exit that completion
 * causes (a second MMIO fragment) is handled like any other.
 */
static int vcpu_complete_io(struct vcpu *vcpu)
{
	for (int i = 0; i < 4; i++) {
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -errno;
		if (!vcpu_handle_exit(vcpu))
			return -ESHUTDOWN;
	}
	return -EBUSY;
}

/* Lock held: carries out the posted event, if any, and answers it.
 * @io_ret: what completing pending I/O gave, for a PAUSE. */
static void vcpu_serve_event(struct vcpu *vcpu, int io_ret)
{
	int ret = 0;

	switch (vcpu->event) {
	case VCPU_EV_NONE:
		return;
	case VCPU_EV_PAUSE:
		ret = io_ret;
		vcpu->paused = true;
		break;
	case VCPU_EV_RESUME:
		vcpu->paused = false;
		break;
	case VCPU_EV_SAVE:
		/* Only a parked vCPU has a state that stays true. */
		ret = vcpu->paused ? vcpu_state_save(vcpu->env->kvm_fd, vcpu->fd,
						     vcpu->event_state) :
				     -EBUSY;
		break;
	}
	vcpu->event = VCPU_EV_NONE;
	vcpu->event_result = ret;
	vcpu->answered++;
	pthread_cond_broadcast(&vcpu->cond);
}

/* Between two KVM_RUNs: serves events, parks while paused. Returns false
 * when the vCPU must stop. */
static bool vcpu_wait_runnable(struct vcpu *vcpu)
{
	bool go;

	pthread_mutex_lock(&vcpu->lock);
	for (;;) {
		int io_ret = 0;

		if (vcpu->event == VCPU_EV_PAUSE && !vcpu->paused) {
			/* Unlocked: an exit handled there may stop the VM,
			 * which takes this lock. */
			pthread_mutex_unlock(&vcpu->lock);
			io_ret = vcpu_complete_io(vcpu);
			pthread_mutex_lock(&vcpu->lock);
		}
		vcpu_serve_event(vcpu, io_ret);
		if (vcpu->stopping || !vcpu->paused)
			break;
		pthread_cond_wait(&vcpu->cond, &vcpu->lock);
	}
	go = !vcpu->stopping;
	/* A kick that arrived before we parked must not end the next run. */
	vcpu->run->immediate_exit = 0;
	pthread_mutex_unlock(&vcpu->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];
	sigset_t set;
	int ret;

	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	snprintf(name, sizeof(name), "vcpu %u", vcpu->index);
	ret = sandbox_enter(SECCOMP_THREAD_VCPU, name);
	if (ret) {
		vcpu_fail(vcpu, VMM_EXIT_ERROR,
			  "cannot put vCPU %u under seccomp: %s", vcpu->index,
			  strerror(-ret));
		goto out;
	}

	while (vcpu_wait_runnable(vcpu)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vcpu_fail(vcpu, VMM_EXIT_KVM_INTERNAL,
				  "KVM_RUN failed on vCPU %u: %s", vcpu->index,
				  strerror(errno));
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
out:
	/* Nobody waits for an answer from a vCPU that has ended. */
	pthread_mutex_lock(&vcpu->lock);
	vcpu->exited = true;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu, bool paused)
{
	int ret;

	vcpu->paused = paused;
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return -ret;
	/* Read by vcpu_kick() on other threads. */
	__atomic_store_n(&vcpu->started, 1, __ATOMIC_RELEASE);
	return 0;
}

static void vcpu_kick(struct vcpu *vcpu)
{
	if (!__atomic_load_n(&vcpu->started, __ATOMIC_ACQUIRE))
		return;
	/* immediate_exit covers a vCPU about to enter KVM_RUN; the signal one
	 * already inside it. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_request_stop(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->lock);
	vcpu->stopping = true;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
	vcpu_kick(vcpu);
}

/* CLOCK_REALTIME @ms from now: what pthread_cond_timedwait() and
 * pthread_timedjoin_np() take. */
static struct timespec realtime_after(unsigned int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

int vcpu_post(struct vcpu *vcpu, enum vcpu_event ev, struct vcpu_state *state,
	      unsigned int timeout_ms)
{
	struct timespec deadline;
	uint64_t ticket;
	int ret = 0;

	if (!__atomic_load_n(&vcpu->started, __ATOMIC_ACQUIRE))
		return -ESRCH;
	deadline = realtime_after(timeout_ms);
	pthread_mutex_lock(&vcpu->lock);
	if (vcpu->exited || vcpu->stopping) {
		pthread_mutex_unlock(&vcpu->lock);
		return -ESRCH;
	}
	vcpu->event = ev;
	vcpu->event_state = state;
	ticket = vcpu->answered + 1;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
	vcpu_kick(vcpu);

	pthread_mutex_lock(&vcpu->lock);
	while (vcpu->answered < ticket && !vcpu->exited && ret == 0)
		ret = -pthread_cond_timedwait(&vcpu->cond, &vcpu->lock,
					      &deadline);
	if (vcpu->answered >= ticket) {
		ret = vcpu->event_result;
	} else {
		vcpu->event = VCPU_EV_NONE; /* withdrawn */
		ret = vcpu->exited ? -ESRCH : -ETIMEDOUT;
	}
	pthread_mutex_unlock(&vcpu->lock);
	return ret;
}

int vcpu_join(struct vcpu *vcpu, unsigned int timeout_ms)
{
	struct timespec deadline;
	bool kicked_again = false;
	int ret;

	if (!vcpu->started)
		return 0;
	deadline = realtime_after(timeout_ms);
	for (;;) {
		ret = pthread_timedjoin_np(vcpu->thread, NULL, &deadline);
		if (ret != ETIMEDOUT)
			break;
		/* One more kick in case the first raced with KVM_RUN; then
		 * give up: the process may still exit, the kernel cleans up. */
		if (kicked_again)
			return -ETIMEDOUT;
		kicked_again = true;
		vcpu_kick(vcpu);
		deadline.tv_sec += 1;
	}
	vcpu->started = 0;
	return 0;
}
