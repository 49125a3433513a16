// SPDX-License-Identifier: Apache-2.0
#include "devices/device.h"

#include <errno.h>
#include <stdio.h>

int device_list_add(struct device_list *l, const struct device_ops *ops,
		    void *dev, const char *name)
{
	struct device *d;

	if (l->nr >= DEVICE_LIST_MAX)
		return -E2BIG;
	d = &l->items[l->nr++];
	d->ops = ops;
	d->dev = dev;
	snprintf(d->name, sizeof(d->name), "%s", name);
	return 0;
}
