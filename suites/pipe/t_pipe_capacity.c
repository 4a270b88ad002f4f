/*
 * Pipe capacity: F_GETPIPE_SZ, F_SETPIPE_SZ and /proc/sys/fs/pipe-max-size
 * (Linux pipe(7), fcntl(2)).  The default capacity is reported as a metric,
 * never asserted: only "at least PIPE_BUF" is promised.
 */
#define _GNU_SOURCE /* F_GETPIPE_SZ, F_SETPIPE_SZ */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ipch.h"

#ifdef F_GETPIPE_SZ

/* A pipe whose capacity can be read, or a skip naming what is missing. */
static void
pipe_with_size(int fd[2])
{
	IPCH_SYS(pipe(fd));
	if (fcntl(fd[1], F_GETPIPE_SZ) == -1 && errno == EINVAL)
		atf_tc_skip(
		    "fcntl(F_GETPIPE_SZ) fails with EINVAL: this kernel "
		    "does not support it (Linux 2.6.35 and later do)");
}

/* /proc/sys/fs/pipe-max-size, or a skip when it cannot be read. */
static long
pipe_max_size(void)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
	long v = -1;
	if (f == NULL)
		atf_tc_skip("cannot read /proc/sys/fs/pipe-max-size: %s",
		    ipch_errname(errno));
	if (fscanf(f, "%ld", &v) != 1 || v <= 0)
		atf_tc_fail("/proc/sys/fs/pipe-max-size: expected a positive "
		            "number, got something else");
	fclose(f);
	return v;
}

IPCH_CASE(pipe_capacity_is_at_least_pipe_buf, "conformance",
    "Linux pipe(7): pipe capacity, F_GETPIPE_SZ; POSIX.1-2017 limits.h: "
    "PIPE_BUF",
    "F_GETPIPE_SZ reports a capacity of at least PIPE_BUF bytes");
ATF_TC_BODY(pipe_capacity_is_at_least_pipe_buf, tc)
{
	int fd[2];
	pipe_with_size(fd);
	long cap = IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ));
	ipch_metric("pipe.default_capacity", (double)cap, "bytes");
	ATF_REQUIRE_MSG(cap >= PIPE_BUF,
	    "F_GETPIPE_SZ: expected at least PIPE_BUF (%d), got %ld", PIPE_BUF,
	    cap);
}

IPCH_CASE(pipe_accepts_f_getpipe_sz_bytes_before_it_is_full, "conformance",
    "Linux pipe(7): pipe capacity",
    "an empty pipe accepts exactly F_GETPIPE_SZ bytes of non-blocking "
    "writes before EAGAIN");
ATF_TC_BODY(pipe_accepts_f_getpipe_sz_bytes_before_it_is_full, tc)
{
	int fd[2];
	pipe_with_size(fd);
	long cap = IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ));
	ipch_set_nonblock(fd[1], true);
	IPCH_EXPECT_EQ("bytes an empty pipe accepted before EAGAIN", cap,
	    ipch_fill(fd[1], 1));
}

IPCH_CASE(setpipe_sz_returns_at_least_the_request, "conformance",
    "Linux fcntl(2): F_SETPIPE_SZ",
    "F_SETPIPE_SZ returns a capacity at least the request, and "
    "F_GETPIPE_SZ then reports the same value");
ATF_TC_BODY(setpipe_sz_returns_at_least_the_request, tc)
{
	int fd[2];
	pipe_with_size(fd);
	long page = sysconf(_SC_PAGESIZE);
	/* Not a page multiple, and different from the default 16 pages. */
	long want = 3 * page + 1;
	long got = IPCH_SYS(fcntl(fd[1], F_SETPIPE_SZ, (int)want));
	ATF_REQUIRE_MSG(got >= want,
	    "F_SETPIPE_SZ(%ld): expected a capacity >= %ld, got %ld", want,
	    want, got);
	IPCH_EXPECT_EQ("F_GETPIPE_SZ after F_SETPIPE_SZ", got,
	    IPCH_SYS(fcntl(fd[0], F_GETPIPE_SZ)));
}

IPCH_CASE(setpipe_sz_capacity_is_what_the_pipe_then_holds, "conformance",
    "Linux fcntl(2): F_SETPIPE_SZ; Linux pipe(7): pipe capacity",
    "after F_SETPIPE_SZ the pipe accepts exactly the capacity returned");
ATF_TC_BODY(setpipe_sz_capacity_is_what_the_pipe_then_holds, tc)
{
	int fd[2];
	pipe_with_size(fd);
	long want = 2 * IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ));
	long got = IPCH_SYS(fcntl(fd[1], F_SETPIPE_SZ, (int)want));
	ipch_set_nonblock(fd[1], true);
	IPCH_EXPECT_EQ("bytes the resized pipe accepted before EAGAIN", got,
	    ipch_fill(fd[1], 1));
}

IPCH_CASE(setpipe_sz_below_a_page_rounds_up_to_a_page, "conformance",
    "Linux fcntl(2): F_SETPIPE_SZ, below the page size",
    "F_SETPIPE_SZ with less than a page sets a capacity of one page");
ATF_TC_BODY(setpipe_sz_below_a_page_rounds_up_to_a_page, tc)
{
	int fd[2];
	pipe_with_size(fd);
	IPCH_EXPECT_EQ("F_SETPIPE_SZ(1) result", sysconf(_SC_PAGESIZE),
	    IPCH_SYS(fcntl(fd[1], F_SETPIPE_SZ, 1)));
}

IPCH_CASE(setpipe_sz_below_data_held_fails_with_ebusy, "conformance",
    "Linux fcntl(2): F_SETPIPE_SZ, ERRORS, EBUSY",
    "F_SETPIPE_SZ smaller than the data the pipe holds fails with EBUSY "
    "and keeps both the capacity and the data");
ATF_TC_BODY(setpipe_sz_below_data_held_fails_with_ebusy, tc)
{
	int fd[2];
	pipe_with_size(fd);
	long page = sysconf(_SC_PAGESIZE);
	long before = IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ));
	if (before < 4 * page)
		atf_tc_skip("default capacity %ld is below 4 pages", before);
	/* Three pages of data, in page-sized writes. */
	char *buf = calloc(1, (size_t)page);
	ATF_REQUIRE(buf != NULL);
	for (int i = 0; i < 3; i++)
		ipch_write_all(fd[1], buf, (size_t)page);
	free(buf);
	IPCH_EXPECT_ERRNO(EBUSY, fcntl(fd[1], F_SETPIPE_SZ, (int)page));
	IPCH_EXPECT_EQ("F_GETPIPE_SZ after the refused shrink", before,
	    IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ)));
	ipch_set_nonblock(fd[0], true);
	IPCH_EXPECT_EQ("bytes still held after the refused shrink", 3 * page,
	    ipch_drain(fd[0]));
}

IPCH_CASE(setpipe_sz_up_to_pipe_max_size_needs_no_privilege, "conformance",
    "Linux pipe(7): /proc/sys/fs/pipe-max-size",
    "any process may raise a pipe's capacity up to pipe-max-size");
ATF_TC_BODY(setpipe_sz_up_to_pipe_max_size_needs_no_privilege, tc)
{
	int fd[2];
	pipe_with_size(fd);
	long max = pipe_max_size();
	ipch_metric("pipe.max_size", (double)max, "bytes");
	if (max > INT_MAX)
		atf_tc_skip(
		    "pipe-max-size %ld does not fit F_SETPIPE_SZ's int", max);
	long got = IPCH_SYS(fcntl(fd[1], F_SETPIPE_SZ, (int)max));
	ATF_REQUIRE_MSG(got >= max,
	    "F_SETPIPE_SZ(pipe-max-size %ld): expected >= %ld, got %ld", max,
	    max, got);
}

/* A request the kernel rounds to more than pipe-max-size. */
static long
above_max_request(void)
{
	long max = pipe_max_size();
	if (max >= (1L << 30))
		atf_tc_skip(
		    "pipe-max-size %ld leaves no valid size above it", max);
	return max + 1;
}

IPCH_CASE(setpipe_sz_above_pipe_max_size_fails_with_eperm_unprivileged,
    "conformance",
    "Linux pipe(7): /proc/sys/fs/pipe-max-size; fcntl(2): F_SETPIPE_SZ, "
    "EPERM",
    "without CAP_SYS_RESOURCE, F_SETPIPE_SZ above pipe-max-size fails with "
    "EPERM");
ATF_TC_BODY(setpipe_sz_above_pipe_max_size_fails_with_eperm_unprivileged, tc)
{
	int fd[2];
	pipe_with_size(fd);
	int cap = ipch_has_cap(IPCH_CAP_SYS_RESOURCE);
	if (cap == 1)
		atf_tc_skip("CAP_SYS_RESOURCE is in the effective set: the "
		            "limit does not apply");
	if (cap == -1)
		atf_tc_skip("cannot tell whether CAP_SYS_RESOURCE is held "
		            "(no CapEff in /proc/self/status)");
	long want = above_max_request();
	long before = IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ));
	IPCH_EXPECT_ERRNO(EPERM, fcntl(fd[1], F_SETPIPE_SZ, (int)want));
	IPCH_EXPECT_EQ("F_GETPIPE_SZ after the refused raise", before,
	    IPCH_SYS(fcntl(fd[1], F_GETPIPE_SZ)));
}

IPCH_CASE(setpipe_sz_above_pipe_max_size_succeeds_with_cap_sys_resource,
    "conformance",
    "Linux pipe(7): /proc/sys/fs/pipe-max-size, CAP_SYS_RESOURCE",
    "with CAP_SYS_RESOURCE, F_SETPIPE_SZ above pipe-max-size succeeds");
ATF_TC_BODY(setpipe_sz_above_pipe_max_size_succeeds_with_cap_sys_resource, tc)
{
	int fd[2];
	pipe_with_size(fd);
	int cap = ipch_has_cap(IPCH_CAP_SYS_RESOURCE);
	if (cap == 0)
		atf_tc_skip("CAP_SYS_RESOURCE is not in the effective set");
	if (cap == -1)
		atf_tc_skip("cannot tell whether CAP_SYS_RESOURCE is held "
		            "(no CapEff in /proc/self/status)");
	long want = above_max_request();
	long got = IPCH_SYS(fcntl(fd[1], F_SETPIPE_SZ, (int)want));
	ATF_REQUIRE_MSG(got >= want,
	    "F_SETPIPE_SZ(%ld): expected >= %ld, got %ld", want, want, got);
}

#define ADD_CASES(tp)                                                               \
	do {                                                                        \
		ATF_TP_ADD_TC(tp, pipe_capacity_is_at_least_pipe_buf);              \
		ATF_TP_ADD_TC(                                                      \
		    tp, pipe_accepts_f_getpipe_sz_bytes_before_it_is_full);         \
		ATF_TP_ADD_TC(tp, setpipe_sz_returns_at_least_the_request);         \
		ATF_TP_ADD_TC(                                                      \
		    tp, setpipe_sz_capacity_is_what_the_pipe_then_holds);           \
		ATF_TP_ADD_TC(                                                      \
		    tp, setpipe_sz_below_a_page_rounds_up_to_a_page);               \
		ATF_TP_ADD_TC(                                                      \
		    tp, setpipe_sz_below_data_held_fails_with_ebusy);               \
		ATF_TP_ADD_TC(                                                      \
		    tp, setpipe_sz_up_to_pipe_max_size_needs_no_privilege);         \
		ATF_TP_ADD_TC(tp,                                                   \
		    setpipe_sz_above_pipe_max_size_fails_with_eperm_unprivileged);  \
		ATF_TP_ADD_TC(tp,                                                   \
		    setpipe_sz_above_pipe_max_size_succeeds_with_cap_sys_resource); \
	} while (0)

#else /* !F_GETPIPE_SZ */

IPCH_CASE(pipe_capacity_is_at_least_pipe_buf, "conformance",
    "Linux pipe(7): pipe capacity, F_GETPIPE_SZ",
    "F_GETPIPE_SZ reports a capacity of at least PIPE_BUF bytes");
ATF_TC_BODY(pipe_capacity_is_at_least_pipe_buf, tc)
{
	atf_tc_skip("F_GETPIPE_SZ is not defined on this platform");
}

#define ADD_CASES(tp) ATF_TP_ADD_TC(tp, pipe_capacity_is_at_least_pipe_buf)

#endif

ATF_TP_ADD_TCS(tp)
{
	ADD_CASES(tp);
	return atf_no_error();
}
