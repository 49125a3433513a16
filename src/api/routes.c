// SPDX-License-Identifier: Apache-2.0
#include "api/routes.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_apply.h"
#include "config/config_json.h"
#include "config/json_util.h"
#include "util/log.h"
#include "util/metrics.h"

#define ERR_LEN CONFIG_ERR_MAX

/* Firecracker's messages, which clients may match on. */
#define MSG_POST_BOOT \
	"The requested operation is not supported after starting the microVM."
#define MSG_PRE_BOOT \
	"The requested operation is not supported before starting the microVM."

struct routes {
	/* no configuration here: the VMM thread owns the one copy */
	struct bridge *bridge;
	char *instance_id;
	unsigned vmm_timeout_ms;
	unsigned start_timeout_ms;
	/* a machine resource was configured: a snapshot can no longer be
	 * loaded into this process (Firecracker's rule) */
	bool configured;
};

enum method { M_GET = 1, M_PUT = 2, M_PATCH = 4 };

/* What a handler needs: the request, its decoded body, the path's id. */
struct call {
	struct routes *r;
	const struct http_request *req;
	int method;
	json_t *body;
	const char *id; /* the {id} segment, or NULL */
	char err[ERR_LEN];
};

typedef int (*handler_fn)(struct call *c, struct http_response *resp);

struct route {
	const char *path;     /* "*" segment: any one segment */
	const char *endpoint; /* metrics name */
	int methods;
	handler_fn get, put, patch;
	const char *unsupported; /* feature figment lacks: 400 naming it */
	bool body_optional; /* a PATCH with or without a body */
};

char *routes_fault_body(const char *msg)
{
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int fault(struct http_response *resp, int status, const char *msg)
{
	resp->status = status;
	resp->body = routes_fault_body(msg);
	return status;
}

static int no_content(struct http_response *resp)
{
	resp->status = 204;
	resp->body = NULL;
	return 204;
}

static int ok_json(struct http_response *resp, json_t *o)
{
	if (!o)
		return fault(resp, 500, "out of memory");
	resp->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!resp->body)
		return fault(resp, 500, "out of memory");
	resp->status = 200;
	return 200;
}

/* The status for a failed VMM call. */
static int vmm_fault(struct http_response *resp, int ret, const char *msg)
{
	if (ret == -ETIMEDOUT)
		return fault(resp, 504, msg);
	if (ret == -ENOMEM || ret == -ESHUTDOWN)
		return fault(resp, 500, msg);
	return fault(resp, 400, msg);
}

/* Refuses a pre-boot request once the VM exists. */
static bool refuse_post_boot(struct call *c, struct http_response *resp)
{
	enum vm_state s = bridge_vm_state(c->r->bridge);

	if (s == VM_NOT_STARTED)
		return false;
	fault(resp, 400, s == VM_STARTING ? "The microVM is starting." :
					    MSG_POST_BOOT);
	return true;
}

/* Refuses a post-boot request when there is no running VM. */
static bool refuse_pre_boot(struct call *c, struct http_response *resp)
{
	enum vm_state s = bridge_vm_state(c->r->bridge);

	if (s == VM_RUNNING || s == VM_PAUSED)
		return false;
	fault(resp, 400, s == VM_STARTING ? "The microVM is starting." :
			 s == VM_STOPPED ? "The microVM has stopped." :
					   MSG_PRE_BOOT);
	return true;
}

static const char *state_name(enum vm_state s)
{
	switch (s) {
	case VM_RUNNING: return "Running";
	case VM_PAUSED: return "Paused";
	case VM_STOPPED: return "Stopped"; /* outside the contract's enum */
	default: return "Not started";
	}
}

static int get_instance(struct call *c, struct http_response *resp)
{
	return ok_json(resp, json_pack("{s:s, s:s, s:s, s:s}", "id",
				       c->r->instance_id, "state",
				       state_name(bridge_vm_state(c->r->bridge)),
				       "vmm_version", FIGMENT_VERSION,
				       "app_name", "figment"));
}

static int get_version(struct call *c, struct http_response *resp)
{
	(void)c;
	return ok_json(resp, json_pack("{s:s}", "firecracker_version",
				       FIGMENT_VERSION));
}

/* A configuration call: the body goes to the VMM thread, which applies
 * it to its configuration (config/config_apply.c). */
static int configure(struct call *c, struct http_response *resp,
		     enum config_resource res)
{
	char *body;
	int ret;

	if (refuse_post_boot(c, resp))
		return resp->status;
	body = json_dumps(c->body, JSON_COMPACT);
	if (!body)
		return fault(resp, 500, "out of memory");
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_CONFIGURE,
						.resource = (int)res,
						.drive_id = c->id,
						.body = body },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	free(body);
	return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
}

/* The VMM's configuration, or its @res part. */
static int get_config(struct call *c, struct http_response *resp,
		      enum config_resource res)
{
	char *text = NULL;
	int ret = bridge_call(c->r->bridge,
			      &(struct bridge_msg){ .op = BRIDGE_GET_CONFIG,
						    .resource = (int)res,
						    .out = &text },
			      c->r->vmm_timeout_ms, c->err, ERR_LEN);

	if (ret)
		return vmm_fault(resp, ret, c->err);
	if (!text)
		return fault(resp, 500, "out of memory");
	resp->status = 200;
	resp->body = text;
	return 200;
}

static int get_machine(struct call *c, struct http_response *resp)
{
	return get_config(c, resp, CONFIG_RES_MACHINE);
}

static int put_machine(struct call *c, struct http_response *resp)
{
	return configure(c, resp,
			 c->method == M_PATCH ? CONFIG_RES_MACHINE_PATCH :
						CONFIG_RES_MACHINE);
}

/* Opens (checks) the files @files names in @cfg on the VMM thread: the
 * API thread opens none. 0, or the status of the fault it answered with. */
static int open_files_on_vmm(struct call *c, struct http_response *resp,
			     enum bridge_files files,
			     const struct vm_config *cfg)
{
	int ret = bridge_call(c->r->bridge,
			      &(struct bridge_msg){ .op = BRIDGE_OPEN_FILES,
						    .files = files, .cfg = cfg },
			      c->r->vmm_timeout_ms, c->err, ERR_LEN);

	return ret ? vmm_fault(resp, ret, c->err) : 0;
}

static int put_boot_source(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_BOOT);
}

static bool bad_id(struct call *c, struct http_response *resp)
{
	if (config_id_valid(c->id))
		return false;
	fault(resp, 400, "Invalid drive ID: use 1 to 64 characters of A-Z, a-z, 0-9 and _.");
	return true;
}

static int put_drive(struct call *c, struct http_response *resp)
{
	if (bad_id(c, resp))
		return resp->status;
	return configure(c, resp, CONFIG_RES_DRIVE);
}

/* A PATCH to a running device: the body's id is the path's, and there is
 * a VM. 0, or the status of the fault it answered with. */
static int patch_target_ok(struct call *c, struct http_response *resp,
			   const char *body_id)
{
	if (strcmp(body_id, c->id))
		return fault(resp, 400,
			     "The id from the path does not match the id from the body!");
	if (refuse_pre_boot(c, resp))
		return resp->status;
	return 0;
}

static int patch_drive(struct call *c, struct http_response *resp)
{
	char id[CONFIG_ID_MAX + 1];
	struct rate_limiter_config rl;
	const char *path;
	bool has_rl;
	int ret;

	if (bad_id(c, resp))
		return resp->status;
	if (drive_patch_from_json(c->body, id, &path, &rl, &has_rl, c->err,
				  ERR_LEN))
		return fault(resp, 400, c->err);
	if ((ret = patch_target_ok(c, resp, id)))
		return ret;
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_DRIVE_UPDATE,
						.drive_id = id, .path = path,
						.rate_limiter = has_rl ? &rl : NULL },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
}

static int put_net(struct call *c, struct http_response *resp)
{
	if (!config_id_valid(c->id))
		return fault(resp, 400, "Invalid interface ID: use 1 to 64 characters of A-Z, a-z, 0-9 and _.");
	return configure(c, resp, CONFIG_RES_NET);
}

static int patch_net(struct call *c, struct http_response *resp)
{
	char id[CONFIG_ID_MAX + 1];
	struct rate_limiter_config rx, tx;
	bool has_rx, has_tx;
	int ret;

	if (!config_id_valid(c->id))
		return fault(resp, 400, "Invalid interface ID: use 1 to 64 characters of A-Z, a-z, 0-9 and _.");
	if (net_patch_from_json(c->body, id, &rx, &has_rx, &tx, &has_tx, c->err,
				ERR_LEN))
		return fault(resp, 400, c->err);
	if ((ret = patch_target_ok(c, resp, id)))
		return ret;
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_NET_UPDATE,
						.drive_id = id,
						.net_rx = has_rx ? &rx : NULL,
						.net_tx = has_tx ? &tx : NULL },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
}

static int put_entropy(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_ENTROPY);
}

static int put_vsock(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_VSOCK);
}

static int put_mmds_config(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_MMDS);
}

/* The metadata store: before and after boot, on the VMM thread (where the
 * guest's requests read it). */
static int mmds_data(struct call *c, struct http_response *resp)
{
	enum api_mmds_op op = c->method == M_GET ? API_MMDS_GET :
			      c->method == M_PUT ? API_MMDS_PUT :
						   API_MMDS_PATCH;
	char *body = NULL, *text = NULL;
	int ret;

	if (c->body && !(body = json_dumps(c->body, JSON_COMPACT |
							    JSON_ENCODE_ANY)))
		return fault(resp, 500, "out of memory");
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_MMDS,
						.resource = (int)op,
						.body = body,
						.out = &text },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	free(body);
	if (ret) {
		free(text);
		return vmm_fault(resp, ret, c->err);
	}
	if (op != API_MMDS_GET)
		return no_content(resp);
	if (!text)
		return fault(resp, 500, "out of memory");
	resp->status = 200;
	resp->body = text;
	return 200;
}

/* The balloon on the VMM thread; @post_boot_only: refused before boot
 * (the contract's statistics and hinting). */
static int balloon_call(struct call *c, struct http_response *resp,
			enum api_balloon_op op, bool post_boot_only)
{
	static const char *const no_fields[] = { NULL };
	char *body = NULL, *text = NULL;
	uint32_t v;
	bool ack;
	int ret = 0;

	/* the body first, as for the other resources */
	if (op == API_BALLOON_PATCH)
		ret = balloon_update_from_json(c->body, &v, c->err, ERR_LEN);
	else if (op == API_BALLOON_STATS_PATCH)
		ret = balloon_stats_update_from_json(c->body, &v, c->err,
						     ERR_LEN);
	else if (op == API_BALLOON_HINT_START)
		ret = balloon_hint_start_from_json(c->body, &ack, c->err,
						   ERR_LEN);
	else if (op == API_BALLOON_HINT_STOP && c->body)
		ret = json_check_fields(c->body, "balloon hinting", no_fields,
					c->err, ERR_LEN);
	if (ret)
		return fault(resp, 400, c->err);
	if (post_boot_only && refuse_pre_boot(c, resp))
		return resp->status;
	if (bridge_vm_state(c->r->bridge) == VM_STARTING)
		return fault(resp, 400, "The microVM is starting.");
	if (c->body && !(body = json_dumps(c->body, JSON_COMPACT)))
		return fault(resp, 500, "out of memory");
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_BALLOON,
						.resource = (int)op,
						.body = body,
						.out = &text },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	free(body);
	if (ret) {
		free(text);
		return vmm_fault(resp, ret, c->err);
	}
	if (c->method != M_GET) {
		free(text);
		return no_content(resp);
	}
	if (!text)
		return fault(resp, 500, "out of memory");
	resp->status = 200;
	resp->body = text;
	return 200;
}

static int put_balloon(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_BALLOON);
}

static int get_balloon(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_GET, false);
}

static int patch_balloon(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_PATCH, false);
}

static int get_balloon_stats(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_STATS, true);
}

static int patch_balloon_stats(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_STATS_PATCH, false);
}

static int balloon_hint_start(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_HINT_START, true);
}

static int balloon_hint_status(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_HINT_STATUS, true);
}

static int balloon_hint_stop(struct call *c, struct http_response *resp)
{
	return balloon_call(c, resp, API_BALLOON_HINT_STOP, true);
}

static int put_serial(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_SERIAL);
}

static int put_logger(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_LOGGER);
}

static int put_metrics(struct call *c, struct http_response *resp)
{
	return configure(c, resp, CONFIG_RES_METRICS);
}

static int action_start(struct call *c, struct http_response *resp)
{
	struct routes *r = c->r;
	int ret;

	if (refuse_post_boot(c, resp))
		return resp->status;
	bridge_set_vm_state(r->bridge, VM_STARTING);
	/* the VMM validates and builds from its configuration */
	ret = bridge_call(r->bridge, &(struct bridge_msg){ .op = BRIDGE_START },
			  r->start_timeout_ms, c->err, ERR_LEN);
	if (ret) {
		/* Unless the VMM may still be at it, the start is over. */
		if (ret != -ETIMEDOUT &&
		    bridge_vm_state(r->bridge) == VM_STARTING)
			bridge_set_vm_state(r->bridge, VM_NOT_STARTED);
		log_warn("InstanceStart failed: %s", c->err);
		return vmm_fault(resp, ret, c->err);
	}
	return no_content(resp);
}

static int put_actions(struct call *c, struct http_response *resp)
{
	static const char *const fields[] = { "action_type", NULL };
	static const char *const actions[] = { "InstanceStart", "SendCtrlAltDel",
					       "FlushMetrics", NULL };
	int action, ret;

	if (json_check_fields(c->body, "action", fields, c->err, ERR_LEN) ||
	    json_get_enum(c->body, "action", "action_type", true, actions, false,
			  &action, c->err, ERR_LEN))
		return fault(resp, 400, c->err);
	switch (action) {
	case 0:
		return action_start(c, resp);
	case 1:
		if (refuse_pre_boot(c, resp))
			return resp->status;
		ret = bridge_call(c->r->bridge,
				  &(struct bridge_msg){ .op = BRIDGE_CTRL_ALT_DEL },
				  c->r->vmm_timeout_ms, c->err, ERR_LEN);
		return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
	default:
		if (bridge_vm_state(c->r->bridge) == VM_RUNNING ||
		    bridge_vm_state(c->r->bridge) == VM_PAUSED) {
			ret = bridge_call(c->r->bridge,
					  &(struct bridge_msg){
						  .op = BRIDGE_FLUSH_METRICS },
					  c->r->vmm_timeout_ms, c->err, ERR_LEN);
			if (ret)
				return vmm_fault(resp, ret, c->err);
		}
		ret = metrics_flush();
		if (ret) {
			snprintf(c->err, ERR_LEN, "cannot write metrics: %s",
				 strerror(-ret));
			return fault(resp, 400, c->err);
		}
		return no_content(resp);
	}
}

static int patch_vm(struct call *c, struct http_response *resp)
{
	static const char *const fields[] = { "state", NULL };
	static const char *const states[] = { "Paused", "Resumed", NULL };
	int state, ret;

	if (json_check_fields(c->body, "vm", fields, c->err, ERR_LEN) ||
	    json_get_enum(c->body, "vm", "state", true, states, false, &state,
			  c->err, ERR_LEN))
		return fault(resp, 400, c->err);
	if (refuse_pre_boot(c, resp))
		return resp->status;
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = state ? BRIDGE_RESUME :
							      BRIDGE_PAUSE },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
}

static int put_snapshot_create(struct call *c, struct http_response *resp)
{
	static const char *const fields[] = { "snapshot_type", "snapshot_path",
					      "mem_file_path", "version", NULL };
	static const char *const types[] = { "Full", "Diff", NULL };
	const char *state = NULL, *mem = NULL, *version = NULL;
	int type = 0, ret;

	if (json_check_fields(c->body, "snapshot", fields, c->err, ERR_LEN) ||
	    json_get_enum(c->body, "snapshot", "snapshot_type", false, types,
			  false, &type, c->err, ERR_LEN) < 0 ||
	    json_get_string(c->body, "snapshot", "snapshot_path", true, &state,
			    c->err, ERR_LEN) ||
	    json_get_string(c->body, "snapshot", "mem_file_path", true, &mem,
			    c->err, ERR_LEN) ||
	    json_get_string(c->body, "snapshot", "version", false, &version,
			    c->err, ERR_LEN) < 0)
		return fault(resp, 400, c->err);
	if (!*state || !*mem)
		return fault(resp, 400, "snapshot: the snapshot and memory paths must not be empty");
	if (refuse_pre_boot(c, resp))
		return resp->status;
	if (bridge_vm_state(c->r->bridge) != VM_PAUSED)
		return fault(resp, 400, "Create snapshot only works on a paused microVM.");
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_SNAPSHOT_CREATE,
						.path = state, .mem_path = mem,
						.diff = type == 1 },
			  c->r->start_timeout_ms, c->err, ERR_LEN);
	return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
}

/* figment's `drive_overrides`: [{"drive_id": ..., "path_on_host": ...}],
 * each file checked to open on the VMM thread by the caller. */
static int drive_overrides_from_json(const json_t *arr, struct vm_config *o,
				     char *err, size_t errlen)
{
	static const char *const fields[] = { "drive_id", "path_on_host", NULL };
	size_t i;
	json_t *v;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > CONFIG_MAX_DRIVES) {
		snprintf(err, errlen,
			 "snapshot: `drive_overrides` must be an array of at most %d drives",
			 CONFIG_MAX_DRIVES);
		return -EINVAL;
	}
	json_array_foreach(arr, i, v) {
		struct drive_config *d = &o->drives[o->nr_drives];
		const char *id = NULL, *path = NULL;

		if (json_check_fields(v, "drive_overrides", fields, err, errlen) ||
		    json_get_string(v, "drive_overrides", "drive_id", true, &id,
				    err, errlen) ||
		    json_get_string(v, "drive_overrides", "path_on_host", true,
				    &path, err, errlen))
			return -EINVAL;
		if (!config_id_valid(id)) {
			snprintf(err, errlen, "drive_overrides: invalid drive_id `%s`", id);
			return -EINVAL;
		}
		snprintf(d->id, sizeof(d->id), "%s", id);
		d->path_on_host = strdup(path);
		if (!d->path_on_host)
			return -ENOMEM;
		o->nr_drives++;
	}
	return 0;
}

/* Firecracker's `network_overrides`: [{"iface_id": ..., "host_dev_name":
 * ...}], a new TAP for an interface of the snapshot. */
static int net_overrides_from_json(const json_t *arr, struct vm_config *o,
				   char *err, size_t errlen)
{
	static const char *const fields[] = { "iface_id", "host_dev_name", NULL };
	size_t i;
	json_t *v;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > CONFIG_MAX_NETS) {
		snprintf(err, errlen,
			 "snapshot: `network_overrides` must be an array of at most %d interfaces",
			 CONFIG_MAX_NETS);
		return -EINVAL;
	}
	json_array_foreach(arr, i, v) {
		struct net_config *n = &o->nets[o->nr_nets];
		const char *id = NULL, *tap = NULL;

		if (json_check_fields(v, "network_overrides", fields, err, errlen) ||
		    json_get_string(v, "network_overrides", "iface_id", true, &id,
				    err, errlen) ||
		    json_get_string(v, "network_overrides", "host_dev_name", true,
				    &tap, err, errlen))
			return -EINVAL;
		if (!config_id_valid(id) || !*tap ||
		    strlen(tap) > CONFIG_IFNAME_MAX) {
			snprintf(err, errlen,
				 "network_overrides: invalid iface_id `%s` or host_dev_name `%s`",
				 id, tap);
			return -EINVAL;
		}
		snprintf(n->id, sizeof(n->id), "%s", id);
		snprintf(n->host_dev_name, sizeof(n->host_dev_name), "%s", tap);
		o->nr_nets++;
	}
	return 0;
}

/* Firecracker's `vsock_override`: {"uds_path": ...}, a new Unix socket for
 * the snapshot's vsock device (present set in @o). */
static int vsock_override_from_json(const json_t *v, struct vm_config *o,
				    char *err, size_t errlen)
{
	static const char *const fields[] = { "uds_path", NULL };
	const char *uds = NULL;

	if (!v || json_is_null(v))
		return 0;
	if (json_check_fields(v, "vsock_override", fields, err, errlen) ||
	    json_get_string(v, "vsock_override", "uds_path", true, &uds, err,
			    errlen))
		return -EINVAL;
	if (!*uds || strlen(uds) > CONFIG_UDS_PATH_MAX) {
		snprintf(err, errlen,
			 "vsock_override: field `uds_path` must be 1 to %d bytes (a Unix socket's sun_path)",
			 CONFIG_UDS_PATH_MAX);
		return -EINVAL;
	}
	o->vsock.present = true;
	snprintf(o->vsock.uds_path, sizeof(o->vsock.uds_path), "%s", uds);
	return 0;
}

static int put_snapshot_load(struct call *c, struct http_response *resp)
{
	static const char *const fields[] = {
		"snapshot_path", "mem_file_path", "mem_backend", "resume_vm",
		"enable_diff_snapshots", "track_dirty_pages", "network_overrides",
		"vsock_override", "clock_realtime", "drive_overrides", NULL
	};
	static const char *const backend_fields[] = { "backend_type",
						      "backend_path", NULL };
	static const char *const backends[] = { "File", "Uffd", NULL };
	const char *state = NULL, *mem = NULL;
	const json_t *backend = json_object_get(c->body, "mem_backend");
	struct vm_config overrides;
	bool resume = false, track = false, track2 = false, realtime = false;
	int type = 0, ret;

	vm_config_init(&overrides);
	if (json_check_fields(c->body, "snapshot", fields, c->err, ERR_LEN) ||
	    json_get_string(c->body, "snapshot", "snapshot_path", true, &state,
			    c->err, ERR_LEN) ||
	    json_get_string(c->body, "snapshot", "mem_file_path", false, &mem,
			    c->err, ERR_LEN) < 0 ||
	    json_get_bool(c->body, "snapshot", "resume_vm", false, &resume,
			  c->err, ERR_LEN) < 0 ||
	    json_get_bool(c->body, "snapshot", "enable_diff_snapshots", false,
			  &track, c->err, ERR_LEN) < 0 ||
	    json_get_bool(c->body, "snapshot", "track_dirty_pages", false,
			  &track2, c->err, ERR_LEN) < 0 ||
	    json_get_bool(c->body, "snapshot", "clock_realtime", false,
			  &realtime, c->err, ERR_LEN) < 0)
		return fault(resp, 400, c->err);
	if (realtime)
		return fault(resp, 400, "clock_realtime is not supported by figment yet: kvmclock resumes where it stood.");
	if (backend && !json_is_null(backend)) {
		if (mem)
			return fault(resp, 400, "snapshot: give either `mem_backend` or `mem_file_path`, not both");
		if (json_check_fields(backend, "mem_backend", backend_fields,
				      c->err, ERR_LEN) ||
		    json_get_enum(backend, "mem_backend", "backend_type", true,
				  backends, false, &type, c->err, ERR_LEN) ||
		    json_get_string(backend, "mem_backend", "backend_path", true,
				    &mem, c->err, ERR_LEN))
			return fault(resp, 400, c->err);
	}
	if (!mem)
		return fault(resp, 400, "snapshot: `mem_backend` or `mem_file_path` is required");
	ret = vsock_override_from_json(json_object_get(c->body, "vsock_override"),
				       &overrides, c->err, ERR_LEN);
	if (!ret)
		ret = drive_overrides_from_json(json_object_get(c->body, "drive_overrides"),
					&overrides, c->err, ERR_LEN);
	if (!ret)
		ret = net_overrides_from_json(json_object_get(c->body,
							      "network_overrides"),
					      &overrides, c->err, ERR_LEN);
	if (ret) {
		vm_config_free(&overrides);
		return fault(resp, 400, c->err);
	}
	/* the drives' new files open (read-only here: the snapshot says the
	 * drive's mode) */
	if (overrides.nr_drives &&
	    (ret = open_files_on_vmm(c, resp, BRIDGE_FILES_OVERRIDES,
				     &overrides))) {
		vm_config_free(&overrides);
		return ret;
	}
	if (bridge_vm_state(c->r->bridge) != VM_NOT_STARTED) {
		vm_config_free(&overrides);
		return fault(resp, 400, "Loading a snapshot is not allowed after the microVM started or a snapshot was loaded.");
	}
	if (c->r->configured) {
		vm_config_free(&overrides);
		return fault(resp, 400, "Loading a snapshot is not allowed after the microVM was configured.");
	}
	bridge_set_vm_state(c->r->bridge, VM_STARTING);
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_SNAPSHOT_LOAD,
						.path = state, .mem_path = mem,
						.resume = resume,
						.track_dirty = track || track2,
						.uffd = type == 1,
						.cfg = &overrides },
			  c->r->start_timeout_ms, c->err, ERR_LEN);
	vm_config_free(&overrides);
	return ret ? vmm_fault(resp, ret, c->err) : no_content(resp);
}

static int get_vm_config(struct call *c, struct http_response *resp)
{
	return get_config(c, resp, CONFIG_RES_ALL);
}

/* figment's GET /memory: what this VM's RAM costs the host, once it runs. */
static int get_memory(struct call *c, struct http_response *resp)
{
	char *text = NULL;
	int ret;

	if (refuse_pre_boot(c, resp))
		return resp->status;
	ret = bridge_call(c->r->bridge,
			  &(struct bridge_msg){ .op = BRIDGE_MEMORY_REPORT,
						.out = &text },
			  c->r->vmm_timeout_ms, c->err, ERR_LEN);
	if (ret)
		return vmm_fault(resp, ret, c->err);
	if (!text)
		return fault(resp, 500, "out of memory");
	resp->status = 200;
	resp->body = text;
	return 200;
}

static const struct route routes[] = {
	{ "/", "instance_info", M_GET, .get = get_instance },
	{ "/version", "version", M_GET, .get = get_version },
	{ "/machine-config", "machine_cfg", M_GET | M_PUT | M_PATCH,
	  .get = get_machine, .put = put_machine, .patch = put_machine },
	{ "/boot-source", "boot_source", M_PUT, .put = put_boot_source },
	{ "/drives/*", "drive", M_PUT | M_PATCH, .put = put_drive,
	  .patch = patch_drive },
	{ "/entropy", "entropy", M_PUT, .put = put_entropy },
	{ "/serial", "serial", M_PUT, .put = put_serial },
	{ "/logger", "logger", M_PUT, .put = put_logger },
	{ "/metrics", "metrics", M_PUT, .put = put_metrics },
	{ "/actions", "actions", M_PUT, .put = put_actions },
	{ "/vm", "vm", M_PATCH, .patch = patch_vm },
	{ "/vm/config", "vm_config", M_GET, .get = get_vm_config },
	{ "/memory", "memory", M_GET, .get = get_memory }, /* figment's */
	{ "/balloon", "balloon", M_GET | M_PUT | M_PATCH, .get = get_balloon,
	  .put = put_balloon, .patch = patch_balloon },
	{ "/balloon/statistics", "balloon", M_GET | M_PATCH,
	  .get = get_balloon_stats, .patch = patch_balloon_stats },
	{ "/balloon/hinting/start", "balloon", M_PATCH,
	  .patch = balloon_hint_start, .body_optional = true },
	{ "/balloon/hinting/status", "balloon", M_GET,
	  .get = balloon_hint_status },
	{ "/balloon/hinting/stop", "balloon", M_PATCH,
	  .patch = balloon_hint_stop, .body_optional = true },
	/* The contract's endpoints for features figment does not have. */
	{ "/cpu-config", "cpu_cfg", M_PUT,
	  .unsupported = "Custom CPU configuration" },
	{ "/pmem/*", "pmem", M_PUT | M_PATCH,
	  .unsupported = "The virtio-pmem device" },
	{ "/mmds", "mmds", M_GET | M_PUT | M_PATCH, .get = mmds_data,
	  .put = mmds_data, .patch = mmds_data },
	{ "/mmds/config", "mmds", M_PUT, .put = put_mmds_config },
	{ "/hotplug/memory", "hotplug", M_GET | M_PUT | M_PATCH,
	  .unsupported = "Memory hotplug" },
	{ "/network-interfaces/*", "network", M_PUT | M_PATCH, .put = put_net,
	  .patch = patch_net },
	{ "/snapshot/create", "snapshot", M_PUT, .put = put_snapshot_create },
	{ "/snapshot/load", "snapshot", M_PUT, .put = put_snapshot_load },
	{ "/vsock", "vsock", M_PUT, .put = put_vsock },
};

/* Matches @path against @pattern; *id gets the "*" segment (in @idbuf). */
static bool path_match(const char *pattern, const char *path, char *idbuf,
		       size_t idlen, const char **id)
{
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n >= idlen)
				return false;
			memcpy(idbuf, path, n);
			idbuf[n] = '\0';
			*id = idbuf;
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	if (*pattern == '*' && !*path) { /* "/drives/": an empty id */
		idbuf[0] = '\0';
		*id = idbuf;
		pattern++;
	}
	return !*pattern && !*path;
}

static int method_of(const char *m)
{
	if (!strcmp(m, "GET"))
		return M_GET;
	if (!strcmp(m, "PUT"))
		return M_PUT;
	if (!strcmp(m, "PATCH"))
		return M_PATCH;
	return 0;
}

/* Counts under Firecracker-like names ("put_api_requests": {"drive_count"}).
 * Names come from fixed tables only, so clients cannot fill the registry. */
static void count(int method, const char *endpoint, bool failed)
{
	const char *group = method == M_GET ? "get_api_requests" :
			    method == M_PUT ? "put_api_requests" :
			    method == M_PATCH ? "patch_api_requests" :
						"other_api_requests";
	char name[METRICS_NAME_MAX];

	snprintf(name, sizeof(name), "%s_%s", endpoint,
		 failed ? "fails" : "count");
	metrics_inc(metrics_counter(group, name));
}

static void dispatch(struct routes *r, const struct http_request *req,
		     struct http_response *resp, const char **endpoint)
{
	struct call c = { .r = r, .req = req };
	char idbuf[HTTP_MAX_TARGET + 1];
	const struct route *rt = NULL;
	handler_fn fn = NULL;
	bool has_body = req->body_len > 0;

	c.method = method_of(req->method);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (path_match(routes[i].path, req->path, idbuf, sizeof(idbuf),
			       &c.id)) {
			rt = &routes[i];
			break;
		}
	}
	if (rt && (rt->methods & c.method)) {
		*endpoint = rt->endpoint;
		fn = c.method == M_GET ? rt->get :
		     c.method == M_PUT ? rt->put : rt->patch;
	}
	/* Firecracker's order: a matched route, then body rules, then 400. */
	if ((fn || (rt && rt->unsupported && (rt->methods & c.method))) &&
	    (has_body == (c.method != M_GET) || (fn && rt->body_optional))) {
		if (!fn) {
			snprintf(c.err, ERR_LEN, "%s is not supported by figment yet.",
				 rt->unsupported);
			fault(resp, 400, c.err);
			return;
		}
		if (has_body) {
			c.body = json_decode(req->body, req->body_len, c.err,
					     ERR_LEN);
			if (!c.body) {
				fault(resp, 400, c.err);
				return;
			}
		}
		fn(&c, resp);
		json_decref(c.body);
		/* Logging and metrics do not configure the machine. */
		if (c.method != M_GET && resp->status < 300 &&
		    strcmp(rt->endpoint, "logger") &&
		    strcmp(rt->endpoint, "metrics") &&
		    strcmp(rt->endpoint, "actions") &&
		    strcmp(rt->endpoint, "snapshot") &&
		    strcmp(rt->endpoint, "vm") &&
		    /* the store is not the machine (a loaded snapshot's
		     * is empty: the store is reseeded after a load) */
		    fn != mmds_data)
			r->configured = true;
		return;
	}
	if (c.method == M_GET && has_body)
		fault(resp, 400, "GET request cannot have a body.");
	else if (c.method == M_PUT && !has_body)
		fault(resp, 400, "Empty PUT request.");
	else if (c.method == M_PATCH && !has_body)
		fault(resp, 400, "Empty PATCH request.");
	else {
		char msg[HTTP_MAX_TARGET + 64];

		snprintf(msg, sizeof(msg),
			 "Invalid request method and/or path: %s %s.",
			 req->method, req->path);
		fault(resp, 400, msg);
	}
}

void routes_handle(struct routes *r, const struct http_request *req,
		   struct http_response *resp)
{
	const char *endpoint = "invalid";

	resp->status = 500;
	resp->body = NULL;
	dispatch(r, req, resp, &endpoint);
	count(method_of(req->method), endpoint, resp->status >= 400);
	if (resp->status >= 400)
		log_info("API %s %s: %d", req->method, req->path, resp->status);
}

int routes_create(struct routes **out, const struct api_options *opts,
		  struct bridge *b)
{
	struct routes *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->instance_id = strdup(opts->instance_id ? opts->instance_id :
						    "anonymous-instance");
	if (!r->instance_id) {
		routes_destroy(r);
		return -ENOMEM;
	}
	r->bridge = b;
	r->vmm_timeout_ms = opts->vmm_timeout_ms ? opts->vmm_timeout_ms : 5000;
	r->start_timeout_ms =
		opts->start_timeout_ms ? opts->start_timeout_ms : 30000;
	*out = r;
	return 0;
}

void routes_destroy(struct routes *r)
{
	if (!r)
		return;
	free(r->instance_id);
	free(r);
}
