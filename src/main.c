// SPDX-License-Identifier: Apache-2.0
/* figment's command line: parse flags, pick a mode, map outcomes to exit
 * statuses (enum vmm_exit). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli.h"
#include "config/config_json.h"
#include "config/drive_config.h"
#include "config/vm_config.h"
#include "util/log.h"
#include "util/metrics.h"
#include "sandbox/sandbox.h"
#include "snapshot.h"
#include "vmm.h"
#include "vmm_api.h"

#define FIGMENT_VERSION "0.1.0"
/* What tools that check `firecracker --version` expect to parse. */
#define FIRECRACKER_COMPAT_VERSION "1.7.0"

#define DEFAULT_API_SOCK "/run/firecracker.socket"
#define CONFIG_FILE_MAX (1 << 20)

static const char *prog = "figment";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s run --kernel FILE [options]\n"
		"       %s [--api-sock PATH] [--config-file FILE] [--no-api] [--id ID] ...\n"
		"       %s --version | --help\n"
		"\n"
		"Boot a Linux kernel (bzImage or ELF vmlinux with a PVH note) in a KVM microVM.\n"
		"The guest's serial console is this terminal; Ctrl-A x quits.\n"
		"\n"
		"run options:\n"
		"  --kernel FILE              kernel image (bzImage or ELF vmlinux)\n"
		"  --initrd FILE              initramfs / initrd\n"
		"  --cmdline STRING           kernel command line (default \"%s\")\n"
		"  --cpus N                   vCPUs (default 1)\n"
		"  --mem MiB                  guest RAM in MiB (default 128)\n"
		"  --serial stdio|none|PATH   where the guest console goes (default stdio)\n"
		"  --hypervisor-vendor STR    CPUID leaf 0x40000000 vendor (default KVMKVMKVM)\n"
		"  --hide-hypervisor          no hypervisor bit and no hypervisor leaves\n"
		"  --drive id=ID,path=FILE[,root=on][,readonly=on][,serial=S][,cache=unsafe|writeback]\n"
		"                             a virtio block device (repeatable; the root drive is /dev/vda)\n"
		"  --rng                      a virtio entropy device fed from getrandom()\n"
		"  --boot-timer               print the guest's boot time when /init starts\n"
		"  --level error|warn|info|debug   log level (default warn)\n"
		"  --log-path FILE            log to FILE instead of stderr\n"
		"\n"
		"Firecracker-compatible mode (no 'run'):\n"
		"  --api-sock PATH            serve the HTTP API here (default %s)\n"
		"  --config-file FILE         configure (and start) the VM from a JSON file\n"
		"  --no-api                   no API socket (needs --config-file)\n"
		"  --id ID                    the instance id GET / reports\n"
		"  --http-api-max-payload-size N   largest request body (default 51200)\n"
		"  --metrics-path FILE        metrics, one JSON object per line\n"
		"  --boot-timer, --level, --log-path  as for run\n"
		"\n"
		"Both modes:\n"
		"  --seccomp-filter FILE      seccomp filters from FILE (seccompiler JSON)\n"
		"                             instead of the built-in ones\n"
		"  --no-seccomp               no seccomp filters\n"
		"  --print-seccomp-filter     print the built-in filters as such a file\n"
		"\n"
		"Exit status: 0 guest powered off or rebooted, 1 host error, 2 usage,\n"
		"3 bad configuration or input file, 4 KVM unavailable or refused,\n"
		"5 guest triple fault, 6 KVM internal error, 7 guest crash, 8 stopped by user.\n",
		prog, prog, prog, CONFIG_DEFAULT_BOOT_ARGS, DEFAULT_API_SOCK);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return VMM_EXIT_USAGE;
}

/* Strict unsigned decimal: the whole string, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_level(const char *s, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, names[i]) ||
		    (i == LOG_WARN && !strcasecmp(s, "warning"))) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(VMM_EXIT_ERROR);
	}
	return d;
}

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_CPUS, OPT_MEM,
	OPT_SERIAL, OPT_VENDOR, OPT_HIDE_HV, OPT_BOOT_TIMER, OPT_LEVEL,
	OPT_LOG_PATH, OPT_HELP, OPT_VERSION, OPT_API_SOCK, OPT_ID,
	OPT_CONFIG_FILE, OPT_NO_API, OPT_METRICS_PATH, OPT_SECCOMP_FILTER,
	OPT_NO_SECCOMP, OPT_MAX_PAYLOAD, OPT_IGNORED_VALUE, OPT_IGNORED_FLAG,
	OPT_DRIVE, OPT_RNG, OPT_RESTORE, OPT_PAUSED, OPT_PRINT_SECCOMP,
};

/* Options both command lines take (and getopt's own verdicts). Returns 0
 * or the exit status to end with. */
/* --seccomp-filter / --no-seccomp, for sandbox_setup(). */
static const char *seccomp_file;
static bool no_seccomp;

static int print_seccomp_filter(void)
{
	struct seccomp_policy p;
	char *text;

	seccomp_policy_builtin(&p);
	text = seccomp_policy_to_json(&p);
	if (!text)
		return VMM_EXIT_ERROR;
	printf("%s\n", text);
	free(text);
	return 0;
}

/*
 * Before any thread but main exists: the seccomp filters compiled, and the
 * lazy set-up that would otherwise make a filtered thread open files
 * (jansson's hash seed reads /dev/urandom, the log's stderr and time zone;
 * glibc's per-thread malloc arenas read /sys and /proc files when they are
 * made and shrunk: one arena for all threads, which malloc little, avoids
 * that and the arenas' memory).
 */
static int sandbox_setup(void)
{
	struct seccomp_policy p;
	char err[512];
	int ret;

	mallopt(M_ARENA_MAX, 1);
	json_object_seed(0);
	log_prepare();
	if (no_seccomp) {
		if (seccomp_file)
			return usage_error("%s: --seccomp-filter and --no-seccomp exclude each other",
					   "--no-seccomp");
		log_warn("seccomp filters are off (--no-seccomp)");
		return sandbox_prepare(NULL, err, sizeof(err));
	}
	if (seccomp_file) {
		if (seccomp_policy_load(seccomp_file, &p, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return VMM_EXIT_CONFIG;
		}
	} else {
		seccomp_policy_builtin(&p);
	}
	ret = sandbox_prepare(&p, err, sizeof(err));
	seccomp_policy_free(&p);
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return seccomp_file ? VMM_EXIT_CONFIG : VMM_EXIT_ERROR;
	}
	return 0;
}

static int parse_shared_option(int opt, char **argv, struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX];
	enum log_level level;

	switch (opt) {
	case OPT_BOOT_TIMER:
		cfg->boot_timer = true;
		return 0;
	case OPT_LEVEL:
		if (parse_level(optarg, &level))
			return usage_error("unknown log level '%s'", optarg);
		log_set_level(level);
		return 0;
	case OPT_LOG_PATH:
		if (log_set_path(optarg, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return VMM_EXIT_CONFIG;
		}
		return 0;
	case OPT_SECCOMP_FILTER:
		seccomp_file = optarg;
		return 0;
	case OPT_NO_SECCOMP:
		no_seccomp = true;
		return 0;
	case OPT_PRINT_SECCOMP:
		exit(print_seccomp_filter());
	case OPT_HELP:
		usage(stdout);
		exit(0);
	case ':':
		return usage_error("option '%s' needs a value", argv[optind - 1]);
	default:
		return usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "hypervisor-vendor", required_argument, NULL, OPT_VENDOR },
	{ "hide-hypervisor", no_argument, NULL, OPT_HIDE_HV },
	{ "drive", required_argument, NULL, OPT_DRIVE },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "log-level", required_argument, NULL, OPT_LEVEL },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "print-seccomp-filter", no_argument, NULL, OPT_PRINT_SECCOMP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* What `run` takes besides the VM's configuration. */
struct run_args {
	const char *restore; /* a snapshot directory (state, memory) */
	const char *api_sock;
	bool paused;
};

static int run_parse(int argc, char **argv, struct vm_config *cfg,
		     struct run_args *ra)
{
	uint64_t v;
	int opt, ret;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", run_options, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL:
			free(cfg->boot.kernel_image_path);
			cfg->boot.kernel_image_path = xstrdup(optarg);
			break;
		case OPT_INITRD:
			free(cfg->boot.initrd_path);
			cfg->boot.initrd_path = xstrdup(optarg);
			break;
		case OPT_CMDLINE:
			free(cfg->boot.boot_args);
			cfg->boot.boot_args = xstrdup(optarg);
			break;
		case OPT_CPUS:
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				return usage_error("--cpus takes a number, not '%s'",
						   optarg);
			cfg->machine.vcpu_count = (uint32_t)v;
			break;
		case OPT_MEM:
			if (parse_u64(optarg, &v))
				return usage_error("--mem takes a size in MiB, not '%s'",
						   optarg);
			cfg->machine.mem_size_mib = v;
			break;
		case OPT_SERIAL:
			free(cfg->serial.path);
			cfg->serial.path = NULL;
			if (!strcmp(optarg, "stdio")) {
				cfg->serial.mode = SERIAL_STDIO;
			} else if (!strcmp(optarg, "none")) {
				cfg->serial.mode = SERIAL_NONE;
			} else {
				cfg->serial.mode = SERIAL_FILE;
				cfg->serial.path = xstrdup(optarg);
			}
			break;
		case OPT_VENDOR:
			free(cfg->machine.hypervisor_vendor);
			cfg->machine.hypervisor_vendor = xstrdup(optarg);
			break;
		case OPT_HIDE_HV:
			cfg->machine.hide_hypervisor = true;
			break;
		case OPT_DRIVE: {
			char err[CONFIG_ERR_MAX];

			if (cfg->nr_drives == CONFIG_MAX_DRIVES) {
				fprintf(stderr, "%s: too many drives (at most %d)\n",
					prog, CONFIG_MAX_DRIVES);
				return VMM_EXIT_CONFIG;
			}
			if (drive_config_parse(optarg, &cfg->drives[cfg->nr_drives],
					       err, sizeof(err)))
				return usage_error("--drive: %s", err);
			cfg->nr_drives++;
			break;
		}
		case OPT_RNG:
			cfg->entropy = true;
			break;
		case OPT_RESTORE:
			ra->restore = optarg;
			break;
		case OPT_API_SOCK:
			ra->api_sock = optarg;
			break;
		case OPT_PAUSED:
			ra->paused = true;
			break;
		default:
			ret = parse_shared_option(opt, argv, cfg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

static const struct option fc_options[] = {
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "id", required_argument, NULL, OPT_ID },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "print-seccomp-filter", no_argument, NULL, OPT_PRINT_SECCOMP },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	/* Firecracker's jailer passes these; they only tune its own logs. */
	{ "start-time-us", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "start-time-cpu-us", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "parent-cpu-time-us", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "module", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "show-level", no_argument, NULL, OPT_IGNORED_FLAG },
	{ "show-log-origin", no_argument, NULL, OPT_IGNORED_FLAG },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct fc_args {
	const char *api_sock;
	const char *id;
	const char *config_file;
	bool no_api;
	size_t max_payload;
};

static void print_version(void);

static int fc_parse(int argc, char **argv, struct fc_args *a,
		    struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX];
	uint64_t v;
	int opt, ret;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", fc_options, NULL)) != -1) {
		switch (opt) {
		case OPT_API_SOCK:
			a->api_sock = optarg;
			break;
		case OPT_ID:
			if (!config_instance_id_valid(optarg))
				return usage_error("invalid --id '%s' (1-64 characters: letters, digits, -)",
						   optarg);
			a->id = optarg;
			break;
		case OPT_CONFIG_FILE:
			a->config_file = optarg;
			break;
		case OPT_NO_API:
			a->no_api = true;
			break;
		case OPT_METRICS_PATH:
			if (metrics_set_path(optarg, err, sizeof(err))) {
				fprintf(stderr, "%s: %s\n", prog, err);
				return VMM_EXIT_CONFIG;
			}
			break;
		case OPT_MAX_PAYLOAD:
			if (parse_u64(optarg, &v) || v == 0 || v > (64 << 20))
				return usage_error("--http-api-max-payload-size takes 1 to 67108864, not '%s'",
						   optarg);
			a->max_payload = v;
			break;
		case OPT_IGNORED_VALUE:
		case OPT_IGNORED_FLAG:
			break;
		case OPT_VERSION:
			print_version();
			exit(0);
		default:
			ret = parse_shared_option(opt, argv, cfg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->no_api && !a->config_file)
		return usage_error("%s needs --config-file", "--no-api");
	return 0;
}

/* Reads and decodes --config-file into @cfg. 0 or a vmm_exit status. */
static int fc_load_config(const char *path, struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX + 128];
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	int ret = VMM_EXIT_CONFIG;

	if (!f) {
		fprintf(stderr, "%s: cannot open config file '%s': %s\n", prog,
			path, strerror(errno));
		return ret;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (text)
		len = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	if (!text || ferror(f)) {
		fprintf(stderr, "%s: cannot read config file '%s'\n", prog, path);
	} else if (len > CONFIG_FILE_MAX) {
		fprintf(stderr, "%s: config file '%s' is larger than %d bytes\n",
			prog, path, CONFIG_FILE_MAX);
	} else if (config_from_json(text, len, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: config file '%s': %s\n", prog, path, err);
	} else if (logger_config_apply(&cfg->logger, err, sizeof(err)) ||
		   metrics_config_apply(&cfg->metrics, err, sizeof(err))) {
		fprintf(stderr, "%s: config file '%s': %s\n", prog, path, err);
	} else {
		ret = 0;
	}
	free(text);
	fclose(f);
	return ret;
}

/*
 * The VMM thread's life once the VM is built (and started, when
 * opts->started): the API on opts->sock_path unless that is NULL, the event
 * loop until the VM ends, then the exit report. Returns the exit status.
 */
static int serve_running_vm(struct vmm *vmm, const struct api_options *opts)
{
	struct api_server *api = NULL;
	int ret;

	if (opts->sock_path) {
		ret = api_start(&api, opts, &vmm->loop, &vmm_api_ops, vmm);
		if (ret) {
			fprintf(stderr, "%s: cannot serve the API on '%s': %s\n",
				prog, opts->sock_path, strerror(-ret));
			/* a VM already started stops with us */
			vmm_request_stop(vmm, VMM_EXIT_ERROR, "API socket failed");
			vmm_finish(vmm);
			return VMM_EXIT_ERROR;
		}
	}
	metrics_periodic_start(&vmm->loop, 0);
	/* A VM started before the API thread was: the VMM thread goes under
	 * seccomp now that it has no more threads to make. */
	if (opts->started)
		vmm_enter_sandbox(vmm);
	event_loop_run(&vmm->loop);
	api_stop(api);
	ret = vmm_finish(vmm);
	metrics_flush();
	vmm_report_exit(vmm, ret, prog);
	return ret;
}

/* Firecracker's command line: an API socket, a config file, or both. */
static int cmd_firecracker(int argc, char **argv)
{
	struct fc_args a = { .api_sock = DEFAULT_API_SOCK };
	struct vm_config cfg;
	struct vmm vmm;
	char err[CONFIG_ERR_MAX + 256] = "";
	bool started = false;
	int ret;

	vm_config_init(&cfg);
	ret = fc_parse(argc, argv, &a, &cfg);
	if (!ret && a.config_file)
		ret = fc_load_config(a.config_file, &cfg);
	if (!ret)
		ret = sandbox_setup();
	if (ret)
		goto out_cfg;
	if (vmm_init(&vmm)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", prog);
		ret = VMM_EXIT_ERROR;
		goto out_cfg;
	}
	/* The VMM owns the configuration from here: API calls change it on
	 * its thread, InstanceStart builds from it. */
	vmm.owned_cfg = cfg;
	vm_config_init(&cfg);
	if (a.config_file) {
		ret = vmm_build(&vmm, &vmm.owned_cfg, err, sizeof(err));
		if (!ret)
			ret = vmm_start(&vmm, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "%s: %s\n", prog, err);
			goto out;
		}
		started = true;
	}
	ret = serve_running_vm(&vmm, &(struct api_options){
					     .sock_path = a.no_api ? NULL : a.api_sock,
					     .started = started,
					     .max_body = a.max_payload,
					     .instance_id = a.id,
				     });
out:
	vmm_destroy(&vmm);
	vm_config_free(&vmm.owned_cfg);
out_cfg:
	vm_config_free(&cfg);
	return ret;
}

/* A restored VM: `figment run --restore DIR`, run like a started one, with
 * the API on --api-sock when given. */
static int run_restored(const struct run_args *ra, const struct vm_config *cfg)
{
	char state[PATH_MAX], mem[PATH_MAX];
	char err[CONFIG_ERR_MAX + 256] = "";
	struct vmm vmm;
	int ret;

	if (snprintf(state, sizeof(state), "%s/state", ra->restore) >=
		    (int)sizeof(state) ||
	    snprintf(mem, sizeof(mem), "%s/memory", ra->restore) >=
		    (int)sizeof(mem))
		return usage_error("--restore: path too long: '%s'", ra->restore);
	if (vmm_init(&vmm)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", prog);
		return VMM_EXIT_ERROR;
	}
	ret = snapshot_restore(&vmm, state, mem,
			       &(struct snapshot_restore_opts){
				       .serial = &cfg->serial,
				       .drives = cfg->drives,
				       .nr_drives = cfg->nr_drives,
			       },
			       err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: cannot restore '%s': %s\n", prog, ra->restore,
			err);
		goto out;
	}
	vmm.start_paused = ra->paused;
	ret = vmm_start(&vmm, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out;
	}
	/* The benchmark reads this: exec to vCPUs running again. */
	log_info("restored from '%s' in %llu us since exec", ra->restore,
		 (unsigned long long)((boot_timer_now_ns() - vmm.timer.start_ns) /
				      1000));
	ret = serve_running_vm(&vmm, &(struct api_options){
					     .sock_path = ra->api_sock,
					     .started = true,
					     .started_paused = ra->paused,
				     });
out:
	vmm_destroy(&vmm);
	vm_config_free(&vmm.owned_cfg);
	return ret;
}

static int cmd_run(int argc, char **argv)
{
	struct run_args ra = { 0 };
	struct vm_config cfg;
	struct vmm vmm;
	char err[CONFIG_ERR_MAX + 256] = "";
	int ret;

	vm_config_init(&cfg);
	ret = run_parse(argc, argv, &cfg, &ra);
	if (!ret)
		ret = sandbox_setup();
	if (ret)
		goto out_cfg;
	if (ra.restore) {
		/* The snapshot says what the machine is: only the console and
		 * drive files (--drive id=,path=) are the restorer's. */
		if (cfg.boot.kernel_image_path || cfg.boot.initrd_path ||
		    cfg.boot.boot_args || cfg.machine.vcpu_count != 1 ||
		    cfg.machine.mem_size_mib != 128 ||
		    cfg.machine.hypervisor_vendor || cfg.machine.hide_hypervisor ||
		    cfg.entropy) {
			ret = usage_error("%s: the machine comes from the snapshot; with --restore only --serial, --drive id=,path= (a new file for a drive), --api-sock, --paused and the log options apply",
					  "--restore");
			goto out_cfg;
		}
		ret = run_restored(&ra, &cfg);
		goto out_cfg;
	}
	if (ra.api_sock || ra.paused) {
		ret = usage_error("%s goes with --restore (a booted VM's API is Firecracker mode: figment --api-sock)",
				  ra.api_sock ? "--api-sock" : "--paused");
		goto out_cfg;
	}
	if (vm_config_validate(&cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", prog, err);
		ret = VMM_EXIT_CONFIG;
		goto out_cfg;
	}
	if (vmm_init(&vmm)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", prog);
		ret = VMM_EXIT_ERROR;
		goto out_cfg;
	}
	ret = vmm_build(&vmm, &cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out;
	}
	ret = vmm_run(&vmm);
	vmm_report_exit(&vmm, ret, prog);
out:
	vmm_destroy(&vmm);
out_cfg:
	vm_config_free(&cfg);
	return ret;
}

static void print_version(void)
{
	if (!strcmp(prog, "firecracker"))
		printf("Firecracker v%s (figment %s)\n", FIRECRACKER_COMPAT_VERSION,
		       FIGMENT_VERSION);
	else
		printf("figment %s\n", FIGMENT_VERSION);
}

int main(int argc, char **argv)
{
	prog = basename(argv[0]);
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* a `jailer` symlink is what the Go SDK's JailerBinary runs */
	if (!strcmp(prog, "jailer") || !strcmp(prog, "figment-jailer"))
		return cmd_jailer(prog, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "jailer"))
		return cmd_jailer("figment jailer", argc - 1, argv + 1);
	if (argc < 2)
		return cmd_firecracker(argc, argv); /* API on the default socket */
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "snapshot"))
		return cmd_snapshot(prog, argc - 1, argv + 1);
	if (argv[1][0] != '-')
		return usage_error("unknown command '%s'", argv[1]);
	return cmd_firecracker(argc, argv);
}
