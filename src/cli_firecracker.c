// SPDX-License-Identifier: Apache-2.0
/* Firecracker's command line: an API socket, a config file, or both. */
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
#include "util/metrics.h"

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
	{ "metadata", required_argument, NULL, OPT_METADATA },
	{ "mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT },
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
				return cli_usage_error("invalid --id '%s' (1-64 characters: letters, digits, -)",
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
				fprintf(stderr, "%s: %s\n", cli_prog, err);
				return VMM_EXIT_CONFIG;
			}
			break;
		case OPT_MAX_PAYLOAD:
			if (cli_parse_u64(optarg, &v) || v == 0 || v > (64 << 20))
				return cli_usage_error("--http-api-max-payload-size takes 1 to 67108864, not '%s'",
						   optarg);
			a->max_payload = v;
			break;
		case OPT_IGNORED_VALUE:
		case OPT_IGNORED_FLAG:
			break;
		case OPT_VERSION:
			cli_print_version();
			exit(0);
		default:
			ret = cli_shared_option(opt, argv, cfg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (a->no_api && !a->config_file)
		return cli_usage_error("%s needs --config-file", "--no-api");
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
		fprintf(stderr, "%s: cannot open config file '%s': %s\n", cli_prog,
			path, strerror(errno));
		return ret;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (text)
		len = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	if (!text || ferror(f)) {
		fprintf(stderr, "%s: cannot read config file '%s'\n", cli_prog, path);
	} else if (len > CONFIG_FILE_MAX) {
		fprintf(stderr, "%s: config file '%s' is larger than %d bytes\n",
			cli_prog, path, CONFIG_FILE_MAX);
	} else if (config_from_json(text, len, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: config file '%s': %s\n", cli_prog, path, err);
	} else if (logger_config_apply(&cfg->logger, err, sizeof(err)) ||
		   metrics_config_apply(&cfg->metrics, err, sizeof(err))) {
		fprintf(stderr, "%s: config file '%s': %s\n", cli_prog, path, err);
	} else {
		ret = 0;
	}
	free(text);
	fclose(f);
	return ret;
}

int cmd_firecracker(int argc, char **argv)
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
		ret = cli_sandbox_setup();
	if (ret)
		goto out_cfg;
	if (vmm_init(&vmm)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", cli_prog);
		ret = VMM_EXIT_ERROR;
		goto out_cfg;
	}
	/* The VMM owns the configuration from here: API calls change it on
	 * its thread, InstanceStart builds from it. */
	vmm.owned_cfg = cfg;
	vm_config_init(&cfg);
	/* Firecracker's default: the store may be as large as a request */
	ret = cli_mmds_setup(&vmm, a.max_payload);
	if (ret)
		goto out;
	if (a.config_file) {
		ret = vmm_build(&vmm, &vmm.owned_cfg, err, sizeof(err));
		if (!ret)
			ret = vmm_start(&vmm, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "%s: %s\n", cli_prog, err);
			goto out;
		}
		started = true;
	}
	ret = cli_serve_running_vm(&vmm, &(struct api_options){
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
