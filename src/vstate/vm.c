// SPDX-License-Identifier: Apache-2.0
#include "vstate/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Four pages KVM needs on Intel hosts for its real-mode TSS and identity
 * map; they sit at the top of the 32-bit MMIO gap, where no RAM or device
 * is placed. */
#define VM_TSS_ADDR 0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR 0xfffbc000ULL

static int kvm_check(int kvm_fd, long cap)
{
	int ret = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

int vm_create(struct vm *vm, const char *kvm_path, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = VM_IDENTITY_MAP_ADDR;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->kvm_fd = open(kvm_path, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", kvm_path,
			 strerror(errno));
		return ret;
	}
	ret = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		snprintf(err, errlen, "%s speaks KVM API %d, need %d", kvm_path,
			 ret, KVM_API_VERSION);
		ret = -ENOTSUP;
		goto fail;
	}
	static const struct {
		long cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!kvm_check(vm->kvm_fd, needed[i].cap)) {
			snprintf(err, errlen, "KVM lacks %s", needed[i].name);
			ret = -ENOTSUP;
			goto fail;
		}
	}
	vm->max_vcpus = kvm_check(vm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (!vm->max_vcpus)
		vm->max_vcpus = kvm_check(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (!vm->max_vcpus)
		vm->max_vcpus = 1;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed: %s",
			 strerror(errno));
		ret = -ENOTSUP;
		goto fail;
	}

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(errno));
		goto fail;
	}
	/* Needed on Intel hosts before the first vCPU runs; harmless on AMD. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM refused the TSS/identity map: %s",
			 strerror(errno));
		goto fail;
	}
	/* The irqchip must exist before any vCPU (else KVM_CREATE_VCPU
	 * gives EINVAL on some backends). */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP failed: %s",
			 strerror(errno));
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_PIT2 failed: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	vm_destroy(vm);
	return ret;
}

/* Registers every region of vm->mem with KVM (slot i is region i). */
static int vm_register_memory(struct vm *vm, char *err, size_t errlen)
{
	int ret;

	if (vm->track_dirty && guest_memory_track_dirty(&vm->mem)) {
		snprintf(err, errlen, "out of memory for the dirty page bitmaps");
		return -ENOMEM;
	}
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = vm->nr_slots,
			.flags = vm->track_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			ret = -errno;
			snprintf(err, errlen,
				 "KVM refused %llu MiB of guest RAM at 0x%llx: %s",
				 (unsigned long long)(r->size >> 20),
				 (unsigned long long)r->gpa, strerror(errno));
			return ret;
		}
		vm->nr_slots++;
	}
	return 0;
}

int vm_add_memory(struct vm *vm, uint64_t size, char *err, size_t errlen)
{
	int ret = guest_memory_create_with(&vm->mem, size, &vm->mem_opts, err,
					   errlen);

	return ret ? ret : vm_register_memory(vm, err, errlen);
}

int vm_add_memory_uffd(struct vm *vm, uint64_t size, const char *uffd_sock,
		       char *err, size_t errlen)
{
	int ret = guest_memory_create_uffd(&vm->mem, size, &vm->mem_opts,
					   uffd_sock, err, errlen);

	return ret ? ret : vm_register_memory(vm, err, errlen);
}

int vm_add_memory_from_file(struct vm *vm, uint64_t size, int fd, char *err,
			    size_t errlen)
{
	int ret;

	/* A private mapping of a regular file cannot be on hugetlbfs pages
	 * (snapshot_restore() says so first, in the user's terms). */
	if (vm->mem_opts.pages == GUEST_PAGES_HUGETLB) {
		snprintf(err, errlen, "guest RAM on 2 MiB huge pages is restored only with the Uffd memory backend");
		return -EINVAL;
	}
	ret = guest_memory_create_from_file(&vm->mem, size, fd, err, errlen);
	if (!ret)
		ret = guest_memory_advise(&vm->mem, &vm->mem_opts, err, errlen);
	return ret ? ret : vm_register_memory(vm, err, errlen);
}

int vm_take_dirty(struct vm *vm, int i, uint64_t *bitmap)
{
	struct guest_region *r = &vm->mem.regions[i];
	uint64_t words = (r->size / 4096 + 63) / 64;
	struct kvm_dirty_log log = { .slot = (uint32_t)i,
				     .dirty_bitmap = bitmap };

	if (!vm->track_dirty || i >= vm->nr_slots)
		return -EINVAL;
	memset(bitmap, 0, words * sizeof(uint64_t));
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	for (uint64_t w = 0; w < words; w++)
		bitmap[w] |= __atomic_exchange_n(&r->vmm_dirty[w], 0,
						 __ATOMIC_RELAXED);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	guest_memory_destroy(&vm->mem);
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, int efd, uint32_t gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)efd, .gsi = gsi };

	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, int efd, uint64_t addr, uint32_t len,
		 bool match, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = efd,
		.flags = match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0,
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}
