/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device model: every device of a VM is one entry in one list that the
 * VM owns, with a kind (which names its state in snapshots) and the ops
 * that loops over the list need. Snapshots save and restore the list in
 * order, entry by entry; a device without state has no save/restore. The
 * DSDT is one loop over the list too: each device with an acpi_describe op
 * adds its node, in list order.
 */
#ifndef FIGMENT_DEVICES_DEVICE_H
#define FIGMENT_DEVICES_DEVICE_H

#include <stddef.h>

struct aml_buf;
struct snap_buf;

#define DEVICE_LIST_MAX 48
#define DEVICE_NAME_MAX 32

struct device_ops {
	/* Stable: written into snapshots and checked when they are read. */
	const char *kind;
	/* Appends the device's state to @b; 0 or a negative errno. */
	int (*save)(void *dev, struct snap_buf *b);
	/* Reads back what save wrote, into a device set up as at boot and not
	 * yet running; checks every value as guest-controlled. 0 or
	 * -EINVAL. */
	int (*restore)(void *dev, struct snap_buf *b);
	/* Optional: appends the device's node(s) to the DSDT's \_SB_ scope
	 * (arch/x86/aml.h). Errors are the buffer's (sticky: an invalid
	 * description marks it invalid, no room marks it overflowed). */
	void (*acpi_describe)(const void *dev, struct aml_buf *b);
};

struct device {
	const struct device_ops *ops;
	void *dev;
	char name[DEVICE_NAME_MAX]; /* for messages: "serial", "drive 'root'" */
};

struct device_list {
	struct device items[DEVICE_LIST_MAX];
	int nr;
};

/* Appends a device; 0 or -E2BIG. */
int device_list_add(struct device_list *l, const struct device_ops *ops,
		    void *dev, const char *name);

#endif
