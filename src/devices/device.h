/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device model: every device of a VM is one entry in one list that the
 * VM owns, with a kind (which names its state in snapshots) and the ops
 * that loops over the list need. Snapshots save and restore the list in
 * order, entry by entry; a device without state has no save/restore. The
 * DSDT is one loop over the list too: each device with an acpi_describe op
 * adds its node, in list order. Teardown is one loop too, backwards (each
 * device's destroy), and so is finding a device by its user-given id
 * (API calls that change a running device).
 */
#ifndef FIGMENT_DEVICES_DEVICE_H
#define FIGMENT_DEVICES_DEVICE_H

#include <stddef.h>

struct aml_buf;
struct snap_buf;

#define DEVICE_LIST_MAX 48
#define DEVICE_NAME_MAX 32
#define DEVICE_ID_MAX	65 /* CONFIG_ID_MAX and its NUL */

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
	/* Optional: releases the device and everything it holds (fds,
	 * memory); called once, on the VMM thread, with the vCPUs gone. */
	void (*destroy)(void *dev);
};

struct device {
	const struct device_ops *ops;
	void *dev;
	char name[DEVICE_NAME_MAX]; /* for messages: "serial", "drive 'root'" */
	/* For devices the user names: which namespace the id is in
	 * ("drive"; NULL: unnamed) and the id (a drive_id). */
	const char *group;
	char id[DEVICE_ID_MAX];
};

struct device_list {
	struct device items[DEVICE_LIST_MAX];
	int nr;
};

/* Appends a device; 0 or -E2BIG. */
int device_list_add(struct device_list *l, const struct device_ops *ops,
		    void *dev, const char *name);

/* Appends a device the user named @id in @group; 0, -E2BIG, or -EINVAL
 * for an id too long. */
int device_list_add_named(struct device_list *l, const struct device_ops *ops,
			  void *dev, const char *name, const char *group,
			  const char *id);

/* The device named @id in @group, or NULL. */
struct device *device_list_find(struct device_list *l, const char *group,
				const char *id);

/* Destroys every device, last added first, and empties the list. */
void device_list_destroy(struct device_list *l);

#endif
