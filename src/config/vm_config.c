// SPDX-License-Identifier: Apache-2.0
#include "config/vm_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Guest RAM above this needs more than 46 bits of guest physical space. */
#define CONFIG_MAX_MEM_MIB (64ULL << 20) /* 64 TiB */
#define CONFIG_MAX_VCPUS 254 /* xAPIC IDs, MP table, one byte */

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->serial.mode = SERIAL_STDIO;
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->machine.hypervisor_vendor);
	free(cfg->boot.kernel_image_path);
	free(cfg->boot.initrd_path);
	free(cfg->boot.boot_args);
	for (int i = 0; i < cfg->nr_drives; i++) {
		free(cfg->drives[i].path_on_host);
		free(cfg->drives[i].serial);
	}
	free(cfg->serial.path);
	memset(cfg, 0, sizeof(*cfg));
}

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct machine_config *m = &cfg->machine;
	int roots = 0;

	if (m->vcpu_count < 1 || m->vcpu_count > CONFIG_MAX_VCPUS)
		fail("vcpu count %u is out of range (1 to %u)", m->vcpu_count,
		     CONFIG_MAX_VCPUS);
	if (m->mem_size_mib < 1 || m->mem_size_mib > CONFIG_MAX_MEM_MIB)
		fail("memory size %llu MiB is out of range (1 to %llu MiB)",
		     (unsigned long long)m->mem_size_mib,
		     (unsigned long long)CONFIG_MAX_MEM_MIB);
	if (m->hypervisor_vendor && strlen(m->hypervisor_vendor) > 12)
		fail("hypervisor vendor '%s' is longer than 12 characters",
		     m->hypervisor_vendor);
	if (!cfg->boot.kernel_image_path || !*cfg->boot.kernel_image_path)
		fail("no kernel given");
	if (cfg->nr_drives < 0 || cfg->nr_drives > CONFIG_MAX_DRIVES)
		fail("too many drives (at most %d)", CONFIG_MAX_DRIVES);
	for (int i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];

		if (!d->id[0])
			fail("drive %d has no id", i);
		if (!d->path_on_host || !*d->path_on_host)
			fail("drive '%s' has no path", d->id);
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->drives[j].id, d->id))
				fail("drive id '%s' is used twice", d->id);
		roots += d->is_root_device;
	}
	if (roots > 1)
		fail("more than one drive is the root device");
	if (cfg->serial.mode == SERIAL_FILE &&
	    (!cfg->serial.path || !*cfg->serial.path))
		fail("serial output file has no path");
	return 0;
}
