/* Times N io_uring NOP requests, submitted and reaped 32 per io_uring_enter: prints
 * nanoseconds per request. Each submission fires io_uring_submit_req, where the sensor's
 * io_uring program runs; NOPs do no other work, so its share is the largest. The ring
 * helpers are the sensor tests' (test/integration/ebpf/fixtures). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../../test/integration/ebpf/fixtures/uring-ring.h"

#define BATCH 32

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct uring ring;
	if (uring_setup(&ring, BATCH)) {
		perror("uring-nop-loop: io_uring_setup");
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long done = 0; done < n; done += BATCH) {
		for (unsigned k = 0; k < BATCH; k++)
			uring_queue(&ring)->opcode = IORING_OP_NOP;
		if (uring_submit(&ring)) {
			perror("uring-nop-loop: io_uring_enter");
			return 1;
		}
		/* NOPs always succeed: reap them all at once. */
		uring_reap(&ring);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	return 0;
}
