// SPDX-License-Identifier: Apache-2.0
/* The balloon's pages: where a guest page sits in the held bitmap, and
 * giving pages back to the host. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/virtio_balloon.h>

#include "devices/virtio/balloon/balloon_priv.h"

bool balloon_page_index(const struct guest_memory *mem, uint64_t gpa,
			uint64_t *idx)
{
	uint64_t base = 0;

	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    r->size - (gpa - r->gpa) >= BALLOON_PAGE) {
			*idx = (base + (gpa - r->gpa)) / BALLOON_PAGE;
			return true;
		}
		base += r->size;
	}
	return false;
}

bool balloon_keep_contents(const struct virtio_balloon *b)
{
	return (b->vdev.driver_features &
		(1ULL << VIRTIO_BALLOON_F_PAGE_POISON)) &&
	       b->poison_val != 0;
}

int balloon_discard(struct virtio_balloon *b, uint64_t gpa, uint64_t len)
{
	const struct guest_memory *mem = b->vdev.mem;
	uint64_t start = (gpa + BALLOON_PAGE - 1) & ~(BALLOON_PAGE - 1);
	uint64_t end = (gpa + len) & ~(BALLOON_PAGE - 1);

	if (end <= start)
		return 0; /* no whole page */
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint8_t *host;

		if (start < r->gpa || end - r->gpa > r->size ||
		    start - r->gpa >= r->size)
			continue;
		host = r->host + (start - r->gpa);
		len = end - start;
		/* RAM a test or fuzzer gave, not page-aligned: zero it */
		if ((uintptr_t)host % BALLOON_PAGE) {
			memset(host, 0, len);
			return 0;
		}
		/* Mapped privately from a snapshot's memory file: DONTNEED
		 * would bring the file's page back, so map fresh anonymous
		 * pages over the range instead (its file pages stay shared
		 * with other clones). A userfaultfd handler's RAM takes
		 * DONTNEED: its next touch is a fault it serves. */
		if (r->from_file && !mem->uffd_conn) {
			void *p = mmap(host, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS |
					       MAP_NORESERVE | MAP_FIXED,
				       -1, 0);

			return p == MAP_FAILED ? -errno : 0;
		}
		/* Shared RAM (a memfd, hugetlbfs) keeps its pages in the
		 * file under DONTNEED: MADV_REMOVE frees them. Anonymous
		 * private RAM refuses it once, then DONTNEED is used. */
		if (b->remove_ok[i] >= 0) {
			if (!madvise(host, len, MADV_REMOVE)) {
				b->remove_ok[i] = 1;
				return 0;
			}
			if (b->remove_ok[i] == 0 &&
			    (errno == EINVAL || errno == EACCES ||
			     errno == EOPNOTSUPP))
				b->remove_ok[i] = -1;
			else
				return -errno;
		}
		return madvise(host, len, MADV_DONTNEED) ? -errno : 0;
	}
	return -EFAULT;
}
