// SPDX-License-Identifier: Apache-2.0
#include "devices/acpi/vmgenid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "arch/x86/aml.h"
#include "persist/snapshot_file.h"
#include "util/log.h"

void vmgenid_init(struct vmgenid *g, const struct guest_memory *mem,
		  uint64_t gpa, uint32_t gsi, void (*irq)(void *, int),
		  void *opaque)
{
	memset(g, 0, sizeof(*g));
	g->mem = mem;
	g->gpa = gpa;
	g->gsi = gsi;
	g->irq = irq;
	g->opaque = opaque;
}

static int vmgenid_random(uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = getrandom(p + done, len - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

int vmgenid_new_generation(struct vmgenid *g)
{
	uint8_t id[VMGENID_SIZE];
	int ret;

	/* Equal to the old one only by a 2^-128 chance, but the guest would
	 * then see no change (Linux compares): draw again. */
	do {
		ret = vmgenid_random(id, sizeof(id));
		if (ret)
			return ret;
	} while (!memcmp(id, g->id, sizeof(id)));
	ret = guest_memory_write(g->mem, g->gpa, id, sizeof(id));
	if (ret)
		return ret;
	guest_memory_mark_dirty(g->mem, g->gpa, sizeof(id));
	memcpy(g->id, id, sizeof(id));
	return 0;
}

bool vmgenid_notify(struct vmgenid *g)
{
	if (!g->notify_pending)
		return false;
	g->notify_pending = false;
	/* An edge, as the GED's _CRS declares: the line goes up and down. */
	g->irq(g->opaque, 1);
	g->irq(g->opaque, 0);
	log_info("new VM generation ID: the guest was notified (GSI %u)",
		 g->gsi);
	return true;
}

static int vmgenid_save(void *dev, struct snap_buf *b)
{
	struct vmgenid *g = dev;

	snap_put_u64(b, g->gpa);
	snap_put_u32(b, g->gsi);
	snap_put_blob(b, g->id, sizeof(g->id));
	return b->err ? -ENOMEM : 0;
}

static int vmgenid_restore(void *dev, struct snap_buf *b)
{
	struct vmgenid *g = dev;
	uint8_t id[VMGENID_SIZE];
	uint64_t gpa = 0;
	uint32_t gsi = 0, len = 0;
	int ret;

	snap_get_u64(b, &gpa);
	snap_get_u32(b, &gsi);
	snap_get_blob(b, id, sizeof(id), &len);
	/* The guest knows the address and the GSI from its DSDT, which is in
	 * the snapshot's RAM: they must be the ones this VMM uses. */
	if (!snap_get_done(b) || len != sizeof(id) || gpa != g->gpa ||
	    gsi != g->gsi)
		return -EINVAL;
	memcpy(g->id, id, sizeof(id));
	/* A restored VM is a new generation, whether this snapshot is
	 * restored once or many times: a new ID, and the guest is told. */
	ret = vmgenid_new_generation(g);
	if (ret)
		return ret;
	g->notify_pending = true;
	return 0;
}

/*
 * Two nodes. VGEN, what the guest's driver binds to: its ADDR method
 * returns the ID's address as a package of two integers (low and high 32
 * bits), as the specification and Linux's vmgenid.c want. GED_, an ACPI
 * Generic Event Device with one edge-triggered interrupt: Linux's GED
 * driver runs _EVT(GSI) when it fires, which sends VGEN the "ID changed"
 * notification.
 */
static void vmgenid_acpi_describe(const void *dev, struct aml_buf *b)
{
	const struct vmgenid *g = dev;
	uint8_t res_data[16];
	struct aml_buf res;
	size_t d, m, pkg, cond;

	d = aml_device_begin(b, "VGEN");
	aml_name(b, "_HID");
	aml_string(b, VMGENID_HID);
	aml_name(b, "_CID");
	aml_string(b, VMGENID_CID);
	aml_name(b, "_DDN");
	aml_string(b, VMGENID_CID);
	m = aml_method_begin(b, "ADDR", 0, false);
	aml_return(b);
	pkg = aml_package_begin(b, 2);
	aml_integer(b, g->gpa & 0xffffffffu);
	aml_integer(b, g->gpa >> 32);
	aml_package_end(b, pkg);
	aml_method_end(b, m);
	aml_device_end(b, d);

	aml_init(&res, res_data, sizeof(res_data));
	aml_res_interrupt(&res, AML_IRQ_CONSUMER | AML_IRQ_EDGE, g->gsi);
	aml_res_end(&res);
	if (aml_error(&res)) {
		b->invalid = true;
		return;
	}
	d = aml_device_begin(b, "GED_");
	aml_name(b, "_HID");
	aml_string(b, "ACPI0013");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_CRS");
	aml_buffer(b, res.data, res.len);
	m = aml_method_begin(b, "_EVT", 1, true);
	cond = aml_if_begin(b);
	aml_lequal(b);
	aml_arg(b, 0);
	aml_integer(b, g->gsi);
	aml_notify(b, "\\_SB_.VGEN", VMGENID_NOTIFY);
	aml_if_end(b, cond);
	aml_method_end(b, m);
	aml_device_end(b, d);
}

const struct device_ops vmgenid_device_ops = {
	.kind = "vmgenid",
	.save = vmgenid_save,
	.restore = vmgenid_restore,
	.acpi_describe = vmgenid_acpi_describe,
};
