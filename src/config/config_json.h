/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM description in Firecracker's JSON format: the whole --config-file
 * document, one decoder per resource (shared by the config file and the API
 * routes), and the encoders behind GET /machine-config and GET /vm/config.
 *
 * Decoders are strict: unknown fields, duplicate keys, wrong types and
 * out-of-range integers are errors whose message names the field. They write
 * their output only on success. Each file holds one resource:
 * machine_json.c, boot_source_json.c, drive_json.c, devices_json.c (entropy,
 * serial), logger_json.c, metrics_json.c; config_json.c the whole document.
 */
#ifndef FIGMENT_CONFIG_CONFIG_JSON_H
#define FIGMENT_CONFIG_CONFIG_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/vm_config.h"

/* The contract's bound on vcpu_count (MachineConfiguration). */
#define CONFIG_JSON_MAX_VCPUS 32

/*
 * Decodes a whole config-file document (@len bytes, not NUL-terminated) on
 * top of @cfg (initialised by vm_config_init(), maybe holding CLI values),
 * then checks the result with vm_config_validate(). On error @cfg is
 * unchanged and @err holds one line. 0, -EINVAL or -ENOMEM.
 */
int config_from_json(const char *text, size_t len, struct vm_config *cfg,
		     char *err, size_t errlen);

/* FullVmConfiguration as GET /vm/config answers it: a malloc'd compact JSON
 * string, or NULL on ENOMEM. */
char *vm_config_to_json(const struct vm_config *cfg);
json_t *vm_config_to_json_obj(const struct vm_config *cfg);

/* true when @id is 1..CONFIG_ID_MAX characters of [A-Za-z0-9_]. */
bool config_id_valid(const char *id);

/* true when @id is a valid instance id (--id): 1..CONFIG_ID_MAX characters
 * of [A-Za-z0-9-], as Firecracker and its jailer accept (UUIDs). */
bool config_instance_id_valid(const char *id);

/* MachineConfiguration. @patch: every field optional, merged into @m;
 * otherwise vcpu_count and mem_size_mib are required and the other fields
 * take their defaults. */
int machine_config_from_json(const json_t *j, struct machine_config *m,
			     bool patch, char *err, size_t errlen);
json_t *machine_config_to_json(const struct machine_config *m);

/* BootSource; replaces @b. */
int boot_source_from_json(const json_t *j, struct boot_source_config *b,
			  char *err, size_t errlen);
json_t *boot_source_to_json(const struct boot_source_config *b);

/* Drive; fills @d (holding nothing) on success. @what names it in errors. */
int drive_from_json(const json_t *j, const char *what, struct drive_config *d,
		    char *err, size_t errlen);
json_t *drive_to_json(const struct drive_config *d);

/* NetworkInterface; fills @n on success. @what names it in errors. */
int net_from_json(const json_t *j, const char *what, struct net_config *n,
		  char *err, size_t errlen);
json_t *net_to_json(const struct net_config *n);
/* PartialNetworkInterface: the id and the rate limiters given (each
 * *@has_* false: not given). */
int net_patch_from_json(const json_t *j, char id[CONFIG_ID_MAX + 1],
			struct rate_limiter_config *rx, bool *has_rx,
			struct rate_limiter_config *tx, bool *has_tx, char *err,
			size_t errlen);

/* Vsock (vsock_id accepted, deprecated); fills @v (present) on success. */
int vsock_from_json(const json_t *j, struct vsock_config *v, char *err,
		    size_t errlen);
/* null when @v is not present. */
json_t *vsock_to_json(const struct vsock_config *v);

/* Balloon; fills @b (present) on success. */
int balloon_from_json(const json_t *j, struct balloon_config *b, char *err,
		      size_t errlen);
/* null when @b is not present. */
json_t *balloon_to_json(const struct balloon_config *b);
/* BalloonUpdate (PATCH /balloon): the new target. */
int balloon_update_from_json(const json_t *j, uint32_t *amount_mib,
			     char *err, size_t errlen);
/* BalloonStatsUpdate (PATCH /balloon/statistics): the new interval. */
int balloon_stats_update_from_json(const json_t *j, uint32_t *interval_s,
				   char *err, size_t errlen);
/* BalloonStartCmd (PATCH /balloon/hinting/start; @j may be NULL: no
 * body): acknowledge_on_stop, true unless given. */
int balloon_hint_start_from_json(const json_t *j, bool *ack_on_stop,
				 char *err, size_t errlen);

/* MmdsConfig; fills @m (present) on success. The interfaces are checked
 * against the configuration's by vm_config_validate_mmds(). */
int mmds_config_from_json(const json_t *j, struct mmds_config *m, char *err,
			  size_t errlen);
/* null when @m is not present. */
json_t *mmds_config_to_json(const struct mmds_config *m);

/* PartialDrive: the id, and the new backing file (NULL: unchanged), which
 * points into @j. */
/* PATCH /drives/{id}: the id, a new path (*@path NULL: none), a new rate
 * limiter (*@has_rl false: none given). */
int drive_patch_from_json(const json_t *j, char id[CONFIG_ID_MAX + 1],
			  const char **path, struct rate_limiter_config *rl,
			  bool *has_rl, char *err, size_t errlen);

/* EntropyDevice: sets *enabled. */
int entropy_from_json(const json_t *j, bool *enabled,
		      struct rate_limiter_config *rl, char *err, size_t errlen);
/* SerialDevice: replaces @s (serial_out_path given: a file, else stdio). */
int serial_from_json(const json_t *j, struct serial_config *s, char *err,
		     size_t errlen);

/* Logger; replaces @l. */
int logger_from_json(const json_t *j, struct logger_config *l, char *err,
		     size_t errlen);
json_t *logger_to_json(const struct logger_config *l);
/* Points util/log at the configured path and level. 0 or a negative errno
 * with the reason in @err. */
int logger_config_apply(const struct logger_config *l, char *err,
			size_t errlen);

/* Metrics; replaces @m. */
int metrics_from_json(const json_t *j, struct metrics_config *m, char *err,
		      size_t errlen);
json_t *metrics_to_json(const struct metrics_config *m);
/* Opens the metrics file for util/metrics. 0 or a negative errno with the
 * reason in @err. */
int metrics_config_apply(const struct metrics_config *m, char *err,
			 size_t errlen);

#endif
