// SPDX-License-Identifier: Apache-2.0
#include "vstate/memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "util/checked.h"

/*
 * Maps @size bytes (@flags, @fd at @off; fd -1: anonymous) at a 2 MiB-aligned
 * address: a reservation 2 MiB larger, the mapping put over it at the first
 * aligned address, the rest given back. Aligned so that the guest's 2 MiB
 * frames are 2 MiB frames of the host too: THP and KVM's huge EPT entries
 * need both addresses aligned alike (unaligned RAM was why THP boots were
 * slow in the lab).
 */
void *guest_memory_map_aligned(uint64_t size, int flags, int fd, off_t off)
{
	uint64_t span = size + GUEST_HUGE_PAGE;
	uint8_t *res = mmap(NULL, span, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t at, end, res_end;
	void *p;

	if (res == MAP_FAILED)
		return MAP_FAILED;
	at = ((uintptr_t)res + GUEST_HUGE_PAGE - 1) & ~(GUEST_HUGE_PAGE - 1);
	p = mmap((void *)at, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED,
		 fd, off);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(res, span);
		errno = e;
		return MAP_FAILED;
	}
	end = at + size;
	res_end = (uintptr_t)res + span;
	if (at > (uintptr_t)res)
		munmap(res, at - (uintptr_t)res);
	if (res_end > end)
		munmap((void *)end, res_end - end);
	return p;
}

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

static int map_region(struct guest_region *r, uint64_t gpa, uint64_t size,
		      enum guest_pages pages)
{
	void *p;

	if (pages == GUEST_PAGES_HUGETLB)
		/* No MAP_NORESERVE: the huge pages are reserved now, so a
		 * host with too few fails here instead of a SIGBUS when the
		 * guest touches one. The kernel aligns hugetlb mappings. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
			 -1, 0);
	else
		/* MAP_NORESERVE: guest RAM is touched lazily; the host only
		 * pays for pages the guest uses. */
		p = guest_memory_map_aligned(size,
					     MAP_PRIVATE | MAP_ANONYMOUS |
						     MAP_NORESERVE,
					     -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->gpa = gpa;
	r->size = size;
	r->host = p;
	return 0;
}

long guest_memory_free_huge_pages(void)
{
	static const char *const files[] = {
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
		"/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages",
	};
	long v[2] = { -1, 0 };

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");

		if (!f)
			return i ? v[0] : -1;
		if (fscanf(f, "%ld", &v[i]) != 1)
			v[i] = i ? 0 : -1;
		fclose(f);
	}
	/* reserved pages are free but promised to a mapping already */
	return v[0] < 0 ? -1 : v[0] > v[1] ? v[0] - v[1] : 0;
}

uint64_t guest_memory_page_size(const struct guest_memory *mem)
{
	return mem->opts.pages == GUEST_PAGES_HUGETLB ? GUEST_HUGE_PAGE : 4096;
}

int guest_memory_advise(struct guest_memory *mem,
			const struct guest_memory_opts *o, char *err,
			size_t errlen)
{
	for (int i = 0; i < mem->nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];

		if (o->pages == GUEST_PAGES_THP &&
		    madvise(r->host, r->size, MADV_HUGEPAGE) < 0) {
			snprintf(err, errlen,
				 "transparent huge pages for guest RAM: madvise(MADV_HUGEPAGE): %s (is THP built into this host's kernel?)",
				 strerror(errno));
			return -errno;
		}
		if (o->mergeable &&
		    madvise(r->host, r->size, MADV_MERGEABLE) < 0) {
			snprintf(err, errlen,
				 "page sharing for guest RAM: madvise(MADV_MERGEABLE): %s (is KSM built into this host's kernel?)",
				 strerror(errno));
			return -errno;
		}
	}
	mem->opts = *o;
	return 0;
}

int guest_memory_plan(struct guest_memory *mem, uint64_t size)
{
	uint64_t low = size;

	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % 4096)
		return -EINVAL;
	if (low > LAYOUT_MMIO_GAP_START)
		low = LAYOUT_MMIO_GAP_START;
	mem->regions[0] = (struct guest_region){ .gpa = 0, .size = low };
	mem->nr_regions = 1;
	if (size > low) {
		mem->regions[1] = (struct guest_region){
			.gpa = LAYOUT_HIGH_RAM_START, .size = size - low,
		};
		mem->nr_regions = 2;
	}
	mem->total = size;
	return 0;
}

int guest_memory_create_with(struct guest_memory *mem, uint64_t size,
			     const struct guest_memory_opts *o, char *err,
			     size_t errlen)
{
	struct guest_memory plan;
	int ret = guest_memory_plan(&plan, size);

	memset(mem, 0, sizeof(*mem));
	if (!ret && o->pages == GUEST_PAGES_HUGETLB && size % GUEST_HUGE_PAGE)
		ret = -EINVAL;
	if (ret) {
		snprintf(err, errlen, "guest RAM of %llu bytes is not a multiple of %s",
			 (unsigned long long)size,
			 o->pages == GUEST_PAGES_HUGETLB ? "2 MiB (huge pages)" : "4 KiB");
		return ret;
	}
	for (int i = 0; i < plan.nr_regions; i++) {
		ret = map_region(&mem->regions[i], plan.regions[i].gpa,
				 plan.regions[i].size, o->pages);
		if (ret) {
			long free_pages = guest_memory_free_huge_pages();

			if (o->pages == GUEST_PAGES_HUGETLB)
				snprintf(err, errlen,
					 "cannot map %llu MiB of guest RAM on 2 MiB huge pages: %s; it needs %llu free huge pages, the host has %ld (reserve them with /proc/sys/vm/nr_hugepages)",
					 (unsigned long long)(size >> 20),
					 strerror(-ret),
					 (unsigned long long)(size / GUEST_HUGE_PAGE),
					 free_pages);
			else
				snprintf(err, errlen, "cannot map %llu MiB of guest RAM: %s",
					 (unsigned long long)(size >> 20),
					 strerror(-ret));
			guest_memory_destroy(mem);
			return ret;
		}
		mem->nr_regions++;
	}
	mem->total = size;
	ret = guest_memory_advise(mem, o, err, errlen);
	if (ret)
		guest_memory_destroy(mem);
	return ret;
}

int guest_memory_create(struct guest_memory *mem, uint64_t size)
{
	static const struct guest_memory_opts plain = { 0 };
	char err[160];

	return guest_memory_create_with(mem, size, &plain, err, sizeof(err));
}

void guest_memory_init_from(struct guest_memory *mem, uint64_t gpa, void *host,
			    uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->regions[0].gpa = gpa;
	mem->regions[0].size = size;
	mem->regions[0].host = host;
	mem->nr_regions = 1;
	mem->total = size;
}

void guest_memory_destroy(struct guest_memory *mem)
{
	if (mem->uffd_conn > 0)
		close(mem->uffd_conn);
	for (int i = 0; i < mem->nr_regions; i++) {
		munmap(mem->regions[i].host, mem->regions[i].size);
		free(mem->regions[i].vmm_dirty);
	}
	memset(mem, 0, sizeof(*mem));
}

void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa,
		       uint64_t len)
{
	if (len == 0)
		len = 1;
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa < r->gpa)
			continue;
		if (range_outside(gpa - r->gpa, len, r->size))
			continue;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst,
		      uint64_t len)
{
	void *src = guest_memory_ptr(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_memory_write(const struct guest_memory *mem, uint64_t gpa,
		       const void *src, uint64_t len)
{
	void *dst = guest_memory_ptr(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t guest_memory_low_end(const struct guest_memory *mem)
{
	if (mem->nr_regions == 0 || mem->regions[0].gpa != 0)
		return 0;
	return mem->regions[0].size;
}

int guest_memory_track_dirty(struct guest_memory *mem)
{
	for (int i = 0; i < mem->nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];
		uint64_t pages = r->size / 4096;

		if (r->vmm_dirty)
			continue;
		r->vmm_dirty = calloc((pages + 63) / 64, sizeof(uint64_t));
		if (!r->vmm_dirty)
			return -ENOMEM;
	}
	return 0;
}

void guest_memory_mark_dirty(const struct guest_memory *mem, uint64_t gpa,
			     uint64_t len)
{
	if (len == 0)
		return;
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t first, last;

		if (!r->vmm_dirty || gpa < r->gpa ||
		    range_outside(gpa - r->gpa, len, r->size))
			continue;
		first = (gpa - r->gpa) / 4096;
		last = (gpa - r->gpa + len - 1) / 4096;
		for (uint64_t p = first; p <= last; p++)
			__atomic_or_fetch(&r->vmm_dirty[p / 64], 1ULL << (p % 64),
					  __ATOMIC_RELAXED);
		return;
	}
}
