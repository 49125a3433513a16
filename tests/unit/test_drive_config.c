// SPDX-License-Identifier: Apache-2.0
/* --drive parsing: values, defaults and the errors a user sees. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/drive_config.h"

static struct drive_config d;
static char err[256];

static void fini(void)
{
	free(d.path_on_host);
	free(d.serial);
	memset(&d, 0, sizeof(d));
}

TestSuite(drive_config, .fini = fini);

static void expect_error(const char *spec, const char *needle)
{
	err[0] = '\0';
	cr_assert_lt(drive_config_parse(spec, &d, err, sizeof(err)), 0,
		     "accepted '%s'", spec);
	cr_assert(strstr(err, needle), "'%s': error '%s' lacks '%s'", spec,
		  err, needle);
	cr_assert_null(d.path_on_host);
	cr_assert_null(d.serial);
	cr_assert_eq(d.id[0], '\0');
}

Test(drive_config, full)
{
	cr_assert_eq(drive_config_parse("id=root,path=rootfs.ext4,root=on,"
					"readonly=on,serial=XYZ,cache=writeback",
					&d, err, sizeof(err)), 0);
	cr_assert_str_eq(d.id, "root");
	cr_assert_str_eq(d.path_on_host, "rootfs.ext4");
	cr_assert(d.is_root_device);
	cr_assert(d.is_read_only);
	cr_assert_str_eq(d.serial, "XYZ");
	cr_assert_eq(d.cache_type, DRIVE_CACHE_WRITEBACK);
}

Test(drive_config, defaults)
{
	cr_assert_eq(drive_config_parse("path=/a/b=c.img,id=data_1", &d, err,
					sizeof(err)), 0);
	cr_assert_str_eq(d.id, "data_1");
	cr_assert_str_eq(d.path_on_host, "/a/b=c.img");
	cr_assert_not(d.is_root_device);
	cr_assert_not(d.is_read_only);
	cr_assert_null(d.serial);
	cr_assert_eq(d.cache_type, DRIVE_CACHE_UNSAFE);
}

Test(drive_config, booleans)
{
	const char *yes[] = { "on", "true", "yes", "1" };
	const char *no[] = { "off", "false", "no", "0" };
	char spec[64];

	for (int i = 0; i < 4; i++) {
		snprintf(spec, sizeof(spec), "id=a,path=p,root=%s,readonly=%s",
			 yes[i], no[i]);
		cr_assert_eq(drive_config_parse(spec, &d, err, sizeof(err)), 0);
		cr_assert(d.is_root_device);
		cr_assert_not(d.is_read_only);
		fini();
	}
}

Test(drive_config, errors)
{
	char longid[128];

	expect_error("", "empty");
	expect_error("id=a", "no path");
	expect_error("path=x", "no id");
	expect_error("id=a,path=", "path is empty");
	expect_error("id=,path=x", "id is empty");
	expect_error("id=a,path=x,colour=red", "unknown drive option 'colour'");
	expect_error("id=a,path=x,root=maybe", "not a boolean");
	expect_error("id=a,path=x,readonly=", "not a boolean");
	expect_error("id=a,path=x,cache=none", "not unsafe or writeback");
	expect_error("id=a,path=x,id=b", "given twice");
	expect_error("id=a,path=x,", "ends with a comma");
	expect_error("id=a,,path=x", "not key=value");
	expect_error("id=a,path", "not key=value");
	expect_error("id=a b,path=x", "may only contain");
	expect_error("id=a,path=x,serial=123456789012345678901", "serial");
	memset(longid, 'x', sizeof(longid));
	memcpy(longid, "id=", 3);
	longid[3 + CONFIG_ID_MAX + 1] = '\0';
	strcat(longid, ",path=x");
	expect_error(longid, "longer than");
	longid[3 + CONFIG_ID_MAX] = '\0';
	strcat(longid, ",path=x");
	cr_assert_eq(drive_config_parse(longid, &d, err, sizeof(err)), 0);
	cr_assert_eq(strlen(d.id), CONFIG_ID_MAX);
}
