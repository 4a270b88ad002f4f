/*
 * Core rules of record locks around the deadlock cases: what a conflicting
 * non-blocking request returns, what F_GETLK reports, and what releases a
 * lock: any close() of the file for process-associated locks, only the last
 * close of the open file description for OFD locks.
 *
 * A process never conflicts with its own process-associated locks, so
 * every observation of a lock is made by a child: the probe.
 */
#define _GNU_SOURCE /* F_OFD_SETLK, F_OFD_GETLK */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipch.h"

static int
range_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof(fl)); /* l_pid 0, as OFD commands require */
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, cmd, &fl);
}

/* What the probe does on its own open of the file, and what it saw. */
struct probe {
	char path[PATH_MAX];
	int cmd;    /* F_SETLK or F_GETLK */
	short type; /* F_RDLCK or F_WRLCK, over the whole file */
	int res[2];
	/* results */
	int rv, err;
	struct flock fl; /* as F_GETLK left it */
};

static int
probe_child(void *arg)
{
	struct probe *p = arg;
	int fd = (int)IPCH_CHILD_SYS(open(p->path, O_RDWR));
	memset(&p->fl, 0, sizeof(p->fl));
	p->fl.l_type = p->type;
	p->fl.l_whence = SEEK_SET;
	errno = 0;
	p->rv = fcntl(fd, p->cmd, &p->fl);
	p->err = errno;
	IPCH_CHILD_SYS(write(p->res[1], p, sizeof(*p)));
	return 0;
}

/* Run the probe in a child and bring back what it saw. */
static void
probe(struct probe *p, int cmd, short type)
{
	p->cmd = cmd;
	p->type = type;
	IPCH_SYS(pipe(p->res));
	ipch_reap_ok(ipch_spawn("probe", probe_child, p));
	struct probe seen;
	IPCH_EXPECT_EQ("bytes of the probe's report", sizeof(seen),
	    IPCH_SYS(read(p->res[0], &seen, sizeof(seen))));
	IPCH_SYS(close(p->res[0]));
	IPCH_SYS(close(p->res[1]));
	p->rv = seen.rv;
	p->err = seen.err;
	p->fl = seen.fl;
}

static const char *
type_name(short t)
{
	return t == F_RDLCK   ? "F_RDLCK"
	       : t == F_WRLCK ? "F_WRLCK"
	       : t == F_UNLCK ? "F_UNLCK"
	                      : "an unknown type";
}

/* F_GETLK by another process must report `type` (F_UNLCK: no conflict)
 * and, for a conflict, the holder's pid (-1 for an OFD lock). */
static void
expect_getlk(struct probe *p, short type, pid_t holder, const char *when)
{
	probe(p, F_GETLK, F_WRLCK);
	if (p->rv == -1)
		atf_tc_fail(
		    "F_GETLK %s: failed with %s", when, ipch_errname(p->err));
	if (p->fl.l_type != type)
		atf_tc_fail("F_GETLK %s: expected l_type %s, got %s", when,
		    type_name(type), type_name(p->fl.l_type));
	if (type != F_UNLCK && p->fl.l_pid != holder)
		atf_tc_fail("F_GETLK %s: expected l_pid %ld, got %ld", when,
		    (long)holder, (long)p->fl.l_pid);
}

static int
new_file(struct probe *p)
{
	ipch_work_path("lockfile", p->path, sizeof(p->path));
	return (int)IPCH_SYS(open(p->path, O_RDWR | O_CREAT | O_EXCL, 0600));
}

/* The probe's F_SETLK met a conflicting lock: POSIX allows either errno. */
static void
expect_conflict(const struct probe *p, const char *what)
{
	if (p->rv != -1 || (p->err != EAGAIN && p->err != EACCES))
		atf_tc_fail("%s: expected EAGAIN or EACCES, got %d%s%s", what,
		    p->rv, p->rv == -1 ? " with " : " (success)",
		    p->rv == -1 ? ipch_errname(p->err) : "");
}

/* ------------------------------------------------------------------ */

IPCH_CASE(setlk_conflict_fails_with_eagain_or_eacces, "conformance",
    "POSIX.1-2017 fcntl(): F_SETLK, EACCES or EAGAIN",
    "a non-blocking F_SETLK that conflicts with another process's lock "
    "fails at once with EAGAIN or EACCES",
    "timeout", "10");
ATF_TC_BODY(setlk_conflict_fails_with_eagain_or_eacces, tc)
{
	struct probe p;
	int fd = new_file(&p);
	IPCH_SYS(range_lock(fd, F_SETLK, F_WRLCK, 0, 0));
	probe(&p, F_SETLK, F_WRLCK);
	expect_conflict(&p, "F_SETLK of a write-locked file");
	printf("F_SETLK conflict: %s\n", ipch_errname(p.err));
}

IPCH_CASE(read_locks_are_shared_and_exclude_write_locks, "conformance",
    "POSIX.1-2017 fcntl(): F_RDLCK, F_WRLCK",
    "another process can add a read lock to a read-locked region but not "
    "a write lock",
    "timeout", "10");
ATF_TC_BODY(read_locks_are_shared_and_exclude_write_locks, tc)
{
	struct probe p;
	int fd = new_file(&p);
	IPCH_SYS(range_lock(fd, F_SETLK, F_RDLCK, 0, 0));
	probe(&p, F_SETLK, F_RDLCK);
	if (p.rv != 0)
		atf_tc_fail("F_SETLK F_RDLCK of a read-locked file: expected "
		            "success, got %s",
		    ipch_errname(p.err));
	probe(&p, F_SETLK, F_WRLCK);
	expect_conflict(&p, "F_SETLK F_WRLCK of a read-locked file");
}

IPCH_CASE(getlk_reports_the_holders_pid, "conformance",
    "POSIX.1-2017 fcntl(): F_GETLK, l_pid",
    "F_GETLK by another process describes the conflicting lock with its "
    "type and the pid of the process holding it",
    "timeout", "10");
ATF_TC_BODY(getlk_reports_the_holders_pid, tc)
{
	struct probe p;
	int fd = new_file(&p);
	expect_getlk(&p, F_UNLCK, 0, "of an unlocked file");
	IPCH_SYS(range_lock(fd, F_SETLK, F_WRLCK, 0, 0));
	expect_getlk(&p, F_WRLCK, getpid(), "of a write-locked file");
}

IPCH_CASE(closing_any_fd_of_the_file_releases_record_locks, "conformance",
    "POSIX.1-2017 close(): all outstanding record locks owned by the "
    "process on the file",
    "closing a second, unrelated descriptor of a file releases the "
    "process's record locks taken through the first",
    "timeout", "10");
ATF_TC_BODY(closing_any_fd_of_the_file_releases_record_locks, tc)
{
	struct probe p;
	int fd = new_file(&p);
	IPCH_SYS(range_lock(fd, F_SETLK, F_WRLCK, 0, 0));
	expect_getlk(&p, F_WRLCK, getpid(), "while the lock is held");
	int other = (int)IPCH_SYS(open(p.path, O_RDONLY));
	IPCH_SYS(close(other));
	expect_getlk(
	    &p, F_UNLCK, 0, "after closing another descriptor of the file");
	/* fd itself is still open: only the lock went. */
	if (!ipch_fd_is_open(fd))
		atf_tc_fail(
		    "first descriptor: expected still open, got closed");
}

IPCH_CASE(ofd_lock_survives_close_of_another_fd, "conformance",
    "Linux fcntl(2): open file description locks, released on the last "
    "close of the open file description",
    "an OFD lock outlives the close of another descriptor of the file "
    "and goes with the last close of its own open file description",
    "timeout", "10");
ATF_TC_BODY(ofd_lock_survives_close_of_another_fd, tc)
{
	struct probe p;
	int fd = new_file(&p);
	IPCH_SYS(range_lock(fd, F_OFD_SETLK, F_WRLCK, 0, 0));
	/* An OFD lock has no owning process: F_GETLK says l_pid -1. */
	expect_getlk(&p, F_WRLCK, -1, "while the OFD lock is held");
	int other = (int)IPCH_SYS(open(p.path, O_RDONLY));
	IPCH_SYS(close(other));
	expect_getlk(
	    &p, F_WRLCK, -1, "after closing another descriptor of the file");
	/* A dup shares the description: closing the original is not the
	 * last close. */
	int dupfd = (int)IPCH_SYS(dup(fd));
	IPCH_SYS(close(fd));
	expect_getlk(&p, F_WRLCK, -1,
	    "after closing the locking fd, a dup "
	    "still open");
	IPCH_SYS(close(dupfd));
	expect_getlk(&p, F_UNLCK, 0,
	    "after the last close of the open file description");
}

IPCH_CASE(ofd_and_record_locks_of_one_process_conflict, "conformance",
    "Linux fcntl(2): open file description locks conflict with "
    "traditional record locks even in the same process",
    "an F_OFD_SETLK write lock conflicts with the same process's F_SETLK "
    "write lock on the file and fails with EAGAIN",
    "timeout", "10");
ATF_TC_BODY(ofd_and_record_locks_of_one_process_conflict, tc)
{
	struct probe p;
	int fd = new_file(&p);
	IPCH_SYS(range_lock(fd, F_SETLK, F_WRLCK, 0, 0));
	IPCH_EXPECT_ERRNO(EAGAIN, range_lock(fd, F_OFD_SETLK, F_WRLCK, 0, 0));
	/* Whereas a second record lock of the same process just replaces
	 * the first. */
	IPCH_SYS(range_lock(fd, F_SETLK, F_RDLCK, 0, 0));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, setlk_conflict_fails_with_eagain_or_eacces);
	ATF_TP_ADD_TC(tp, read_locks_are_shared_and_exclude_write_locks);
	ATF_TP_ADD_TC(tp, getlk_reports_the_holders_pid);
	ATF_TP_ADD_TC(tp, closing_any_fd_of_the_file_releases_record_locks);
	ATF_TP_ADD_TC(tp, ofd_lock_survives_close_of_another_fd);
	ATF_TP_ADD_TC(tp, ofd_and_record_locks_of_one_process_conflict);
	return atf_no_error();
}
