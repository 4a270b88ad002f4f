#include "ipch_timing.h"

#include <stdio.h>
#include <time.h>

uint64_t
ipch_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
ipch_metric(const char *name, double value, const char *unit)
{
	printf("ipch-metric %s %.10g %s\n", name, value, unit);
	fflush(stdout);
}
