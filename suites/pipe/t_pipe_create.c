/*
 * pipe() and pipe2(): what the call returns and the flags it takes.
 */
#define _GNU_SOURCE /* pipe2, O_DIRECT */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipch.h"

/* Skip, naming what is missing, when pipe2 rejects a flag this kernel
 * does not know; otherwise the pipe is made or the case fails. */
static void
pipe2_or_skip(int fd[2], int flags, const char *flagname)
{
	if (pipe2(fd, flags) == 0)
		return;
	if (errno == EINVAL)
		atf_tc_skip("pipe2(%s) fails with EINVAL: this kernel does not "
		            "support %s",
		    flagname, flagname);
	atf_tc_fail("pipe2(%s): failed with %s", flagname, ipch_errname(errno));
}

IPCH_CASE(pipe_returns_read_end_then_write_end, "conformance",
    "POSIX.1-2017 pipe()",
    "fildes[0] is open for reading and fildes[1] for writing");
ATF_TC_BODY(pipe_returns_read_end_then_write_end, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_EXPECT_EQ("F_GETFL access mode of fildes[0]", O_RDONLY,
	    IPCH_SYS(fcntl(fd[0], F_GETFL)) & O_ACCMODE);
	IPCH_EXPECT_EQ("F_GETFL access mode of fildes[1]", O_WRONLY,
	    IPCH_SYS(fcntl(fd[1], F_GETFL)) & O_ACCMODE);
}

IPCH_CASE(pipe_uses_lowest_free_descriptors, "conformance",
    "POSIX.1-2017 pipe(); XBD 3.166 File Descriptor Allocation",
    "pipe() takes the two lowest descriptor numbers not open");
ATF_TC_BODY(pipe_uses_lowest_free_descriptors, tc)
{
	/* dup() returns the lowest free descriptor, so a and b are the two
	 * lowest free ones; nothing opens a descriptor before pipe(). */
	int a = IPCH_SYS(dup(STDERR_FILENO));
	int b = IPCH_SYS(dup(STDERR_FILENO));
	IPCH_SYS(close(a));
	IPCH_SYS(close(b));
	int fd[2];
	IPCH_SYS(pipe(fd));
	int plo = fd[0] < fd[1] ? fd[0] : fd[1];
	int phi = fd[0] < fd[1] ? fd[1] : fd[0];
	IPCH_EXPECT_EQ("lower descriptor of the pipe", a, plo);
	IPCH_EXPECT_EQ("higher descriptor of the pipe", b, phi);
}

IPCH_CASE(pipe_leaves_cloexec_and_nonblock_clear, "conformance",
    "POSIX.1-2017 pipe(): FD_CLOEXEC and O_NONBLOCK clear",
    "pipe() opens both ends blocking and inherited across exec");
ATF_TC_BODY(pipe_leaves_cloexec_and_nonblock_clear, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	for (int i = 0; i < 2; i++) {
		char what[64];
		snprintf(what, sizeof(what), "FD_CLOEXEC of fildes[%d]", i);
		IPCH_EXPECT_EQ(
		    what, 0, IPCH_SYS(fcntl(fd[i], F_GETFD)) & FD_CLOEXEC);
		snprintf(what, sizeof(what), "O_NONBLOCK of fildes[%d]", i);
		IPCH_EXPECT_EQ(
		    what, 0, IPCH_SYS(fcntl(fd[i], F_GETFL)) & O_NONBLOCK);
	}
}

IPCH_CASE(pipe2_cloexec_sets_fd_cloexec_on_both_ends, "conformance",
    "POSIX.1-2024 pipe2(): O_CLOEXEC; Linux pipe(2)",
    "pipe2(O_CLOEXEC) sets FD_CLOEXEC on both new descriptors");
ATF_TC_BODY(pipe2_cloexec_sets_fd_cloexec_on_both_ends, tc)
{
	int fd[2];
	IPCH_SYS(pipe2(fd, O_CLOEXEC));
	for (int i = 0; i < 2; i++) {
		char what[64];
		snprintf(what, sizeof(what), "FD_CLOEXEC of fildes[%d]", i);
		IPCH_EXPECT_EQ(what, FD_CLOEXEC,
		    IPCH_SYS(fcntl(fd[i], F_GETFD)) & FD_CLOEXEC);
	}
}

struct exec_probe {
	const char *fixture;
	int fd;
};

/* Child: exec h_fd_state on the descriptor; its exit status says whether
 * the descriptor is open in the new program. */
static int
exec_fd_state(void *arg)
{
	const struct exec_probe *p = arg;
	char num[16];
	snprintf(num, sizeof(num), "%d", p->fd);
	execl(p->fixture, "h_fd_state", num, (char *)NULL);
	ipch_child_fail(
	    "execl %s: failed with %s", p->fixture, ipch_errname(errno));
}

/* Exec the fixture once per end; each must exit `code` (0 open, 1 closed). */
static void
expect_ends_after_exec(const atf_tc_t *tc, const int fd[2], int code)
{
	char path[PATH_MAX];
	struct exec_probe p = {
	    ipch_fixture(tc, "h_fd_state", path, sizeof(path)), -1};
	for (int i = 0; i < 2; i++) {
		p.fd = fd[i];
		ipch_reap_expect_exit(
		    ipch_spawn(i == 0 ? "exec-read-end" : "exec-write-end",
		        exec_fd_state, &p),
		    code);
	}
}

IPCH_CASE(pipe2_cloexec_descriptors_are_closed_across_exec, "conformance",
    "POSIX.1-2024 pipe2(): O_CLOEXEC; POSIX.1-2017 exec: FD_CLOEXEC",
    "a program exec'd after pipe2(O_CLOEXEC) does not have either end open");
ATF_TC_BODY(pipe2_cloexec_descriptors_are_closed_across_exec, tc)
{
	int fd[2];
	IPCH_SYS(pipe2(fd, O_CLOEXEC));
	expect_ends_after_exec(tc, fd, 1);
}

IPCH_CASE(pipe_descriptors_stay_open_across_exec, "conformance",
    "POSIX.1-2017 exec: open file descriptors",
    "a program exec'd after pipe() has both ends open (the control for "
    "the O_CLOEXEC case)");
ATF_TC_BODY(pipe_descriptors_stay_open_across_exec, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	expect_ends_after_exec(tc, fd, 0);
}

IPCH_CASE(pipe2_nonblock_sets_o_nonblock_on_both_ends, "conformance",
    "POSIX.1-2024 pipe2(): O_NONBLOCK; Linux pipe(2)",
    "pipe2(O_NONBLOCK) sets O_NONBLOCK on both open file descriptions");
ATF_TC_BODY(pipe2_nonblock_sets_o_nonblock_on_both_ends, tc)
{
	int fd[2];
	IPCH_SYS(pipe2(fd, O_NONBLOCK));
	for (int i = 0; i < 2; i++) {
		char what[64];
		snprintf(what, sizeof(what), "O_NONBLOCK of fildes[%d]", i);
		IPCH_EXPECT_EQ(what, O_NONBLOCK,
		    IPCH_SYS(fcntl(fd[i], F_GETFL)) & O_NONBLOCK);
		snprintf(what, sizeof(what), "FD_CLOEXEC of fildes[%d]", i);
		IPCH_EXPECT_EQ(
		    what, 0, IPCH_SYS(fcntl(fd[i], F_GETFD)) & FD_CLOEXEC);
	}
}

IPCH_CASE(pipe2_rejects_unknown_flags_with_einval, "conformance",
    "Linux pipe(2): ERRORS, EINVAL",
    "pipe2() with a flag outside O_CLOEXEC, O_NONBLOCK, O_DIRECT fails "
    "with EINVAL");
ATF_TC_BODY(pipe2_rejects_unknown_flags_with_einval, tc)
{
	int fd[2] = {-1, -1};
	IPCH_EXPECT_ERRNO(EINVAL, pipe2(fd, O_APPEND));
	IPCH_EXPECT_EQ("fildes[0] after the failed pipe2", -1, fd[0]);
}

IPCH_CASE(pipe2_direct_read_returns_one_packet_per_write, "conformance",
    "Linux pipe(2): O_DIRECT packet mode",
    "in O_DIRECT mode each write is a packet and a read returns at most "
    "one packet");
ATF_TC_BODY(pipe2_direct_read_returns_one_packet_per_write, tc)
{
	int fd[2];
	pipe2_or_skip(fd, O_DIRECT | O_NONBLOCK, "O_DIRECT");
	IPCH_SYS(write(fd[1], "0123456789", 10));
	IPCH_SYS(write(fd[1], "abcdefghijklmnopqrst", 20));
	char buf[128];
	IPCH_EXPECT_EQ("bytes of the first read (packet of 10)", 10,
	    IPCH_SYS(read(fd[0], buf, sizeof(buf))));
	ATF_REQUIRE_MSG(memcmp(buf, "0123456789", 10) == 0,
	    "first packet: expected '0123456789', got '%.10s'", buf);
	IPCH_EXPECT_EQ("bytes of the second read (packet of 20)", 20,
	    IPCH_SYS(read(fd[0], buf, sizeof(buf))));
}

IPCH_CASE(pipe2_direct_short_read_discards_rest_of_packet, "conformance",
    "Linux pipe(2): O_DIRECT, read smaller than the next packet",
    "in O_DIRECT mode a read shorter than the packet discards the excess");
ATF_TC_BODY(pipe2_direct_short_read_discards_rest_of_packet, tc)
{
	int fd[2];
	pipe2_or_skip(fd, O_DIRECT | O_NONBLOCK, "O_DIRECT");
	IPCH_SYS(write(fd[1], "0123456789", 10));
	IPCH_SYS(write(fd[1], "abc", 3));
	char buf[128];
	IPCH_EXPECT_EQ(
	    "bytes of a 4-byte read", 4, IPCH_SYS(read(fd[0], buf, 4)));
	IPCH_EXPECT_EQ("bytes of the next read", 3,
	    IPCH_SYS(read(fd[0], buf, sizeof(buf))));
	ATF_REQUIRE_MSG(memcmp(buf, "abc", 3) == 0,
	    "next read: expected the second packet 'abc', got '%.3s'", buf);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, pipe_returns_read_end_then_write_end);
	ATF_TP_ADD_TC(tp, pipe_uses_lowest_free_descriptors);
	ATF_TP_ADD_TC(tp, pipe_leaves_cloexec_and_nonblock_clear);
	ATF_TP_ADD_TC(tp, pipe2_cloexec_sets_fd_cloexec_on_both_ends);
	ATF_TP_ADD_TC(tp, pipe2_cloexec_descriptors_are_closed_across_exec);
	ATF_TP_ADD_TC(tp, pipe_descriptors_stay_open_across_exec);
	ATF_TP_ADD_TC(tp, pipe2_nonblock_sets_o_nonblock_on_both_ends);
	ATF_TP_ADD_TC(tp, pipe2_rejects_unknown_flags_with_einval);
	ATF_TP_ADD_TC(tp, pipe2_direct_read_returns_one_packet_per_write);
	ATF_TP_ADD_TC(tp, pipe2_direct_short_read_discards_rest_of_packet);
	return atf_no_error();
}
