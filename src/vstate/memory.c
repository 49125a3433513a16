// SPDX-License-Identifier: Apache-2.0
#include "vstate/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "util/checked.h"

static int map_region(struct guest_region *r, uint64_t gpa, uint64_t size)
{
	/* MAP_NORESERVE: guest RAM is touched lazily; the host only pays for
	 * pages the guest uses. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	r->gpa = gpa;
	r->size = size;
	r->host = p;
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

int guest_memory_create(struct guest_memory *mem, uint64_t size)
{
	struct guest_memory plan;
	int ret = guest_memory_plan(&plan, size);

	memset(mem, 0, sizeof(*mem));
	if (ret)
		return ret;
	for (int i = 0; i < plan.nr_regions; i++) {
		ret = map_region(&mem->regions[i], plan.regions[i].gpa,
				 plan.regions[i].size);
		if (ret) {
			guest_memory_destroy(mem);
			return ret;
		}
		mem->nr_regions++;
	}
	mem->total = size;
	return 0;
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
