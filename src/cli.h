/* SPDX-License-Identifier: Apache-2.0 */
/* figment's commands besides `run` and Firecracker mode (cli_common.h),
 * each in a file of its own: cli_<name>.c. Each takes argv from its own
 * name on and returns the process exit status; main.c's command table
 * picks one. */
#ifndef FIGMENT_CLI_H
#define FIGMENT_CLI_H

/* `figment snapshot ...` (cli_snapshot.c) */
int cmd_snapshot(const char *prog, int argc, char **argv);

/* `figment jailer ...`, or figment started as `jailer` / `figment-jailer`:
 * Firecracker's jailer (src/jailer/jailer.c). @prog names it in messages. */
int cmd_jailer(const char *prog, int argc, char **argv);

/* `figment container run ...` (cli_container.c) */
int cmd_container(int argc, char **argv);

#endif
