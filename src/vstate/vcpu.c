// SPDX-License-Identifier: Apache-2.0
#include "vstate/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/metrics.h"
#include "vmm.h"

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

int vcpu_create(struct vcpu *vcpu, struct vmm *vmm, uint32_t index)
{
	void *run;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->index = index;
	vcpu->vmm = vmm;
	vcpu->fd = ioctl(vmm->vm.vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return -errno;
	run = mmap(NULL, vmm->vm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
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
		munmap(vcpu->run, vcpu->vmm->vm.run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct bus *pio = &vcpu->vmm->vm.pio;

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
		bus_write(&vcpu->vmm->vm.mmio, run->mmio.phys_addr,
			  run->mmio.data, len);
	else
		bus_read(&vcpu->vmm->vm.mmio, run->mmio.phys_addr,
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
	vmm_request_stop(vcpu->vmm, VMM_EXIT_KVM_INTERNAL,
			 "KVM internal error on vCPU %u: exit reason %u "
			 "(KVM_EXIT_INTERNAL_ERROR), suberror %u, RIP 0x%llx%s%s",
			 vcpu->index, run->exit_reason, run->internal.suberror,
			 (unsigned long long)vcpu_rip(vcpu), n ? ", data" : "",
			 data);
}

/* Handles one exit; returns false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vmm *vmm = vcpu->vmm;

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
		vmm_request_stop(vmm, VMM_EXIT_TRIPLE_FAULT,
				 "guest triple fault on vCPU %u (KVM_EXIT_SHUTDOWN) at RIP 0x%llx",
				 vcpu->index, (unsigned long long)vcpu_rip(vcpu));
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vmm_request_stop(vmm, VMM_EXIT_OK, "guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vmm_request_stop(vmm, VMM_EXIT_OK, "guest rebooted");
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vmm_request_stop(vmm, VMM_EXIT_GUEST_PANIC,
					 "guest reported a crash (vCPU %u)",
					 vcpu->index);
			break;
		default:
			vmm_request_stop(vmm, VMM_EXIT_ERROR,
					 "unknown KVM system event %u on vCPU %u",
					 run->system_event.type, vcpu->index);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_internal_error(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_request_stop(vmm, VMM_EXIT_KVM_INTERNAL,
				 "KVM could not enter vCPU %u: exit reason %u (KVM_EXIT_FAIL_ENTRY), hardware reason 0x%llx, RIP 0x%llx",
				 vcpu->index, run->exit_reason,
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
				 (unsigned long long)vcpu_rip(vcpu));
		return false;
	case KVM_EXIT_UNKNOWN:
		vmm_request_stop(vmm, VMM_EXIT_KVM_INTERNAL,
				 "unknown KVM exit on vCPU %u: hardware reason 0x%llx, RIP 0x%llx",
				 vcpu->index,
				 (unsigned long long)run->hw.hardware_exit_reason,
				 (unsigned long long)vcpu_rip(vcpu));
		return false;
	default:
		vmm_request_stop(vmm, VMM_EXIT_KVM_INTERNAL,
				 "unhandled KVM exit reason %u on vCPU %u at RIP 0x%llx",
				 run->exit_reason, vcpu->index,
				 (unsigned long long)vcpu_rip(vcpu));
		return false;
	}
}

/* Parks the vCPU while the VMM is paused. Returns false when stopping. */
static bool vcpu_wait_runnable(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	bool go;

	pthread_mutex_lock(&vmm->lock);
	if (vmm->state == VMM_PAUSED && !vmm->stopping) {
		vmm->vcpus_paused++;
		pthread_cond_broadcast(&vmm->cond);
		while (vmm->state == VMM_PAUSED && !vmm->stopping)
			pthread_cond_wait(&vmm->cond, &vmm->lock);
		vmm->vcpus_paused--;
	}
	go = !vmm->stopping;
	/* A kick that arrived before we parked must not end the next run. */
	vcpu->run->immediate_exit = 0;
	pthread_mutex_unlock(&vmm->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (vcpu_wait_runnable(vcpu)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vmm_request_stop(vcpu->vmm, VMM_EXIT_KVM_INTERNAL,
					 "KVM_RUN failed on vCPU %u: %s",
					 vcpu->index, strerror(errno));
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (ret)
		return -ret;
	/* Read by vcpu_kick() on other vCPU threads. */
	__atomic_store_n(&vcpu->started, 1, __ATOMIC_RELEASE);
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!__atomic_load_n(&vcpu->started, __ATOMIC_ACQUIRE))
		return;
	/* immediate_exit covers a vCPU about to enter KVM_RUN; the signal one
	 * already inside it. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

int vcpu_join(struct vcpu *vcpu, unsigned int timeout_ms)
{
	struct timespec deadline;
	bool kicked_again = false;
	int ret;

	if (!vcpu->started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
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
