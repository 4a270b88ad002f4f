/*
 * Opening a FIFO: the rendezvous of readers and writers, the O_NONBLOCK
 * rules, O_RDWR on Linux, and permission and signal errors of open().
 *
 * "open blocks" is proved by watching the opening child sleep inside the
 * openat system call (glibc's open() is openat), then opening the other
 * side and seeing the child complete; nothing sleeps for a fixed time.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "ipch.h"

#ifdef SYS_openat
#define OPEN_SYSCALL SYS_openat
#else
#define OPEN_SYSCALL IPCH_ANY_SYSCALL
#endif

static const char *
new_fifo(char *buf, size_t len)
{
	ipch_work_path("fifo", buf, len);
	IPCH_SYS(mkfifo(buf, 0600));
	return buf;
}

static int
reader_child(void *arg)
{
	const char *path = arg;
	char c = 0;
	int fd = (int)IPCH_CHILD_SYS(open(path, O_RDONLY));
	ssize_t n = IPCH_CHILD_SYS(read(fd, &c, 1));
	if (n != 1 || c != 'w')
		ipch_child_fail("read after the rendezvous: expected 1 byte "
		                "'w', got %zd bytes (0x%02x)",
		    n, (unsigned char)c);
	return 0;
}

IPCH_CASE(open_for_reading_blocks_until_writer_opens, "conformance",
    "POSIX.1-2017 open(): O_NONBLOCK clear, FIFO opened read-only",
    "open(O_RDONLY) of a FIFO without a writer blocks until a process "
    "opens it for writing, then completes");
ATF_TC_BODY(open_for_reading_blocks_until_writer_opens, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	pid_t pid = ipch_spawn("reader", reader_child, path);
	ipch_expect_blocked(pid, OPEN_SYSCALL, "open() until a writer opens");
	int wfd = (int)IPCH_SYS(open(path, O_WRONLY));
	IPCH_EXPECT_EQ("write of 1 byte after the rendezvous", 1,
	    IPCH_SYS(write(wfd, "w", 1)));
	ipch_reap_ok(pid);
	IPCH_SYS(close(wfd));
}

static int
writer_child(void *arg)
{
	const char *path = arg;
	int fd = (int)IPCH_CHILD_SYS(open(path, O_WRONLY));
	ssize_t n = IPCH_CHILD_SYS(write(fd, "r", 1));
	if (n != 1)
		ipch_child_fail("write after the rendezvous: expected 1, "
		                "got %zd",
		    n);
	return 0;
}

IPCH_CASE(open_for_writing_blocks_until_reader_opens, "conformance",
    "POSIX.1-2017 open(): O_NONBLOCK clear, FIFO opened write-only",
    "open(O_WRONLY) of a FIFO without a reader blocks until a process "
    "opens it for reading, then completes");
ATF_TC_BODY(open_for_writing_blocks_until_reader_opens, tc)
{
	char path[PATH_MAX];
	char c = 0;
	new_fifo(path, sizeof(path));
	pid_t pid = ipch_spawn("writer", writer_child, path);
	ipch_expect_blocked(pid, OPEN_SYSCALL, "open() until a reader opens");
	int rfd = (int)IPCH_SYS(open(path, O_RDONLY));
	IPCH_EXPECT_EQ("read of the writer's byte after the rendezvous", 1,
	    IPCH_SYS(read(rfd, &c, 1)));
	IPCH_EXPECT_EQ("byte read", 'r', c);
	ipch_reap_ok(pid);
	IPCH_SYS(close(rfd));
}

static void
on_sigusr1(int sig)
{
	(void)sig;
}

static int
interrupted_reader_child(void *arg)
{
	const char *path = arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sa.sa_flags = 0; /* no SA_RESTART: the open must fail */
	sigemptyset(&sa.sa_mask);
	IPCH_CHILD_SYS(sigaction(SIGUSR1, &sa, NULL));
	int fd = open(path, O_RDONLY);
	int err = errno;
	if (fd != -1)
		ipch_child_fail("open(O_RDONLY) interrupted by SIGUSR1: "
		                "expected EINTR, got descriptor %d",
		    fd);
	if (err != EINTR)
		ipch_child_fail("open(O_RDONLY) interrupted by SIGUSR1: "
		                "expected EINTR, got -1 with %s",
		    ipch_errname(err));
	return 0;
}

IPCH_CASE(open_blocked_for_writer_fails_eintr_on_caught_signal, "conformance",
    "POSIX.1-2017 open(): EINTR",
    "an open(O_RDONLY) blocked waiting for a writer fails with EINTR when "
    "a signal is caught whose handler was installed without SA_RESTART");
ATF_TC_BODY(open_blocked_for_writer_fails_eintr_on_caught_signal, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	pid_t pid = ipch_spawn("reader", interrupted_reader_child, path);
	ipch_expect_blocked(pid, OPEN_SYSCALL, "open() until a writer opens");
	IPCH_SYS(kill(pid, SIGUSR1));
	ipch_reap_ok(pid);
}

IPCH_CASE(open_for_reading_nonblocking_succeeds_without_writer, "conformance",
    "POSIX.1-2017 open(): O_NONBLOCK set, FIFO read-only",
    "open(O_RDONLY | O_NONBLOCK) of a FIFO without a writer returns a "
    "descriptor at once");
ATF_TC_BODY(open_for_reading_nonblocking_succeeds_without_writer, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	int fd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	IPCH_EXPECT_EQ("F_GETFL access mode", O_RDONLY,
	    IPCH_SYS(fcntl(fd, F_GETFL)) & O_ACCMODE);
	IPCH_SYS(close(fd));
}

IPCH_CASE(read_without_writer_ever_returns_eof, "conformance",
    "POSIX.1-2017 read(): empty FIFO, no process has it open for writing",
    "read() on a FIFO opened O_RDONLY | O_NONBLOCK that no process has "
    "open for writing returns 0 (end-of-file), not EAGAIN");
ATF_TC_BODY(read_without_writer_ever_returns_eof, tc)
{
	char path[PATH_MAX], c;
	new_fifo(path, sizeof(path));
	int fd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	IPCH_EXPECT_EQ("read() with no writer", 0, IPCH_SYS(read(fd, &c, 1)));
	IPCH_SYS(close(fd));
}

IPCH_CASE(open_for_writing_nonblocking_fails_enxio_without_reader,
    "conformance", "POSIX.1-2017 open(): ENXIO (O_NONBLOCK, FIFO, no reader)",
    "open(O_WRONLY | O_NONBLOCK) of a FIFO that no process has open for "
    "reading fails with ENXIO");
ATF_TC_BODY(open_for_writing_nonblocking_fails_enxio_without_reader, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	IPCH_EXPECT_ERRNO(ENXIO, open(path, O_WRONLY | O_NONBLOCK));
}

IPCH_CASE(open_for_writing_nonblocking_fails_enxio_after_reader_closed,
    "conformance", "POSIX.1-2017 open(): ENXIO (O_NONBLOCK, FIFO, no reader)",
    "a FIFO whose only reader has closed has no reader again: "
    "open(O_WRONLY | O_NONBLOCK) fails with ENXIO");
ATF_TC_BODY(open_for_writing_nonblocking_fails_enxio_after_reader_closed, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	int rfd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	int wfd = (int)IPCH_SYS(open(path, O_WRONLY | O_NONBLOCK));
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
	IPCH_EXPECT_ERRNO(ENXIO, open(path, O_WRONLY | O_NONBLOCK));
}

IPCH_CASE(open_for_writing_nonblocking_succeeds_with_reader, "conformance",
    "POSIX.1-2017 open(): O_NONBLOCK set, FIFO write-only",
    "open(O_WRONLY | O_NONBLOCK) of a FIFO that is open for reading "
    "returns a write-only descriptor at once");
ATF_TC_BODY(open_for_writing_nonblocking_succeeds_with_reader, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	int rfd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	int wfd = (int)IPCH_SYS(open(path, O_WRONLY | O_NONBLOCK));
	IPCH_EXPECT_EQ("F_GETFL access mode of the writer", O_WRONLY,
	    IPCH_SYS(fcntl(wfd, F_GETFL)) & O_ACCMODE);
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
}

struct rdwr_arg {
	const char *path;
	struct ipch_latch opened;
};

static int
rdwr_child(void *arg)
{
	struct rdwr_arg *a = arg;
	IPCH_CHILD_SYS(open(a->path, O_RDWR));
	ipch_latch_arrive(&a->opened);
	return 0;
}

IPCH_CASE(open_for_reading_and_writing_does_not_block, "conformance",
    "Linux fifo(7): O_RDWR open succeeds (undefined in POSIX)",
    "open(O_RDWR) of a FIFO that no other process has open returns at "
    "once on Linux");
ATF_TC_BODY(open_for_reading_and_writing_does_not_block, tc)
{
	char path[PATH_MAX];
	struct rdwr_arg a = {.path = path};
	new_fifo(path, sizeof(path));
	ipch_latch_init(&a.opened);
	pid_t pid = ipch_spawn("rdwr-opener", rdwr_child, &a);
	int rc = ipch_latch_wait(&a.opened, 1, IPCH_BLOCK_TIMEOUT_MS);
	if (rc == EPIPE)
		ipch_reap_ok(pid);
	if (rc != 0)
		atf_tc_fail("open(O_RDWR) in child: expected to return at "
		            "once, still in open() after %d ms (%s)",
		    IPCH_BLOCK_TIMEOUT_MS, ipch_errname(rc));
	ipch_reap_ok(pid);
}

IPCH_CASE(rdwr_descriptor_reads_back_its_own_writes, "conformance",
    "Linux fifo(7): O_RDWR open (undefined in POSIX)",
    "a FIFO descriptor opened O_RDWR is both ends: bytes written to it "
    "are read back from it");
ATF_TC_BODY(rdwr_descriptor_reads_back_its_own_writes, tc)
{
	char path[PATH_MAX], buf[8] = {0};
	new_fifo(path, sizeof(path));
	int fd = (int)IPCH_SYS(open(path, O_RDWR | O_NONBLOCK));
	ipch_write_all(fd, "rdwr", 4);
	IPCH_EXPECT_EQ(
	    "bytes read back", 4, IPCH_SYS(read(fd, buf, sizeof(buf))));
	if (memcmp(buf, "rdwr", 4) != 0)
		atf_tc_fail(
		    "bytes read back: expected \"rdwr\", got \"%.4s\"", buf);
	IPCH_SYS(close(fd));
}

IPCH_CASE(rdwr_descriptor_counts_as_reader, "conformance",
    "Linux fifo(7): O_RDWR open (undefined in POSIX)",
    "while a descriptor opened O_RDWR is open, open(O_WRONLY | O_NONBLOCK) "
    "succeeds instead of failing with ENXIO");
ATF_TC_BODY(rdwr_descriptor_counts_as_reader, tc)
{
	char path[PATH_MAX];
	new_fifo(path, sizeof(path));
	int fd = (int)IPCH_SYS(open(path, O_RDWR | O_NONBLOCK));
	int wfd = (int)IPCH_SYS(open(path, O_WRONLY | O_NONBLOCK));
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(fd));
}

IPCH_CASE(open_fails_eacces_without_read_permission, "conformance",
    "POSIX.1-2017 open(): EACCES",
    "open(O_RDONLY | O_NONBLOCK) of a mode-000 FIFO fails with EACCES for "
    "a process without permission-override privilege");
ATF_TC_BODY(open_fails_eacces_without_read_permission, tc)
{
	char probe[PATH_MAX], path[PATH_MAX];

	/* Probe the check itself: a process that can read a mode-000 regular
	 * file (root with CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH) is not
	 * subject to it, whatever its uid. */
	ipch_work_path("probe", probe, sizeof(probe));
	IPCH_SYS(
	    close(IPCH_SYS(open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600))));
	IPCH_SYS(chmod(probe, 0));
	int pfd = open(probe, O_RDONLY);
	if (pfd != -1) {
		close(pfd);
		atf_tc_skip("this process bypasses file permission checks "
		            "(it opened a mode-000 file: CAP_DAC_OVERRIDE or "
		            "CAP_DAC_READ_SEARCH); run as an unprivileged "
		            "user to check EACCES");
	}
	if (errno != EACCES)
		atf_tc_fail("probe open of a mode-000 regular file: expected "
		            "EACCES, got %s",
		    ipch_errname(errno));

	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	IPCH_SYS(chmod(path, 0));
	IPCH_EXPECT_ERRNO(EACCES, open(path, O_RDONLY | O_NONBLOCK));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, open_for_reading_blocks_until_writer_opens);
	ATF_TP_ADD_TC(tp, open_for_writing_blocks_until_reader_opens);
	ATF_TP_ADD_TC(tp, open_blocked_for_writer_fails_eintr_on_caught_signal);
	ATF_TP_ADD_TC(tp, open_for_reading_nonblocking_succeeds_without_writer);
	ATF_TP_ADD_TC(tp, read_without_writer_ever_returns_eof);
	ATF_TP_ADD_TC(
	    tp, open_for_writing_nonblocking_fails_enxio_without_reader);
	ATF_TP_ADD_TC(
	    tp, open_for_writing_nonblocking_fails_enxio_after_reader_closed);
	ATF_TP_ADD_TC(tp, open_for_writing_nonblocking_succeeds_with_reader);
	ATF_TP_ADD_TC(tp, open_for_reading_and_writing_does_not_block);
	ATF_TP_ADD_TC(tp, rdwr_descriptor_reads_back_its_own_writes);
	ATF_TP_ADD_TC(tp, rdwr_descriptor_counts_as_reader);
	ATF_TP_ADD_TC(tp, open_fails_eacces_without_read_permission);
	return atf_no_error();
}
