// SPDX-License-Identifier: Apache-2.0
/*
 * `figment container run [--image DIR-or-TAR | --rootfs DIR] [--cpus N]
 * [--mem MiB] [-e K=V]... [-w DIR] [-u USER] [--kernel F] [--agent F]
 * [--verbose] [-- CMD ARGS...]`: the command line; the work is in
 * src/container/container_run.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "container/container_run.h"
#include "vmm_exit.h"

#define MAX_CPUS 254
#define MIN_MEM_MIB 32

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s container run [--image DIR-or-TAR | --rootfs DIR] [--cpus N] [--mem MiB]\n"
		"                [-e K=V]... [-w DIR] [-u USER[:GROUP]] [--kernel FILE] [--agent FILE]\n"
		"                [--verbose] [-- CMD ARGS...]\n"
		"Runs CMD (or the image's Entrypoint/Cmd) in a microVM; exits with its status.\n",
		cli_prog);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: container run: ", cli_prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return VMM_EXIT_USAGE;
}

enum { O_IMAGE = 300, O_ROOTFS, O_CPUS, O_MEM, O_KERNEL, O_AGENT, O_VERBOSE, O_HELP };

static int container_run_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "image", required_argument, NULL, O_IMAGE },
		{ "rootfs", required_argument, NULL, O_ROOTFS },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "mem", required_argument, NULL, O_MEM },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct container_opts o = { .cpus = 1, .mem_mib = 128 };
	int opt, ret;
	optind = 1;
	opterr = 0;
	/* '+': options end at the first word that is not one (the command) */
	while ((opt = getopt_long(argc, argv, "+e:w:u:h", opts, NULL)) != -1) {
		switch (opt) {
		case O_IMAGE:
			o.image = optarg;
			break;
		case O_ROOTFS:
			o.rootfs = optarg;
			break;
		case O_CPUS:
			if (cli_parse_u64(optarg, &o.cpus) || o.cpus < 1 || o.cpus > MAX_CPUS)
				return bad("--cpus takes 1 to 254, not '%s'", optarg);
			break;
		case O_MEM:
			if (cli_parse_u64(optarg, &o.mem_mib) || o.mem_mib < MIN_MEM_MIB ||
			    o.mem_mib > (1u << 20))
				return bad("--mem takes MiB, 32 or more, not '%s'", optarg);
			break;
		case 'e':
			if (!*optarg || *optarg == '=')
				return bad("-e takes K=V or K, not '%s'", optarg);
			if (oci_strv_push(&o.env, optarg))
				return VMM_EXIT_ERROR;
			break;
		case 'w':
			if (optarg[0] != '/')
				return bad("-w takes an absolute path, not '%s'", optarg);
			o.workdir = optarg;
			break;
		case 'u':
			if (!*optarg)
				return bad("-u takes a user%s", "");
			o.user = optarg;
			break;
		case O_KERNEL:
			o.kernel = optarg;
			break;
		case O_AGENT:
			o.agent = optarg;
			break;
		case O_VERBOSE:
			o.verbose = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			return bad("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!o.image == !o.rootfs)
		return bad("give one of --image and --rootfs%s", "");
	o.argv = argv + optind;
	o.argc = argc - optind;
	if (o.rootfs && !o.argc)
		return bad("--rootfs needs a command after --%s", "");
	ret = container_run(&o);
	oci_strv_free(&o.env);
	return ret;
}

int cmd_container(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? VMM_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "run"))
		return container_run_cmd(argc - 1, argv + 1);
	return bad("unknown subcommand '%s' (only run is there yet)", argv[1]);
}
