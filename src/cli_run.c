// SPDX-License-Identifier: Apache-2.0
/* `figment run`: a VM from flags, or from a snapshot (--restore). */
#include "cli_common.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/drive_config.h"
#include "config/mmds_config.h"
#include "config/net_config.h"
#include "config/balloon_config.h"
#include "config/vsock_config.h"
#include "snapshot.h"

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
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
	{ "mmds", required_argument, NULL, OPT_MMDS },
	{ "metadata", required_argument, NULL, OPT_METADATA },
	{ "mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT },
	{ "merge-pages", no_argument, NULL, OPT_MERGE_PAGES },
	{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
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
			cfg->boot.kernel_image_path = cli_strdup(optarg);
			break;
		case OPT_INITRD:
			free(cfg->boot.initrd_path);
			cfg->boot.initrd_path = cli_strdup(optarg);
			break;
		case OPT_CMDLINE:
			free(cfg->boot.boot_args);
			cfg->boot.boot_args = cli_strdup(optarg);
			break;
		case OPT_CPUS:
			if (cli_parse_u64(optarg, &v) || v > UINT32_MAX)
				return cli_usage_error("--cpus takes a number, not '%s'",
						   optarg);
			cfg->machine.vcpu_count = (uint32_t)v;
			break;
		case OPT_MEM:
			if (cli_parse_u64(optarg, &v))
				return cli_usage_error("--mem takes a size in MiB, not '%s'",
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
				cfg->serial.path = cli_strdup(optarg);
			}
			break;
		case OPT_VENDOR:
			free(cfg->machine.hypervisor_vendor);
			cfg->machine.hypervisor_vendor = cli_strdup(optarg);
			break;
		case OPT_HIDE_HV:
			cfg->machine.hide_hypervisor = true;
			break;
		case OPT_DRIVE: {
			char err[CONFIG_ERR_MAX];

			if (cfg->nr_drives == CONFIG_MAX_DRIVES) {
				fprintf(stderr, "%s: too many drives (at most %d)\n",
					cli_prog, CONFIG_MAX_DRIVES);
				return VMM_EXIT_CONFIG;
			}
			if (drive_config_parse(optarg, &cfg->drives[cfg->nr_drives],
					       err, sizeof(err)))
				return cli_usage_error("--drive: %s", err);
			cfg->nr_drives++;
			break;
		}
		case OPT_NET: {
			char err[CONFIG_ERR_MAX];

			if (cfg->nr_nets == CONFIG_MAX_NETS) {
				fprintf(stderr, "%s: too many network interfaces (at most %d)\n",
					cli_prog, CONFIG_MAX_NETS);
				return VMM_EXIT_CONFIG;
			}
			if (net_config_parse(optarg, &cfg->nets[cfg->nr_nets], err,
					     sizeof(err)))
				return cli_usage_error("--net: %s", err);
			cfg->nr_nets++;
			break;
		}
		case OPT_VSOCK: {
			char err[CONFIG_ERR_MAX];
			int r = vsock_config_parse(optarg, &cfg->vsock, err,
						   sizeof(err));

			if (r == -ENAMETOOLONG) {
				fprintf(stderr, "%s: --vsock: %s\n", cli_prog, err);
				return VMM_EXIT_CONFIG;
			}
			if (r)
				return cli_usage_error("--vsock: %s", err);
			break;
		}
		case OPT_RNG:
			cfg->entropy = true;
			break;
		case OPT_BALLOON: {
			char err[CONFIG_ERR_MAX];

			if (balloon_config_parse(optarg, &cfg->balloon, err,
						 sizeof(err)))
				return cli_usage_error("--balloon: %s", err);
			break;
		}
		case OPT_MMDS: {
			char err[CONFIG_ERR_MAX];

			if (mmds_config_parse(optarg, &cfg->mmds, err,
					      sizeof(err)))
				return cli_usage_error("--mmds: %s", err);
			break;
		}
		case OPT_MERGE_PAGES:
			cfg->machine.merge_pages = true;
			break;
		case OPT_HUGEPAGES:
			if (!strcasecmp(optarg, "none"))
				cfg->machine.huge_pages = HUGE_PAGES_NONE;
			else if (!strcasecmp(optarg, "2M"))
				cfg->machine.huge_pages = HUGE_PAGES_2M;
			else if (!strcasecmp(optarg, "thp"))
				cfg->machine.huge_pages = HUGE_PAGES_THP;
			else
				return cli_usage_error("--hugepages takes none, 2M or thp, not '%s'",
						   optarg);
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
			ret = cli_shared_option(opt, argv, cfg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
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
		return cli_usage_error("--restore: path too long: '%s'", ra->restore);
	if (vmm_init(&vmm)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", cli_prog);
		return VMM_EXIT_ERROR;
	}
	ret = cli_mmds_setup(&vmm, 0);
	if (ret)
		goto out;
	ret = snapshot_restore(&vmm, state, mem,
			       &(struct snapshot_restore_opts){
				       .serial = &cfg->serial,
				       .drives = cfg->drives,
				       .nr_drives = cfg->nr_drives,
				       .nets = cfg->nets,
				       .nr_nets = cfg->nr_nets,
				       .vsock_uds = cfg->vsock.present
							    ? cfg->vsock.uds_path
							    : NULL,
				       .merge_pages = cfg->machine.merge_pages,
			       },
			       err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: cannot restore '%s': %s\n", cli_prog, ra->restore,
			err);
		goto out;
	}
	vmm.start_paused = ra->paused;
	ret = vmm_start(&vmm, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", cli_prog, err);
		goto out;
	}
	/* The benchmark reads this: exec to vCPUs running again. */
	log_info("restored from '%s' in %llu us since exec", ra->restore,
		 (unsigned long long)((boot_timer_now_ns() - vmm.timer.start_ns) /
				      1000));
	ret = cli_serve_running_vm(&vmm, &(struct api_options){
					     .sock_path = ra->api_sock,
					     .started = true,
					     .started_paused = ra->paused,
				     });
out:
	vmm_destroy(&vmm);
	vm_config_free(&vmm.owned_cfg);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	struct run_args ra = { 0 };
	struct vm_config cfg;
	struct vmm vmm;
	char err[CONFIG_ERR_MAX + 256] = "";
	int ret;

	vm_config_init(&cfg);
	ret = run_parse(argc, argv, &cfg, &ra);
	if (!ret)
		ret = cli_sandbox_setup();
	if (ret)
		goto out_cfg;
	if (ra.restore) {
		/* The snapshot says what the machine is: only the console,
		 * drive files (--drive id=,path=) and TAPs (--net id=,tap=)
		 * are the restorer's. */
		if (cfg.boot.kernel_image_path || cfg.boot.initrd_path ||
		    cfg.boot.boot_args || cfg.machine.vcpu_count != 1 ||
		    cfg.machine.mem_size_mib != 128 ||
		    cfg.machine.hypervisor_vendor || cfg.machine.hide_hypervisor ||
		    cfg.machine.huge_pages != HUGE_PAGES_NONE ||
		    cfg.entropy || cfg.mmds.present || cfg.balloon.present) {
			ret = cli_usage_error("%s: the machine comes from the snapshot; with --restore only --serial, --drive id=,path= (a new file for a drive), --net id=,tap= (a new TAP for an interface), --vsock cid=,uds= (a new socket path for the vsock device), --merge-pages, --metadata, --api-sock, --paused and the log options apply",
					  "--restore");
			goto out_cfg;
		}
		ret = run_restored(&ra, &cfg);
		goto out_cfg;
	}
	if (ra.api_sock || ra.paused) {
		ret = cli_usage_error("%s goes with --restore (a booted VM's API is Firecracker mode: figment --api-sock)",
				  ra.api_sock ? "--api-sock" : "--paused");
		goto out_cfg;
	}
	if (vm_config_validate(&cfg, err, sizeof(err)) ||
	    (cfg.vsock.present &&
	     vsock_check_uds_path(cfg.vsock.uds_path, err, sizeof(err)))) {
		fprintf(stderr, "%s: %s\n", cli_prog, err);
		ret = VMM_EXIT_CONFIG;
		goto out_cfg;
	}
	if (vmm_init(&vmm)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", cli_prog);
		ret = VMM_EXIT_ERROR;
		goto out_cfg;
	}
	ret = cli_mmds_setup(&vmm, 0);
	if (ret)
		goto out;
	ret = vmm_build(&vmm, &cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", cli_prog, err);
		goto out;
	}
	ret = vmm_run(&vmm);
	vmm_report_exit(&vmm, ret, cli_prog);
out:
	vmm_destroy(&vmm);
out_cfg:
	vm_config_free(&cfg);
	return ret;
}
