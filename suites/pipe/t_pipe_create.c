/*
 * pipe() and pipe2(): what the call returns and the flags it takes.
 */
#define _GNU_SOURCE /* pipe2, O_DIRECT */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "ipch.h"

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
	IPCH_EXPECT_ERRNO(EBADF, write(fd[0], "x", 1));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, pipe_returns_read_end_then_write_end);
	return atf_no_error();
}
