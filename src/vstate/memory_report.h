/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one VM's guest RAM costs the host: resident, merged by KSM with
 * identical pages (of other VMs, or its own), handed back by the balloon,
 * never touched. Read from /proc/self/smaps (the RAM mappings' Rss and
 * hugetlb pages; mincore() where /proc is missing, as in a jail) and
 * /proc/self/ksm_stat (ksm_merging_pages; smaps' KSM or Shared lines where
 * the kernel has no ksm_stat). The parsers take text, so tests feed them
 * fixtures.
 */
#ifndef FIGMENT_VSTATE_MEMORY_REPORT_H
#define FIGMENT_VSTATE_MEMORY_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "vstate/memory.h"

#define MEMORY_REPORT_MAX_RANGES GUEST_MEMORY_MAX_REGIONS

/* A host address range of guest RAM, [start, end). */
struct memory_range {
	uint64_t start, end;
};

/* What smaps says of the mappings inside the ranges, in bytes. */
struct smaps_totals {
	uint64_t rss;	  /* Rss: 4 KiB and THP pages in host RAM */
	uint64_t hugetlb; /* Private_Hugetlb + Shared_Hugetlb (not in Rss) */
	uint64_t shared;  /* Shared_Clean + Shared_Dirty */
	uint64_t ksm;	  /* KSM: (kernels that have the line) */
	uint64_t anon_huge; /* AnonHugePages: THP */
	bool has_ksm_line;
	int mappings;	  /* how many mappings matched */
};

/* Incremental smaps parser: one line at a time (no newline needed). */
struct smaps_scan {
	const struct memory_range *ranges;
	int nr_ranges;
	bool in_ram; /* the current mapping is inside a range */
	struct smaps_totals t;
};

void smaps_scan_init(struct smaps_scan *s, const struct memory_range *ranges,
		     int nr_ranges);
void smaps_scan_line(struct smaps_scan *s, const char *line);
/* The whole of @text (smaps as read); returns the totals. */
struct smaps_totals smaps_parse_text(const char *text,
				     const struct memory_range *ranges,
				     int nr_ranges);

/* /proc/PID/ksm_stat: 0 with the two counts (pages), -ENOENT when
 * ksm_merging_pages is not in @text. */
int ksm_stat_parse(const char *text, uint64_t *merging_pages,
		   uint64_t *zero_pages);

enum memory_source { MEMORY_SRC_NONE, MEMORY_SRC_KSM_STAT, MEMORY_SRC_SMAPS,
		     MEMORY_SRC_MINCORE };

/* The inputs, as measured. */
struct memory_sample {
	uint64_t total;	   /* bytes of guest RAM */
	uint64_t resident; /* bytes in host RAM (Rss + hugetlb) */
	uint64_t merged;   /* bytes of resident that are KSM pages */
	uint64_t zero_merged; /* bytes merged with the zero page (KSM
			       * use_zero_pages): not resident */
	uint64_t balloon;  /* bytes the balloon holds */
	uint64_t huge;	   /* bytes on huge pages (THP or hugetlbfs) */
	enum memory_source resident_src, merged_src;
};

/* The report: the sample, made consistent. */
struct memory_report {
	struct memory_sample s;
	uint64_t resident, merged, balloon, untouched;
	uint64_t private_bytes; /* resident and not merged: this VM's alone */
	uint64_t huge;
};

/* The arithmetic: every figure clamped to the RAM size, untouched what
 * is neither resident, merged with the zero page, nor in the balloon. */
void memory_report_compute(const struct memory_sample *s,
			   struct memory_report *r);

/* Measures @mem (the calling process's guest RAM) with @balloon_pages
 * 4 KiB pages held by the balloon: smaps, ksm_stat, or mincore(). 0 or a
 * negative errno. */
int memory_report_collect(const struct guest_memory *mem,
			  uint64_t balloon_pages, struct memory_report *r);

const char *memory_source_name(enum memory_source s);

#endif
