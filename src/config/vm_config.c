// SPDX-License-Identifier: Apache-2.0
#include "config/vm_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Guest RAM above this needs more than 46 bits of guest physical space. */
#define CONFIG_MAX_MEM_MIB (64ULL << 20) /* 64 TiB */
#define CONFIG_MAX_VCPUS 254 /* xAPIC IDs, MP table, one byte */

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->serial.mode = SERIAL_STDIO;
}

void boot_source_free(struct boot_source_config *b)
{
	free(b->kernel_image_path);
	free(b->initrd_path);
	free(b->boot_args);
	memset(b, 0, sizeof(*b));
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->machine.hypervisor_vendor);
	boot_source_free(&cfg->boot);
	for (int i = 0; i < cfg->nr_drives; i++)
		drive_config_free(&cfg->drives[i]);
	free(cfg->serial.path);
	free(cfg->logger.log_path);
	free(cfg->logger.module);
	free(cfg->metrics.metrics_path);
	memset(cfg, 0, sizeof(*cfg));
}

void drive_config_free(struct drive_config *d)
{
	free(d->path_on_host);
	free(d->serial);
	free(d->partuuid);
	d->path_on_host = d->serial = d->partuuid = NULL;
}

/* strdup that keeps NULL; sets *failed when memory runs out. */
static char *dup_opt(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

int vm_config_copy(struct vm_config *dst, const struct vm_config *src)
{
	bool failed = false;

	*dst = *src;
	dst->machine.hypervisor_vendor =
		dup_opt(src->machine.hypervisor_vendor, &failed);
	dst->boot.kernel_image_path = dup_opt(src->boot.kernel_image_path, &failed);
	dst->boot.initrd_path = dup_opt(src->boot.initrd_path, &failed);
	dst->boot.boot_args = dup_opt(src->boot.boot_args, &failed);
	for (int i = 0; i < src->nr_drives; i++) {
		struct drive_config *d = &dst->drives[i];

		d->path_on_host = dup_opt(src->drives[i].path_on_host, &failed);
		d->serial = dup_opt(src->drives[i].serial, &failed);
		d->partuuid = dup_opt(src->drives[i].partuuid, &failed);
	}
	dst->serial.path = dup_opt(src->serial.path, &failed);
	dst->logger.log_path = dup_opt(src->logger.log_path, &failed);
	dst->logger.module = dup_opt(src->logger.module, &failed);
	dst->metrics.metrics_path = dup_opt(src->metrics.metrics_path, &failed);
	if (failed) {
		vm_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

int vm_config_validate_machine(const struct machine_config *m, char *err,
			       size_t errlen)
{
	if (m->vcpu_count < 1 || m->vcpu_count > CONFIG_MAX_VCPUS)
		fail("vcpu count %u is out of range (1 to %u)", m->vcpu_count,
		     CONFIG_MAX_VCPUS);
	if (m->mem_size_mib < 1 || m->mem_size_mib > CONFIG_MAX_MEM_MIB)
		fail("memory size %llu MiB is out of range (1 to %llu MiB)",
		     (unsigned long long)m->mem_size_mib,
		     (unsigned long long)CONFIG_MAX_MEM_MIB);
	if (m->hypervisor_vendor && strlen(m->hypervisor_vendor) > 12)
		fail("hypervisor vendor '%s' is longer than 12 characters",
		     m->hypervisor_vendor);
	if (m->huge_pages == HUGE_PAGES_2M && m->mem_size_mib % 2)
		fail("memory size %llu MiB is not a multiple of 2 MiB, which 2M huge pages need",
		     (unsigned long long)m->mem_size_mib);
	/* KSM merges only 4 KiB pages: hugetlbfs pages are never merged */
	if (m->huge_pages == HUGE_PAGES_2M && m->merge_pages)
		fail("page sharing (merge_pages) does not work on 2M huge pages: KSM merges only 4 KiB pages");
	return 0;
}

/* A name the kernel takes for an interface (dev_valid_name()). */
static bool ifname_valid(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > CONFIG_IFNAME_MAX || !strcmp(n, ".") ||
	    !strcmp(n, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] == '/' || n[i] == ':' || n[i] <= ' ' || n[i] == 0x7f)
			return false;
	return true;
}

/* A host port of interface @i forwarded twice (here or by an earlier
 * interface): only one can have it. */
static bool hostfwd_clash(const struct vm_config *cfg, int i, char *err,
			  size_t errlen)
{
	const struct net_config *n = &cfg->nets[i];

	if (n->nr_hostfwd < 0 || n->nr_hostfwd > CONFIG_MAX_HOSTFWDS) {
		snprintf(err, errlen, "network interface '%s': at most %d port forwards",
			 n->id, CONFIG_MAX_HOSTFWDS);
		return true;
	}
	for (int k = 0; k < n->nr_hostfwd; k++) {
		const struct net_hostfwd *f = &n->hostfwd[k];

		if (!f->host_port || !f->guest_port) {
			snprintf(err, errlen, "network interface '%s': a port forward needs both ports",
				 n->id);
			return true;
		}
		for (int j = 0; j <= i; j++) {
			const struct net_config *o = &cfg->nets[j];

			for (int l = 0; l < (j == i ? k : o->nr_hostfwd); l++)
				if (o->hostfwd[l].udp == f->udp &&
				    o->hostfwd[l].host_port == f->host_port) {
					snprintf(err, errlen, "host %s port %u is forwarded twice",
						 f->udp ? "UDP" : "TCP",
						 f->host_port);
					return true;
				}
		}
	}
	return false;
}

int vm_config_validate_nets(const struct vm_config *cfg, char *err,
			    size_t errlen)
{
	static const uint8_t zero[6];

	if (cfg->nr_nets < 0 || cfg->nr_nets > CONFIG_MAX_NETS)
		fail("too many network interfaces (at most %d)", CONFIG_MAX_NETS);
	for (int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];

		if (!n->id[0])
			fail("network interface %d has no id", i);
		if (n->backend != NET_BACKEND_TAP) {
			if (n->host_dev_name[0])
				fail("network interface '%s': a user-mode interface has no TAP",
				     n->id);
		} else if (n->nr_hostfwd) {
			fail("network interface '%s': port forwards are for user-mode interfaces",
			     n->id);
		} else if (!ifname_valid(n->host_dev_name))
			fail("network interface '%s': '%s' is not a TAP device name (1 to %d characters, no '/', ':' or spaces)",
			     n->id, n->host_dev_name, CONFIG_IFNAME_MAX);
		if (n->has_mac && ((n->mac[0] & 1) || !memcmp(n->mac, zero, 6)))
			fail("network interface '%s': the MAC address must be unicast and not zero",
			     n->id);
		for (int j = 0; j < i; j++) {
			const struct net_config *o = &cfg->nets[j];

			if (!strcmp(o->id, n->id))
				fail("network interface id '%s' is used twice", n->id);
			if (n->backend == NET_BACKEND_TAP &&
			    o->backend == NET_BACKEND_TAP &&
			    !strcmp(o->host_dev_name, n->host_dev_name))
				fail("network interfaces '%s' and '%s' use the same TAP '%s'",
				     o->id, n->id, n->host_dev_name);
			if (n->has_mac && o->has_mac && !memcmp(o->mac, n->mac, 6))
				fail("network interfaces '%s' and '%s' have the same MAC address",
				     o->id, n->id);
		}
		if (hostfwd_clash(cfg, i, err, errlen))
			return -EINVAL;
	}
	return 0;
}

int vm_config_validate_vsock(const struct vsock_config *v, char *err,
			     size_t errlen)
{
	size_t len;

	if (!v->present)
		return 0;
	if (v->guest_cid < CONFIG_VSOCK_MIN_CID || v->guest_cid == UINT32_MAX)
		fail("vsock: guest CID %u is reserved (use 3 to %u)",
		     v->guest_cid, UINT32_MAX - 1);
	len = strnlen(v->uds_path, sizeof(v->uds_path));
	if (len == 0)
		fail("vsock: the Unix socket path is empty");
	if (len > CONFIG_UDS_PATH_MAX)
		fail("vsock: the Unix socket path is longer than %d bytes (sun_path)",
		     CONFIG_UDS_PATH_MAX);
	return 0;
}

int vm_config_validate_drives(const struct vm_config *cfg, char *err,
			      size_t errlen)
{
	int roots = 0;

	if (cfg->nr_drives < 0 || cfg->nr_drives > CONFIG_MAX_DRIVES)
		fail("too many drives (at most %d)", CONFIG_MAX_DRIVES);
	for (int i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];

		if (!d->id[0])
			fail("drive %d has no id", i);
		if (!d->path_on_host || !*d->path_on_host)
			fail("drive '%s' has no path", d->id);
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->drives[j].id, d->id))
				fail("drive id '%s' is used twice", d->id);
		roots += d->is_root_device;
	}
	if (roots > 1)
		fail("more than one drive is the root device");
	return 0;
}

int vm_config_validate_balloon(const struct balloon_config *b,
			       uint64_t mem_size_mib, char *err, size_t errlen)
{
	if (!b->present)
		return 0;
	if (b->amount_mib > mem_size_mib)
		fail("balloon: amount_mib %u is larger than the guest's RAM (%llu MiB)",
		     b->amount_mib, (unsigned long long)mem_size_mib);
	if (b->stats_interval_s > CONFIG_BALLOON_MAX_INTERVAL_S)
		fail("balloon: stats_polling_interval_s %u is out of range (0 to %u seconds)",
		     b->stats_interval_s, CONFIG_BALLOON_MAX_INTERVAL_S);
	return 0;
}

int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	int ret;

	ret = vm_config_validate_machine(&cfg->machine, err, errlen);
	if (ret)
		return ret;
	if (!cfg->boot.kernel_image_path || !*cfg->boot.kernel_image_path)
		fail("no kernel given");
	ret = vm_config_validate_drives(cfg, err, errlen);
	if (!ret)
		ret = vm_config_validate_nets(cfg, err, errlen);
	if (!ret)
		ret = vm_config_validate_vsock(&cfg->vsock, err, errlen);
	if (!ret && cfg->mmds.present)
		ret = vm_config_validate_mmds(cfg, err, errlen);
	if (!ret)
		ret = vm_config_validate_balloon(&cfg->balloon,
						 cfg->machine.mem_size_mib, err,
						 errlen);
	if (ret)
		return ret;
	if (cfg->serial.mode == SERIAL_FILE &&
	    (!cfg->serial.path || !*cfg->serial.path))
		fail("serial output file has no path");
	return 0;
}
