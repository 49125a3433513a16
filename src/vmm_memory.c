// SPDX-License-Identifier: Apache-2.0
/* Guest memory policy and the memory report, for the VMM (vmm_memory.h). */
#include "vmm_memory.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio/balloon/balloon.h"
#include "util/metrics.h"

static const char *const huge_names[] = { "None", "Transparent", "2M" };

int vmm_memory_prepare(struct vmm *vmm, bool restore, bool from_file,
		       char *err, size_t errlen)
{
	const struct machine_config *m = &vmm->cfg->machine;
	uint64_t need = (m->mem_size_mib << 20) / GUEST_HUGE_PAGE;
	long have;

	vmm->vm.mem_opts = (struct guest_memory_opts){
		.pages = m->huge_pages == HUGE_PAGES_2M ? GUEST_PAGES_HUGETLB :
			 m->huge_pages == HUGE_PAGES_THP ? GUEST_PAGES_THP :
							   GUEST_PAGES_4K,
		.mergeable = m->merge_pages,
	};
	if (m->huge_pages != HUGE_PAGES_2M)
		return 0;
	if (restore && from_file) {
		/* as Firecracker: a private mapping of a regular file cannot
		 * be on hugetlbfs pages */
		snprintf(err, errlen,
			 "the snapshot's guest RAM is on 2M huge pages: restore it with the Uffd memory backend (a page-fault handler), not from the memory file");
		return VMM_EXIT_CONFIG;
	}
	have = guest_memory_free_huge_pages();
	if (have < 0) {
		snprintf(err, errlen,
			 "2M huge pages: this host has no 2 MiB hugetlbfs pages (no /sys/kernel/mm/hugepages/hugepages-2048kB)");
		return VMM_EXIT_CONFIG;
	}
	if ((uint64_t)have < need) {
		snprintf(err, errlen,
			 "2M huge pages: %llu MiB of guest RAM needs %llu free 2 MiB huge pages; the host has %ld free (/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages). Reserve more: echo N > /proc/sys/vm/nr_hugepages",
			 (unsigned long long)m->mem_size_mib,
			 (unsigned long long)need, have);
		return VMM_EXIT_CONFIG;
	}
	return 0;
}

int vmm_memory_report(struct vmm *vmm, struct memory_report *r)
{
	struct virtio_dev *balloon = virtio_balloon_find(&vmm->devices);
	uint64_t held = balloon ? virtio_balloon_held_pages(balloon) : 0;

	if (vmm->vm.mem.nr_regions == 0)
		return -ENODEV;
	return memory_report_collect(&vmm->vm.mem, held, r);
}

/* The gauges, bytes: "memory" group of each metrics line. */
static struct {
	uint64_t *total, *resident, *merged, *balloon, *untouched, *private_,
		*huge;
} gauges;

void vmm_memory_refresh_metrics(struct vmm *vmm)
{
	struct memory_report r;

	if (!gauges.total || vmm_memory_report(vmm, &r))
		return;
	metrics_set(gauges.total, r.s.total);
	metrics_set(gauges.resident, r.resident);
	metrics_set(gauges.merged, r.merged);
	metrics_set(gauges.balloon, r.balloon);
	metrics_set(gauges.untouched, r.untouched);
	metrics_set(gauges.private_, r.private_bytes);
	metrics_set(gauges.huge, r.huge);
}

static void refresh(void *opaque)
{
	vmm_memory_refresh_metrics(opaque);
}

void vmm_memory_watch(struct vmm *vmm)
{
	gauges.total = metrics_gauge("memory", "guest_ram_bytes");
	gauges.resident = metrics_gauge("memory", "resident_bytes");
	gauges.merged = metrics_gauge("memory", "merged_bytes");
	gauges.balloon = metrics_gauge("memory", "balloon_bytes");
	gauges.untouched = metrics_gauge("memory", "untouched_bytes");
	gauges.private_ = metrics_gauge("memory", "private_bytes");
	gauges.huge = metrics_gauge("memory", "huge_page_bytes");
	metrics_set_refresh(refresh, vmm);
	vmm_memory_refresh_metrics(vmm);
}

static void put(json_t *o, const char *name, uint64_t bytes)
{
	char key[48];

	snprintf(key, sizeof(key), "%s_bytes", name);
	json_object_set_new(o, key, json_integer((json_int_t)bytes));
	snprintf(key, sizeof(key), "%s_mib", name);
	/* two decimals: a few pages show */
	json_object_set_new(o, key,
			    json_real((double)(bytes * 100 >> 20) / 100.0));
}

char *vmm_memory_report_text(struct vmm *vmm, char *err, size_t errlen)
{
	const struct machine_config *m = &vmm->cfg->machine;
	struct memory_report r;
	json_t *o;
	char *text;
	int ret = vmm_memory_report(vmm, &r);

	if (ret) {
		snprintf(err, errlen, "cannot measure guest memory: %s",
			 ret == -ENODEV ? "there is no guest RAM" : strerror(-ret));
		return NULL;
	}
	o = json_object();
	if (!o)
		goto oom;
	put(o, "guest_ram", r.s.total);
	put(o, "resident", r.resident);
	put(o, "merged", r.merged);
	put(o, "private", r.private_bytes);
	put(o, "balloon", r.balloon);
	put(o, "untouched", r.untouched);
	put(o, "huge_page", r.huge);
	json_object_set_new(o, "merge_pages", json_boolean(m->merge_pages));
	json_object_set_new(o, "huge_pages",
			    json_string(huge_names[m->huge_pages]));
	json_object_set_new(o, "page_size",
			    json_integer((json_int_t)guest_memory_page_size(
				    &vmm->vm.mem)));
	json_object_set_new(o, "sources",
			    json_pack("{s:s, s:s}", "resident",
				      memory_source_name(r.s.resident_src),
				      "merged",
				      memory_source_name(r.s.merged_src)));
	text = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text)
		return text;
oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}
