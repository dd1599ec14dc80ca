/* main.c — `redial`: keep connections to a list of endpoints alive, show their status, and
 * report what happened. `redial demo` runs the same against a loopback target farm. */
#include <string.h>
#include <unistd.h>

#include "cli.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "demo") == 0)
		return cli_demo(argc - 1, argv + 1);

	struct cli_settings s;
	struct cli_result res;
	cli_settings_init(&s);
	int status = cli_parse_args(&s, argc, argv);
	if (status >= 0) {
		cli_settings_free(&s);
		return status;
	}
	int sigfd = cli_signals_init();
	if (sigfd < 0) {
		cli_settings_free(&s);
		return CLI_EXIT_RUNTIME;
	}
	const struct cli_run_hooks hooks = { .text_summary = true };
	status = cli_run(&s, sigfd, &hooks, &res);
	cli_result_free(&res);
	cli_settings_free(&s);
	close(sigfd);
	return status;
}
