// SPDX-License-Identifier: Apache-2.0
/* The API's configuration calls applied to the VMM's one configuration:
 * each is stored only when it is whole and its files open; a refused call
 * leaves the configuration as it was. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_apply.h"
#include "config/json_util.h"

static char err[CONFIG_ERR_MAX];
static struct vm_config cfg;
static char dir[] = "/tmp/figment-cfgapply-XXXXXX";
static char disk[64], kernel[64];

static void setup(void)
{
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(disk, sizeof(disk), "%s/d.img", dir);
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	fd = open(disk, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	fd = open(kernel, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	vm_config_init(&cfg);
}

static void teardown(void)
{
	vm_config_free(&cfg);
	unlink(disk);
	unlink(kernel);
	rmdir(dir);
}

TestSuite(config_apply, .init = setup, .fini = teardown, .timeout = 10);

static int apply(enum config_resource res, const char *id, const char *fmt,
		 const char *arg)
{
	char text[512];
	json_t *j;
	int ret;

	snprintf(text, sizeof(text), fmt, arg);
	j = json_decode(text, strlen(text), err, sizeof(err));
	cr_assert_not_null(j, "%s: %s", text, err);
	err[0] = '\0';
	ret = config_apply(&cfg, res, id, j, err, sizeof(err));
	json_decref(j);
	return ret;
}

Test(config_apply, drives_added_replaced_and_refused_whole)
{
	cr_assert_eq(apply(CONFIG_RES_DRIVE, "root",
			   "{\"drive_id\": \"root\", \"path_on_host\": \"%s\","
			   " \"is_root_device\": true, \"is_read_only\": false}",
			   disk), 0, "%s", err);
	cr_assert_eq(cfg.nr_drives, 1);
	/* the same id replaces it */
	cr_assert_eq(apply(CONFIG_RES_DRIVE, "root",
			   "{\"drive_id\": \"root\", \"path_on_host\": \"%s\","
			   " \"is_root_device\": true, \"is_read_only\": true}",
			   disk), 0, "%s", err);
	cr_assert_eq(cfg.nr_drives, 1);
	cr_assert(cfg.drives[0].is_read_only);
	/* a file that does not open fails the call, and changes nothing */
	cr_assert_eq(apply(CONFIG_RES_DRIVE, "data",
			   "{\"drive_id\": \"data\", \"path_on_host\": \"%s/none\","
			   " \"is_root_device\": false, \"is_read_only\": false}",
			   dir), -ENOENT, "%s", err);
	cr_assert_eq(cfg.nr_drives, 1);
	/* a second root device: the command line's rule */
	cr_assert_lt(apply(CONFIG_RES_DRIVE, "data",
			   "{\"drive_id\": \"data\", \"path_on_host\": \"%s\","
			   " \"is_root_device\": true, \"is_read_only\": false}",
			   disk), 0);
	cr_assert_eq(cfg.nr_drives, 1);
	/* the path's id and the body's */
	cr_assert_eq(apply(CONFIG_RES_DRIVE, "other",
			   "{\"drive_id\": \"data\", \"path_on_host\": \"%s\","
			   " \"is_root_device\": false, \"is_read_only\": false}",
			   disk), -EINVAL);
	cr_assert(strstr(err, "does not match"), "%s", err);
	cr_assert_eq(cfg.nr_drives, 1);
	/* a running drive's new file and limit are recorded */
	cr_assert_eq(config_drive_updated(&cfg, "root", "/elsewhere", NULL), 0);
	cr_assert_str_eq(cfg.drives[0].path_on_host, "/elsewhere");
	cr_assert_eq(config_drive_updated(&cfg, "nope", "/x", NULL), -ENOENT);
}

Test(config_apply, boot_source_and_machine)
{
	char *text;

	cr_assert_lt(apply(CONFIG_RES_BOOT, NULL,
			   "{\"kernel_image_path\": \"%s/none\"}", dir), 0);
	cr_assert_null(cfg.boot.kernel_image_path);
	cr_assert_eq(apply(CONFIG_RES_BOOT, NULL,
			   "{\"kernel_image_path\": \"%s\"}", kernel), 0, "%s",
		     err);
	cr_assert_str_eq(cfg.boot.kernel_image_path, kernel);
	cr_assert_eq(apply(CONFIG_RES_MACHINE, NULL,
			   "{\"vcpu_count\": 2, \"mem_size_mib\": 256%s}", ""),
		     0, "%s", err);
	/* PATCH changes only what it names */
	cr_assert_eq(apply(CONFIG_RES_MACHINE_PATCH, NULL,
			   "{\"mem_size_mib\": 512%s}", ""), 0, "%s", err);
	cr_assert_eq(cfg.machine.vcpu_count, 2);
	cr_assert_eq(cfg.machine.mem_size_mib, 512);
	text = config_to_text(&cfg, CONFIG_RES_MACHINE);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "\"mem_size_mib\":512"), "%s", text);
	free(text);
	text = config_to_text(&cfg, CONFIG_RES_ALL);
	cr_assert(strstr(text, "\"boot-source\""), "%s", text);
	free(text);
	/* reading is not a configuration call */
	cr_assert_lt(apply(CONFIG_RES_ALL, NULL, "{%s}", ""), 0);
}
