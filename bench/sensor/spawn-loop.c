/* Runs a program N times back to back (posix_spawn + waitpid): an exec storm without a
 * shell's own per-iteration cost. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s N program [args...]\n", argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int status;
		if (posix_spawn(&pid, argv[2], NULL, NULL, &argv[2], environ) != 0) {
			perror("posix_spawn");
			return 1;
		}
		waitpid(pid, &status, 0);
	}
	return 0;
}
