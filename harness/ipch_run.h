/*
 * Running one case of a test program the way kyua does (body, then
 * cleanup, in a fresh work directory) and reading its verdict.  The harness
 * self-tests use it to show that a case goes red under a fault, that a
 * failure message reads as it should, and that nothing outlives a case.
 */
#ifndef IPCH_RUN_H
#define IPCH_RUN_H

#include <atf-c.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct ipch_run {
	/* inputs */
	const char *prog;        /* path of the ATF test program */
	const char *tcname;      /* case to run */
	const char *const *env;  /* extra "NAME=value" entries, or NULL */
	const char *const *vars; /* config "name=value" pairs, or NULL */
	int timeout_s;           /* body deadline; 0 means 30 */
	bool skip_cleanup;       /* do not run the cleanup routine */
	/* outputs */
	char dir[PATH_MAX]; /* the work dir, kept for the caller */
	char result[1024];  /* ATF result line, "timed out", or "no result" */
	char cleanup_result[256]; /* the cleanup routine's, if run */
};

/* Run the case; fills dir and result.  Fails the calling case only when the
 * program cannot be started at all. */
void ipch_run_case(struct ipch_run *r);

/* Run `tcname` of the program at `relprog` in the built tree
 * ("harness/h_cases"), with r's other inputs as set by the caller. */
void ipch_run_tree_case(const atf_tc_t *tc, const char *relprog,
    const char *tcname, struct ipch_run *r);

/* Fail the calling case unless the verdict starts with `verdict` and, when
 * `text` is not NULL, the result line contains `text`. */
void ipch_run_expect(
    const struct ipch_run *r, const char *verdict, const char *text);

/* True when the result line starts with `verdict` ("passed", "failed", …). */
bool ipch_run_verdict_is(const struct ipch_run *r, const char *verdict);

/* Read a file the case left in its work dir (stdout, stderr, or its own)
 * into buf; returns the length, or -1 when it is missing. */
long ipch_run_read(
    const struct ipch_run *r, const char *file, char *buf, size_t len);

#endif
