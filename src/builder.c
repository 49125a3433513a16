// SPDX-License-Identifier: Apache-2.0
/*
 * Validated config -> a VM ready to run: guest RAM, legacy devices, virtio
 * devices, firmware tables, the kernel and its boot data, vCPUs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "arch/x86/regs.h"
#include "util/safe_open.h"
#include "devices/virtio/blk/blk.h"
#include "devices/virtio/net/net.h"
#include "mmds/mmds.h"
#include "util/log.h"
#include "util/metrics.h"
#include "vmm.h"
#include "vmm_memory.h"
#include "vstate/vcpu.h"

#define KERNEL_MAX_SIZE (512ULL << 20)
#define INITRD_MAX_SIZE (4ULL << 30)

static void builder_serial_irq(void *opaque, int level)
{
	struct vmm *vmm = opaque;

	vm_irq_line(&vmm->vm, LAYOUT_COM1_IRQ, level);
}

static void builder_i8042_irq(void *opaque, int level)
{
	struct vmm *vmm = opaque;

	vm_irq_line(&vmm->vm, LAYOUT_I8042_IRQ, level);
}

static void builder_i8042_reset(void *opaque)
{
	vmm_request_stop(opaque, VMM_EXIT_OK,
			 "guest rebooted (i8042 reset)");
}

/* The GED's line: vmgenid_notify() pulses it. */
static void builder_ged_irq(void *opaque, int level)
{
	struct vmm *vmm = opaque;

	vm_irq_line(&vmm->vm, LAYOUT_GED_IRQ, level);
}

static void builder_acpi_event(void *opaque, enum acpi_pm_event ev)
{
	if (ev == ACPI_PM_POWEROFF)
		vmm_request_stop(opaque, VMM_EXIT_OK,
				 "guest powered off (ACPI S5)");
	else
		vmm_request_stop(opaque, VMM_EXIT_OK,
				 "guest rebooted (ACPI reset)");
}

static void builder_pvpanic(void *opaque)
{
	vmm_request_stop(opaque, VMM_EXIT_GUEST_PANIC,
			 "guest kernel panicked (pvpanic)");
}

/* Port 0x80 (POST codes, I/O delay): claimed so it is not counted as
 * unclaimed; reads all-ones, writes dropped. */
static const struct bus_ops ignore_ops = { 0 };

static uint64_t host_mem_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long size = sysconf(_SC_PAGE_SIZE);

	if (pages <= 0 || size <= 0)
		return UINT64_MAX;
	return (uint64_t)pages * (uint64_t)size >> 20;
}

static int builder_devices(struct vmm *vmm, char *err, size_t errlen)
{
	struct vm *vm = &vmm->vm;
	int out_fd = -1;
	int ret;

	/* Console output never blocks the VMM thread: a description of its
	 * own that does not block (see vmm.c's console_output()). */
	switch (vmm->cfg->serial.mode) {
	case SERIAL_STDIO:
		out_fd = reopen_nonblocking(STDOUT_FILENO,
					    &vmm->console_out_shared);
		if (out_fd < 0) {
			snprintf(err, errlen, "cannot use stdout for the console: %s",
				 strerror(-out_fd));
			return VMM_EXIT_ERROR;
		}
		break;
	case SERIAL_FILE:
		out_fd = safe_open(vmm->cfg->serial.path,
				   O_WRONLY | O_CREAT | O_APPEND, 0644,
				   SAFE_OPEN_REG | SAFE_OPEN_FIFO | SAFE_OPEN_CHR,
				   1, "serial output", NULL, err, errlen);
		if (out_fd < 0)
			return VMM_EXIT_CONFIG;
		break;
	case SERIAL_NONE:
		break;
	}
	ret = serial_init(&vmm->serial, out_fd, builder_serial_irq, vmm);
	if (ret) {
		if (out_fd > STDERR_FILENO)
			close(out_fd);
		snprintf(err, errlen, "cannot set up the serial port: %s",
			 strerror(-ret));
		return VMM_EXIT_ERROR;
	}
	i8042_init(&vmm->i8042, builder_i8042_reset, builder_i8042_irq, vmm);
	vmm->pm.event = builder_acpi_event;
	vmm->pm.opaque = vmm;
	vmm->pvpanic.panicked = builder_pvpanic;
	vmm->pvpanic.opaque = vmm;
	vmm->timer.print = vmm->cfg->boot_timer;
	vmgenid_init(&vmm->vmgenid, &vm->mem, LAYOUT_VMGENID, LAYOUT_GED_IRQ,
		     builder_ged_irq, vmm);

	/* The VM's device list, in a fixed order: snapshots save and restore
	 * it entry by entry. */
	vmm->devices.nr = 0;
	if (device_list_add(&vmm->devices, &serial_device_ops, &vmm->serial,
			    "serial") ||
	    device_list_add(&vmm->devices, &i8042_device_ops, &vmm->i8042,
			    "i8042") ||
	    device_list_add(&vmm->devices, &acpi_pm_device_ops, &vmm->pm,
			    "acpi-pm") ||
	    device_list_add(&vmm->devices, &pvpanic_device_ops, &vmm->pvpanic,
			    "pvpanic") ||
	    device_list_add(&vmm->devices, &boot_timer_device_ops, &vmm->timer,
			    "boot-timer") ||
	    device_list_add(&vmm->devices, &vmgenid_device_ops, &vmm->vmgenid,
			    "VM generation ID")) {
		snprintf(err, errlen, "too many devices");
		return VMM_EXIT_ERROR;
	}
	if (bus_register(&vm->pio, LAYOUT_PORT_COM1, 8, &serial_ops,
			 &vmm->serial, "serial") ||
	    bus_register(&vm->pio, LAYOUT_PORT_I8042_DATA, 5, &i8042_ops,
			 &vmm->i8042, "i8042") ||
	    bus_register(&vm->pio, LAYOUT_PORT_ACPI_SLEEP_CTL,
			 LAYOUT_ACPI_PM_PORTS, &acpi_pm_ops, &vmm->pm,
			 "acpi-pm") ||
	    bus_register(&vm->pio, LAYOUT_PORT_POST, 1, &ignore_ops, NULL,
			 "post") ||
	    bus_register(&vm->pio, LAYOUT_PORT_PVPANIC, 1, &pvpanic_ops,
			 &vmm->pvpanic, "pvpanic") ||
	    bus_register(&vm->mmio, LAYOUT_BOOT_MARKER, LAYOUT_BOOT_MARKER_SIZE,
			 &boot_timer_ops, &vmm->timer, "boot-timer")) {
		snprintf(err, errlen, "device address ranges overlap");
		return VMM_EXIT_ERROR;
	}
	return 0;
}

/* Attach step shared by both recipes: the vCPUs, created, not started. */
static int builder_create_vcpus(struct vmm *vmm, char *err, size_t errlen)
{
	uint32_t n = vmm->cfg->machine.vcpu_count;

	vmm->vcpu_env = (struct vcpu_env){
		.kvm_fd = vmm->vm.kvm_fd,
		.vm_fd = vmm->vm.vm_fd,
		.run_size = vmm->vm.run_size,
		.pio = &vmm->vm.pio,
		.mmio = &vmm->vm.mmio,
		.stop = vmm_vcpu_stop,
		.opaque = vmm,
	};
	vmm->vcpus = calloc(n, sizeof(*vmm->vcpus));
	if (!vmm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return VMM_EXIT_ERROR;
	}
	for (uint32_t i = 0; i < n; i++) {
		int ret = vcpu_create(&vmm->vcpus[i], &vmm->vcpu_env, i);

		if (ret) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %u failed: %s", i,
				 strerror(-ret));
			return VMM_EXIT_KVM;
		}
		vmm->nr_vcpus++;
	}
	return 0;
}

/* Boot recipe: CPUID, registers and LAPIC of a vCPU at power-on. */
static int builder_boot_cpus(struct vmm *vmm, const struct boot_entry *entry,
			     char *err, size_t errlen)
{
	const struct machine_config *m = &vmm->cfg->machine;
	struct cpuid_config cc = {
		.nr_cpus = m->vcpu_count,
		.vendor = m->hypervisor_vendor,
		.hide_hypervisor = m->hide_hypervisor,
		.tsc_deadline = ioctl(vmm->vm.kvm_fd, KVM_CHECK_EXTENSION,
				      KVM_CAP_TSC_DEADLINE_TIMER) > 0,
	};
	struct kvm_cpuid2 *base = cpuid_supported(vmm->vm.kvm_fd);
	int ret = 0;

	if (!base) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID failed: %s",
			 strerror(errno));
		return VMM_EXIT_KVM;
	}
	ret = builder_create_vcpus(vmm, err, errlen);
	if (ret) {
		free(base);
		return ret;
	}
	for (uint32_t i = 0; i < m->vcpu_count; i++) {
		struct vcpu *v = &vmm->vcpus[i];
		struct kvm_cpuid2 *cpuid;

		cpuid = cpuid_for_vcpu(base, &cc, i);
		if (!cpuid || ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
			snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %u failed: %s",
				 i, strerror(cpuid ? errno : ENOMEM));
			free(cpuid);
			ret = -EINVAL;
			break;
		}
		free(cpuid);
		ret = regs_setup_vcpu(v->fd, entry, i == 0);
		if (!ret)
			ret = regs_setup_lapic(v->fd);
		if (ret) {
			snprintf(err, errlen, "cannot set the boot state of vCPU %u: %s",
				 i, strerror(-ret));
			break;
		}
	}
	free(base);
	return ret ? VMM_EXIT_KVM : 0;
}

/* The command line: the user's (or the default), then what devices add
 * (virtio_mmio.device= for kernels that take them, root= for the root
 * drive), so a user's own root= earlier on the line is overridden. */
static char *builder_cmdline(struct vmm *vmm, const char *devices,
			     const char *root)
{
	const char *base = vmm->cfg->boot.boot_args ? vmm->cfg->boot.boot_args :
						      CONFIG_DEFAULT_BOOT_ARGS;
	char *s;

	if (asprintf(&s, "%s%s%s%s%s", base, *devices ? " " : "", devices,
		     *root ? " " : "", root) < 0)
		return NULL;
	return s;
}

/* The metadata service on the interfaces its config names (a restored
 * VM's too: the config came with the snapshot). */
static int builder_mmds(struct vmm *vmm, char *err, size_t errlen)
{
	const struct mmds_config *mc = &vmm->cfg->mmds;
	struct mmds *m;

	if (!mc->present)
		return 0;
	m = vmm_mmds(vmm);
	if (!m) {
		snprintf(err, errlen, "MMDS: out of memory");
		return VMM_EXIT_ERROR;
	}
	mmds_set_version(m, mc->version, mc->imds_compat);
	for (int i = 0; i < vmm->virtio.nr; i++) {
		struct virtio_dev *dev = vmm->virtio.slots[i].dev;
		const char *id = virtio_net_iface_id(dev);
		int ret;

		if (!id || !vm_config_mmds_on(vmm->cfg, id))
			continue;
		ret = virtio_net_enable_mmds(dev, m, mc->ipv4_addr);
		if (ret) {
			snprintf(err, errlen,
				 "MMDS on network interface '%s': %s", id,
				 strerror(-ret));
			return VMM_EXIT_ERROR;
		}
	}
	return 0;
}

/*
 * Attach steps both recipes share: the KVM VM with its irqchip and PIT,
 * guest RAM (fresh, or from @src for a restore), the legacy devices and the
 * virtio devices. 0 or a vmm_exit status.
 */
static int builder_machine(struct vmm *vmm,
			   const struct vmm_memory_source *src, char *err,
			   size_t errlen)
{
	uint64_t size = vmm->cfg->machine.mem_size_mib << 20;
	const struct machine_config *m = &vmm->cfg->machine;
	/* huge pages and page sharing: the host is checked before KVM */
	int ret = vmm_memory_prepare(vmm, src != NULL, src && src->fd >= 0,
				     err, errlen);
	struct guest_memory_opts mem_opts = vmm->vm.mem_opts;

	if (ret)
		return ret;
	ret = vm_create(&vmm->vm, "/dev/kvm", err, errlen);
	if (ret)
		return VMM_EXIT_KVM;
	vmm->vm.mem_opts = mem_opts; /* vm_create() starts from zero */
	if (m->vcpu_count > (uint32_t)vmm->vm.max_vcpus) {
		snprintf(err, errlen, "%u vCPUs is more than KVM allows (%d)",
			 m->vcpu_count, vmm->vm.max_vcpus);
		return VMM_EXIT_CONFIG;
	}
	vmm->vm.track_dirty = m->track_dirty_pages;
	if (!src)
		ret = vm_add_memory(&vmm->vm, size, err, errlen);
	else if (src->fd >= 0)
		ret = vm_add_memory_from_file(&vmm->vm, size, src->fd, err,
					      errlen);
	else
		ret = vm_add_memory_uffd(&vmm->vm, size, src->uffd_sock, err,
					 errlen);
	/* what the configuration asked of the host's memory, it refused */
	if (ret)
		return src || m->huge_pages != HUGE_PAGES_NONE || m->merge_pages ?
			       VMM_EXIT_CONFIG :
			       VMM_EXIT_KVM;
	vmm_memory_watch(vmm);
	vmm->vm.pio.metric_unclaimed_reads = metrics_counter("pio", "unclaimed_reads");
	vmm->vm.pio.metric_unclaimed_writes = metrics_counter("pio", "unclaimed_writes");
	vmm->vm.mmio.metric_unclaimed_reads = metrics_counter("mmio", "unclaimed_reads");
	vmm->vm.mmio.metric_unclaimed_writes = metrics_counter("mmio", "unclaimed_writes");
	ret = builder_devices(vmm, err, errlen);
	if (ret)
		return ret;
	if (virtio_devices_create(&vmm->virtio, &vmm->vm, &vmm->loop, vmm->cfg,
				  &vmm->devices, err, errlen))
		return VMM_EXIT_CONFIG;
	return builder_mmds(vmm, err, errlen);
}

int vmm_build_restored(struct vmm *vmm, const struct vm_config *cfg,
		       const struct vmm_memory_source *src, char *err,
		       size_t errlen)
{
	int ret;

	vmm->cfg = cfg;
	vmm->timer.start_ns = vmm->timer.start_ns ?: boot_timer_now_ns();
	ret = builder_machine(vmm, src, err, errlen);
	if (!ret)
		ret = builder_create_vcpus(vmm, err, errlen);
	return ret;
}

/* Opens a kernel or initrd for the loaders (util/safe_open.h: a FIFO or a
 * directory is refused at once). 0 with @img set, or a vmm_exit status. */
static int builder_open_image(const char *path, const char *what,
			      uint64_t max_size, struct boot_image *img,
			      char *err, size_t errlen)
{
	struct stat st;

	img->data = NULL;
	img->size = 0;
	img->fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG, 0, what, &st,
			    err, errlen);
	if (img->fd < 0)
		return VMM_EXIT_CONFIG;
	if ((uint64_t)st.st_size > max_size) {
		snprintf(err, errlen,
			 "%s '%s' is %llu bytes; the limit is %llu bytes", what,
			 path, (unsigned long long)st.st_size,
			 (unsigned long long)max_size);
		return VMM_EXIT_CONFIG;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "%s '%s' is empty", what, path);
		return VMM_EXIT_CONFIG;
	}
	img->size = (uint64_t)st.st_size;
	return 0;
}

static void builder_close_image(struct boot_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

int vmm_build(struct vmm *vmm, const struct vm_config *cfg, char *err,
	      size_t errlen)
{
	const struct machine_config *m = &cfg->machine;
	struct boot_image kernel = { .fd = -1 }, initrd = { .fd = -1 };
	struct acpi_config acpi = { .nr_cpus = m->vcpu_count };
	struct boot_request req = { 0 };
	struct guest_memory layout;
	struct boot_entry entry;
	uint64_t rsdp = 0;
	char *cmdline = NULL;
	int ret;

	vmm->cfg = cfg;
	vmm->timer.start_ns = vmm->timer.start_ns ?: boot_timer_now_ns();

	/* Input files first: a bad kernel is reported before KVM is touched. */
	ret = builder_open_image(cfg->boot.kernel_image_path, "kernel",
				 KERNEL_MAX_SIZE, &kernel, err, errlen);
	if (!ret && cfg->boot.initrd_path)
		ret = builder_open_image(cfg->boot.initrd_path, "initrd",
					 INITRD_MAX_SIZE, &initrd, err, errlen);
	if (ret)
		goto out;
	if (m->mem_size_mib > host_mem_mib()) {
		snprintf(err, errlen,
			 "guest memory of %llu MiB is more than the host has (%llu MiB)",
			 (unsigned long long)m->mem_size_mib,
			 (unsigned long long)host_mem_mib());
		ret = VMM_EXIT_CONFIG;
		goto out;
	}

	/* The kernel, initrd and command line are checked against the RAM
	 * layout before KVM is touched; the real load follows below. */
	cmdline = builder_cmdline(vmm, "", "");
	if (!cmdline || guest_memory_plan(&layout, m->mem_size_mib << 20)) {
		snprintf(err, errlen, "out of memory");
		ret = VMM_EXIT_ERROR;
		goto out;
	}
	req = (struct boot_request){
		.kernel = kernel,
		.initrd = initrd,
		.cmdline = cmdline,
		.check_only = true,
	};
	if (boot_load(&layout, &req, &entry, err, errlen)) {
		ret = VMM_EXIT_CONFIG;
		goto out;
	}
	free(cmdline);
	cmdline = NULL;

	ret = builder_machine(vmm, NULL, err, errlen);
	if (ret)
		goto out;
	/* The first generation (a restore makes the next ones). */
	ret = vmgenid_new_generation(&vmm->vmgenid);
	if (ret) {
		snprintf(err, errlen, "cannot create the VM generation ID: %s",
			 strerror(-ret));
		ret = VMM_EXIT_ERROR;
		goto out;
	}
	acpi.devices = vmm->devices.items;
	acpi.nr_devices = (uint32_t)vmm->devices.nr;

	ret = acpi_build(&vmm->vm.mem, &acpi, &rsdp);
	/* The MP table is only for kernels booted with acpi=off; the EBDA
	 * holds it for up to mptable_max_cpus() CPUs. */
	if (!ret && m->vcpu_count <= mptable_max_cpus())
		ret = mptable_build(&vmm->vm.mem, m->vcpu_count);
	else if (!ret)
		log_info("no MP table for %u vCPUs (at most %u): ACPI only",
			 m->vcpu_count, mptable_max_cpus());
	if (ret) {
		snprintf(err, errlen,
			 "cannot build firmware tables for %u vCPUs in %llu MiB: %s",
			 m->vcpu_count, (unsigned long long)m->mem_size_mib,
			 strerror(-ret));
		ret = VMM_EXIT_CONFIG;
		goto out;
	}

	cmdline = builder_cmdline(vmm, vmm->virtio.cmdline_devices,
				  vmm->virtio.cmdline_root);
	if (!cmdline) {
		snprintf(err, errlen, "out of memory");
		ret = VMM_EXIT_ERROR;
		goto out;
	}
	req.cmdline = cmdline;
	req.rsdp_gpa = rsdp;
	req.check_only = false;
	ret = boot_load(&vmm->vm.mem, &req, &entry, err, errlen);
	if (ret) {
		ret = VMM_EXIT_CONFIG;
		goto out;
	}
	log_info("kernel entry 0x%llx (%s), command line: %s",
		 (unsigned long long)entry.entry,
		 entry.protocol == BOOT_PVH ? "PVH" : "64-bit boot protocol",
		 cmdline);
	ret = regs_setup_memory(&vmm->vm.mem, entry.protocol);
	if (ret) {
		snprintf(err, errlen, "guest RAM too small for the boot page tables");
		ret = VMM_EXIT_CONFIG;
		goto out;
	}
	ret = builder_boot_cpus(vmm, &entry, err, errlen);
out:
	free(cmdline);
	builder_close_image(&kernel);
	builder_close_image(&initrd);
	return ret;
}
