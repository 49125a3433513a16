/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The validated description of one microVM: what the CLI flags, the
 * --config-file and the API all build, and what the builder consumes.
 * Field names follow Firecracker's API where one exists.
 */
#ifndef FIGMENT_CONFIG_VM_CONFIG_H
#define FIGMENT_CONFIG_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_DRIVES 16
#define CONFIG_ID_MAX 64
#define CONFIG_ERR_MAX 256

struct machine_config {
	uint32_t vcpu_count;   /* 1..KVM's limit */
	uint64_t mem_size_mib; /* >= 1 */
	bool smt;
	/* CPUID hypervisor vendor leaf 0x40000000: NULL = "KVMKVMKVM" (what
	 * kvm-clock needs), "" = hidden (no hypervisor bit), else up to 12
	 * characters. */
	char *hypervisor_vendor;
	bool hide_hypervisor;
};

struct boot_source_config {
	char *kernel_image_path;
	char *initrd_path; /* NULL: none */
	char *boot_args;   /* NULL: the default command line */
};

enum drive_cache { DRIVE_CACHE_UNSAFE, DRIVE_CACHE_WRITEBACK };

struct drive_config {
	char id[CONFIG_ID_MAX + 1];
	char *path_on_host;
	bool is_root_device;
	bool is_read_only;
	char *serial; /* the ID string the guest reads; NULL: the drive id */
	enum drive_cache cache_type;
};

enum serial_mode { SERIAL_STDIO, SERIAL_NONE, SERIAL_FILE };

struct serial_config {
	enum serial_mode mode;
	char *path; /* SERIAL_FILE */
};

struct vm_config {
	struct machine_config machine;
	struct boot_source_config boot;
	struct drive_config drives[CONFIG_MAX_DRIVES];
	int nr_drives;
	bool entropy; /* virtio-rng */
	struct serial_config serial;
	bool boot_timer; /* log the boot-marker time */
};

#define CONFIG_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"

/* Fills defaults (1 vCPU, 128 MiB, serial on stdio). */
void vm_config_init(struct vm_config *cfg);
/* Frees the strings the config owns. */
void vm_config_free(struct vm_config *cfg);

/*
 * Checks what can be checked without KVM or files (ranges, required fields).
 * Returns 0, or -EINVAL with a one-line reason in @err.
 */
int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen);

#endif
