// SPDX-License-Identifier: Apache-2.0
/*
 * The VM generation ID device: a boot writes a fresh ID into guest memory;
 * restoring its saved state writes a new one (each restore of the same
 * state another), marks the page dirty for Diff snapshots and pulses the
 * GED interrupt once when told the vCPUs run; bad state is refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "devices/acpi/vmgenid.h"
#include "persist/snapshot_file.h"
#include "vstate/memory.h"

#define MEM_SIZE (1u << 20)

static uint8_t *ram;
static struct guest_memory mem;
static int levels[8];
static int nr_levels;

static void record_irq(void *opaque, int level)
{
	cr_assert_eq(opaque, &mem);
	if (nr_levels < 8)
		levels[nr_levels] = level;
	nr_levels++;
}

static void setup(void)
{
	ram = calloc(1, MEM_SIZE);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, MEM_SIZE);
	nr_levels = 0;
}

static void teardown(void)
{
	free(mem.regions[0].vmm_dirty);
	free(ram);
}

TestSuite(vmgenid, .init = setup, .fini = teardown);

static void init(struct vmgenid *g)
{
	vmgenid_init(g, &mem, LAYOUT_VMGENID, LAYOUT_GED_IRQ, record_irq, &mem);
}

static const uint8_t *guest_id(void)
{
	return ram + LAYOUT_VMGENID;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

Test(vmgenid, boot_writes_a_fresh_id_and_does_not_notify)
{
	struct vmgenid g;
	uint8_t first[VMGENID_SIZE];

	init(&g);
	cr_assert(all_zero(guest_id(), VMGENID_SIZE), "init writes nothing");
	cr_assert_eq(vmgenid_new_generation(&g), 0);
	cr_assert(!all_zero(guest_id(), VMGENID_SIZE));
	cr_assert(!memcmp(guest_id(), g.id, VMGENID_SIZE));
	memcpy(first, g.id, sizeof(first));
	cr_assert_eq(vmgenid_new_generation(&g), 0);
	cr_assert(memcmp(guest_id(), first, VMGENID_SIZE), "a new ID");
	/* only the 16 bytes */
	cr_assert(all_zero(ram, LAYOUT_VMGENID));
	cr_assert(all_zero(ram + LAYOUT_VMGENID + VMGENID_SIZE,
			   MEM_SIZE - LAYOUT_VMGENID - VMGENID_SIZE));
	cr_assert(!vmgenid_notify(&g), "a boot is not news to the guest");
	cr_assert_eq(nr_levels, 0);
}

Test(vmgenid, outside_guest_memory_is_an_error)
{
	struct vmgenid g;

	vmgenid_init(&g, &mem, MEM_SIZE - 8, LAYOUT_GED_IRQ, record_irq, &mem);
	cr_assert_eq(vmgenid_new_generation(&g), -EFAULT);
}

/* Saves a booted device; returns its state in @w and the boot ID. */
static void booted_state(struct snap_buf *w, uint8_t *boot_id)
{
	struct vmgenid g;

	init(&g);
	cr_assert_eq(vmgenid_new_generation(&g), 0);
	memcpy(boot_id, g.id, VMGENID_SIZE);
	snap_buf_init_write(w);
	cr_assert_eq(vmgenid_device_ops.save(&g, w), 0);
}

Test(vmgenid, each_restore_is_a_new_generation_and_notifies_once)
{
	uint8_t boot_id[VMGENID_SIZE], clone1[VMGENID_SIZE];
	struct vmgenid a, b;
	struct snap_buf w, r;

	booted_state(&w, boot_id);
	cr_assert_eq(guest_memory_track_dirty(&mem), 0);

	/* clone 1 */
	init(&a);
	snap_buf_init_read(&r, w.p, w.len);
	cr_assert_eq(vmgenid_device_ops.restore(&a, &r), 0);
	cr_assert(memcmp(guest_id(), boot_id, VMGENID_SIZE),
		  "guest memory has a new ID");
	cr_assert(!memcmp(guest_id(), a.id, VMGENID_SIZE));
	cr_assert(mem.regions[0].vmm_dirty[(LAYOUT_VMGENID / 4096) / 64] &
			  (1ULL << ((LAYOUT_VMGENID / 4096) % 64)),
		  "the page is in the next Diff snapshot");
	memcpy(clone1, a.id, sizeof(clone1));
	cr_assert_eq(nr_levels, 0, "no interrupt before the vCPUs run");
	cr_assert(vmgenid_notify(&a));
	cr_assert_eq(nr_levels, 2);
	cr_assert_eq(levels[0], 1, "an edge: up...");
	cr_assert_eq(levels[1], 0, "... and down");
	cr_assert(!vmgenid_notify(&a), "once");
	cr_assert_eq(nr_levels, 2);

	/* clone 2, from the same state: yet another ID */
	init(&b);
	snap_buf_init_read(&r, w.p, w.len);
	cr_assert_eq(vmgenid_device_ops.restore(&b, &r), 0);
	cr_assert(memcmp(b.id, boot_id, VMGENID_SIZE));
	cr_assert(memcmp(b.id, clone1, VMGENID_SIZE));
	cr_assert(vmgenid_notify(&b));

	/* a snapshot of a clone restores to a new ID too */
	snap_buf_free(&w);
	snap_buf_init_write(&w);
	cr_assert_eq(vmgenid_device_ops.save(&b, &w), 0);
	init(&a);
	snap_buf_init_read(&r, w.p, w.len);
	cr_assert_eq(vmgenid_device_ops.restore(&a, &r), 0);
	cr_assert(memcmp(a.id, b.id, VMGENID_SIZE));
	snap_buf_free(&w);
}

Test(vmgenid, bad_state_refused)
{
	uint8_t boot_id[VMGENID_SIZE], before[VMGENID_SIZE];
	struct vmgenid g;
	struct snap_buf w, r, bad;

	booted_state(&w, boot_id);
	memcpy(before, guest_id(), sizeof(before));

	/* every truncation */
	for (size_t len = 0; len < w.len; len++) {
		init(&g);
		snap_buf_init_read(&r, w.p, len);
		cr_assert_eq(vmgenid_device_ops.restore(&g, &r), -EINVAL,
			     "cut at %zu", len);
	}
	/* trailing bytes */
	snap_buf_init_write(&bad);
	snap_put(&bad, w.p, w.len);
	snap_put_u8(&bad, 0);
	init(&g);
	snap_buf_init_read(&r, bad.p, bad.len);
	cr_assert_eq(vmgenid_device_ops.restore(&g, &r), -EINVAL);
	snap_buf_free(&bad);
	/* another address, another GSI, a short ID */
	snap_buf_init_write(&bad);
	snap_put_u64(&bad, LAYOUT_VMGENID + 8);
	snap_put_u32(&bad, LAYOUT_GED_IRQ);
	snap_put_blob(&bad, boot_id, VMGENID_SIZE);
	init(&g);
	snap_buf_init_read(&r, bad.p, bad.len);
	cr_assert_eq(vmgenid_device_ops.restore(&g, &r), -EINVAL);
	snap_buf_free(&bad);
	snap_buf_init_write(&bad);
	snap_put_u64(&bad, LAYOUT_VMGENID);
	snap_put_u32(&bad, LAYOUT_GED_IRQ - 1);
	snap_put_blob(&bad, boot_id, VMGENID_SIZE);
	init(&g);
	snap_buf_init_read(&r, bad.p, bad.len);
	cr_assert_eq(vmgenid_device_ops.restore(&g, &r), -EINVAL);
	snap_buf_free(&bad);
	snap_buf_init_write(&bad);
	snap_put_u64(&bad, LAYOUT_VMGENID);
	snap_put_u32(&bad, LAYOUT_GED_IRQ);
	snap_put_blob(&bad, boot_id, VMGENID_SIZE - 1);
	init(&g);
	snap_buf_init_read(&r, bad.p, bad.len);
	cr_assert_eq(vmgenid_device_ops.restore(&g, &r), -EINVAL);
	snap_buf_free(&bad);

	/* none of it touched guest memory or asked for an interrupt */
	cr_assert(!memcmp(guest_id(), before, VMGENID_SIZE));
	cr_assert(!vmgenid_notify(&g));
	cr_assert_eq(nr_levels, 0);
	snap_buf_free(&w);
}
