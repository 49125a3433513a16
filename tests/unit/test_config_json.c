// SPDX-License-Identifier: Apache-2.0
/* The config file and per-resource JSON decoders: each refusal names the
 * field; good documents round-trip through vm_config_to_json(). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"

static char err[CONFIG_ERR_MAX];

static json_t *parse(const char *s)
{
	json_t *j = json_decode(s, strlen(s), err, sizeof(err));

	cr_assert_not_null(j, "%s: %s", s, err);
	return j;
}

/* Decodes a MachineConfiguration PUT body; returns the result. */
static int machine(const char *s, struct machine_config *m)
{
	json_t *j = parse(s);
	int ret;

	err[0] = '\0';
	ret = machine_config_from_json(j, m, false, err, sizeof(err));
	json_decref(j);
	return ret;
}

static void expect_machine_err(const char *s, const char *needle)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cr_assert_eq(machine(s, &cfg.machine), -EINVAL, "accepted %s", s);
	cr_assert(strstr(err, needle), "'%s' lacks '%s' for %s", err, needle, s);
	/* Nothing changed on failure. */
	cr_assert_eq(cfg.machine.vcpu_count, 1);
	cr_assert_eq(cfg.machine.mem_size_mib, 128);
	vm_config_free(&cfg);
}

Test(machine_json, good)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cr_assert_eq(machine("{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true,"
			     "\"track_dirty_pages\": false, \"huge_pages\": \"None\","
			     "\"cpu_template\": \"None\"}",
			     &cfg.machine), 0, "%s", err);
	cr_assert_eq(cfg.machine.vcpu_count, 2);
	cr_assert_eq(cfg.machine.mem_size_mib, 256);
	cr_assert(cfg.machine.smt);
	vm_config_free(&cfg);
}

Test(machine_json, huge_pages_and_merge_pages)
{
	static const char *const names[] = { "None", "Transparent", "2M" };
	struct vm_config cfg;
	json_t *j;

	vm_config_init(&cfg);
	for (int i = 0; i < 3; i++) {
		char body[160];

		snprintf(body, sizeof(body),
			 "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"%s\","
			 "\"merge_pages\": %s}",
			 names[i], i == 2 ? "false" : "true");
		cr_assert_eq(machine(body, &cfg.machine), 0, "%s", err);
		cr_assert_eq(cfg.machine.huge_pages, (enum huge_pages)i);
		cr_assert_eq(cfg.machine.merge_pages, i != 2);
		j = machine_config_to_json(&cfg.machine);
		cr_assert_str_eq(json_string_value(json_object_get(j, "huge_pages")),
				 names[i]);
		cr_assert_eq(json_is_true(json_object_get(j, "merge_pages")), i != 2);
		json_decref(j);
	}
	/* PUT: what is not given is the default again */
	cr_assert_eq(machine("{\"vcpu_count\": 1, \"mem_size_mib\": 128}",
			     &cfg.machine), 0, "%s", err);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_NONE);
	cr_assert(!cfg.machine.merge_pages);
	/* PATCH: kept */
	cfg.machine.huge_pages = HUGE_PAGES_THP;
	cfg.machine.merge_pages = true;
	j = parse("{\"mem_size_mib\": 256}");
	cr_assert_eq(machine_config_from_json(j, &cfg.machine, true, err,
					      sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_THP);
	cr_assert(cfg.machine.merge_pages);
	json_decref(j);
	vm_config_free(&cfg);
}

Test(machine_json, patch_merges)
{
	struct vm_config cfg;
	json_t *j = parse("{\"mem_size_mib\": 512}");

	vm_config_init(&cfg);
	cfg.machine.vcpu_count = 4;
	cr_assert_eq(machine_config_from_json(j, &cfg.machine, true, err,
					      sizeof(err)), 0);
	cr_assert_eq(cfg.machine.vcpu_count, 4);
	cr_assert_eq(cfg.machine.mem_size_mib, 512);
	json_decref(j);
	vm_config_free(&cfg);
}

Test(machine_json, errors_name_the_field)
{
	expect_machine_err("{\"mem_size_mib\": 128}", "`vcpu_count`");
	expect_machine_err("{\"vcpu_count\": 1}", "`mem_size_mib`");
	expect_machine_err("{\"vcpu_count\": \"1\", \"mem_size_mib\": 128}",
			   "`vcpu_count` must be an integer");
	expect_machine_err("{\"vcpu_count\": 1.5, \"mem_size_mib\": 128}",
			   "`vcpu_count` must be an integer");
	expect_machine_err("{\"vcpu_count\": 0, \"mem_size_mib\": 128}",
			   "`vcpu_count` is out of range");
	expect_machine_err("{\"vcpu_count\": 33, \"mem_size_mib\": 128}",
			   "`vcpu_count` is out of range");
	expect_machine_err("{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
			   "`vcpu_count` is out of range");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 0}",
			   "`mem_size_mib` is out of range");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807}",
			   "`mem_size_mib` is out of range");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": 1}",
			   "`smt` must be a boolean");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"foo\": 1}",
			   "unknown field `foo`");
	expect_machine_err("{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}",
			   "`vcpu_count` must be 1 or even");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}",
			   "`huge_pages` must be one of");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 127, \"huge_pages\": \"2M\"}",
			   "not a multiple of 2 MiB");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\","
			   "\"merge_pages\": true}",
			   "does not work on 2M huge pages");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"merge_pages\": 1}",
			   "`merge_pages` must be a boolean");
	expect_machine_err("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}",
			   "cpu_template `T2` is not supported");
	expect_machine_err("[1, 2]", "expected a JSON object");
}

Test(json, duplicate_keys_and_bad_json)
{
	const char *dup = "{\"vcpu_count\": 1, \"vcpu_count\": 2}";

	cr_assert_null(json_decode(dup, strlen(dup), err, sizeof(err)));
	cr_assert(strstr(err, "duplicate") && strstr(err, "vcpu_count"), "%s",
		  err);
	cr_assert_null(json_decode("{} {}", 5, err, sizeof(err)));
	cr_assert_null(json_decode("{\"a\": \"\\u0000\"}", 14, err, sizeof(err)));
	cr_assert_null(json_decode("{\"a\": 99999999999999999999999}", 30, err,
				   sizeof(err)));
	cr_assert_null(json_decode("", 0, err, sizeof(err)));
}

static int drive(const char *s, struct drive_config *d)
{
	json_t *j = parse(s);
	int ret;

	err[0] = '\0';
	ret = drive_from_json(j, "drive", d, err, sizeof(err));
	json_decref(j);
	return ret;
}

static void expect_drive_err(const char *s, const char *needle)
{
	struct drive_config d;

	cr_assert_eq(drive(s, &d), -EINVAL, "accepted %s", s);
	cr_assert(strstr(err, needle), "'%s' lacks '%s' for %s", err, needle, s);
}

Test(drive_json, good)
{
	struct drive_config d;

	cr_assert_eq(drive("{\"drive_id\": \"root_fs1\", \"path_on_host\": \"/x.img\","
			   "\"is_root_device\": true, \"is_read_only\": true,"
			   "\"cache_type\": \"Writeback\", \"io_engine\": \"Sync\","
			   "\"partuuid\": \"abcd-01\", \"rate_limiter\": {\"bandwidth\":"
			   "{\"size\": 0, \"refill_time\": 100}}}",
			   &d), 0, "%s", err);
	cr_assert_str_eq(d.id, "root_fs1");
	cr_assert_str_eq(d.path_on_host, "/x.img");
	cr_assert_str_eq(d.partuuid, "abcd-01");
	cr_assert(d.is_root_device && d.is_read_only);
	cr_assert_eq(d.cache_type, DRIVE_CACHE_WRITEBACK);
	drive_config_free(&d);
}

Test(drive_json, errors_name_the_field)
{
	expect_drive_err("{\"path_on_host\": \"/x\", \"is_root_device\": true}",
			 "`drive_id`");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\"}",
			 "`is_root_device`");
	expect_drive_err("{\"drive_id\": \"a\", \"is_root_device\": true}",
			 "`path_on_host`");
	expect_drive_err("{\"drive_id\": \"a-b\", \"path_on_host\": \"/x\", \"is_root_device\": true}",
			 "`drive_id`");
	expect_drive_err("{\"drive_id\": 7, \"path_on_host\": \"/x\", \"is_root_device\": true}",
			 "`drive_id` must be a string");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": \"yes\"}",
			 "`is_root_device` must be a boolean");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, \"cache_type\": \"Fast\"}",
			 "`cache_type` must be one of");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, \"bogus\": 1}",
			 "unknown field `bogus`");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, \"socket\": \"/s\"}",
			 "not supported");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, \"io_engine\": \"Async\"}",
			 "not supported");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true,"
			 "\"rate_limiter\": {\"ops\": {\"size\": 100, \"refill_time\": 10, \"x\": 1}}}",
			 "unknown field `x`");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true,"
			 "\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 10}}}",
			 "drive.rate_limiter.ops: field `size` is out of range");
	expect_drive_err("{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true,"
			 "\"rate_limiter\": {\"ops\": {\"size\": 1}}}",
			 "missing field `refill_time`");
}

Test(drive_json, patch)
{
	char id[CONFIG_ID_MAX + 1];
	struct rate_limiter_config rl;
	bool has_rl;
	const char *path;
	json_t *j = parse("{\"drive_id\": \"d1\", \"path_on_host\": \"/new\"}");

	cr_assert_eq(drive_patch_from_json(j, id, &path, &rl, &has_rl, err,
					   sizeof(err)), 0);
	cr_assert_str_eq(id, "d1");
	cr_assert_str_eq(path, "/new");
	cr_assert_not(has_rl);
	json_decref(j);
	j = parse("{\"drive_id\": \"d1\", \"rate_limiter\": {\"bandwidth\":"
		  " {\"size\": 1048576, \"one_time_burst\": 4096, \"refill_time\": 100}}}");
	cr_assert_eq(drive_patch_from_json(j, id, &path, &rl, &has_rl, err,
					   sizeof(err)), 0, "%s", err);
	cr_assert_null(path);
	cr_assert(has_rl);
	cr_assert_eq(rl.bandwidth.size, 1048576);
	cr_assert_eq(rl.bandwidth.one_time_burst, 4096);
	cr_assert_eq(rl.bandwidth.refill_ms, 100);
	cr_assert_eq(rl.ops.size, 0);
	json_decref(j);
	j = parse("{\"drive_id\": \"d1\", \"is_read_only\": true}");
	cr_assert_eq(drive_patch_from_json(j, id, &path, &rl, &has_rl, err,
					   sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "`is_read_only`"));
	json_decref(j);
}

Test(other_json, boot_source)
{
	struct boot_source_config b = { 0 };
	json_t *j = parse("{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}");

	cr_assert_eq(boot_source_from_json(j, &b, err, sizeof(err)), 0);
	cr_assert_str_eq(b.kernel_image_path, "/k");
	cr_assert_null(b.initrd_path);
	json_decref(j);
	j = parse("{\"boot_args\": \"x\"}");
	cr_assert_eq(boot_source_from_json(j, &b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "`kernel_image_path`"));
	json_decref(j);
	j = parse("{\"kernel_image_path\": \"/k\", \"initrd_path\": false}");
	cr_assert_eq(boot_source_from_json(j, &b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "`initrd_path` must be a string"));
	cr_assert_str_eq(b.kernel_image_path, "/k"); /* unchanged */
	json_decref(j);
	free(b.kernel_image_path);
	free(b.boot_args);
}

Test(other_json, entropy_serial_logger_metrics)
{
	struct vm_config cfg;
	json_t *j;

	vm_config_init(&cfg);
	j = parse("{}");
	cr_assert_eq(entropy_from_json(j, &cfg.entropy, &cfg.entropy_rate_limiter, err,
				       sizeof(err)), 0);
	cr_assert(cfg.entropy);
	cr_assert_eq(serial_from_json(j, &cfg.serial, err, sizeof(err)), 0);
	cr_assert_eq(cfg.serial.mode, SERIAL_STDIO);
	cr_assert_eq(metrics_from_json(j, &cfg.metrics, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "`metrics_path`"));
	json_decref(j);

	j = parse("{\"serial_out_path\": \"/tmp/s\", \"rate_limiter\": {\"size\": 0, \"refill_time\": 0}}");
	cr_assert_eq(serial_from_json(j, &cfg.serial, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.serial.mode, SERIAL_FILE);
	json_decref(j);

	j = parse("{\"level\": \"debug\", \"show_level\": true}");
	cr_assert_eq(logger_from_json(j, &cfg.logger, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.logger.level, "Debug");
	json_decref(j);
	j = parse("{\"level\": \"Loud\"}");
	cr_assert_eq(logger_from_json(j, &cfg.logger, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "`level`"));
	json_decref(j);
	j = parse("{\"rate_limiter\": 5}");
	cr_assert_eq(entropy_from_json(j, &cfg.entropy, &cfg.entropy_rate_limiter, err,
				       sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "entropy.rate_limiter"), "%s", err);
	json_decref(j);
	j = parse("{\"metrics_path\": \"/m\", \"emit_id\": 3}");
	cr_assert_eq(metrics_from_json(j, &cfg.metrics, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "`emit_id`"));
	json_decref(j);
	vm_config_free(&cfg);
}

static const char *full_doc =
	"{\"boot-source\": {\"kernel_image_path\": \"/vmlinux\", \"boot_args\": \"console=ttyS0\","
	"   \"initrd_path\": \"/initrd\"},"
	" \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"/root.ext4\","
	"   \"is_root_device\": true, \"is_read_only\": false},"
	"   {\"drive_id\": \"data\", \"path_on_host\": \"/data.img\","
	"   \"is_root_device\": false, \"is_read_only\": true, \"cache_type\": \"Writeback\"}],"
	" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024},"
	" \"entropy\": {},"
	" \"logger\": {\"level\": \"Info\"},"
	" \"network-interfaces\": [], \"vsock\": null}";

Test(config_json, whole_document_round_trips)
{
	struct vm_config a, b;
	char *s1, *s2;

	vm_config_init(&a);
	vm_config_init(&b);
	cr_assert_eq(config_from_json(full_doc, strlen(full_doc), &a, err,
				      sizeof(err)), 0, "%s", err);
	cr_assert_eq(a.nr_drives, 2);
	cr_assert_eq(a.machine.vcpu_count, 2);
	cr_assert(a.entropy);
	cr_assert(a.logger.set);
	s1 = vm_config_to_json(&a);
	cr_assert_not_null(s1);
	cr_assert_eq(config_from_json(s1, strlen(s1), &b, err, sizeof(err)), 0,
		     "%s in %s", err, s1);
	s2 = vm_config_to_json(&b);
	cr_assert_str_eq(s1, s2);
	cr_assert(strstr(s1, "\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":1024"));
	cr_assert(strstr(s1, "\"network-interfaces\":[]"));
	free(s1);
	free(s2);
	vm_config_free(&a);
	vm_config_free(&b);
}

static void expect_doc_err(const char *doc, const char *needle)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cr_assert_eq(config_from_json(doc, strlen(doc), &cfg, err, sizeof(err)),
		     -EINVAL, "accepted %s", doc);
	cr_assert(strstr(err, needle), "'%s' lacks '%s'", err, needle);
	cr_assert_eq(cfg.nr_drives, 0);
	cr_assert_null(cfg.boot.kernel_image_path);
	vm_config_free(&cfg);
}

Test(config_json, document_errors)
{
	expect_doc_err("{}", "`boot-source`");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"bogus\": {}}",
		       "unknown field `bogus`");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"network-interfaces\": [{\"iface_id\": \"eth0\"}]}",
		       "host_dev_name");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"network-interfaces\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\","
		       " \"guest_mac\": \"ff:ff:ff:ff:ff:ff\"}]}",
		       "unicast");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"balloon\": {\"amount_mib\": 1}}",
		       "deflate_on_oom");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": true},"
		       "  {\"drive_id\": \"a\", \"path_on_host\": \"/b\", \"is_root_device\": false}]}",
		       "used twice");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": true},"
		       "  {\"drive_id\": \"b\", \"path_on_host\": \"/b\", \"is_root_device\": true}]}",
		       "more than one drive is the root");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\"}]}",
		       "drives[0]: missing field `is_root_device`");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": {}}",
		       "`drives` must be an array");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1,"
		       " \"mem_size_mib\": 2}}",
		       "duplicate");
	expect_doc_err("[]", "expected a JSON object");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"}", "invalid JSON");
}

Test(config_json, mmds_config_round_trips_and_is_checked)
{
	static const char doc[] =
		"{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		" \"network-interfaces\": [{\"iface_id\": \"eth0\", \"user_net\": {}}],"
		" \"mmds-config\": {\"network_interfaces\": [\"eth0\"], \"version\": \"V2\","
		" \"ipv4_address\": \"169.254.170.2\"}}";
	struct vm_config a;
	char *s;

	vm_config_init(&a);
	cr_assert_eq(config_from_json(doc, strlen(doc), &a, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert(a.mmds.present);
	cr_assert_eq(a.mmds.version, MMDS_V2);
	cr_assert_eq(a.mmds.ipv4_addr, 0xa9feaa02);
	cr_assert(vm_config_mmds_on(&a, "eth0"));
	cr_assert_not(vm_config_mmds_on(&a, "eth1"));
	s = vm_config_to_json(&a);
	cr_assert(strstr(s, "\"mmds-config\":{\"version\":\"V2\",\"network_interfaces\":[\"eth0\"],"
			    "\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":false}"),
		  "%s", s);
	free(s);
	vm_config_free(&a);
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"mmds-config\": {\"network_interfaces\": [\"eth0\"]}}",
		       "does not correspond");
	expect_doc_err("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		       " \"mmds-config\": {\"version\": \"V2\"}}",
		       "network_interfaces");
}

Test(config_json, document_keeps_cli_values_it_does_not_set)
{
	struct vm_config cfg;
	const char *doc = "{\"boot-source\": {\"kernel_image_path\": \"/k\"}}";

	vm_config_init(&cfg);
	cfg.machine.vcpu_count = 3;
	cr_assert_eq(config_from_json(doc, strlen(doc), &cfg, err, sizeof(err)), 0);
	cr_assert_eq(cfg.machine.vcpu_count, 3);
	vm_config_free(&cfg);
}
