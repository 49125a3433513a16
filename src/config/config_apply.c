// SPDX-License-Identifier: Apache-2.0
/*
 * One configuration resource from the API, applied to the one config the
 * VMM owns (on its thread): decoded, checked with the same rules as the
 * command line, its files opened where the contract says a bad file fails
 * the call (not InstanceStart), then stored. Nothing changes on failure.
 */
#include "config/config_apply.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config_json.h"
#include "devices/virtio/net/tap.h"

static int find_drive(const struct vm_config *cfg, const char *id)
{
	for (int i = 0; i < cfg->nr_drives; i++)
		if (!strcmp(cfg->drives[i].id, id))
			return i;
	return -1;
}

static int apply_boot(struct vm_config *cfg, const json_t *body, char *err,
		      size_t errlen)
{
	struct boot_source_config b = { 0 };
	int ret = boot_source_from_json(body, &b, err, errlen);

	if (ret)
		return ret;
	/* As Firecracker: a kernel or initrd that cannot be opened fails
	 * this call. */
	ret = boot_source_check_files(&b, err, errlen);
	if (ret) {
		boot_source_free(&b);
		return ret;
	}
	boot_source_free(&cfg->boot);
	cfg->boot = b;
	return 0;
}

static int apply_drive(struct vm_config *cfg, const char *path_id,
		       const json_t *body, char *err, size_t errlen)
{
	struct vm_config tmp;
	struct drive_config d;
	int i, ret;

	ret = drive_from_json(body, "drive", &d, err, errlen);
	if (ret)
		return ret;
	if (strcmp(d.id, path_id)) {
		drive_config_free(&d);
		snprintf(err, errlen,
			 "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	/* the drive set as it would be, with the CLI's rules */
	tmp = *cfg;
	i = find_drive(cfg, d.id);
	if (i < 0) {
		if (cfg->nr_drives >= CONFIG_MAX_DRIVES) {
			drive_config_free(&d);
			snprintf(err, errlen, "too many drives (at most %d)",
				 CONFIG_MAX_DRIVES);
			return -EINVAL;
		}
		i = tmp.nr_drives++;
	}
	tmp.drives[i] = d;
	ret = vm_config_validate_drives(&tmp, err, errlen);
	/* As Firecracker: a disk that cannot be opened fails this call. */
	if (!ret)
		ret = drive_check_backing(&d, err, errlen);
	if (ret) {
		drive_config_free(&d);
		return ret;
	}
	if (i < cfg->nr_drives)
		drive_config_free(&cfg->drives[i]);
	cfg->drives[i] = d;
	cfg->nr_drives = tmp.nr_drives;
	return 0;
}

static int apply_net(struct vm_config *cfg, const char *path_id,
		     const json_t *body, char *err, size_t errlen)
{
	struct vm_config tmp;
	struct net_config n;
	char why[256];
	int i, fd, ret;

	ret = net_from_json(body, "network-interface", &n, err, errlen);
	if (ret)
		return ret;
	if (strcmp(n.id, path_id)) {
		snprintf(err, errlen,
			 "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	tmp = *cfg;
	for (i = 0; i < cfg->nr_nets && strcmp(cfg->nets[i].id, n.id); i++)
		;
	if (i == cfg->nr_nets) {
		if (cfg->nr_nets >= CONFIG_MAX_NETS) {
			snprintf(err, errlen,
				 "too many network interfaces (at most %d)",
				 CONFIG_MAX_NETS);
			return -EINVAL;
		}
		tmp.nr_nets++;
	}
	tmp.nets[i] = n;
	ret = vm_config_validate_nets(&tmp, err, errlen);
	if (ret)
		return ret;
	/* As Firecracker: a TAP that cannot be opened fails this call. (A
	 * user-mode interface's helper starts at InstanceStart.) */
	if (n.backend == NET_BACKEND_TAP) {
		fd = tap_open(n.host_dev_name, why, sizeof(why));
		if (fd < 0) {
			snprintf(err, errlen, "network interface '%s': %s",
				 n.id, why);
			return fd;
		}
		close(fd);
	}
	cfg->nets[i] = n;
	cfg->nr_nets = tmp.nr_nets;
	return 0;
}

static int apply_vsock(struct vm_config *cfg, const json_t *body, char *err,
		       size_t errlen)
{
	struct vsock_config v;
	int ret = vsock_from_json(body, &v, err, errlen);

	if (!ret)
		ret = vm_config_validate_vsock(&v, err, errlen);
	/* a path that cannot be bound fails this call, not InstanceStart */
	if (!ret)
		ret = vsock_check_uds_path(v.uds_path, err, errlen);
	if (ret)
		return ret;
	cfg->vsock = v;
	return 0;
}

/* The target is checked against the guest's RAM as configured now (and
 * again at InstanceStart, since machine-config may change after). */
static int apply_balloon(struct vm_config *cfg, const json_t *body,
			 char *err, size_t errlen)
{
	struct balloon_config b;
	int ret = balloon_from_json(body, &b, err, errlen);

	if (!ret)
		ret = vm_config_validate_balloon(&b, cfg->machine.mem_size_mib,
						 err, errlen);
	if (ret)
		return ret;
	cfg->balloon = b;
	return 0;
}

/* As Firecracker: the interfaces named must exist when this is called. */
static int apply_mmds(struct vm_config *cfg, const json_t *body, char *err,
		      size_t errlen)
{
	struct vm_config tmp = *cfg;
	int ret = mmds_config_from_json(body, &tmp.mmds, err, errlen);

	if (!ret)
		ret = vm_config_validate_mmds(&tmp, err, errlen);
	if (ret)
		return ret;
	cfg->mmds = tmp.mmds;
	return 0;
}

static int apply_logger(struct vm_config *cfg, const json_t *body, char *err,
			size_t errlen)
{
	struct logger_config l = { 0 };
	int ret = logger_from_json(body, &l, err, errlen);

	if (!ret)
		ret = logger_config_apply(&l, err, errlen);
	if (ret) {
		free(l.log_path);
		free(l.module);
		return ret;
	}
	free(cfg->logger.log_path);
	free(cfg->logger.module);
	cfg->logger = l;
	return 0;
}

static int apply_metrics(struct vm_config *cfg, const json_t *body, char *err,
			 size_t errlen)
{
	struct metrics_config m = { 0 };
	int ret;

	if (cfg->metrics.metrics_path) {
		snprintf(err, errlen, "Reinitialization of metrics not allowed.");
		return -EINVAL;
	}
	ret = metrics_from_json(body, &m, err, errlen);
	if (!ret)
		ret = metrics_config_apply(&m, err, errlen);
	if (ret) {
		free(m.metrics_path);
		return ret;
	}
	cfg->metrics = m;
	return 0;
}

int config_apply(struct vm_config *cfg, enum config_resource res,
		 const char *id, const json_t *body, char *err, size_t errlen)
{
	switch (res) {
	case CONFIG_RES_MACHINE:
	case CONFIG_RES_MACHINE_PATCH:
		return machine_config_from_json(body, &cfg->machine,
						res == CONFIG_RES_MACHINE_PATCH,
						err, errlen);
	case CONFIG_RES_BOOT:
		return apply_boot(cfg, body, err, errlen);
	case CONFIG_RES_DRIVE:
		return apply_drive(cfg, id ? id : "", body, err, errlen);
	case CONFIG_RES_NET:
		return apply_net(cfg, id ? id : "", body, err, errlen);
	case CONFIG_RES_ENTROPY:
		return entropy_from_json(body, &cfg->entropy,
					 &cfg->entropy_rate_limiter, err,
					 errlen);
	case CONFIG_RES_VSOCK:
		return apply_vsock(cfg, body, err, errlen);
	case CONFIG_RES_MMDS:
		return apply_mmds(cfg, body, err, errlen);
	case CONFIG_RES_SERIAL:
		return serial_from_json(body, &cfg->serial, err, errlen);
	case CONFIG_RES_LOGGER:
		return apply_logger(cfg, body, err, errlen);
	case CONFIG_RES_METRICS:
		return apply_metrics(cfg, body, err, errlen);
	case CONFIG_RES_BALLOON:
		return apply_balloon(cfg, body, err, errlen);
	case CONFIG_RES_ALL:
		break; /* read-only */
	}
	snprintf(err, errlen, "unknown configuration resource");
	return -EINVAL;
}

int config_net_updated(struct vm_config *cfg, const char *id,
		       const struct rate_limiter_config *rx,
		       const struct rate_limiter_config *tx)
{
	for (int i = 0; i < cfg->nr_nets; i++) {
		if (strcmp(cfg->nets[i].id, id))
			continue;
		if (rx)
			cfg->nets[i].rx_rate_limiter = *rx;
		if (tx)
			cfg->nets[i].tx_rate_limiter = *tx;
		return 0;
	}
	return -ENOENT;
}

int config_drive_updated(struct vm_config *cfg, const char *id,
			 const char *path, const struct rate_limiter_config *rl)
{
	int i = find_drive(cfg, id);
	char *copy = NULL;

	if (i < 0)
		return -ENOENT;
	if (path && !(copy = strdup(path)))
		return -ENOMEM;
	if (copy) {
		free(cfg->drives[i].path_on_host);
		cfg->drives[i].path_on_host = copy;
	}
	if (rl)
		cfg->drives[i].rate_limiter = *rl;
	return 0;
}

char *config_to_text(const struct vm_config *cfg, enum config_resource what)
{
	json_t *o;
	char *s;

	if (what != CONFIG_RES_MACHINE)
		return vm_config_to_json(cfg);
	o = machine_config_to_json(&cfg->machine);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}
