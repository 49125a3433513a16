/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port-I/O and MMIO address ranges mapped to device callbacks. vCPU threads
 * dispatch their I/O exits here synchronously. Ranges are registered by the
 * builder before any vCPU runs and never change afterwards, so lookups take
 * no lock; each device serialises its own state.
 */
#ifndef FIGMENT_BUS_BUS_H
#define FIGMENT_BUS_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 64

/* @offset is relative to the range base; @len is 1, 2, 4 or 8. A read fills
 * @data (pre-filled with all-ones); a write consumes it. */
struct bus_ops {
	void (*read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const uint8_t *data,
		      uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t size;
	const struct bus_ops *ops;
	void *dev;
	const char *name;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	int nr_ranges;
	/* accesses nobody claimed: reads return all-ones, writes are dropped */
	uint64_t unclaimed_reads;
	uint64_t unclaimed_writes;
	/* the same counts in the metrics file, when set (util/metrics.h) */
	uint64_t *metric_unclaimed_reads;
	uint64_t *metric_unclaimed_writes;
};

/* Adds a range; -EEXIST when it overlaps one already there, -ENOSPC when
 * full, -EINVAL for an empty or wrapping range. */
int bus_register(struct bus *bus, uint64_t base, uint64_t size,
		 const struct bus_ops *ops, void *dev, const char *name);

/* Dispatches one access; returns false when no range claimed it. */
bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data,
	       uint32_t len);

#endif
