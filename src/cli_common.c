// SPDX-License-Identifier: Apache-2.0
/* What `run` and Firecracker's command line share (cli_common.h). */
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

#include "config/config_json.h"
#include "mmds/mmds.h"
#include "sandbox/sandbox.h"
#include "util/metrics.h"
#include "vmm_api.h"

const char *cli_prog = "figment";

void cli_usage(FILE *out)
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
		"  --net id=ID,tap=NAME[,mac=06:00:AC:10:00:02]\n"
		"                             a virtio-net interface on an existing TAP (repeatable)\n"
		"  --net id=ID,user=on|passt|slirp[,hostfwd=tcp:127.0.0.1:2222-:22]...\n"
		"                             user-mode networking, no root needed (guest 10.0.2.15/24 by DHCP)\n"
		"  --vsock cid=N,uds=PATH     a virtio-vsock device: host connections at PATH,\n"
		"                             guest connections to port P at PATH_P\n"
		"  --rng                      a virtio entropy device fed from getrandom()\n"
		"  --balloon amount_mib=N[,deflate_on_oom=on][,stats_interval_s=S]\n"
		"            [,free_page_reporting=on][,free_page_hinting=on]\n"
		"                             a virtio-balloon device (target N MiB; PATCH /balloon)\n"
		"  --mmds net=ID[+ID][,version=V1|V2][,address=169.254.169.254][,imds_compat=on]\n"
		"                             the metadata service on those interfaces\n"
		"  --merge-pages              guest RAM may be merged with identical pages of\n"
		"                             other VMs (KSM; also with --restore)\n"
		"  --hugepages none|2M|thp    guest RAM on 4 KiB pages (default), 2 MiB hugetlbfs\n"
		"                             pages, or transparent huge pages\n"
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
		"  --metadata FILE            the metadata store's first contents (JSON)\n"
		"  --mmds-size-limit BYTES    the metadata store's size limit (default 51200)\n"
		"  --print-seccomp-filter     print the built-in filters as such a file\n"
		"\n"
		"Exit status: 0 guest powered off or rebooted, 1 host error, 2 cli_usage,\n"
		"3 bad configuration or input file, 4 KVM unavailable or refused,\n"
		"5 guest triple fault, 6 KVM internal error, 7 guest crash, 8 stopped by user.\n",
		cli_prog, cli_prog, cli_prog, CONFIG_DEFAULT_BOOT_ARGS, DEFAULT_API_SOCK);
}

int cli_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", cli_prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", cli_prog);
	return VMM_EXIT_USAGE;
}

/* Strict unsigned decimal: the whole string, no sign, no overflow. */
int cli_parse_u64(const char *s, uint64_t *out)
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

int cli_parse_level(const char *s, enum log_level *out)
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

char *cli_strdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fprintf(stderr, "%s: out of memory\n", cli_prog);
		exit(VMM_EXIT_ERROR);
	}
	return d;
}

/* --seccomp-filter / --no-seccomp, for cli_sandbox_setup(). */
static const char *seccomp_file;
static bool no_seccomp;
static const char *metadata_file;
static uint64_t mmds_size_limit;

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
int cli_sandbox_setup(void)
{
	struct seccomp_policy p;
	char err[512];
	int ret;

	mallopt(M_ARENA_MAX, 1);
	json_object_seed(0);
	log_prepare();
	if (no_seccomp) {
		if (seccomp_file)
			return cli_usage_error("%s: --seccomp-filter and --no-seccomp exclude each other",
					   "--no-seccomp");
		log_warn("seccomp filters are off (--no-seccomp)");
		return sandbox_prepare(NULL, err, sizeof(err));
	}
	if (seccomp_file) {
		if (seccomp_policy_load(seccomp_file, &p, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cli_prog, err);
			return VMM_EXIT_CONFIG;
		}
	} else {
		seccomp_policy_builtin(&p);
	}
	ret = sandbox_prepare(&p, err, sizeof(err));
	seccomp_policy_free(&p);
	if (ret) {
		fprintf(stderr, "%s: %s\n", cli_prog, err);
		return seccomp_file ? VMM_EXIT_CONFIG : VMM_EXIT_ERROR;
	}
	return 0;
}

int cli_shared_option(int opt, char **argv, struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX];
	enum log_level level;

	switch (opt) {
	case OPT_BOOT_TIMER:
		cfg->boot_timer = true;
		return 0;
	case OPT_LEVEL:
		if (cli_parse_level(optarg, &level))
			return cli_usage_error("unknown log level '%s'", optarg);
		log_set_level(level);
		return 0;
	case OPT_LOG_PATH:
		if (log_set_path(optarg, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cli_prog, err);
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
	case OPT_METADATA:
		metadata_file = optarg;
		return 0;
	case OPT_MMDS_SIZE_LIMIT:
		if (cli_parse_u64(optarg, &mmds_size_limit) ||
		    mmds_size_limit < 1 || mmds_size_limit > MMDS_MAX_SIZE_LIMIT)
			return cli_usage_error("--mmds-size-limit takes 1 to 67108864 bytes, not '%s'",
					       optarg);
		return 0;
	case OPT_HELP:
		cli_usage(stdout);
		exit(0);
	case ':':
		return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
	default:
		return cli_usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

int cli_mmds_setup(struct vmm *vmm, size_t default_limit)
{
	char err[CONFIG_ERR_MAX];
	json_error_t jerr;
	struct mmds *m;
	json_t *j;
	int ret;

	vmm->mmds_size_limit = mmds_size_limit ? mmds_size_limit : default_limit;
	if (!metadata_file)
		return 0;
	m = vmm_mmds(vmm);
	if (!m) {
		fprintf(stderr, "%s: out of memory\n", cli_prog);
		return VMM_EXIT_ERROR;
	}
	j = json_load_file(metadata_file, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		fprintf(stderr, "%s: --metadata %s: %s (line %d)\n", cli_prog,
			metadata_file, jerr.text, jerr.line);
		return VMM_EXIT_CONFIG;
	}
	ret = mmds_put(m, j, err, sizeof(err));
	json_decref(j);
	if (ret) {
		fprintf(stderr, "%s: --metadata %s: %s\n", cli_prog,
			metadata_file, err);
		return VMM_EXIT_CONFIG;
	}
	return 0;
}

/*
 * The VMM thread's life once the VM is built (and started, when
 * opts->started): the API on opts->sock_path unless that is NULL, the event
 * loop until the VM ends, then the exit report. Returns the exit status.
 */
int cli_serve_running_vm(struct vmm *vmm, const struct api_options *opts)
{
	struct api_server *api = NULL;
	int ret;

	if (opts->sock_path) {
		ret = api_start(&api, opts, &vmm->loop, &vmm_api_ops, vmm);
		if (ret) {
			fprintf(stderr, "%s: cannot serve the API on '%s': %s\n",
				cli_prog, opts->sock_path, strerror(-ret));
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
	vmm_report_exit(vmm, ret, cli_prog);
	return ret;
}
void cli_print_version(void)
{
	if (!strcmp(cli_prog, "firecracker"))
		printf("Firecracker v%s (figment %s)\n", FIRECRACKER_COMPAT_VERSION,
		       FIGMENT_VERSION);
	else
		printf("figment %s\n", FIGMENT_VERSION);
}
