/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The validated description of one microVM: what the CLI flags, the
 * --config-file and the API all build, and what the builder consumes.
 * Field names follow Firecracker's API where one exists.
 */
#ifndef FIGMENT_CONFIG_VM_CONFIG_H
#define FIGMENT_CONFIG_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define CONFIG_MAX_DRIVES 16
#define CONFIG_ID_MAX 64
#define CONFIG_ERR_MAX 256

/* What host pages back guest RAM (machine-config `huge_pages`): Firecracker's
 * "None" and "2M" (hugetlbfs), and figment's "Transparent" (THP). */
enum huge_pages { HUGE_PAGES_NONE, HUGE_PAGES_THP, HUGE_PAGES_2M };

struct machine_config {
	uint32_t vcpu_count;   /* 1..KVM's limit */
	uint64_t mem_size_mib; /* >= 1 */
	bool smt;
	/* CPUID hypervisor vendor leaf 0x40000000: NULL = "KVMKVMKVM" (what
	 * kvm-clock needs), "" = hidden (no hypervisor bit), else up to 12
	 * characters. */
	char *hypervisor_vendor;
	bool hide_hypervisor;
	/* KVM logs the pages the guest writes, so that Diff snapshots can
	 * write only those (Firecracker's machine-config field) */
	bool track_dirty_pages;
	enum huge_pages huge_pages;
	/* figment's `merge_pages`: guest RAM is MADV_MERGEABLE (KSM) */
	bool merge_pages;
};

struct boot_source_config {
	char *kernel_image_path;
	char *initrd_path; /* NULL: none */
	char *boot_args;   /* NULL: the default command line */
};

enum drive_cache { DRIVE_CACHE_UNSAFE, DRIVE_CACHE_WRITEBACK };

/* Firecracker's TokenBucket: @size tokens refilled fully in @refill_ms, a
 * one-time burst on top. size or refill 0: no limit. */
struct bucket_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_ms;
};

/* Firecracker's RateLimiter: bandwidth in bytes, operations in requests. */
struct rate_limiter_config {
	struct bucket_config bandwidth;
	struct bucket_config ops;
};

struct drive_config {
	char id[CONFIG_ID_MAX + 1];
	char *path_on_host;
	bool is_root_device;
	bool is_read_only;
	char *serial; /* the ID string the guest reads; NULL: the drive id */
	enum drive_cache cache_type;
	/* root=PARTUUID=<partuuid> instead of root=/dev/vda when this is the
	 * root device; NULL: none (Firecracker's "partuuid"). */
	char *partuuid;
	struct rate_limiter_config rate_limiter;
};

#define CONFIG_MAX_NETS	  4
#define CONFIG_IFNAME_MAX 15 /* IFNAMSIZ less its NUL */

#define CONFIG_MAX_HOSTFWDS 8

/* Where an interface's frames go: a TAP (Firecracker's only kind), or a
 * user-mode network stack on the host, no privileges needed (see
 * devices/virtio/net/net_backend.h). */
enum net_backend_kind {
	NET_BACKEND_TAP,
	NET_BACKEND_PASST, /* passt, a process of its own (the default) */
	NET_BACKEND_SLIRP, /* libslirp, in figment, on a thread of its own */
};

/* A user-mode port forward, QEMU's hostfwd: connections to host_addr:
 * host_port reach the guest's port guest_port. Addresses in network order;
 * An empty host address is 127.0.0.1 (figment's default: QEMU's is every
 * address), which the parser writes down; host_addr 0 is 0.0.0.0, every
 * address, as asked for. */
struct net_hostfwd {
	bool udp;
	uint32_t host_addr;
	uint16_t host_port, guest_port;
};

/* A virtio-net interface (Firecracker's NetworkInterface). No strings to
 * free: a struct copy copies it. */
struct net_config {
	char id[CONFIG_ID_MAX + 1];			  /* iface_id */
	enum net_backend_kind backend;
	char host_dev_name[CONFIG_IFNAME_MAX + 1];	  /* the TAP */
	struct net_hostfwd hostfwd[CONFIG_MAX_HOSTFWDS];  /* user mode */
	int nr_hostfwd;
	uint8_t mac[6];					  /* guest_mac */
	bool has_mac; /* else figment makes one up from the id */
	struct rate_limiter_config rx_rate_limiter, tx_rate_limiter;
};

/* sun_path holds 108 bytes with its NUL */
#define CONFIG_UDS_PATH_MAX 107
/* CIDs 0-2 are the hypervisor, the loopback and the host; -1U is "any" */
#define CONFIG_VSOCK_MIN_CID 3u

/* The virtio-vsock device (Firecracker's Vsock): host-initiated
 * connections come to the Unix socket @uds_path, a guest connection to
 * host port P goes to "<uds_path>_P". No strings to free. */
struct vsock_config {
	bool present;
	uint32_t guest_cid;
	char uds_path[CONFIG_UDS_PATH_MAX + 1];
	char vsock_id[CONFIG_ID_MAX + 1]; /* deprecated; kept for GET */
};

/* Firecracker's MmdsConfig: the metadata service answers at @ipv4_addr
 * (host order; link-local) on the interfaces named. No strings to free. */
#define CONFIG_MMDS_DEFAULT_ADDR 0xa9fea9feu /* 169.254.169.254 */
enum mmds_version { MMDS_V1, MMDS_V2 };
struct mmds_config {
	bool present;
	enum mmds_version version;
	uint32_t ipv4_addr;
	char ifaces[CONFIG_MAX_NETS][CONFIG_ID_MAX + 1];
	int nr_ifaces;
	bool imds_compat;
};

/* Firecracker's Balloon: a virtio-balloon device (devices/virtio/balloon/).
 * The statistics are on when @stats_interval_s is not 0, and cannot be
 * turned on or off after boot. No strings to free. */
#define CONFIG_BALLOON_MAX_INTERVAL_S 65535u /* Firecracker's u16 */
struct balloon_config {
	bool present;
	uint32_t amount_mib; /* the target, <= guest RAM */
	bool deflate_on_oom;
	uint32_t stats_interval_s; /* 0: no statistics queue */
	bool free_page_reporting;
	bool free_page_hinting;
};

enum serial_mode { SERIAL_STDIO, SERIAL_NONE, SERIAL_FILE };

struct serial_config {
	enum serial_mode mode;
	char *path; /* SERIAL_FILE */
};

/* Frees @b's strings and zeroes it. */
void boot_source_free(struct boot_source_config *b);

/*
 * Files named by the configuration, opened without blocking (a FIFO or a
 * directory is refused at once; see util/safe_open.h), so that a bad path
 * is an error where it was given: at the CLI, the config file, or the API
 * call that named it (as Firecracker does), not later at InstanceStart.
 */
/* A drive's backing file: a regular file or a block device, read-write
 * unless @read_only. The descriptor (blocking from now on), with *@st
 * filled, or a negative errno with the reason in @err. */
int drive_open_backing(const char *id, const char *path, bool read_only,
		       struct stat *st, char *err, size_t errlen);
/* @d's backing file can be opened as the drive will be. 0 or a negative
 * errno with the reason in @err. */
int drive_check_backing(const struct drive_config *d, char *err,
			size_t errlen);
/* The kernel and the initrd can be opened as regular files. 0 or a
 * negative errno with the reason in @err. */
int boot_source_check_files(const struct boot_source_config *b, char *err,
			    size_t errlen);

/* Process-wide settings the config file and the API carry (PUT /logger,
 * PUT /metrics); applied by logger_config_apply() and metrics_config_apply(). */
struct logger_config {
	bool set;
	char *log_path;	  /* NULL: stderr */
	char level[8];	  /* Firecracker's names: Error Warning Info Debug Trace Off */
	bool show_level;
	bool show_log_origin;
	char *module;
};

struct metrics_config {
	char *metrics_path; /* NULL: no metrics */
	bool emit_id;
};

struct vm_config {
	struct machine_config machine;
	struct boot_source_config boot;
	struct drive_config drives[CONFIG_MAX_DRIVES];
	int nr_drives;
	struct net_config nets[CONFIG_MAX_NETS];
	int nr_nets;
	struct vsock_config vsock;
	struct mmds_config mmds;
	struct balloon_config balloon;
	bool entropy; /* virtio-rng */
	struct rate_limiter_config entropy_rate_limiter;
	struct serial_config serial;
	bool boot_timer; /* log the boot-marker time */
	struct logger_config logger;
	struct metrics_config metrics;
};

#define CONFIG_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"

/* Fills defaults (1 vCPU, 128 MiB, serial on stdio). */
void vm_config_init(struct vm_config *cfg);
/* Frees the strings the config owns. */
void vm_config_free(struct vm_config *cfg);

/* Deep copy of @src into @dst (which holds nothing). 0 or -ENOMEM (then @dst
 * holds nothing). */
int vm_config_copy(struct vm_config *dst, const struct vm_config *src);
/* Frees the strings one drive owns. */
void drive_config_free(struct drive_config *d);

/* The parts of vm_config_validate() that hold before the whole config is
 * known (the API checks each resource as it is PUT). 0 or -EINVAL. */
int vm_config_validate_machine(const struct machine_config *m, char *err,
			       size_t errlen);
int vm_config_validate_drives(const struct vm_config *cfg, char *err,
			      size_t errlen);
/* Interfaces: ids, TAP names and MACs each used once, TAP names a
 * kernel would take, MACs unicast and not zero. */
int vm_config_validate_nets(const struct vm_config *cfg, char *err,
			    size_t errlen);

/* The vsock device, when present: a CID of at least 3 (and not -1U), a
 * socket path of 1 to CONFIG_UDS_PATH_MAX bytes. 0 or -EINVAL. */
int vm_config_validate_vsock(const struct vsock_config *v, char *err,
			     size_t errlen);
/* The vsock socket path can be bound: its folder exists and the path is
 * free or a socket. 0 or a negative errno with the reason in @err. */
int vsock_check_uds_path(const char *path, char *err, size_t errlen);

/* The balloon, when present, against @mem_size_mib: a target no larger
 * than guest RAM, an interval up to CONFIG_BALLOON_MAX_INTERVAL_S. 0 or
 * -EINVAL. */
int vm_config_validate_balloon(const struct balloon_config *b,
			       uint64_t mem_size_mib, char *err, size_t errlen);

/* The metadata service's config against @cfg's interfaces: a link-local
 * address (169.254.1.0 to 169.254.254.255), one or more interfaces, each
 * one of @cfg's and named once. 0 or -EINVAL. */
int vm_config_validate_mmds(const struct vm_config *cfg, char *err,
			    size_t errlen);
/* Whether interface @id answers for the metadata service. */
bool vm_config_mmds_on(const struct vm_config *cfg, const char *id);

/*
 * Checks what can be checked without KVM or files (ranges, required fields).
 * Returns 0, or -EINVAL with a one-line reason in @err.
 */
int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen);

#endif
