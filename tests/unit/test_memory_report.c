// SPDX-License-Identifier: Apache-2.0
/*
 * The memory report: smaps and ksm_stat parsed from fixture text (the
 * kernel's formats, with and without the fields newer kernels add), the
 * arithmetic that makes the figures consistent, and a real measurement of
 * guest RAM mapped here (aligned, advised) to check the parsers against the
 * running kernel.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vstate/memory.h"
#include "vstate/memory_report.h"

#define KIB 1024ULL
#define MIB (1ULL << 20)

/* Two RAM mappings (low and high RAM) between mappings that are not RAM:
 * the heap before, a library after, and one that straddles a RAM end. */
static const char smaps_fixture[] =
	"55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]\n"
	"Size:                132 kB\n"
	"Rss:                  12 kB\n"
	"Shared_Clean:          4 kB\n"
	"KSM:                   0 kB\n"
	"VmFlags: rd wr mr mw me ac\n"
	"7f0000000000-7f0008000000 rw-p 00000000 00:00 0 \n"
	"Size:             131072 kB\n"
	"KernelPageSize:        4 kB\n"
	"MMUPageSize:           4 kB\n"
	"Rss:               20480 kB\n"
	"Pss:               18000 kB\n"
	"Shared_Clean:       1024 kB\n"
	"Shared_Dirty:       2048 kB\n"
	"Private_Clean:         0 kB\n"
	"Private_Dirty:     17408 kB\n"
	"Anonymous:         20480 kB\n"
	"KSM:                3072 kB\n"
	"AnonHugePages:      4096 kB\n"
	"Shared_Hugetlb:        0 kB\n"
	"Private_Hugetlb:       0 kB\n"
	"VmFlags: rd wr mr mw me nr mg\n"
	"7f0100000000-7f0100200000 rw-p 00000000 00:00 0 \n"
	"Size:               2048 kB\n"
	"Rss:                   8 kB\n"
	"KSM:                   4 kB\n"
	"Shared_Hugetlb:     2048 kB\n"
	"Private_Hugetlb:    4096 kB\n"
	"VmFlags: rd wr mr mw me nr mg\n"
	"7f0100200000-7f0100400000 r-xp 00000000 fe:00 1234   /usr/lib/libc.so.6\n"
	"Rss:                 999 kB\n"
	"KSM:                 999 kB\n"
	"7f01003ff000-7f0100401000 rw-p 00000000 00:00 0 \n"
	"Rss:                 777 kB\n";

static const struct memory_range ranges[] = {
	{ 0x7f0000000000ULL, 0x7f0008000000ULL },
	{ 0x7f0100000000ULL, 0x7f0100400000ULL },
};

Test(smaps, sums_only_the_mappings_inside_guest_ram)
{
	struct smaps_totals t = smaps_parse_text(smaps_fixture, ranges, 2);

	/* the library lies inside the second range: it counts (a RAM range
	 * holds only RAM in figment; the parser is told what is RAM) */
	cr_expect_eq(t.mappings, 3);
	cr_expect_eq(t.rss, (20480 + 8 + 999) * KIB);
	cr_expect_eq(t.ksm, (3072 + 4 + 999) * KIB);
	cr_expect(t.has_ksm_line);
	cr_expect_eq(t.shared, (1024 + 2048) * KIB);
	cr_expect_eq(t.anon_huge, 4096 * KIB);
	cr_expect_eq(t.hugetlb, (2048 + 4096) * KIB);
}

Test(smaps, straddling_and_outside_mappings_do_not_count)
{
	static const struct memory_range one[] = {
		{ 0x7f0000000000ULL, 0x7f0008000000ULL },
	};
	struct smaps_totals t = smaps_parse_text(smaps_fixture, one, 1);

	cr_expect_eq(t.mappings, 1);
	cr_expect_eq(t.rss, 20480 * KIB);
	cr_expect_eq(t.ksm, 3072 * KIB);
	t = smaps_parse_text(smaps_fixture, NULL, 0);
	cr_expect_eq(t.mappings, 0);
	cr_expect_eq(t.rss, 0);
}

Test(smaps, older_kernels_without_a_ksm_line)
{
	static const char old[] =
		"7f0000000000-7f0008000000 rw-p 00000000 00:00 0\n"
		"Rss:                4096 kB\n"
		"Shared_Clean:          0 kB\n"
		"Shared_Dirty:        512 kB\n"
		"VmFlags: rd wr mr mw me nr mg";
	struct smaps_totals t = smaps_parse_text(old, ranges, 1);

	cr_expect(!t.has_ksm_line);
	cr_expect_eq(t.rss, 4096 * KIB);
	cr_expect_eq(t.shared, 512 * KIB);
}

Test(smaps, garbage_lines_are_ignored)
{
	static const char bad[] =
		"7f0000000000-7f0008000000 rw-p 00000000 00:00 0\n"
		"Rss: lots kB\n"
		"Rss:\n"
		"Rss: 99999999999999999999 kB\n"
		"RssX: 5 kB\n"
		"Anonymous: 7 kB\n" /* starts with a hex digit */
		"Rss: 4 kB\n";
	struct smaps_totals t = smaps_parse_text(bad, ranges, 1);

	cr_expect_eq(t.mappings, 1);
	cr_expect_eq(t.rss, 4 * KIB);
}

Test(ksm_stat, merging_and_zero_pages)
{
	uint64_t merging = 1, zero = 1;

	cr_assert_eq(ksm_stat_parse("ksm_rmap_items 120\n"
				    "ksm_zero_pages 7\n"
				    "ksm_merging_pages 42\n"
				    "ksm_process_profit 1000\n"
				    "ksm_merge_any: no\n"
				    "ksm_mergeable: yes\n",
				    &merging, &zero),
		     0);
	cr_expect_eq(merging, 42);
	cr_expect_eq(zero, 7);
	/* 6.1's file: no zero pages yet */
	cr_assert_eq(ksm_stat_parse("ksm_rmap_items 3\nksm_merging_pages 2\n",
				    &merging, &zero),
		     0);
	cr_expect_eq(merging, 2);
	cr_expect_eq(zero, 0);
	/* 5.x had only rmap items: no answer, smaps is used instead */
	cr_expect_eq(ksm_stat_parse("ksm_rmap_items 3\n", &merging, &zero),
		     -ENOENT);
	cr_expect_eq(ksm_stat_parse("", &merging, &zero), -ENOENT);
}

Test(report, arithmetic)
{
	struct memory_sample s = {
		.total = 128 * MIB, .resident = 40 * MIB, .merged = 10 * MIB,
		.zero_merged = 2 * MIB, .balloon = 30 * MIB, .huge = 4 * MIB,
	};
	struct memory_report r;

	memory_report_compute(&s, &r);
	cr_expect_eq(r.resident, 40 * MIB);
	cr_expect_eq(r.merged, 12 * MIB);
	cr_expect_eq(r.private_bytes, 30 * MIB);
	cr_expect_eq(r.balloon, 30 * MIB);
	cr_expect_eq(r.untouched, 128 * MIB - 40 * MIB - 2 * MIB - 30 * MIB);
	cr_expect_eq(r.huge, 4 * MIB);
	cr_expect_eq(r.resident + r.balloon + r.untouched + 2 * MIB, r.s.total);
}

Test(report, figures_never_add_up_to_more_than_the_ram)
{
	/* a guest that touched its balloon's pages again, a kernel count
	 * larger than the RAM: clamped, never negative */
	struct memory_sample s = {
		.total = 64 * MIB, .resident = 70 * MIB, .merged = 80 * MIB,
		.balloon = 32 * MIB, .huge = 100 * MIB,
	};
	struct memory_report r;

	memory_report_compute(&s, &r);
	cr_expect_eq(r.resident, 64 * MIB);
	cr_expect_eq(r.merged, 64 * MIB);
	cr_expect_eq(r.private_bytes, 0);
	cr_expect_eq(r.balloon, 0);
	cr_expect_eq(r.untouched, 0);
	cr_expect_eq(r.huge, 64 * MIB);
	s = (struct memory_sample){ .total = 64 * MIB, .resident = 8 * MIB,
				    .balloon = 60 * MIB };
	memory_report_compute(&s, &r);
	cr_expect_eq(r.balloon, 56 * MIB);
	cr_expect_eq(r.untouched, 0);
}

Test(report, measures_real_guest_ram)
{
	struct guest_memory_opts o = { .pages = GUEST_PAGES_4K,
				       .mergeable = true };
	struct guest_memory mem;
	struct memory_report r;
	char err[256];

	cr_assert_eq(guest_memory_create_with(&mem, 32 * MIB, &o, err,
					      sizeof(err)),
		     0, "%s", err);
	/* aligned to 2 MiB in any mode (THP and KVM's huge mappings) */
	cr_expect_eq((uintptr_t)mem.regions[0].host % (2 * MIB), 0);
	cr_expect(mem.opts.mergeable);
	cr_assert_eq(memory_report_collect(&mem, 0, &r), 0);
	cr_expect_eq(r.s.total, 32 * MIB);
	cr_expect_lt(r.resident, 1 * MIB, "%llu", (unsigned long long)r.resident);
	for (int i = 0; i < 1024; i++) /* 4 MiB */
		mem.regions[0].host[i * 4096] = (uint8_t)(i + 1);
	cr_assert_eq(memory_report_collect(&mem, 256, &r), 0);
	cr_expect_geq(r.resident, 4 * MIB);
	cr_expect_lt(r.resident, 5 * MIB);
	cr_expect_eq(r.balloon, 1 * MIB);
	cr_expect_eq(r.resident + r.balloon + r.untouched, 32 * MIB);
	cr_expect_neq(r.s.resident_src, MEMORY_SRC_NONE);
	guest_memory_destroy(&mem);
}

Test(report, hugetlb_ram_without_free_pages_fails_clearly)
{
	struct guest_memory_opts o = { .pages = GUEST_PAGES_HUGETLB };
	struct guest_memory mem;
	char err[256] = "";
	long have = guest_memory_free_huge_pages();

	/* not a multiple of 2 MiB */
	cr_expect_eq(guest_memory_create_with(&mem, 3 * MIB, &o, err,
					      sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "2 MiB"), "%s", err);
	if (have < 0 || have >= 8)
		cr_skip_test("the host has %ld free huge pages", have);
	cr_expect_neq(guest_memory_create_with(&mem, 16 * MIB, &o, err,
					       sizeof(err)),
		      0);
	cr_expect(strstr(err, "huge pages") && strstr(err, "nr_hugepages"),
		  "%s", err);
}
