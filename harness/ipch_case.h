/*
 * Declaring a case: metadata that every ipcsuite case carries, and the
 * cleanup routine that removes what the body created even when it died.
 *
 *   IPCH_CASE(read_returns_eof_after_last_writer_closes, "conformance",
 *       "POSIX.1-2017 read(): pipes",
 *       "read() returns 0 once every write end is closed");
 *   ATF_TC_BODY(read_returns_eof_after_last_writer_closes, tc) { ... }
 *
 * Extra metadata follows the description as key, value pairs:
 *   IPCH_CASE(name, "conformance", ref, descr, "require.user", "root");
 */
#ifndef IPCH_CASE_H
#define IPCH_CASE_H

#include <atf-c.h>

/* Default per-case timeout in seconds: short, so a hang is seen quickly
 * rather than after kyua's 300 s.  A pair "timeout", "N" overrides it. */
#define IPCH_DEFAULT_TIMEOUT "30"

void ipch_case_head(atf_tc_t *tc, const char *kind, const char *ref,
    const char *const *descr_and_pairs);

/* Remove every object, process and file the case registered (names.c). */
void ipch_cleanup(void);

#define IPCH_CASE(name, kind, ref, ...)                                        \
	ATF_TC_WITH_CLEANUP(name);                                             \
	ATF_TC_HEAD(name, tc)                                                  \
	{                                                                      \
		ipch_case_head(tc, (kind), (ref),                              \
		    (const char *const[]){__VA_ARGS__, NULL});                 \
	}                                                                      \
	ATF_TC_CLEANUP(name, tc)                                               \
	{                                                                      \
		ipch_cleanup();                                                \
	}

#include <stddef.h>

/*
 * Path of a fixture program or file, found from the test program's srcdir
 * (the build tree, or an installed tree) by looking for fixtures/<name> in
 * it and up to three levels above.  Fails the case when it is missing.
 */
const char *ipch_fixture(
    const atf_tc_t *tc, const char *name, char *buf, size_t len);

/* The same for any file of the built tree, by its path from the top
 * ("suites/pipe/t_pipe_io"): the harness self-tests run suite programs. */
const char *ipch_tree_file(
    const atf_tc_t *tc, const char *relpath, char *buf, size_t len);
#endif
