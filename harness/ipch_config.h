/*
 * Typed access to kyua configuration variables
 * (kyua -v test_suites.ipcsuite.NAME=VALUE).  A value that does not parse or
 * is out of range fails the case with one line saying what is wrong and what
 * to pass instead.
 */
#ifndef IPCH_CONFIG_H
#define IPCH_CONFIG_H

#include <atf-c.h>
#include <stdbool.h>

long ipch_config_long(
    const atf_tc_t *tc, const char *name, long def, long min, long max);
bool ipch_config_bool(const atf_tc_t *tc, const char *name, bool def);

/*
 * The run's stress budget, from the variable `stress`: "short" (default,
 * what make test runs) or "long" (make stress).  Stress and bench cases
 * size their work from it.  Any other value fails with one line.
 */
bool ipch_stress_long(const atf_tc_t *tc);

/* Pure parsers behind the above, for the harness's own tests: 0 on
 * success, else a static message describing the problem. */
const char *ipch_parse_long(const char *text, long min, long max, long *out);
const char *ipch_parse_bool(const char *text, bool *out);

#endif
