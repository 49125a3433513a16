// SPDX-License-Identifier: Apache-2.0
/* The VMM's side of the API bridge: what InstanceStart, PATCH /vm and the
 * actions do. Every function runs on the VMM thread. */
#include "vmm_api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_apply.h"
#include "config/json_util.h"
#include "devices/virtio/blk/blk.h"
#include "devices/virtio/net/net.h"
#include "mmds/mmds.h"
#include "snapshot.h"
#include "util/log.h"
#include "vmm.h"
#include "vmm_memory.h"
#include "vmm_balloon.h"

/* Firecracker's message, which clients may match on. */
#define MSG_POST_BOOT \
	"The requested operation is not supported after starting the microVM."

static int api_instance_start(void *opaque, char *err, size_t errlen)
{
	struct vmm *vmm = opaque;
	int ret;

	if (vmm->state != VMM_CONFIGURED) {
		snprintf(err, errlen, "the microVM was already started");
		return -EINVAL;
	}
	if (vm_config_validate(&vmm->owned_cfg, err, errlen))
		return -EINVAL;
	ret = vmm_build(vmm, &vmm->owned_cfg, err, errlen);
	if (!ret)
		ret = vmm_start(vmm, err, errlen);
	if (ret) {
		/* Leave nothing half-built: the client may fix and retry. */
		vmm_release_vm(vmm);
		return -EINVAL;
	}
	/* The guest runs: from here on the VMM thread is filtered. A filter
	 * that cannot go on stops the VM (vmm_enter_sandbox() asks for it):
	 * the client is told, not answered 204. */
	if (vmm_enter_sandbox(vmm)) {
		snprintf(err, errlen,
			 "cannot put the VMM thread under seccomp: the microVM is stopping");
		return -EINVAL;
	}
	return 0;
}

/* The configuration calls before boot change the one configuration, the
 * VMM's (the API thread keeps none). */
static int api_configure(void *opaque, int res, const char *id,
			 const char *body, char *err, size_t errlen)
{
	struct vmm *vmm = opaque;
	json_t *j;
	int ret;

	if (vmm->state != VMM_CONFIGURED) {
		snprintf(err, errlen, MSG_POST_BOOT);
		return -EINVAL;
	}
	j = json_decode(body, strlen(body), err, errlen);
	if (!j)
		return -EINVAL;
	ret = config_apply(&vmm->owned_cfg, (enum config_resource)res, id, j,
			   err, errlen);
	json_decref(j);
	return ret;
}

static int api_get_config(void *opaque, int res, char **out, char *err,
			  size_t errlen)
{
	struct vmm *vmm = opaque;
	/* the VM's, once there is one (--config-file with the API builds
	 * from the same owned copy) */
	const struct vm_config *cfg = vmm->cfg ? vmm->cfg : &vmm->owned_cfg;

	*out = config_to_text(cfg, res == CONFIG_RES_MACHINE ?
					   CONFIG_RES_MACHINE :
					   CONFIG_RES_ALL);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int api_snapshot_create(void *opaque, const char *state_path,
			       const char *mem_path, bool diff, char *err,
			       size_t errlen)
{
	struct snapshot_stats st;
	int ret = snapshot_create(opaque, state_path, mem_path, diff, &st, err,
				  errlen);

	if (!ret)
		log_info("snapshot written: state %llu bytes, memory %llu of %llu MiB touched",
			 (unsigned long long)st.state_bytes,
			 (unsigned long long)(st.memory_bytes >> 20),
			 (unsigned long long)(st.memory_size >> 20));
	return ret;
}

static int api_snapshot_load(void *opaque, const char *state_path,
			     const char *mem_path,
			     const struct api_snapshot_load *how, char *err,
			     size_t errlen)
{
	struct vmm *vmm = opaque;
	struct serial_config serial = { .mode = SERIAL_STDIO };
	int ret;

	if (vmm->state != VMM_CONFIGURED) {
		snprintf(err, errlen, "the microVM was already started");
		return -EINVAL;
	}
	ret = snapshot_restore(vmm, state_path, mem_path,
			       &(struct snapshot_restore_opts){
				       .serial = &serial,
				       .track_dirty = how->track_dirty,
				       .uffd = how->uffd,
				       .drives = how->overrides->drives,
				       .nr_drives = how->overrides->nr_drives,
				       .nets = how->overrides->nets,
				       .nr_nets = how->overrides->nr_nets,
				       .vsock_uds = how->overrides->vsock.present
							    ? how->overrides->vsock.uds_path
							    : NULL,
			       },
			       err, errlen);
	if (ret)
		return -EINVAL;
	vmm->start_paused = !how->resume;
	ret = vmm_start(vmm, err, errlen);
	if (ret) {
		vmm_release_vm(vmm);
		return -EINVAL;
	}
	if (vmm_enter_sandbox(vmm)) {
		snprintf(err, errlen,
			 "cannot put the VMM thread under seccomp: the microVM is stopping");
		return -EINVAL;
	}
	return 0;
}

static int api_pause(void *opaque, char *err, size_t errlen)
{
	int ret = vmm_pause(opaque);

	if (ret)
		snprintf(err, errlen, "the microVM is not running");
	return ret;
}

static int api_resume(void *opaque, char *err, size_t errlen)
{
	int ret = vmm_resume(opaque);

	if (ret)
		snprintf(err, errlen, "the microVM is not paused");
	return ret;
}

static int api_ctrl_alt_del(void *opaque, char *err, size_t errlen)
{
	struct vmm *vmm = opaque;

	if (vmm->state != VMM_RUNNING && vmm->state != VMM_PAUSED) {
		snprintf(err, errlen, "the microVM is not running");
		return -EINVAL;
	}
	if (i8042_ctrl_alt_del(&vmm->i8042)) {
		snprintf(err, errlen,
			 "the guest has not read the keys sent before: its i8042 buffer is full");
		return -EBUSY;
	}
	return 0;
}

static int api_drive_update(void *opaque, const char *drive_id,
			    const char *path,
			    const struct rate_limiter_config *rl, char *err,
			    size_t errlen)
{
	struct vmm *vmm = opaque;
	struct virtio_dev *dev;
	struct device *d;

	if (vmm->state != VMM_RUNNING && vmm->state != VMM_PAUSED) {
		snprintf(err, errlen, "the microVM is not running");
		return -EINVAL;
	}
	d = device_list_find(&vmm->devices, "drive", drive_id);
	dev = d ? virtio_mmio_device_of(d) : NULL;
	if (dev) {
		int ret = path ? virtio_blk_set_backing(dev, path, err, errlen)
			       : 0;

		if (!ret && rl)
			virtio_dev_set_rate_limit(dev, rl);
		/* ... and the configuration says so (GET /vm/config) */
		if (!ret && vmm->cfg == &vmm->owned_cfg &&
		    config_drive_updated(&vmm->owned_cfg, drive_id, path, rl) ==
			    -ENOMEM) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		return ret;
	}
	snprintf(err, errlen, "no drive with id '%s'", drive_id);
	return -ENOENT;
}

static int api_net_update(void *opaque, const char *iface_id,
			  const struct rate_limiter_config *rx,
			  const struct rate_limiter_config *tx, char *err,
			  size_t errlen)
{
	struct vmm *vmm = opaque;
	struct device *d;
	struct virtio_dev *dev;

	if (vmm->state != VMM_RUNNING && vmm->state != VMM_PAUSED) {
		snprintf(err, errlen, "the microVM is not running");
		return -EINVAL;
	}
	d = device_list_find(&vmm->devices, "net", iface_id);
	dev = d ? virtio_mmio_device_of(d) : NULL;
	if (!dev) {
		snprintf(err, errlen, "no network interface with id '%s'",
			 iface_id);
		return -ENOENT;
	}
	virtio_net_set_rate_limits(dev, rx, tx);
	if (vmm->cfg == &vmm->owned_cfg)
		config_net_updated(&vmm->owned_cfg, iface_id, rx, tx);
	return 0;
}

/* PUT, PATCH, GET /mmds: the store, whatever the VM's state. */
static int api_mmds(void *opaque, int op, const char *body, char **out,
		    char *err, size_t errlen)
{
	struct mmds *m = vmm_mmds(opaque);
	json_t *j;
	int ret;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (op == API_MMDS_GET) {
		*out = mmds_get_json(m);
		if (*out)
			return 0;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	j = json_decode(body ? body : "", body ? strlen(body) : 0, err,
			errlen);
	if (!j)
		return -EINVAL;
	ret = op == API_MMDS_PUT ? mmds_put(m, j, err, errlen)
				 : mmds_patch(m, j, err, errlen);
	json_decref(j);
	/* a store too large is the client's fault, not the VMM's */
	return ret == -E2BIG ? -EINVAL : ret;
}

static int api_memory_report(void *opaque, char **out, char *err,
			     size_t errlen)
{
	*out = vmm_memory_report_text(opaque, err, errlen);
	return *out ? 0 : -EINVAL;
}

/* FlushMetrics: the memory gauges as of now */
static int api_flush_metrics(void *opaque, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	vmm_memory_refresh_metrics(opaque);
	return 0;
}

const struct api_vmm_ops vmm_api_ops = {
	.instance_start = api_instance_start,
	.configure = api_configure,
	.get_config = api_get_config,
	.pause = api_pause,
	.resume = api_resume,
	.send_ctrl_alt_del = api_ctrl_alt_del,
	.snapshot_create = api_snapshot_create,
	.snapshot_load = api_snapshot_load,
	.drive_update = api_drive_update,
	.net_update = api_net_update,
	.mmds = api_mmds,
	.memory_report = api_memory_report,
	.flush_metrics = api_flush_metrics,
	.balloon = vmm_api_balloon,
};
