// SPDX-License-Identifier: Apache-2.0
/* The VM description: defaults, validation, deep copy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vm_config.h"

/* Limits private to vm_config.c, restated here on purpose. */
#define MAX_VCPUS 254
#define MAX_MEM_MIB (64ULL << 20)

static struct vm_config cfg;
static char err[CONFIG_ERR_MAX];

/* The smallest config that validates: defaults plus a kernel. */
static void setup(void)
{
	vm_config_init(&cfg);
	cfg.boot.kernel_image_path = strdup("/vmlinux");
	cr_assert_not_null(cfg.boot.kernel_image_path);
	err[0] = '\0';
}

static void teardown(void)
{
	vm_config_free(&cfg);
}

TestSuite(vm_config, .init = setup, .fini = teardown);

static struct drive_config *add_drive(const char *id, const char *path)
{
	struct drive_config *d = &cfg.drives[cfg.nr_drives++];

	snprintf(d->id, sizeof(d->id), "%s", id);
	d->path_on_host = path ? strdup(path) : NULL;
	return d;
}

/* Validation fails with -EINVAL and a reason mentioning @word. */
static void expect_invalid(const char *word)
{
	cr_expect_eq(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect_neq(err[0], '\0', "no reason given");
	cr_expect(strstr(err, word), "reason '%s' does not mention '%s'", err,
		  word);
}

static void expect_valid(void)
{
	cr_expect_eq(vm_config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(vm_config, init_fills_the_defaults)
{
	struct vm_config c;

	memset(&c, 0xa5, sizeof(c));
	vm_config_init(&c);
	cr_expect_eq(c.machine.vcpu_count, 1);
	cr_expect_eq(c.machine.mem_size_mib, 128);
	cr_expect_not(c.machine.smt);
	cr_expect_null(c.machine.hypervisor_vendor);
	cr_expect_not(c.machine.hide_hypervisor);
	cr_expect_null(c.boot.kernel_image_path);
	cr_expect_null(c.boot.initrd_path);
	cr_expect_null(c.boot.boot_args);
	cr_expect_eq(c.nr_drives, 0);
	cr_expect_not(c.entropy);
	cr_expect_eq(c.serial.mode, SERIAL_STDIO);
	cr_expect_null(c.serial.path);
	cr_expect_not(c.boot_timer);
	vm_config_free(&c);
}

Test(vm_config, defaults_with_a_kernel_are_valid)
{
	expect_valid();
}

Test(vm_config, missing_kernel_is_invalid)
{
	free(cfg.boot.kernel_image_path);
	cfg.boot.kernel_image_path = NULL;
	expect_invalid("kernel");
}

Test(vm_config, empty_kernel_path_is_invalid)
{
	cfg.boot.kernel_image_path[0] = '\0';
	expect_invalid("kernel");
}

Test(vm_config, vcpu_count_must_be_1_to_254)
{
	cfg.machine.vcpu_count = 0;
	expect_invalid("vcpu");
	cfg.machine.vcpu_count = MAX_VCPUS + 1;
	expect_invalid("vcpu");
	cfg.machine.vcpu_count = UINT32_MAX;
	expect_invalid("vcpu");
	cfg.machine.vcpu_count = 1;
	expect_valid();
	cfg.machine.vcpu_count = MAX_VCPUS;
	expect_valid();
}

Test(vm_config, memory_size_must_be_in_range)
{
	cfg.machine.mem_size_mib = 0;
	expect_invalid("memory");
	cfg.machine.mem_size_mib = MAX_MEM_MIB + 1;
	expect_invalid("memory");
	cfg.machine.mem_size_mib = UINT64_MAX;
	expect_invalid("memory");
	cfg.machine.mem_size_mib = 1;
	expect_valid();
	cfg.machine.mem_size_mib = MAX_MEM_MIB;
	expect_valid();
}

Test(vm_config, hypervisor_vendor_is_at_most_12_characters)
{
	cfg.machine.hypervisor_vendor = strdup("123456789012");
	expect_valid();
	free(cfg.machine.hypervisor_vendor);
	cfg.machine.hypervisor_vendor = strdup("1234567890123");
	expect_invalid("vendor");
	free(cfg.machine.hypervisor_vendor);
	cfg.machine.hypervisor_vendor = strdup(""); /* hidden */
	expect_valid();
}

Test(vm_config, validate_machine_alone_checks_the_same_ranges)
{
	struct machine_config m = { .vcpu_count = 2, .mem_size_mib = 256 };

	cr_expect_eq(vm_config_validate_machine(&m, err, sizeof(err)), 0);
	m.vcpu_count = 0;
	cr_expect_eq(vm_config_validate_machine(&m, err, sizeof(err)), -EINVAL);
	m.vcpu_count = 1;
	m.mem_size_mib = 0;
	cr_expect_eq(vm_config_validate_machine(&m, err, sizeof(err)), -EINVAL);
}

Test(vm_config, drives_with_distinct_ids_are_valid)
{
	add_drive("rootfs", "/root.ext4")->is_root_device = true;
	add_drive("data", "/data.ext4");
	expect_valid();
}

Test(vm_config, drive_with_an_empty_id_is_invalid)
{
	add_drive("", "/root.ext4");
	expect_invalid("id");
}

Test(vm_config, drive_without_a_path_is_invalid)
{
	add_drive("rootfs", NULL);
	expect_invalid("rootfs");
	cfg.drives[0].path_on_host = strdup("");
	expect_invalid("path");
}

Test(vm_config, duplicate_drive_ids_are_invalid)
{
	add_drive("a", "/a.ext4");
	add_drive("b", "/b.ext4");
	add_drive("a", "/c.ext4");
	expect_invalid("'a'");
}

Test(vm_config, two_root_drives_are_invalid)
{
	add_drive("a", "/a.ext4")->is_root_device = true;
	add_drive("b", "/b.ext4")->is_root_device = true;
	expect_invalid("root");
}

Test(vm_config, too_many_drives_is_invalid)
{
	cfg.nr_drives = CONFIG_MAX_DRIVES + 1;
	cr_expect_eq(vm_config_validate_drives(&cfg, err, sizeof(err)), -EINVAL);
	cfg.nr_drives = -1;
	cr_expect_eq(vm_config_validate_drives(&cfg, err, sizeof(err)), -EINVAL);
	cfg.nr_drives = 0;
}

Test(vm_config, max_drives_are_valid)
{
	char id[16];

	for (int i = 0; i < CONFIG_MAX_DRIVES; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		add_drive(id, "/disk");
	}
	expect_valid();
}

Test(vm_config, serial_file_needs_a_path)
{
	cfg.serial.mode = SERIAL_FILE;
	expect_invalid("serial");
	cfg.serial.path = strdup("");
	expect_invalid("serial");
	free(cfg.serial.path);
	cfg.serial.path = strdup("/tmp/console.log");
	expect_valid();
}

Test(vm_config, serial_none_needs_no_path)
{
	cfg.serial.mode = SERIAL_NONE;
	expect_valid();
}

Test(vm_config, reason_is_truncated_to_the_buffer)
{
	char small[8];

	cfg.machine.hypervisor_vendor = strdup("a-very-long-vendor-name");
	cr_expect_eq(vm_config_validate(&cfg, small, sizeof(small)), -EINVAL);
	cr_expect_eq(strlen(small), sizeof(small) - 1);
}

Test(vm_config, copy_is_deep)
{
	struct vm_config copy;

	cfg.boot.initrd_path = strdup("/initrd");
	add_drive("rootfs", "/root.ext4")->partuuid = strdup("abcd-01");
	cr_assert_eq(vm_config_copy(&copy, &cfg), 0);
	cr_expect_str_eq(copy.boot.kernel_image_path, "/vmlinux");
	cr_expect_neq(copy.boot.kernel_image_path, cfg.boot.kernel_image_path);
	cr_expect_str_eq(copy.boot.initrd_path, "/initrd");
	cr_expect_null(copy.boot.boot_args);
	cr_expect_eq(copy.nr_drives, 1);
	cr_expect_str_eq(copy.drives[0].id, "rootfs");
	cr_expect_str_eq(copy.drives[0].path_on_host, "/root.ext4");
	cr_expect_neq(copy.drives[0].path_on_host, cfg.drives[0].path_on_host);
	cr_expect_str_eq(copy.drives[0].partuuid, "abcd-01");
	vm_config_free(&copy);
	/* the original is intact after the copy is freed */
	cr_expect_str_eq(cfg.drives[0].path_on_host, "/root.ext4");
}
