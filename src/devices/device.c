// SPDX-License-Identifier: Apache-2.0
#include "devices/device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	d->group = NULL;
	d->id[0] = 0;
	return 0;
}

int device_list_add_named(struct device_list *l, const struct device_ops *ops,
			  void *dev, const char *name, const char *group,
			  const char *id)
{
	int ret;

	if (strlen(id) >= DEVICE_ID_MAX)
		return -EINVAL;
	ret = device_list_add(l, ops, dev, name);
	if (ret)
		return ret;
	l->items[l->nr - 1].group = group;
	snprintf(l->items[l->nr - 1].id, DEVICE_ID_MAX, "%s", id);
	return 0;
}

struct device *device_list_find(struct device_list *l, const char *group,
				const char *id)
{
	for (int i = 0; i < l->nr; i++) {
		struct device *d = &l->items[i];

		if (d->group && !strcmp(d->group, group) && !strcmp(d->id, id))
			return d;
	}
	return NULL;
}

void device_list_destroy(struct device_list *l)
{
	while (l->nr > 0) {
		struct device *d = &l->items[--l->nr];

		if (d->ops->destroy)
			d->ops->destroy(d->dev);
		memset(d, 0, sizeof(*d));
	}
}
