/*
 * Clocks and metric lines.  A metric line on a case's stdout is how a
 * measurement reaches the results file and the reports:
 *   ipch-metric <name> <value> <unit>
 */
#ifndef IPCH_TIMING_H
#define IPCH_TIMING_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ipch_now_ns(void);

/* Print one metric line on stdout (flushed, so a later crash keeps it). */
void ipch_metric(const char *name, double value, const char *unit);

#endif
