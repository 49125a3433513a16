// SPDX-License-Identifier: Apache-2.0
/* figment's commands: which one argv names, then that command's own file
 * (cli_*.c, the jailer in src/jailer/). Each returns the exit status
 * (enum vmm_exit). */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"

struct command {
	const char *name;
	/* argv from the command's name on */
	int (*run)(int argc, char **argv);
};

static int jailer_cmd(int argc, char **argv)
{
	return cmd_jailer("figment jailer", argc, argv);
}

static int snapshot_cmd(int argc, char **argv)
{
	return cmd_snapshot(cli_prog, argc, argv);
}

static const struct command commands[] = {
	{ "run", cmd_run },
	{ "snapshot", snapshot_cmd },
	{ "jailer", jailer_cmd },
	{ "container", cmd_container },
};

int main(int argc, char **argv)
{
	cli_prog = basename(argv[0]);
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* a `jailer` symlink is what the Go SDK's JailerBinary runs */
	if (!strcmp(cli_prog, "jailer") || !strcmp(cli_prog, "figment-jailer"))
		return cmd_jailer(cli_prog, argc, argv);
	/* no command: Firecracker's command line (flags only, or nothing:
	 * the API on the default socket) */
	if (argc < 2 || argv[1][0] == '-')
		return cmd_firecracker(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return cli_usage_error("unknown command '%s'", argv[1]);
}
