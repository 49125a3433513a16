/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one or two anonymous host mappings (RAM that would overlap the
 * 32-bit MMIO gap continues at 4 GiB). Every access to guest memory from the
 * VMM goes through guest_memory_ptr() or the read/write helpers, which refuse
 * any range that is not wholly inside one region (overflow-checked).
 */
#ifndef FIGMENT_VSTATE_MEMORY_H
#define FIGMENT_VSTATE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GUEST_MEMORY_MAX_REGIONS 2
#define GUEST_HUGE_PAGE (2ULL << 20)

/* What host pages back guest RAM. */
enum guest_pages {
	GUEST_PAGES_4K,      /* ordinary pages */
	GUEST_PAGES_THP,     /* ordinary, with MADV_HUGEPAGE: the kernel may
			      * use transparent huge pages */
	GUEST_PAGES_HUGETLB, /* 2 MiB hugetlbfs pages, reserved at mmap */
};

/* How guest RAM is mapped (struct vm sets it before vm_add_memory*()). */
struct guest_memory_opts {
	enum guest_pages pages;
	bool mergeable; /* MADV_MERGEABLE: KSM may merge identical pages */
};

struct guest_region {
	uint64_t gpa;  /* guest physical start */
	uint64_t size; /* bytes */
	uint8_t *host; /* host mapping of [gpa, gpa + size) */
	/* a private mapping of a snapshot's memory file at this offset
	 * (pages the guest has not written read from the file), or pages a
	 * userfaultfd handler fills: untouched pages are not zero */
	bool from_file;
	uint64_t file_offset;
	/* With dirty tracking: one bit per page the VMM itself wrote (device
	 * buffers, used rings), which KVM's dirty log does not see; NULL
	 * without. */
	uint64_t *vmm_dirty;
};

struct guest_memory {
	struct guest_region regions[GUEST_MEMORY_MAX_REGIONS];
	int nr_regions;
	uint64_t total; /* bytes of RAM over all regions */
	/* the page-fault handler's connection (memory_uffd.c), or 0 when
	 * there is none (a zeroed struct has none): it lives as long as the
	 * RAM */
	int uffd_conn;
	struct guest_memory_opts opts; /* how it was mapped */
};

/*
 * Maps @size bytes of guest RAM, split around the MMIO gap.
 * Needs: size a non-zero multiple of 4 KiB. Returns 0 or a negative errno.
 */
int guest_memory_create(struct guest_memory *mem, uint64_t size);

/*
 * The same with @o: each region is mapped 2 MiB-aligned (so that the
 * kernel and KVM can back and map it with huge pages), on hugetlbfs pages
 * for GUEST_PAGES_HUGETLB (size then a multiple of 2 MiB; the pages are
 * reserved here, so too few free ones fail now, not with a SIGBUS later),
 * with madvise(MADV_HUGEPAGE) for THP and MADV_MERGEABLE when asked.
 * 0 or a negative errno with the reason in @err.
 */
int guest_memory_create_with(struct guest_memory *mem, uint64_t size,
			     const struct guest_memory_opts *o, char *err,
			     size_t errlen);

/* Applies @o's advice (MADV_HUGEPAGE, MADV_MERGEABLE) to every region of
 * @mem and records @o in it. 0 or a negative errno with the reason in @err. */
int guest_memory_advise(struct guest_memory *mem,
			const struct guest_memory_opts *o, char *err,
			size_t errlen);

/* @size bytes mapped PROT_READ|PROT_WRITE with @flags (@fd at @off, fd -1:
 * anonymous) at a 2 MiB-aligned address; MAP_FAILED with errno set. */
void *guest_memory_map_aligned(uint64_t size, int flags, int fd, off_t off);

/* The host page size of @mem's mappings (4 KiB, or 2 MiB on hugetlbfs). */
uint64_t guest_memory_page_size(const struct guest_memory *mem);

/* Free 2 MiB huge pages on the host (sysfs), or -1 when unknown. */
long guest_memory_free_huge_pages(void);

/* Fills in where @size bytes of guest RAM go (the regions, no host
 * mappings: host pointers are NULL and must not be used). -EINVAL for a
 * size that is 0 or not a multiple of 4 KiB. */
int guest_memory_plan(struct guest_memory *mem, uint64_t size);

/* Wraps caller-owned buffers as guest RAM (tests, fuzzers). Not unmapped by
 * guest_memory_destroy(). */
void guest_memory_init_from(struct guest_memory *mem, uint64_t gpa, void *host,
			    uint64_t size);

void guest_memory_destroy(struct guest_memory *mem);

/* Host pointer for [gpa, gpa + len) or NULL when the range is not wholly
 * inside one region. len 0 is treated as 1 byte for the check. */
void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa,
		       uint64_t len);

/* Copy to/from guest memory; 0 or -EFAULT. */
int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst,
		      uint64_t len);
int guest_memory_write(const struct guest_memory *mem, uint64_t gpa,
		       const void *src, uint64_t len);

/*
 * Snapshot memory files: guest RAM as one file, the regions one after the
 * other in guest-physical order (region i at the sum of the sizes before
 * it). The file is sparse: what the guest never touched is a hole.
 */

/* Writes @mem into the open, empty file @fd: only pages the guest has
 * touched (resident ones; for a region mapped from an earlier memory file,
 * every page that is not all zeroes), holes elsewhere. *@written gets the
 * bytes written. 0 or a negative errno with the reason in @err. */
int guest_memory_save(const struct guest_memory *mem, int fd,
		      uint64_t *written, char *err, size_t errlen);

/* As guest_memory_save(), but a page whose bit is set in @skip (one bit
 * per 4 KiB page, in file order; NULL: none) is a hole whatever it holds:
 * the pages the balloon holds are never written. */
int guest_memory_save_skip(const struct guest_memory *mem, int fd,
			   const uint64_t *skip, uint64_t *written, char *err,
			   size_t errlen);

/* Guest RAM of @size bytes (the same split as guest_memory_create()) mapped
 * privately, copy-on-write, from the memory file @fd, which must hold at
 * least @size bytes: pages load on demand and several VMs restored from one
 * file share what none of them wrote. 2 MiB-aligned, as fresh RAM. 0 or
 * a negative errno with the reason in @err. */
int guest_memory_create_from_file(struct guest_memory *mem, uint64_t size,
				  int fd, char *err, size_t errlen);

/* Guest RAM of @size bytes whose pages another process fills on first touch
 * (userfaultfd, Firecracker's handshake over the Unix socket @sock_path;
 * see memory_uffd.c). 0 or a negative errno with the reason in @err. */
int guest_memory_create_uffd(struct guest_memory *mem, uint64_t size,
			     const struct guest_memory_opts *o,
			     const char *sock_path, char *err, size_t errlen);

/* Dirty tracking of the VMM's own writes (see guest_region.vmm_dirty):
 * allocates the bitmaps; 0 or -ENOMEM. */
int guest_memory_track_dirty(struct guest_memory *mem);

/* Marks [@gpa, @gpa + @len) as written by the VMM; nothing without
 * tracking. Any thread. */
void guest_memory_mark_dirty(const struct guest_memory *mem, uint64_t gpa,
			     uint64_t len);

/* End of the RAM region that starts at 0 (the low region). */
uint64_t guest_memory_low_end(const struct guest_memory *mem);

#endif
