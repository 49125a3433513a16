// SPDX-License-Identifier: Apache-2.0
#include "bus/bus.h"

#include <errno.h>
#include <string.h>

#include "util/checked.h"
#include "util/metrics.h"

int bus_register(struct bus *bus, uint64_t base, uint64_t size,
		 const struct bus_ops *ops, void *dev, const char *name)
{
	uint64_t end;

	if (size == 0 || checked_add_u64(base, size, &end))
		return -EINVAL;
	if (bus->nr_ranges == BUS_MAX_RANGES)
		return -ENOSPC;
	for (int i = 0; i < bus->nr_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base < r->base + r->size && r->base < end)
			return -EEXIST;
	}
	bus->ranges[bus->nr_ranges++] = (struct bus_range){
		.base = base, .size = size, .ops = ops, .dev = dev, .name = name,
	};
	return 0;
}

/* The whole access must sit inside one range: an access straddling two
 * devices is treated as unclaimed. */
static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr,
					uint32_t len)
{
	for (int i = 0; i < bus->nr_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr >= r->base && !range_outside(addr - r->base, len, r->size))
			return r;
	}
	return NULL;
}

bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	memset(data, 0xff, len);
	if (!r || !r->ops->read) {
		__atomic_add_fetch(&bus->unclaimed_reads, 1, __ATOMIC_RELAXED);
		metrics_inc(bus->metric_unclaimed_reads);
		return r != NULL;
	}
	r->ops->read(r->dev, addr - r->base, data, len);
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data,
	       uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->write) {
		__atomic_add_fetch(&bus->unclaimed_writes, 1, __ATOMIC_RELAXED);
		metrics_inc(bus->metric_unclaimed_writes);
		return r != NULL;
	}
	r->ops->write(r->dev, addr - r->base, data, len);
	return true;
}
