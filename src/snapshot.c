// SPDX-License-Identifier: Apache-2.0
#include "snapshot.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "config/config_json.h"
#include "devices/virtio/balloon/balloon.h"
#include "persist/snapshot_file.h"
#include "util/log.h"
#include "util/safe_open.h"
#include "vstate/vcpu_state.h"
#include "vstate/vm_state.h"

#define SNAPSHOT_VCPU_EVENT_MS 2000

static void host_cpu_id(struct snap_cpu_id *id)
{
	unsigned int a, b, c, d;

	memset(id, 0, sizeof(*id));
	__cpuid(0, a, b, c, d);
	memcpy(id->vendor, &b, 4);
	memcpy(id->vendor + 4, &d, 4);
	memcpy(id->vendor + 8, &c, 4);
	__cpuid(1, a, b, c, d);
	id->family_model_stepping = a;
}

/* ---- create ------------------------------------------------------------ */

static int add_config(struct snap_writer *w, const struct vm_config *cfg)
{
	char *json = vm_config_to_json(cfg);
	int ret;

	if (!json)
		return -ENOMEM;
	ret = snap_writer_add(w, SNAPSHOT_SEC_CONFIG, 0, json, strlen(json));
	free(json);
	return ret;
}

static int add_vcpus(struct vmm *vmm, struct snap_writer *w, char *err,
		     size_t errlen)
{
	struct vcpu_state *st = malloc(sizeof(*st));
	int ret = st ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < vmm->nr_vcpus && !ret; i++) {
		ret = vcpu_post(&vmm->vcpus[i], VCPU_EV_SAVE, st,
				SNAPSHOT_VCPU_EVENT_MS);
		if (ret) {
			snprintf(err, errlen, "cannot save vCPU %u: %s", i,
				 strerror(-ret));
			break;
		}
		ret = snap_writer_add(w, SNAPSHOT_SEC_VCPU, i, st, sizeof(*st));
	}
	free(st);
	return ret;
}

static int add_devices(struct vmm *vmm, struct snap_writer *w, char *err,
		       size_t errlen)
{
	for (int i = 0; i < vmm->devices.nr; i++) {
		const struct device *d = &vmm->devices.items[i];
		struct snap_buf b;
		int ret = 0;

		snap_buf_init_write(&b);
		snap_put_blob(&b, d->ops->kind, (uint32_t)strlen(d->ops->kind));
		if (d->ops->save)
			ret = d->ops->save(d->dev, &b);
		if (!ret && b.err)
			ret = -ENOMEM;
		if (!ret)
			ret = snap_writer_add(w, SNAPSHOT_SEC_DEVICE, (uint32_t)i,
					      b.p, b.len);
		snap_buf_free(&b);
		if (ret) {
			snprintf(err, errlen, "cannot save the %s: %s", d->name,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A temporary file beside @path (".<name>.XXXXXX"): fd, and its name in
 * @tmp. */
static int temp_beside(const char *path, char *tmp, size_t len)
{
	char *copy = strdup(path), *copy2 = strdup(path);
	int fd = -ENOMEM;

	if (copy && copy2 &&
	    snprintf(tmp, len, "%s/.%s.XXXXXX", dirname(copy),
		     basename(copy2)) < (int)len) {
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	} else if (copy && copy2) {
		fd = -ENAMETOOLONG;
	}
	free(copy);
	free(copy2);
	return fd;
}

/* The pages the balloon holds (never written: see memory.h), or NULL. */
static const uint64_t *balloon_skip(struct vmm *vmm)
{
	uint64_t pages = 0;
	const uint64_t *held = virtio_balloon_held_bitmap(
		virtio_balloon_find(&vmm->devices), &pages);

	return held && pages == vmm->vm.mem.total / 4096 ? held : NULL;
}

/* The pages written since the base into the base's memory file: every page
 * either log marks, at its place in the file; a page the balloon holds is
 * a hole there instead. */
static int write_memory_diff(struct vmm *vmm, const char *mem_path,
			     struct snapshot_stats *stats, char *err,
			     size_t errlen)
{
	const struct guest_memory *mem = &vmm->vm.mem;
	const uint64_t *held = balloon_skip(vmm);
	uint64_t base = 0, *bitmap = NULL;
	struct stat st;
	int fd, ret = 0;

	if (errlen)
		err[0] = '\0';
	fd = safe_open(mem_path, O_RDWR, 0, SAFE_OPEN_REG, 0, "memory file",
		       &st, err, errlen);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size != mem->total) {
		snprintf(err, errlen,
			 "a Diff snapshot is written onto the memory file of an earlier snapshot of this VM: '%s' has %llu bytes, the guest %llu",
			 mem_path, (unsigned long long)st.st_size,
			 (unsigned long long)mem->total);
		ret = -EINVAL;
		goto out;
	}
	if (st.st_dev == vmm->mapped_mem_dev && st.st_ino == vmm->mapped_mem_ino) {
		snprintf(err, errlen,
			 "'%s' is the memory file this VM runs from (clones of it may be running): copy it and write the Diff onto the copy",
			 mem_path);
		ret = -EBUSY;
		goto out;
	}
	for (int i = 0; i < mem->nr_regions && !ret; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t pages = r->size / 4096;

		free(bitmap);
		bitmap = calloc((pages + 63) / 64, sizeof(*bitmap));
		ret = bitmap ? vm_take_dirty(&vmm->vm, i, bitmap) : -ENOMEM;
		for (uint64_t p = 0; p < pages && !ret; p++) {
			uint64_t fp = (base / 4096) + p;

			if (held && (held[fp / 64] & (1ULL << (fp % 64)))) {
				if (fallocate(fd, FALLOC_FL_PUNCH_HOLE |
						      FALLOC_FL_KEEP_SIZE,
					      (off_t)(base + p * 4096), 4096) &&
				    errno != EOPNOTSUPP)
					ret = -errno;
				continue;
			}
			if (!(bitmap[p / 64] & (1ULL << (p % 64))))
				continue;
			ssize_t n = pwrite(fd, r->host + p * 4096, 4096,
					   (off_t)(base + p * 4096));

			if (n != 4096)
				ret = n < 0 ? -errno : -EIO;
			stats->memory_bytes += 4096;
		}
		base += r->size;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret && !err[0])
		snprintf(err, errlen, "cannot write the Diff into '%s': %s",
			 mem_path, strerror(-ret));
out:
	free(bitmap);
	close(fd);
	return ret;
}

/* With dirty tracking, after a Full snapshot: the logs start again, so the
 * next Diff holds what changed since this one. */
static int reset_dirty_logs(struct vmm *vmm)
{
	uint64_t *bitmap;
	int ret = 0;

	if (!vmm->vm.track_dirty)
		return 0;
	for (int i = 0; i < vmm->vm.mem.nr_regions && !ret; i++) {
		bitmap = calloc((vmm->vm.mem.regions[i].size / 4096 + 63) / 64,
				sizeof(*bitmap));
		ret = bitmap ? vm_take_dirty(&vmm->vm, i, bitmap) : -ENOMEM;
		free(bitmap);
	}
	return ret;
}

/* Guest RAM into a temporary file beside @mem_path, synced; the caller
 * renames it once the state file is there. */
static int write_memory(struct vmm *vmm, const char *mem_path, char *tmp,
			size_t tmplen, struct snapshot_stats *stats, char *err,
			size_t errlen)
{
	int fd = temp_beside(mem_path, tmp, tmplen);
	int ret;

	if (fd < 0) {
		snprintf(err, errlen, "cannot create the memory file '%s': %s",
			 mem_path, strerror(-fd));
		tmp[0] = '\0';
		return fd;
	}
	ret = guest_memory_save_skip(&vmm->vm.mem, fd, balloon_skip(vmm),
				     &stats->memory_bytes, err, errlen);
	if (!ret && fsync(fd) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot write the memory file '%s': %s",
			 mem_path, strerror(errno));
	}
	close(fd);
	if (ret) {
		unlink(tmp);
		tmp[0] = '\0';
	}
	return ret;
}

int snapshot_create(struct vmm *vmm, const char *state_path,
		    const char *mem_path, bool diff,
		    struct snapshot_stats *stats, char *err, size_t errlen)
{
	struct snapshot_stats local;
	struct snap_writer *w = NULL;
	struct snap_cpu_id cpu;
	struct vm_state vs;
	struct snap_buf mem;
	char tmp[4096] = "";
	int ret;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (vmm->state != VMM_PAUSED) {
		snprintf(err, errlen, "the microVM must be paused to be snapshotted");
		return -EBUSY;
	}
	if (diff && !vmm->vm.track_dirty) {
		snprintf(err, errlen,
			 "Diff snapshots need dirty page tracking (machine-config track_dirty_pages, or track_dirty_pages at snapshot/load)");
		return -EINVAL;
	}
	if (diff && !vmm->snapshot_base) {
		snprintf(err, errlen,
			 "a Diff snapshot needs a base: take a Full snapshot first");
		return -EINVAL;
	}
	host_cpu_id(&cpu);
	w = snap_writer_new(&cpu);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snap_buf_init_write(&mem);
	snap_put_u64(&mem, vmm->vm.mem.total);
	ret = add_config(w, vmm->cfg);
	if (!ret)
		ret = mem.err ? -ENOMEM :
				snap_writer_add(w, SNAPSHOT_SEC_MEMORY, 0, mem.p,
						mem.len);
	if (ret)
		snprintf(err, errlen, "cannot save the configuration: %s",
			 strerror(-ret));
	if (!ret) {
		ret = vm_state_save(&vmm->vm, &vs);
		if (ret)
			snprintf(err, errlen, "cannot save the VM's interrupt controllers and clock: %s",
				 strerror(-ret));
		else
			ret = snap_writer_add(w, SNAPSHOT_SEC_VM, 0, &vs,
					      sizeof(vs));
	}
	if (!ret)
		ret = add_vcpus(vmm, w, err, errlen);
	if (!ret)
		ret = add_devices(vmm, w, err, errlen);
	/* Full: memory first, under a temporary name; the state file is
	 * committed atomically; then the memory file takes its name. Diff:
	 * the changed pages go onto the base's memory file in place. */
	if (!ret && diff)
		ret = write_memory_diff(vmm, mem_path, stats, err, errlen);
	else if (!ret)
		ret = write_memory(vmm, mem_path, tmp, sizeof(tmp), stats, err,
				   errlen);
	if (!ret)
		ret = snap_writer_commit(w, state_path, err, errlen);
	if (!ret && !diff && rename(tmp, mem_path) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot name the memory file '%s': %s",
			 mem_path, strerror(errno));
		unlink(state_path);
	}
	if (ret && tmp[0])
		unlink(tmp);
	if (!ret && !diff) {
		ret = reset_dirty_logs(vmm);
		if (ret)
			snprintf(err, errlen, "cannot reset the dirty page logs: %s",
				 strerror(-ret));
	}
	if (!ret) {
		struct stat st;

		vmm->snapshot_base = true;
		stats->memory_size = vmm->vm.mem.total;
		if (stat(state_path, &st) == 0)
			stats->state_bytes = (uint64_t)st.st_size;
	}
	snap_buf_free(&mem);
	snap_writer_free(w);
	return ret;
}

/* ---- restore ----------------------------------------------------------- */

/* Points the drives @opts names at their new files. */
static int override_drives(struct vm_config *cfg,
			   const struct snapshot_restore_opts *opts, char *err,
			   size_t errlen)
{
	for (int i = 0; i < opts->nr_drives; i++) {
		const struct drive_config *o = &opts->drives[i];
		int k = 0;
		char *path;

		while (k < cfg->nr_drives && strcmp(cfg->drives[k].id, o->id))
			k++;
		if (k == cfg->nr_drives) {
			snprintf(err, errlen, "the snapshot has no drive '%s' to override",
				 o->id);
			return -EINVAL;
		}
		path = strdup(o->path_on_host);
		if (!path)
			return -ENOMEM;
		free(cfg->drives[k].path_on_host);
		cfg->drives[k].path_on_host = path;
	}
	return 0;
}

/* Points the interfaces @opts names at their new TAPs (or user-mode
 * backends). */
static int override_nets(struct vm_config *cfg,
			 const struct snapshot_restore_opts *opts, char *err,
			 size_t errlen)
{
	for (int i = 0; i < opts->nr_nets; i++) {
		const struct net_config *o = &opts->nets[i];
		int k = 0;

		while (k < cfg->nr_nets && strcmp(cfg->nets[k].id, o->id))
			k++;
		if (k == cfg->nr_nets) {
			snprintf(err, errlen,
				 "the snapshot has no network interface '%s' to override",
				 o->id);
			return -EINVAL;
		}
		memcpy(cfg->nets[k].host_dev_name, o->host_dev_name,
		       sizeof(o->host_dev_name));
		/* the backend too: a user-mode interface may come back on a
		 * TAP (network_overrides) or the other way (--net) */
		cfg->nets[k].backend = o->backend;
		memcpy(cfg->nets[k].hostfwd, o->hostfwd, sizeof(o->hostfwd));
		cfg->nets[k].nr_hostfwd = o->nr_hostfwd;
	}
	/* two interfaces on one TAP now? */
	return vm_config_validate_nets(cfg, err, errlen);
}

/* Firecracker's vsock_override: the vsock device listens at a new path. */
static int override_vsock(struct vm_config *cfg,
			  const struct snapshot_restore_opts *opts, char *err,
			  size_t errlen)
{
	if (!opts->vsock_uds)
		return 0;
	if (!cfg->vsock.present) {
		snprintf(err, errlen, "the snapshot has no vsock device to override");
		return -EINVAL;
	}
	if (vsock_check_uds_path(opts->vsock_uds, err, errlen))
		return -EINVAL;
	snprintf(cfg->vsock.uds_path, sizeof(cfg->vsock.uds_path), "%s",
		 opts->vsock_uds);
	return vm_config_validate_vsock(&cfg->vsock, err, errlen);
}

static int restore_config(const struct snap_file *f, struct vm_config *cfg,
			  const struct snapshot_restore_opts *opts, char *err,
			  size_t errlen)
{
	const struct serial_config *serial = opts->serial;
	const struct snap_section *s = snap_file_find(f, SNAPSHOT_SEC_CONFIG, 0);
	const struct snap_section *m = snap_file_find(f, SNAPSHOT_SEC_MEMORY, 0);
	char why[CONFIG_ERR_MAX];
	struct snap_buf b;
	uint64_t size = 0;

	vm_config_init(cfg);
	if (!s || !m) {
		snprintf(err, errlen, "the snapshot has no %s section",
			 s ? "memory" : "configuration");
		return -EINVAL;
	}
	if (config_from_json((const char *)s->data, s->len, cfg, why,
			     sizeof(why))) {
		snprintf(err, errlen, "the snapshot's configuration is invalid: %s",
			 why);
		return -EINVAL;
	}
	snap_buf_init_section(&b, m);
	snap_get_u64(&b, &size);
	if (!snap_get_done(&b) || size != cfg->machine.mem_size_mib << 20) {
		snprintf(err, errlen,
			 "the snapshot's memory section does not match its %llu MiB of RAM",
			 (unsigned long long)cfg->machine.mem_size_mib);
		return -EINVAL;
	}
	/* The console is the restoring process's, not the saving one's. */
	free(cfg->serial.path);
	cfg->serial.mode = serial->mode;
	cfg->serial.path = serial->path ? strdup(serial->path) : NULL;
	if (serial->path && !cfg->serial.path)
		return -ENOMEM;
	if (opts->track_dirty)
		cfg->machine.track_dirty_pages = true;
	if (opts->merge_pages) {
		cfg->machine.merge_pages = true;
		if (vm_config_validate_machine(&cfg->machine, err, errlen))
			return -EINVAL;
	}
	return override_drives(cfg, opts, err, errlen) ?:
	       override_nets(cfg, opts, err, errlen) ?:
	       override_vsock(cfg, opts, err, errlen);
}

static int restore_vcpus(struct vmm *vmm, const struct snap_file *f,
			 char *err, size_t errlen)
{
	struct kvm_cpuid2 *host = cpuid_supported(vmm->vm.kvm_fd);
	int ret = 0;

	if (!host) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID failed: %s",
			 strerror(errno));
		return -errno;
	}
	for (uint32_t i = 0; i < vmm->nr_vcpus && !ret; i++) {
		const struct snap_section *s =
			snap_file_find(f, SNAPSHOT_SEC_VCPU, i);
		const struct vcpu_state *st;

		if (!s || s->len != sizeof(*st)) {
			snprintf(err, errlen,
				 "the snapshot has no valid state for vCPU %u", i);
			ret = -EINVAL;
			break;
		}
		/* 8-byte aligned inside the file buffer (the format says so) */
		st = (const struct vcpu_state *)s->data;
		ret = vcpu_state_check(st);
		if (ret) {
			snprintf(err, errlen, "the state of vCPU %u is damaged", i);
			break;
		}
		ret = cpuid_check_restorable(st->cpuid, st->nr_cpuid, host, err,
					     errlen);
		if (!ret)
			ret = vcpu_state_restore(vmm->vcpus[i].fd, st, err,
						 errlen);
	}
	if (!ret && snap_file_find(f, SNAPSHOT_SEC_VCPU, vmm->nr_vcpus)) {
		snprintf(err, errlen, "the snapshot has more vCPUs than its configuration");
		ret = -EINVAL;
	}
	free(host);
	return ret;
}

static int restore_devices(struct vmm *vmm, const struct snap_file *f,
			   char *err, size_t errlen)
{
	for (int i = 0; i < vmm->devices.nr; i++) {
		const struct device *d = &vmm->devices.items[i];
		const struct snap_section *s =
			snap_file_find(f, SNAPSHOT_SEC_DEVICE, (uint32_t)i);
		char kind[64];
		uint32_t len = 0;
		struct snap_buf b;
		int ret = 0;

		if (!s) {
			snprintf(err, errlen, "the snapshot has no state for the %s",
				 d->name);
			return -EINVAL;
		}
		snap_buf_init_section(&b, s);
		snap_get_blob(&b, kind, sizeof(kind) - 1, &len);
		kind[len] = '\0';
		if (b.err || strcmp(kind, d->ops->kind)) {
			snprintf(err, errlen,
				 "the snapshot's device %d is not a %s", i,
				 d->ops->kind);
			return -EINVAL;
		}
		if (d->ops->restore)
			ret = d->ops->restore(d->dev, &b);
		else if (!snap_get_done(&b))
			ret = -EINVAL;
		if (ret) {
			snprintf(err, errlen, "the snapshot's state of the %s is invalid",
				 d->name);
			return ret;
		}
	}
	if (snap_file_find(f, SNAPSHOT_SEC_DEVICE, (uint32_t)vmm->devices.nr)) {
		snprintf(err, errlen, "the snapshot has devices this microVM does not");
		return -EINVAL;
	}
	return 0;
}

int snapshot_restore(struct vmm *vmm, const char *state_path,
		     const char *mem_path,
		     const struct snapshot_restore_opts *opts, char *err,
		     size_t errlen)
{
	const struct snap_section *vs;
	struct snap_file f = { 0 };
	struct stat mem_st;
	struct snap_cpu_id cpu;
	int mem_fd = -1, ret;

	if (snap_file_load(state_path, &f, err, errlen))
		return VMM_EXIT_CONFIG;
	host_cpu_id(&cpu);
	if (memcmp(cpu.vendor, f.cpu.vendor, sizeof(cpu.vendor))) {
		snprintf(err, errlen,
			 "the snapshot was taken on a %.12s CPU; this host has a %.12s",
			 f.cpu.vendor, cpu.vendor);
		ret = VMM_EXIT_CONFIG;
		goto out;
	}
	vm_config_free(&vmm->owned_cfg);
	if (restore_config(&f, &vmm->owned_cfg, opts, err, errlen)) {
		ret = VMM_EXIT_CONFIG;
		goto out;
	}
	vs = snap_file_find(&f, SNAPSHOT_SEC_VM, 0);
	if (!vs || vs->len != sizeof(struct vm_state)) {
		snprintf(err, errlen, "the snapshot has no valid VM state");
		ret = VMM_EXIT_CONFIG;
		goto out;
	}
	if (!opts->uffd) {
		mem_fd = safe_open(mem_path, O_RDONLY, 0, SAFE_OPEN_REG, 0,
				   "memory file", &mem_st, err, errlen);
		if (mem_fd < 0) {
			ret = VMM_EXIT_CONFIG;
			goto out;
		}
		vmm->mapped_mem_dev = mem_st.st_dev;
		vmm->mapped_mem_ino = mem_st.st_ino;
	}
	ret = vmm_build_restored(vmm, &vmm->owned_cfg,
				 &(struct vmm_memory_source){
					 .fd = mem_fd,
					 .uffd_sock = opts->uffd ? mem_path : NULL,
				 },
				 err, errlen);
	if (ret)
		goto out;
	/* Devices first (they need no vCPU), then the irqchips, whose
	 * IOAPIC routes to the vCPUs' LAPICs, then the vCPUs. */
	if (restore_devices(vmm, &f, err, errlen) ||
	    vm_state_restore(&vmm->vm, (const struct vm_state *)vs->data, err,
			     errlen) ||
	    restore_vcpus(vmm, &f, err, errlen))
		ret = VMM_EXIT_CONFIG;
	/* RAM now equals the memory file: a base for Diff snapshots. */
	vmm->snapshot_base = ret == 0;
out:
	if (mem_fd >= 0)
		close(mem_fd);
	if (ret)
		vmm_release_vm(vmm);
	snap_file_free(&f);
	return ret;
}
