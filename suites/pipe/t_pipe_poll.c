/*
 * Readiness of pipe ends: poll(), select() and FIONREAD.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

#include "ipch.h"

/* revents of one descriptor polled without waiting. */
static short
revents_now(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n = IPCH_SYS(poll(&p, 1, 0));
	IPCH_EXPECT_EQ(
	    "poll() result for one descriptor", p.revents ? 1 : 0, n);
	return p.revents;
}

static void
expect_revents(const char *what, short revents, short bit, int set)
{
	if (!!(revents & bit) != set)
		atf_tc_fail("%s: expected the bit %s, got revents 0x%x", what,
		    set ? "set" : "clear", (unsigned)revents);
}

/* Whether select() with a zero timeout reports fd in the read (or write)
 * set. */
static int
select_now(int fd, int for_write)
{
	fd_set set;
	struct timeval zero = {0, 0};
	FD_ZERO(&set);
	FD_SET(fd, &set);
	int n = IPCH_SYS(select(fd + 1, for_write ? NULL : &set,
	    for_write ? &set : NULL, NULL, &zero));
	IPCH_EXPECT_EQ("select() count agrees with the set",
	    FD_ISSET(fd, &set) ? 1 : 0, n);
	return FD_ISSET(fd, &set);
}

IPCH_CASE(poll_reports_pollin_when_data_is_available, "conformance",
    "POSIX.1-2017 poll(): POLLIN",
    "poll() sets POLLIN on the read end once the pipe holds data");
ATF_TC_BODY(poll_reports_pollin_when_data_is_available, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(write(fd[1], "x", 1));
	expect_revents("POLLIN on the read end of a pipe holding 1 byte",
	    revents_now(fd[0], POLLIN), POLLIN, 1);
}

IPCH_CASE(poll_does_not_report_pollin_on_empty_pipe, "conformance",
    "POSIX.1-2017 poll(): POLLIN",
    "poll() leaves POLLIN clear on the read end of an empty pipe with a "
    "writer");
ATF_TC_BODY(poll_does_not_report_pollin_on_empty_pipe, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	expect_revents("POLLIN on the read end of an empty pipe",
	    revents_now(fd[0], POLLIN), POLLIN, 0);
}

IPCH_CASE(poll_reports_pollout_while_pipe_has_room, "conformance",
    "POSIX.1-2017 poll(): POLLOUT",
    "poll() sets POLLOUT on the write end of an empty pipe");
ATF_TC_BODY(poll_reports_pollout_while_pipe_has_room, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	expect_revents("POLLOUT on the write end of an empty pipe",
	    revents_now(fd[1], POLLOUT), POLLOUT, 1);
}

IPCH_CASE(poll_does_not_report_pollout_when_pipe_is_full, "conformance",
    "POSIX.1-2017 poll(): POLLOUT",
    "poll() leaves POLLOUT clear on the write end of a full pipe");
ATF_TC_BODY(poll_does_not_report_pollout_when_pipe_is_full, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	ipch_set_nonblock(fd[1], true);
	ipch_fill(fd[1], 1);
	expect_revents("POLLOUT on the write end of a full pipe",
	    revents_now(fd[1], POLLOUT), POLLOUT, 0);
}

IPCH_CASE(poll_reports_pollhup_on_read_end_after_last_writer_closes,
    "conformance", "POSIX.1-2017 poll(): POLLHUP; Linux poll(2)",
    "poll() sets POLLHUP on the read end once every write end is closed");
ATF_TC_BODY(poll_reports_pollhup_on_read_end_after_last_writer_closes, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(close(fd[1]));
	expect_revents("POLLHUP on the read end after the last writer closed",
	    revents_now(fd[0], POLLIN), POLLHUP, 1);
}

IPCH_CASE(poll_does_not_report_pollhup_while_a_writer_is_open, "conformance",
    "POSIX.1-2017 poll(): POLLHUP",
    "poll() leaves POLLHUP clear on the read end while a writer is open");
ATF_TC_BODY(poll_does_not_report_pollhup_while_a_writer_is_open, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	expect_revents("POLLHUP on the read end with the writer open",
	    revents_now(fd[0], POLLIN), POLLHUP, 0);
}

IPCH_CASE(poll_reports_pollerr_on_write_end_after_last_reader_closes,
    "conformance",
    "Linux poll(2): POLLERR, also for the write end of a "
    "pipe whose read end is closed",
    "poll() sets POLLERR on the write end once every read end is closed");
ATF_TC_BODY(poll_reports_pollerr_on_write_end_after_last_reader_closes, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(close(fd[0]));
	expect_revents("POLLERR on the write end after the last reader closed",
	    revents_now(fd[1], POLLOUT), POLLERR, 1);
}

IPCH_CASE(select_reports_read_end_readable_when_data_is_available,
    "conformance", "POSIX.1-2017 pselect(): ready for reading",
    "select() reports the read end readable once the pipe holds data, and "
    "not before");
ATF_TC_BODY(select_reports_read_end_readable_when_data_is_available, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_EXPECT_EQ("read end of an empty pipe in the read set", 0,
	    select_now(fd[0], 0));
	IPCH_SYS(write(fd[1], "x", 1));
	IPCH_EXPECT_EQ("read end of a pipe holding data in the read set", 1,
	    select_now(fd[0], 0));
}

IPCH_CASE(select_reports_read_end_readable_at_eof, "conformance",
    "POSIX.1-2017 pselect(): ready for reading, whether or not data "
    "would be transferred",
    "select() reports the read end readable once every writer has closed");
ATF_TC_BODY(select_reports_read_end_readable_at_eof, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(close(fd[1]));
	IPCH_EXPECT_EQ(
	    "read end at EOF in the read set", 1, select_now(fd[0], 0));
}

IPCH_CASE(select_reports_write_end_writable_only_while_pipe_has_room,
    "conformance", "POSIX.1-2017 pselect(): ready for writing",
    "select() reports the write end writable while the pipe has room and "
    "not once it is full");
ATF_TC_BODY(select_reports_write_end_writable_only_while_pipe_has_room, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_EXPECT_EQ("write end of an empty pipe in the write set", 1,
	    select_now(fd[1], 1));
	ipch_set_nonblock(fd[1], true);
	ipch_fill(fd[1], 1);
	IPCH_EXPECT_EQ("write end of a full pipe in the write set", 0,
	    select_now(fd[1], 1));
}

IPCH_CASE(select_reports_write_end_writable_after_last_reader_closes,
    "conformance",
    "POSIX.1-2017 pselect(): ready for writing, whether "
    "or not data would be transferred",
    "select() reports the write end writable once every reader has closed "
    "(a write would fail at once with EPIPE)");
ATF_TC_BODY(select_reports_write_end_writable_after_last_reader_closes, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	ipch_set_nonblock(fd[1], true);
	ipch_fill(fd[1], 1);
	IPCH_SYS(close(fd[0]));
	IPCH_EXPECT_EQ("write end of a full pipe without reader in the write "
	               "set",
	    1, select_now(fd[1], 1));
}

IPCH_CASE(fionread_reports_bytes_held, "conformance",
    "Linux pipe(7): FIONREAD; ioctl_tty(2)",
    "FIONREAD on the read end reports the unread bytes, before and after "
    "a partial read");
ATF_TC_BODY(fionread_reports_bytes_held, tc)
{
	int fd[2], n = -1;
	char buf[123] = {0};
	IPCH_SYS(pipe(fd));
	IPCH_SYS(ioctl(fd[0], FIONREAD, &n));
	IPCH_EXPECT_EQ("FIONREAD of an empty pipe", 0, n);
	ipch_write_all(fd[1], buf, sizeof(buf));
	IPCH_SYS(ioctl(fd[0], FIONREAD, &n));
	IPCH_EXPECT_EQ("FIONREAD after writing 123 bytes", 123, n);
	IPCH_SYS(read(fd[0], buf, 23));
	IPCH_SYS(ioctl(fd[0], FIONREAD, &n));
	IPCH_EXPECT_EQ("FIONREAD after reading 23 of them", 100, n);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, poll_reports_pollin_when_data_is_available);
	ATF_TP_ADD_TC(tp, poll_does_not_report_pollin_on_empty_pipe);
	ATF_TP_ADD_TC(tp, poll_reports_pollout_while_pipe_has_room);
	ATF_TP_ADD_TC(tp, poll_does_not_report_pollout_when_pipe_is_full);
	ATF_TP_ADD_TC(
	    tp, poll_reports_pollhup_on_read_end_after_last_writer_closes);
	ATF_TP_ADD_TC(tp, poll_does_not_report_pollhup_while_a_writer_is_open);
	ATF_TP_ADD_TC(
	    tp, poll_reports_pollerr_on_write_end_after_last_reader_closes);
	ATF_TP_ADD_TC(
	    tp, select_reports_read_end_readable_when_data_is_available);
	ATF_TP_ADD_TC(tp, select_reports_read_end_readable_at_eof);
	ATF_TP_ADD_TC(
	    tp, select_reports_write_end_writable_only_while_pipe_has_room);
	ATF_TP_ADD_TC(
	    tp, select_reports_write_end_writable_after_last_reader_closes);
	ATF_TP_ADD_TC(tp, fionread_reports_bytes_held);
	return atf_no_error();
}
