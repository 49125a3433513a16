// SPDX-License-Identifier: Apache-2.0
/* Guest RAM to and from a snapshot's memory file (see memory.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vstate/memory.h"

#define PAGE 4096ULL
#define SCAN_PAGES 4096 /* mincore() window: 16 MiB */

static int write_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return memcmp(p, zero, PAGE) == 0;
}

static bool skipped(const uint64_t *skip, uint64_t page)
{
	return skip && (skip[page / 64] & (1ULL << (page % 64)));
}

/* Writes the pages of @r worth keeping at @base in the file, coalescing
 * neighbours into one write; none that @skip marks. */
static int save_region(const struct guest_region *r, int fd, uint64_t base,
		       const uint64_t *skip, uint64_t *written)
{
	unsigned char vec[SCAN_PAGES];
	uint64_t run_start = 0, run_len = 0;
	int ret;

	for (uint64_t off = 0; off < r->size; off += SCAN_PAGES * PAGE) {
		uint64_t n = (r->size - off) / PAGE;

		if (n > SCAN_PAGES)
			n = SCAN_PAGES;
		if (!r->from_file && mincore(r->host + off, n * PAGE, vec) < 0)
			return -errno;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t p = off + i * PAGE;
			bool keep = skipped(skip, (base + p) / PAGE) ? false :
				    r->from_file ? !page_is_zero(r->host + p) :
						   (vec[i] & 1);

			if (keep && run_len && run_start + run_len == p) {
				run_len += PAGE;
				continue;
			}
			if (run_len) {
				ret = write_all(fd, r->host + run_start, run_len,
						base + run_start);
				if (ret)
					return ret;
				*written += run_len;
				run_len = 0;
			}
			if (keep) {
				run_start = p;
				run_len = PAGE;
			}
		}
	}
	if (run_len) {
		ret = write_all(fd, r->host + run_start, run_len,
				base + run_start);
		if (ret)
			return ret;
		*written += run_len;
	}
	return 0;
}

int guest_memory_save(const struct guest_memory *mem, int fd,
		      uint64_t *written, char *err, size_t errlen)
{
	return guest_memory_save_skip(mem, fd, NULL, written, err, errlen);
}

int guest_memory_save_skip(const struct guest_memory *mem, int fd,
			   const uint64_t *skip, uint64_t *written, char *err,
			   size_t errlen)
{
	uint64_t base = 0;
	int ret;

	*written = 0;
	if (ftruncate(fd, (off_t)mem->total) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot size the memory file: %s",
			 strerror(errno));
		return ret;
	}
	for (int i = 0; i < mem->nr_regions; i++) {
		ret = save_region(&mem->regions[i], fd, base, skip, written);
		if (ret) {
			snprintf(err, errlen, "cannot write guest memory: %s",
				 strerror(-ret));
			return ret;
		}
		base += mem->regions[i].size;
	}
	return 0;
}

int guest_memory_create_from_file(struct guest_memory *mem, uint64_t size,
				  int fd, char *err, size_t errlen)
{
	struct guest_memory plan;
	uint64_t off = 0;
	struct stat st;
	int ret;

	memset(mem, 0, sizeof(*mem));
	ret = guest_memory_plan(&plan, size);
	if (ret) {
		snprintf(err, errlen, "bad guest memory size %llu",
			 (unsigned long long)size);
		return ret;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < size) {
		snprintf(err, errlen,
			 "the memory file has %llu bytes; the snapshot's guest has %llu",
			 (unsigned long long)st.st_size, (unsigned long long)size);
		return -EINVAL;
	}
	for (int i = 0; i < plan.nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];
		/* MAP_NORESERVE as for fresh RAM: only written pages cost;
		 * aligned as fresh RAM is (memory.c). */
		void *p = guest_memory_map_aligned(plan.regions[i].size,
						   MAP_PRIVATE | MAP_NORESERVE,
						   fd, (off_t)off);

		if (p == MAP_FAILED) {
			ret = -errno;
			snprintf(err, errlen, "cannot map the memory file: %s",
				 strerror(errno));
			guest_memory_destroy(mem);
			return ret;
		}
		*r = plan.regions[i];
		r->host = p;
		r->from_file = true;
		r->file_offset = off;
		mem->nr_regions++;
		off += r->size;
	}
	mem->total = size;
	return 0;
}
