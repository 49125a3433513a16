// SPDX-License-Identifier: Apache-2.0
/* The balloon's API calls on the VMM thread (api_vmm_ops.balloon): before
 * boot they read and change the configuration, after it the device. */
#include "vmm_balloon.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "config/config_json.h"
#include "config/json_util.h"
#include "devices/virtio/balloon/balloon.h"
#include "vmm.h"

#define MSG_NO_BALLOON "No balloon device found."

/* Firecracker's names for the statistics tags 0-15. */
static const char *const stat_names[BALLOON_NR_STATS] = {
	"swap_in",	"swap_out",	    "major_faults", "minor_faults",
	"free_memory", "total_memory",	    "available_memory",
	"disk_caches", "hugetlb_allocations", "hugetlb_failures",
	"oom_kill",	"alloc_stall",	    "async_scan",   "direct_scan",
	"async_reclaim", "direct_reclaim",
};

static int answer(json_t *o, char **out, char *err, size_t errlen)
{
	*out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static json_t *stats_json(const struct virtio_balloon_info *in)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "target_pages",
			      (json_int_t)in->target_pages, "actual_pages",
			      (json_int_t)in->actual_pages, "target_mib",
			      (json_int_t)(in->target_pages / 256), "actual_mib",
			      (json_int_t)(in->actual_pages / 256));

	for (int i = 0; o && i < BALLOON_NR_STATS; i++)
		if (in->stats_seen & (1u << i))
			json_object_set_new(o, stat_names[i],
					    json_integer((json_int_t)in->stats[i]));
	return o;
}

/* The configuration as it will be (or was: no VM any more). */
static int preboot(struct vmm *vmm, int op, const json_t *body, char **out,
		   char *err, size_t errlen)
{
	struct balloon_config *b = &vmm->owned_cfg.balloon;
	uint32_t v;
	int ret = 0;

	switch (op) {
	case API_BALLOON_GET:
		if (!b->present)
			break;
		return answer(balloon_to_json(b), out, err, errlen);
	case API_BALLOON_PATCH:
		ret = balloon_update_from_json(body, &v, err, errlen);
		if (ret || !b->present)
			break;
		if (v > vmm->owned_cfg.machine.mem_size_mib) {
			snprintf(err, errlen,
				 "balloon: amount_mib %u is larger than the guest's RAM (%llu MiB)",
				 v,
				 (unsigned long long)vmm->owned_cfg.machine.mem_size_mib);
			ret = -EINVAL;
		}
		if (!ret)
			b->amount_mib = v;
		return ret;
	case API_BALLOON_STATS_PATCH:
		/* before boot the statistics may still be turned on or off */
		ret = balloon_stats_update_from_json(body, &v, err, errlen);
		if (ret || !b->present)
			break;
		b->stats_interval_s = v;
		return 0;
	default:
		snprintf(err, errlen,
			 "The requested operation is not supported before starting the microVM.");
		return -EINVAL;
	}
	if (ret)
		return ret;
	snprintf(err, errlen, MSG_NO_BALLOON);
	return -EINVAL;
}

/* The configuration the API reports follows the device. */
static void record(struct vmm *vmm, struct virtio_dev *dev)
{
	struct virtio_balloon_info in;

	if (vmm->cfg != &vmm->owned_cfg)
		return;
	virtio_balloon_get_info(dev, &in);
	vmm->owned_cfg.balloon.amount_mib = in.cfg.amount_mib;
	vmm->owned_cfg.balloon.stats_interval_s = in.cfg.stats_interval_s;
}

int vmm_api_balloon(void *opaque, int op, const char *text, char **out,
		    char *err, size_t errlen)
{
	struct vmm *vmm = opaque;
	struct virtio_balloon_info in;
	struct virtio_dev *dev;
	json_t *body = NULL;
	uint32_t v;
	bool ack;
	int ret;

	if (text && !(body = json_decode(text, strlen(text), err, errlen)))
		return -EINVAL;
	if (vmm->state == VMM_CONFIGURED) {
		ret = preboot(vmm, op, body, out, err, errlen);
		json_decref(body);
		return ret;
	}
	dev = virtio_balloon_find(&vmm->devices);
	if (!dev) {
		json_decref(body);
		snprintf(err, errlen, MSG_NO_BALLOON);
		return -EINVAL;
	}
	switch (op) {
	case API_BALLOON_GET:
		virtio_balloon_get_info(dev, &in);
		in.cfg.amount_mib = in.target_pages / 256;
		ret = answer(balloon_to_json(&in.cfg), out, err, errlen);
		break;
	case API_BALLOON_PATCH:
		ret = balloon_update_from_json(body, &v, err, errlen);
		if (!ret)
			ret = virtio_balloon_set_target(dev, v, err, errlen);
		if (!ret)
			record(vmm, dev);
		break;
	case API_BALLOON_STATS:
		virtio_balloon_get_info(dev, &in);
		if (!in.cfg.stats_interval_s) {
			snprintf(err, errlen,
				 "Statistics for the balloon device are not enabled (stats_polling_interval_s was 0 when it was configured).");
			ret = -EINVAL;
			break;
		}
		ret = answer(stats_json(&in), out, err, errlen);
		break;
	case API_BALLOON_STATS_PATCH:
		ret = balloon_stats_update_from_json(body, &v, err, errlen);
		if (!ret)
			ret = virtio_balloon_set_stats_interval(dev, v, err,
								errlen);
		if (!ret)
			record(vmm, dev);
		break;
	case API_BALLOON_HINT_START:
		ret = balloon_hint_start_from_json(body, &ack, err, errlen);
		if (!ret)
			ret = virtio_balloon_hint_start(dev, ack, err, errlen);
		break;
	case API_BALLOON_HINT_STOP:
		ret = virtio_balloon_hint_stop(dev, err, errlen);
		break;
	case API_BALLOON_HINT_STATUS:
		virtio_balloon_get_info(dev, &in);
		if (!in.cfg.free_page_hinting) {
			snprintf(err, errlen,
				 "Free page hinting was not enabled when the balloon was configured.");
			ret = -EINVAL;
			break;
		}
		{
			json_t *o = json_pack("{s:I}", "host_cmd",
					      (json_int_t)in.hint_host_cmd);

			if (o && in.hint_guest_cmd_valid)
				json_object_set_new(o, "guest_cmd",
						    json_integer(in.hint_guest_cmd));
			ret = answer(o, out, err, errlen);
		}
		break;
	default:
		snprintf(err, errlen, "unknown balloon operation");
		ret = -EINVAL;
	}
	json_decref(body);
	return ret;
}
