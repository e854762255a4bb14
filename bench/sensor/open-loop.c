/* Opens one file for writing N times in a tight loop (open + close): the write-open
 * storm that fills the ring buffer fastest. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s N path\n", argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	for (long i = 0; i < n; i++) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		close(fd);
	}
	return 0;
}
