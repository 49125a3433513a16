// SPDX-License-Identifier: Apache-2.0
/* What guest RAM costs the host (see memory_report.h). */
#include "vstate/memory_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096ULL
#define SCAN_PAGES 4096 /* mincore() window: 16 MiB */

void smaps_scan_init(struct smaps_scan *s, const struct memory_range *ranges,
		     int nr_ranges)
{
	memset(s, 0, sizeof(*s));
	s->ranges = ranges;
	s->nr_ranges = nr_ranges;
}

/* "Key:   N kB" into bytes; false when @line is not @key's line. */
static bool field_kb(const char *line, const char *key, uint64_t *bytes)
{
	size_t n = strlen(key);
	unsigned long long kb;

	if (strncmp(line, key, n) || line[n] != ':')
		return false;
	if (sscanf(line + n + 1, " %llu kB", &kb) != 1 || kb > UINT64_MAX / 1024)
		return false;
	*bytes = kb * 1024;
	return true;
}

void smaps_scan_line(struct smaps_scan *s, const char *line)
{
	uint64_t start, end, v;

	/* A mapping's first line: "start-end perms offset dev inode path".
	 * (A field line never parses as two hex numbers with a dash.) */
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &start, &end) == 2) {
		s->in_ram = false;
		for (int i = 0; i < s->nr_ranges; i++) {
			if (start >= s->ranges[i].start && end <= s->ranges[i].end &&
			    start < end) {
				s->in_ram = true;
				s->t.mappings++;
				break;
			}
		}
		return;
	}
	if (!s->in_ram)
		return;
	if (field_kb(line, "Rss", &v))
		s->t.rss += v;
	else if (field_kb(line, "Private_Hugetlb", &v) ||
		 field_kb(line, "Shared_Hugetlb", &v))
		s->t.hugetlb += v;
	else if (field_kb(line, "Shared_Clean", &v) ||
		 field_kb(line, "Shared_Dirty", &v))
		s->t.shared += v;
	else if (field_kb(line, "AnonHugePages", &v))
		s->t.anon_huge += v;
	else if (field_kb(line, "KSM", &v)) {
		s->t.ksm += v;
		s->t.has_ksm_line = true;
	}
}

struct smaps_totals smaps_parse_text(const char *text,
				     const struct memory_range *ranges,
				     int nr_ranges)
{
	struct smaps_scan s;
	char line[512];

	smaps_scan_init(&s, ranges, nr_ranges);
	while (*text) {
		size_t n = strcspn(text, "\n");
		size_t k = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

		memcpy(line, text, k);
		line[k] = '\0';
		smaps_scan_line(&s, line);
		text += n;
		if (*text == '\n')
			text++;
	}
	return s.t;
}

int ksm_stat_parse(const char *text, uint64_t *merging_pages,
		   uint64_t *zero_pages)
{
	bool found = false;

	*merging_pages = *zero_pages = 0;
	while (*text) {
		unsigned long long v;

		if (sscanf(text, "ksm_merging_pages %llu", &v) == 1) {
			*merging_pages = v;
			found = true;
		} else if (sscanf(text, "ksm_zero_pages %llu", &v) == 1) {
			*zero_pages = v;
		}
		text += strcspn(text, "\n");
		if (*text == '\n')
			text++;
	}
	return found ? 0 : -ENOENT;
}

static uint64_t clamp(uint64_t v, uint64_t max)
{
	return v < max ? v : max;
}

void memory_report_compute(const struct memory_sample *s,
			   struct memory_report *r)
{
	uint64_t left;

	memset(r, 0, sizeof(*r));
	r->s = *s;
	r->resident = clamp(s->resident, s->total);
	/* merged pages are mapped, so part of resident; zero-page merges
	 * are not resident but merged all the same */
	r->merged = clamp(s->merged, r->resident);
	r->private_bytes = r->resident - r->merged;
	left = s->total - r->resident;
	r->merged += clamp(s->zero_merged, left);
	left -= clamp(s->zero_merged, left);
	/* a page the guest touched again after giving it to the balloon is
	 * resident: count it once */
	r->balloon = clamp(s->balloon, left);
	r->untouched = left - r->balloon;
	r->huge = clamp(s->huge, r->resident);
}

/* The whole of a small /proc file, NUL-terminated; NULL when it cannot be
 * read. */
static char *read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(4096);
	n = buf ? fread(buf, 1, 4095, f) : 0;
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static int scan_smaps(const struct guest_memory *mem, struct smaps_totals *t)
{
	struct memory_range ranges[MEMORY_REPORT_MAX_RANGES];
	struct smaps_scan s;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	for (int i = 0; i < mem->nr_regions; i++)
		ranges[i] = (struct memory_range){
			(uintptr_t)mem->regions[i].host,
			(uintptr_t)mem->regions[i].host + mem->regions[i].size,
		};
	smaps_scan_init(&s, ranges, mem->nr_regions);
	while (getline(&line, &cap, f) > 0)
		smaps_scan_line(&s, line);
	free(line);
	fclose(f);
	*t = s.t;
	return s.t.mappings ? 0 : -ENOENT;
}

static int count_mincore(const struct guest_memory *mem, uint64_t *resident)
{
	unsigned char vec[SCAN_PAGES];

	*resident = 0;
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		for (uint64_t off = 0; off < r->size; off += SCAN_PAGES * PAGE) {
			uint64_t n = (r->size - off) / PAGE;

			if (n > SCAN_PAGES)
				n = SCAN_PAGES;
			if (mincore(r->host + off, n * PAGE, vec) < 0)
				return -errno;
			for (uint64_t p = 0; p < n; p++)
				*resident += (vec[p] & 1) * PAGE;
		}
	}
	return 0;
}

int memory_report_collect(const struct guest_memory *mem,
			  uint64_t balloon_pages, struct memory_report *r)
{
	struct memory_sample s = { .total = mem->total,
				   .balloon = balloon_pages * PAGE };
	struct smaps_totals t = { 0 };
	uint64_t merging, zero;
	char *ksm;
	int ret;

	if (scan_smaps(mem, &t) == 0) {
		s.resident = t.rss + t.hugetlb;
		s.huge = t.anon_huge + t.hugetlb;
		s.resident_src = MEMORY_SRC_SMAPS;
	} else {
		ret = count_mincore(mem, &s.resident);
		if (ret)
			return ret;
		if (mem->opts.pages == GUEST_PAGES_HUGETLB)
			s.huge = s.resident;
		s.resident_src = MEMORY_SRC_MINCORE;
	}
	/* figment's only mergeable memory is guest RAM: the process's KSM
	 * counts are this VM's */
	ksm = read_small("/proc/self/ksm_stat");
	if (ksm && ksm_stat_parse(ksm, &merging, &zero) == 0) {
		s.merged = merging * PAGE;
		s.zero_merged = zero * PAGE;
		s.merged_src = MEMORY_SRC_KSM_STAT;
	} else if (s.resident_src == MEMORY_SRC_SMAPS) {
		/* anonymous private RAM is shared only through KSM */
		s.merged = t.has_ksm_line ? t.ksm : t.shared;
		s.merged_src = MEMORY_SRC_SMAPS;
	}
	free(ksm);
	memory_report_compute(&s, r);
	return 0;
}

const char *memory_source_name(enum memory_source s)
{
	switch (s) {
	case MEMORY_SRC_KSM_STAT: return "ksm_stat";
	case MEMORY_SRC_SMAPS: return "smaps";
	case MEMORY_SRC_MINCORE: return "mincore";
	default: return "none";
	}
}
