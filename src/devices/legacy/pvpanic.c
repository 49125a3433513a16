// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/pvpanic.h"

#include "util/log.h"

static void pvpanic_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	if (off == 0 && len == 1)
		data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *dev, uint64_t off, const uint8_t *data,
			  uint32_t len)
{
	struct pvpanic *p = dev;

	if (off != 0 || len != 1)
		return;
	if (data[0] & PVPANIC_PANICKED)
		p->panicked(p->opaque);
	else if (data[0] & PVPANIC_CRASH_LOADED)
		log_guest(LOG_WARN,
			  "guest kernel crashed into its crash kernel (pvpanic)");
}

const struct bus_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

const struct device_ops pvpanic_device_ops = {
	.kind = "pvpanic",
};
