// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/virtio_devices.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/virtio_mmio.h>

#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/blk/blk.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/rng/rng.h"
#include "devices/virtio/vsock/vsock.h"
#include "util/log.h"

static void notifier_handle(void *opaque, uint32_t events)
{
	struct virtio_notifier *n = opaque;
	uint64_t count;

	(void)events;
	/* Drain first: a kick that lands while we serve the queue re-arms
	 * the eventfd and brings us back. */
	if (read(n->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_debug("virtio notifier read: %s", strerror(errno));
	virtio_dev_notify(n->slot->dev, n->qidx);
}

static void limit_timer_handle(void *opaque, uint32_t events)
{
	(void)events;
	virtio_dev_limit_expired(opaque);
}

static void sync_handle(void *opaque, uint32_t events)
{
	struct virtio_slot *s = opaque;
	uint64_t count;

	(void)events;
	if (read(s->sync_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_debug("virtio sync read: %s", strerror(errno));
	virtio_dev_sync(s->dev);
}

static void watched_handle(void *opaque, uint32_t events)
{
	struct virtio_watched *w = opaque;

	virtio_dev_watch_ready(w->slot->dev, w->fn, w->fd, events);
}

/* eventfd writes below fail only when the counter would overflow: a
 * signal is already pending. */
static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* already pending */
	}
}

static void host_interrupt(void *host)
{
	signal_fd(((struct virtio_slot *)host)->irq_fd);
}

static void host_kick_later(void *host, unsigned int qidx)
{
	struct virtio_slot *s = host;

	if ((int)qidx < s->nr_notifiers)
		signal_fd(s->notifiers[qidx].fd);
}

static void host_request_sync(void *host)
{
	signal_fd(((struct virtio_slot *)host)->sync_fd);
}

static int host_watch(void *host, int fd, uint32_t events, virtio_watch_fn fn)
{
	struct virtio_slot *s = host;
	struct virtio_watched *w;
	int ret;

	if (s->nr_watched >= VIRTIO_MAX_WATCHED_FDS)
		return -E2BIG;
	w = &s->watched[s->nr_watched];
	w->slot = s;
	w->fd = fd;
	w->fn = fn;
	ret = event_loop_add(s->vd->el, fd, events, watched_handle, w);
	if (ret)
		return ret;
	s->nr_watched++;
	return 0;
}

static void host_unwatch_all(void *host)
{
	struct virtio_slot *s = host;

	for (int i = 0; i < s->nr_watched; i++)
		event_loop_del(s->vd->el, s->watched[i].fd);
	s->nr_watched = 0;
}

static const struct virtio_host_ops slot_host_ops = {
	.interrupt = host_interrupt,
	.kick_later = host_kick_later,
	.request_sync = host_request_sync,
	.watch = host_watch,
	.unwatch_all = host_unwatch_all,
};

static void slot_release(struct virtio_devices *vd, struct virtio_slot *s)
{
	if (s->dev) {
		/* an active device lets go of its host side first */
		pthread_mutex_lock(&s->dev->lock);
		s->dev->status = 0;
		pthread_mutex_unlock(&s->dev->lock);
		virtio_dev_sync(s->dev);
	}
	if (s->dev && s->dev->limit_timer_fd >= 0) {
		if (s->limit_in_loop)
			event_loop_del(vd->el, s->dev->limit_timer_fd);
		close(s->dev->limit_timer_fd);
		s->dev->limit_timer_fd = -1;
	}
	s->limit_in_loop = false;
	if (s->sync_in_loop)
		event_loop_del(vd->el, s->sync_fd);
	s->sync_in_loop = false;
	if (s->sync_fd >= 0)
		close(s->sync_fd);
	s->sync_fd = -1;
	for (int q = 0; q < s->nr_notifiers; q++) {
		struct virtio_notifier *n = &s->notifiers[q];

		if (n->in_loop)
			event_loop_del(vd->el, n->fd);
		if (n->fd >= 0)
			close(n->fd);
	}
	s->nr_notifiers = 0;
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	s->irq_fd = -1;
	virtio_dev_destroy(s->dev);
	s->dev = NULL;
}

/* A new eventfd on the event loop, or a negative errno (*@fd stays -1 or
 * is the fd, to be closed by slot_release()). */
static int loop_eventfd(struct virtio_devices *vd, int *fd,
			event_handler handler, void *opaque)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return -errno;
	return event_loop_add(vd->el, *fd, EPOLLIN, handler, opaque);
}

/* Wires device @dev into slot @i: MMIO window, irqfd, ioeventfds, the
 * sync eventfd, the rate limit timer. */
static int slot_attach(struct virtio_devices *vd, struct vm *vm, int i,
		       struct virtio_dev *dev, char *err, size_t errlen)
{
	struct virtio_slot *s = &vd->slots[i];
	uint64_t base =
		LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)i * LAYOUT_VIRTIO_MMIO_SIZE;
	uint32_t irq = LAYOUT_VIRTIO_IRQ_BASE + (uint32_t)i;
	int ret;

	s->vd = vd;
	s->dev = dev;
	virtio_mmio_init(&s->mmio, dev);
	s->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irq_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "virtio-%s: eventfd: %s", dev->ops->name,
			 strerror(errno));
		return ret;
	}
	ret = vm_irqfd(vm, s->irq_fd, irq);
	if (ret) {
		snprintf(err, errlen, "virtio-%s: irqfd for IRQ %u: %s",
			 dev->ops->name, irq, strerror(-ret));
		return ret;
	}
	ret = loop_eventfd(vd, &s->sync_fd, sync_handle, s);
	if (ret) {
		snprintf(err, errlen, "virtio-%s: sync eventfd: %s",
			 dev->ops->name, strerror(-ret));
		return ret;
	}
	s->sync_in_loop = true;
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++) {
		struct virtio_notifier *n = &s->notifiers[s->nr_notifiers];

		n->slot = s;
		n->qidx = q;
		n->in_loop = false;
		n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "virtio-%s: eventfd: %s",
				 dev->ops->name, strerror(errno));
			return ret;
		}
		s->nr_notifiers++;
		ret = vm_ioeventfd(vm, n->fd, base + VIRTIO_MMIO_QUEUE_NOTIFY,
				   4, true, q);
		if (ret) {
			snprintf(err, errlen, "virtio-%s: ioeventfd: %s",
				 dev->ops->name, strerror(-ret));
			return ret;
		}
		ret = event_loop_add(vd->el, n->fd, EPOLLIN, notifier_handle,
				     n);
		if (ret) {
			snprintf(err, errlen, "virtio-%s: event loop: %s",
				 dev->ops->name, strerror(-ret));
			return ret;
		}
		n->in_loop = true;
	}
	/* Every device can be rate limited, also later (PATCH): its timer
	 * is there from the start. */
	dev->limit_timer_fd = timerfd_create(CLOCK_MONOTONIC,
					     TFD_CLOEXEC | TFD_NONBLOCK);
	if (dev->limit_timer_fd < 0 ||
	    event_loop_add(vd->el, dev->limit_timer_fd, EPOLLIN,
			   limit_timer_handle, dev)) {
		ret = -errno;
		snprintf(err, errlen, "virtio-%s: rate limit timer: %s",
			 dev->ops->name, strerror(errno));
		return ret;
	}
	s->limit_in_loop = true;
	ret = bus_register(&vm->mmio, base, LAYOUT_VIRTIO_MMIO_SIZE,
			   &virtio_mmio_bus_ops, &s->mmio, dev->ops->name);
	if (ret) {
		snprintf(err, errlen, "virtio-%s: MMIO window 0x%llx: %s",
			 dev->ops->name, (unsigned long long)base,
			 strerror(-ret));
		return ret;
	}
	s->mmio.mmio_base = base;
	s->mmio.gsi = irq;
	s->mmio.index = (uint32_t)i;
	virtio_dev_set_host(dev, &slot_host_ops, s);
	return 0;
}

static int append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size - used ? -ENOSPC : 0;
}

/* The root drive first, then the others in order (see the header). */
static void drive_order(const struct vm_config *cfg, int *order)
{
	int k = 0;

	for (int i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].is_root_device)
			order[k++] = i;
	for (int i = 0; i < cfg->nr_drives; i++)
		if (!cfg->drives[i].is_root_device)
			order[k++] = i;
}

/* The root drive is always the first virtio-blk device, hence vda. */
static int root_arg(struct virtio_devices *vd, const struct drive_config *d,
		    char *err, size_t errlen)
{
	const char *mode = d->is_read_only ? "ro" : "rw";
	size_t n;

	if (!d->partuuid) {
		snprintf(vd->cmdline_root, sizeof(vd->cmdline_root),
			 "root=/dev/vda %s", mode);
		return 0;
	}
	/* it lands on the kernel command line: hex digits and dashes only */
	n = strspn(d->partuuid, "0123456789abcdefABCDEF-");
	if (d->partuuid[n] || n == 0 || n > 64) {
		snprintf(err, errlen,
			 "drive '%s': partuuid '%s' is not a "
			 "partition UUID",
			 d->id, d->partuuid);
		return -EINVAL;
	}
	snprintf(vd->cmdline_root, sizeof(vd->cmdline_root),
		 "root=PARTUUID=%s %s", d->partuuid, mode);
	return 0;
}

static void slot_release_hook(struct virtio_mmio *t)
{
	struct virtio_slot *s =
		(struct virtio_slot *)((char *)t - offsetof(struct virtio_slot,
							     mmio));

	slot_release(s->vd, s);
}

/* Each slot into the VM's device list: drives by their id. */
static int list_slots(struct virtio_devices *vd, const struct vm_config *cfg,
		      const int *order, struct device_list *list, char *err,
		      size_t errlen)
{
	for (int i = 0; i < vd->nr; i++) {
		struct virtio_slot *s = &vd->slots[i];
		char name[DEVICE_NAME_MAX];
		int ret;

		s->mmio.release = slot_release_hook;
		if (i < cfg->nr_drives) {
			const char *id = cfg->drives[order[i]].id;

			snprintf(name, sizeof(name), "drive '%s'", id);
			ret = device_list_add_named(list, &virtio_mmio_device_ops,
						    &s->mmio, name, "drive", id);
		} else if (i < cfg->nr_drives + cfg->nr_nets) {
			const char *id = cfg->nets[i - cfg->nr_drives].id;

			snprintf(name, sizeof(name), "interface '%s'", id);
			ret = device_list_add_named(list, &virtio_mmio_device_ops,
						    &s->mmio, name, "net", id);
		} else {
			snprintf(name, sizeof(name), "virtio-%s",
				 s->dev->ops->name);
			ret = device_list_add(list, &virtio_mmio_device_ops,
					      &s->mmio, name);
		}
		if (ret) {
			snprintf(err, errlen, "too many devices");
			return ret;
		}
	}
	return 0;
}

int virtio_devices_create(struct virtio_devices *vd, struct vm *vm,
			  struct event_loop *el, const struct vm_config *cfg,
			  struct device_list *list, char *err, size_t errlen)
{
	int nr_list_before = list ? list->nr : 0;
	int order[CONFIG_MAX_DRIVES];
	int nr_bus_before = vm->mmio.nr_ranges;
	int total, ret = 0;

	memset(vd, 0, sizeof(*vd));
	vd->el = el;
	for (int i = 0; i < LAYOUT_VIRTIO_MAX_DEVICES; i++)
		vd->slots[i].irq_fd = vd->slots[i].sync_fd = -1;
	if (cfg->nr_drives < 0 || cfg->nr_drives > CONFIG_MAX_DRIVES) {
		snprintf(err, errlen, "too many drives (at most %d)",
			 CONFIG_MAX_DRIVES);
		return -EINVAL;
	}
	if (cfg->nr_nets < 0 || cfg->nr_nets > CONFIG_MAX_NETS) {
		snprintf(err, errlen, "too many network interfaces (at most %d)",
			 CONFIG_MAX_NETS);
		return -EINVAL;
	}
	/* drives (the root first), interfaces, the entropy device, then
	 * vsock and the balloon (last: the others keep their places with or
	 * without them) */
	total = cfg->nr_drives + cfg->nr_nets + (cfg->entropy ? 1 : 0) +
		(cfg->vsock.present ? 1 : 0) + (cfg->balloon.present ? 1 : 0);
	if (total > LAYOUT_VIRTIO_MAX_DEVICES) {
		snprintf(err, errlen,
			 "%d virtio devices requested, at most %d fit (one "
			 "IRQ each, %d to %d)",
			 total, LAYOUT_VIRTIO_MAX_DEVICES,
			 LAYOUT_VIRTIO_IRQ_BASE, LAYOUT_VIRTIO_IRQ_LAST);
		return -E2BIG;
	}
	drive_order(cfg, order);
	for (int i = 0; i < total; i++) {
		struct virtio_dev *dev = NULL;

		const struct rate_limiter_config *rl;

		if (i < cfg->nr_drives) {
			ret = virtio_blk_create(&cfg->drives[order[i]],
						&vm->mem, &dev, err, errlen);
			rl = &cfg->drives[order[i]].rate_limiter;
		} else if (i < cfg->nr_drives + cfg->nr_nets) {
			const struct net_config *n =
				&cfg->nets[i - cfg->nr_drives];

			ret = virtio_net_create(n, &vm->mem, &dev, err, errlen);
			rl = &n->tx_rate_limiter; /* rx: the device's own */
		} else if (cfg->balloon.present && i == total - 1) {
			static const struct rate_limiter_config none;

			ret = virtio_balloon_create(&cfg->balloon, &vm->mem,
						    &dev, err, errlen);
			rl = &none;
		} else if (cfg->vsock.present &&
			   i == total - 1 - (cfg->balloon.present ? 1 : 0)) {
			static const struct rate_limiter_config none;

			ret = virtio_vsock_create(&cfg->vsock, &vm->mem, &dev,
						  err, errlen);
			rl = &none;
		} else {
			ret = virtio_rng_create(&vm->mem, &dev);
			if (ret)
				snprintf(err, errlen, "virtio-rng: %s",
					 strerror(-ret));
			rl = &cfg->entropy_rate_limiter;
		}
		if (ret)
			goto fail;
		virtio_dev_set_rate_limit(dev, rl);
		vd->nr = i + 1;
		ret = slot_attach(vd, vm, i, dev, err, errlen);
		if (ret)
			goto fail;
		ret = append(vd->cmdline_devices, sizeof(vd->cmdline_devices),
			     "%svirtio_mmio.device=4K@0x%llx:%u", i ? " " : "",
			     (unsigned long long)vd->slots[i].mmio.mmio_base,
			     vd->slots[i].mmio.gsi);
		if (ret) {
			snprintf(err, errlen, "virtio command line too long");
			goto fail;
		}
	}
	if (cfg->nr_drives > 0 && cfg->drives[order[0]].is_root_device) {
		ret = root_arg(vd, &cfg->drives[order[0]], err, errlen);
		if (ret)
			goto fail;
	}
	if (list) {
		ret = list_slots(vd, cfg, order, list, err, errlen);
		if (ret)
			goto fail;
	}
	return 0;

fail:
	if (list)
		list->nr = nr_list_before;
	virtio_devices_destroy(vd);
	/* The bus has no unregister: nothing has run yet, so the ranges this
	 * call appended (always at the end) are simply dropped again. */
	vm->mmio.nr_ranges = nr_bus_before;
	return ret;
}

void virtio_devices_destroy(struct virtio_devices *vd)
{
	for (int i = 0; i < vd->nr; i++)
		slot_release(vd, &vd->slots[i]);
	vd->nr = 0;
}
