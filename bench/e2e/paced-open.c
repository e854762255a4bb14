/* Opens one file for writing at a steady rate (events per second) for a number of
 * seconds: background load whose items are already in the workload's profile. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s rate seconds path\n", argv[0]);
		return 2;
	}
	long rate = atol(argv[1]);
	double seconds = atof(argv[2]);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	long done = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double elapsed = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
		if (elapsed >= seconds)
			break;
		long due = (long)(elapsed * rate);
		for (; done < due; done++) {
			int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0)
				close(fd);
		}
		struct timespec pause = { 0, 500000 };
		nanosleep(&pause, NULL);
	}
	printf("%ld\n", done);
	return 0;
}
