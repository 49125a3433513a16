/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One KVM virtual machine: the /dev/kvm and VM file descriptors, guest RAM
 * registered as memory slots, the in-kernel irqchip and PIT, and the two
 * buses vCPU exits are dispatched to.
 */
#ifndef FIGMENT_VSTATE_VM_H
#define FIGMENT_VSTATE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "vstate/memory.h"

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;     /* KVM_GET_VCPU_MMAP_SIZE */
	int max_vcpus;    /* KVM_CAP_MAX_VCPUS */
	int nr_slots;
	/* set before vm_add_memory*(): KVM logs guest writes per page */
	bool track_dirty;
	/* set before vm_add_memory*(): huge pages, page sharing */
	struct guest_memory_opts mem_opts;
	struct guest_memory mem;
	struct bus pio;   /* port I/O, 16-bit addresses */
	struct bus mmio;  /* MMIO in guest physical space */
};

/* Opens @kvm_path (normally /dev/kvm), creates the VM with its irqchip and
 * PIT. Returns 0, or a negative errno with the reason in @err. */
int vm_create(struct vm *vm, const char *kvm_path, char *err, size_t errlen);

/* Maps @size bytes of guest RAM and registers it with KVM. */
int vm_add_memory(struct vm *vm, uint64_t size, char *err, size_t errlen);

/* The same, mapped privately from a snapshot's memory file @fd (see
 * guest_memory_create_from_file()). */
int vm_add_memory_from_file(struct vm *vm, uint64_t size, int fd, char *err,
			    size_t errlen);

/*
 * With track_dirty: the pages of region @i written since the last call (or
 * since the memory was added), by the guest (KVM's dirty log) or by the VMM
 * (guest_memory_mark_dirty()), into @bitmap (one bit per page, room for
 * the region's pages rounded up to 64), and clears both logs. 0 or a
 * negative errno.
 */
int vm_take_dirty(struct vm *vm, int i, uint64_t *bitmap);

/* The same, filled by a userfaultfd handler at @uffd_sock (see
 * guest_memory_create_uffd()). */
int vm_add_memory_uffd(struct vm *vm, uint64_t size, const char *uffd_sock,
		       char *err, size_t errlen);

void vm_destroy(struct vm *vm);

/* Drives interrupt line @gsi to @level (1 raised, 0 lowered). */
int vm_irq_line(struct vm *vm, uint32_t gsi, int level);

/* Writes to @efd inject @gsi (KVM_IRQFD). */
int vm_irqfd(struct vm *vm, int efd, uint32_t gsi);

/* A guest write of @len bytes at MMIO @addr (equal to @datamatch when
 * @match) signals @efd instead of exiting to user space (KVM_IOEVENTFD). */
int vm_ioeventfd(struct vm *vm, int efd, uint64_t addr, uint32_t len,
		 bool match, uint64_t datamatch);

#endif
