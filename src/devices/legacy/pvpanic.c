// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/pvpanic.h"

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
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

/* Its DSDT node (QEMU0001, one I/O port): Linux's pvpanic driver writes to
 * it from its panic notifier, which ends the VM with the guest crash
 * status instead of a reboot that looks like success. */
static void pvpanic_acpi_describe(const void *dev, struct aml_buf *b)
{
	uint8_t res_data[16];
	struct aml_buf res;

	(void)dev;
	aml_init(&res, res_data, sizeof(res_data));
	aml_res_io(&res, LAYOUT_PORT_PVPANIC, LAYOUT_PORT_PVPANIC, 0, 1);
	aml_res_end(&res);
	aml_device_with_crs(b, "PEVT", "QEMU0001", false, 1, &res);
}

const struct device_ops pvpanic_device_ops = {
	.kind = "pvpanic",
	.acpi_describe = pvpanic_acpi_describe,
};
