/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What figment's two VM command lines share (cli_common.c): `run`
 * (cli_run.c) and Firecracker's flags (cli_firecracker.c): the program
 * name, usage, option ids and the options both take, number and level
 * parsing, the seccomp set-up before any thread, and serving a running VM.
 */
#ifndef FIGMENT_CLI_COMMON_H
#define FIGMENT_CLI_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "api/api.h"
#include "config/vm_config.h"
#include "util/log.h"
#include "vmm.h"

#define FIGMENT_VERSION "0.1.0"
/* What tools that check `firecracker --version` expect to parse. */
#define FIRECRACKER_COMPAT_VERSION "1.7.0"

#define DEFAULT_API_SOCK "/run/firecracker.socket"
#define CONFIG_FILE_MAX (1 << 20)

/* The name figment was started as (argv[0]'s base), for messages. */
extern const char *cli_prog;

/* getopt ids of the long options */
enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_CPUS, OPT_MEM,
	OPT_SERIAL, OPT_VENDOR, OPT_HIDE_HV, OPT_BOOT_TIMER, OPT_LEVEL,
	OPT_LOG_PATH, OPT_HELP, OPT_VERSION, OPT_API_SOCK, OPT_ID,
	OPT_CONFIG_FILE, OPT_NO_API, OPT_METRICS_PATH, OPT_SECCOMP_FILTER,
	OPT_NO_SECCOMP, OPT_MAX_PAYLOAD, OPT_IGNORED_VALUE, OPT_IGNORED_FLAG,
	OPT_DRIVE, OPT_NET, OPT_VSOCK, OPT_RNG, OPT_RESTORE, OPT_PAUSED, OPT_PRINT_SECCOMP,
	OPT_MMDS, OPT_METADATA, OPT_MMDS_SIZE_LIMIT,
	OPT_MERGE_PAGES, OPT_HUGEPAGES,
	OPT_BALLOON,
};

void cli_usage(FILE *out);
/* Prints "prog: <fmt with arg>" and a hint; returns VMM_EXIT_USAGE. */
int cli_usage_error(const char *fmt, const char *arg);
/* Strict unsigned decimal: the whole string, no sign, no overflow. */
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_level(const char *s, enum log_level *out);
/* strdup or exit with VMM_EXIT_ERROR. */
char *cli_strdup(const char *s);
/* Options both command lines take (and getopt's own verdicts). Returns 0
 * or the exit status to end with. */
int cli_shared_option(int opt, char **argv, struct vm_config *cfg);
/* After vmm_init(): the metadata store's limit (--mmds-size-limit, else
 * @default_limit; 0: MMDS_DEFAULT_SIZE_LIMIT) and its first contents
 * (--metadata FILE). 0 or an exit status (the reason printed). */
int cli_mmds_setup(struct vmm *vmm, size_t default_limit);
/* On main, before any thread: the seccomp filters compiled, and what
 * filtered threads must not do lazily done now. 0 or an exit status. */
int cli_sandbox_setup(void);
/* Serves a VM (started or not) with the API when opts->sock_path, until it
 * ends; returns the exit status. */
int cli_serve_running_vm(struct vmm *vmm, const struct api_options *opts);
void cli_print_version(void);

/* `figment run ...` (cli_run.c) */
int cmd_run(int argc, char **argv);
/* Firecracker's command line (cli_firecracker.c) */
int cmd_firecracker(int argc, char **argv);

#endif
