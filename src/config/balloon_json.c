// SPDX-License-Identifier: Apache-2.0
/* Balloon, BalloonUpdate, BalloonStatsUpdate, BalloonStartCmd <->
 * struct balloon_config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"

int balloon_from_json(const json_t *j, struct balloon_config *out, char *err,
		      size_t errlen)
{
	static const char *const fields[] = {
		"amount_mib", "deflate_on_oom", "stats_polling_interval_s",
		"free_page_hinting", "free_page_reporting", NULL
	};
	struct balloon_config b = { .present = true };
	uint64_t amount = 0, interval = 0;
	int ret;

	if ((ret = json_check_fields(j, "balloon", fields, err, errlen)) ||
	    (ret = json_get_uint(j, "balloon", "amount_mib", true, 0,
				 UINT32_MAX, &amount, err, errlen)) ||
	    (ret = json_get_bool(j, "balloon", "deflate_on_oom", true,
				 &b.deflate_on_oom, err, errlen)) ||
	    (ret = json_get_uint(j, "balloon", "stats_polling_interval_s",
				 false, 0, CONFIG_BALLOON_MAX_INTERVAL_S,
				 &interval, err, errlen)) < 0 ||
	    (ret = json_get_bool(j, "balloon", "free_page_hinting", false,
				 &b.free_page_hinting, err, errlen)) < 0 ||
	    (ret = json_get_bool(j, "balloon", "free_page_reporting", false,
				 &b.free_page_reporting, err, errlen)) < 0)
		return ret < 0 ? ret : -EINVAL;
	b.amount_mib = (uint32_t)amount;
	b.stats_interval_s = (uint32_t)interval;
	*out = b;
	return 0;
}

json_t *balloon_to_json(const struct balloon_config *b)
{
	if (!b->present)
		return json_null();
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib",
			 (json_int_t)b->amount_mib, "deflate_on_oom",
			 b->deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)b->stats_interval_s, "free_page_hinting",
			 b->free_page_hinting, "free_page_reporting",
			 b->free_page_reporting);
}

int balloon_update_from_json(const json_t *j, uint32_t *amount_mib,
			     char *err, size_t errlen)
{
	static const char *const fields[] = { "amount_mib", NULL };
	uint64_t v = 0;
	int ret;

	if ((ret = json_check_fields(j, "balloon", fields, err, errlen)) ||
	    (ret = json_get_uint(j, "balloon", "amount_mib", true, 0,
				 UINT32_MAX, &v, err, errlen)))
		return ret < 0 ? ret : -EINVAL;
	*amount_mib = (uint32_t)v;
	return 0;
}

int balloon_stats_update_from_json(const json_t *j, uint32_t *interval_s,
				   char *err, size_t errlen)
{
	static const char *const fields[] = { "stats_polling_interval_s", NULL };
	uint64_t v = 0;
	int ret;

	if ((ret = json_check_fields(j, "balloon statistics", fields, err,
				     errlen)) ||
	    (ret = json_get_uint(j, "balloon statistics",
				 "stats_polling_interval_s", true, 0,
				 CONFIG_BALLOON_MAX_INTERVAL_S, &v, err,
				 errlen)))
		return ret < 0 ? ret : -EINVAL;
	*interval_s = (uint32_t)v;
	return 0;
}

int balloon_hint_start_from_json(const json_t *j, bool *ack_on_stop,
				 char *err, size_t errlen)
{
	static const char *const fields[] = { "acknowledge_on_stop", NULL };
	int ret;

	*ack_on_stop = true; /* Firecracker's default */
	if (!j)
		return 0; /* no body */
	if ((ret = json_check_fields(j, "balloon hinting", fields, err,
				     errlen)) ||
	    (ret = json_get_bool(j, "balloon hinting", "acknowledge_on_stop",
				 false, ack_on_stop, err, errlen)) < 0)
		return ret < 0 ? ret : -EINVAL;
	return 0;
}
