// SPDX-License-Identifier: Apache-2.0
/* MachineConfiguration <-> struct machine_config. */
#include <errno.h>
#include <stdio.h>

#include "config/config_json.h"
#include "config/json_util.h"

#define WHAT "machine-config"
#define MAX_MEM_MIB (64ULL << 20) /* as vm_config_validate_machine() */

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

static const char *const fields[] = { "vcpu_count", "mem_size_mib", "smt",
				      "cpu_template", "track_dirty_pages",
				      "huge_pages", "merge_pages", NULL };
static const char *const cpu_templates[] = { "None", "C3", "T2", "T2S",
					     "T2CL", "T2A", "V1N1", NULL };
/* in enum huge_pages' order; "Transparent" is figment's */
static const char *const huge_pages_names[] = { "None", "Transparent", "2M", NULL };

int machine_config_from_json(const json_t *j, struct machine_config *m,
			     bool patch, char *err, size_t errlen)
{
	struct machine_config n = *m;
	uint64_t vcpus = m->vcpu_count, mem = m->mem_size_mib;
	bool dirty = false;
	int tmpl = 0, huge = (int)m->huge_pages;
	int ret;

	ret = json_check_fields(j, WHAT, fields, err, errlen);
	if (ret)
		return ret;
	if (!patch) { /* PUT: what is not given takes its default */
		n.smt = false;
		n.huge_pages = HUGE_PAGES_NONE;
		n.merge_pages = false;
	}
	ret = json_get_uint(j, WHAT, "vcpu_count", !patch, 1,
			    CONFIG_JSON_MAX_VCPUS, &vcpus, err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_uint(j, WHAT, "mem_size_mib", !patch, 1, MAX_MEM_MIB,
			    &mem, err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_bool(j, WHAT, "smt", false, &n.smt, err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_enum(j, WHAT, "cpu_template", false, cpu_templates,
			    false, &tmpl, err, errlen);
	if (ret < 0)
		return ret;
	if (tmpl)
		fail("%s: cpu_template `%s` is not supported by figment yet", WHAT,
		     cpu_templates[tmpl]);
	ret = json_get_bool(j, WHAT, "track_dirty_pages", false, &dirty, err,
			    errlen);
	if (ret < 0)
		return ret;
	if (ret == 0)
		n.track_dirty_pages = dirty;
	ret = json_get_enum(j, WHAT, "huge_pages", false, huge_pages_names, false,
			    &huge, err, errlen);
	if (ret < 0)
		return ret;
	if (ret == 0)
		n.huge_pages = (enum huge_pages)huge;
	ret = json_get_bool(j, WHAT, "merge_pages", false, &n.merge_pages, err,
			    errlen);
	if (ret < 0)
		return ret;
	n.vcpu_count = (uint32_t)vcpus;
	n.mem_size_mib = mem;
	/* The contract: with SMT, one vCPU or an even number. */
	if (n.smt && n.vcpu_count > 1 && n.vcpu_count % 2)
		fail("%s: field `vcpu_count` must be 1 or even when smt is true",
		     WHAT);
	ret = vm_config_validate_machine(&n, err, errlen);
	if (ret)
		return ret;
	*m = n;
	return 0;
}

json_t *machine_config_to_json(const struct machine_config *m)
{
	return json_pack("{s:I, s:I, s:b, s:b, s:s, s:b}", "vcpu_count",
			 (json_int_t)m->vcpu_count, "mem_size_mib",
			 (json_int_t)m->mem_size_mib, "smt", m->smt,
			 "track_dirty_pages", m->track_dirty_pages, "huge_pages",
			 huge_pages_names[m->huge_pages], "merge_pages",
			 m->merge_pages);
}
