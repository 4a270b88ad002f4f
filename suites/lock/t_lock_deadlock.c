/*
 * Lock cycles: what the kernel does when processes wait for each other's
 * locks in a circle.  Process-associated record locks (fcntl F_SETLKW) are
 * checked for deadlock and one request fails with EDEADLK; open file
 * description locks (F_OFD_SETLKW) and flock() are not, and the cycle
 * stays blocked until something outside breaks it.
 *
 * Every cycle is built the same deterministic way: member i takes its first
 * lock, all members and the case meet at a barrier, then the case tells the
 * members one by one to request their second lock, the lock member i+1
 * holds, and confirms each is asleep in the locking call before telling the
 * next; the last member's request closes the cycle.
 */
#define _GNU_SOURCE /* F_OFD_SETLK, F_OFD_SETLKW */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipch.h"

/* The system call a blocking fcntl() sleeps in: glibc calls fcntl64 where
 * the kernel has one (32-bit), fcntl elsewhere. */
#ifdef SYS_fcntl64
#define SYSNO_FCNTL SYS_fcntl64
#else
#define SYSNO_FCNTL SYS_fcntl
#endif

#define MAX_MEMBERS 3

/* How long the case waits for a request to block, or for an answer that
 * needs no more than a wakeup: generous, since nothing here sleeps on
 * purpose and a slow machine must not turn into a red case. */
#define BLOCK_MS 2000
#define ANSWER_MS 5000

enum method {
	M_FCNTL, /* process-associated record locks */
	M_OFD,   /* open file description locks */
	M_FLOCK, /* flock(), whole-file */
};

struct cycle {
	enum method method;
	int n;
	bool per_file; /* member i locks file i; else byte i of one file */
	char path[MAX_MEMBERS][PATH_MAX];
	struct ipch_barrier *met; /* members and case: first locks held */
	int cmd[MAX_MEMBERS][2];  /* case -> member: 'g' request, 'r' release */
	int res[2];               /* member -> case: struct answer */
	int me;                   /* set before each spawn */
};

/* A member's answer to its second request: errno, or 0 for granted. */
struct answer {
	int member;
	int err;
};

static const char *
method_call(enum method m)
{
	return m == M_FCNTL ? "fcntl(F_SETLKW)"
	       : m == M_OFD ? "fcntl(F_OFD_SETLKW)"
	                    : "flock(LOCK_EX)";
}

static long
method_sysno(enum method m)
{
	return m == M_FLOCK ? SYS_flock : SYSNO_FCNTL;
}

/* File and byte of the lock member k holds first (and member k-1 wants). */
static const char *
lock_path(const struct cycle *c, int k)
{
	return c->path[c->per_file ? k : 0];
}

static off_t
lock_byte(const struct cycle *c, int k)
{
	return c->per_file ? 0 : k;
}

static int
range_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	/* Zeroed, so l_pid is 0 as OFD commands require. */
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, cmd, &fl);
}

/* Take member k's lock on fd; `wait` chooses the blocking command. */
static int
take(const struct cycle *c, int fd, int k, bool wait)
{
	switch (c->method) {
	case M_FCNTL:
		return range_lock(
		    fd, wait ? F_SETLKW : F_SETLK, F_WRLCK, lock_byte(c, k), 1);
	case M_OFD:
		return range_lock(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK,
		    F_WRLCK, lock_byte(c, k), 1);
	case M_FLOCK:
		return flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
	}
	return -1;
}

static int
release(const struct cycle *c, int fd)
{
	switch (c->method) {
	case M_FCNTL:
		return range_lock(fd, F_SETLK, F_UNLCK, 0, 0);
	case M_OFD:
		return range_lock(fd, F_OFD_SETLK, F_UNLCK, 0, 0);
	case M_FLOCK:
		return flock(fd, LOCK_UN);
	}
	return -1;
}

static void
await_command(const struct cycle *c, int me, char want)
{
	char got;
	ssize_t n;
	while ((n = read(c->cmd[me][0], &got, 1)) == -1 && errno == EINTR)
		;
	if (n != 1 || got != want)
		ipch_child_fail("member %d: expected command '%c', got %s", me,
		    want, n == 1 ? "another" : "none");
}

/* Child: hold lock `me`, meet the others, on command request lock me+1,
 * say how that went, and on command release everything. */
static int
member(void *arg)
{
	const struct cycle *c = arg;
	int me = c->me, next = (me + 1) % c->n;
	int fd = (int)IPCH_CHILD_SYS(open(lock_path(c, me), O_RDWR));
	/* One fd when both locks are on one file: closing a second fd of the
	 * file would drop every record lock this process holds on it. */
	int fd2 = c->per_file
	              ? (int)IPCH_CHILD_SYS(open(lock_path(c, next), O_RDWR))
	              : fd;

	if (take(c, fd, me, false) == -1)
		ipch_child_fail("member %d: first lock: failed with %s", me,
		    ipch_errname(errno));
	int rc = ipch_barrier_wait(c->met, ANSWER_MS);
	if (rc != 0)
		ipch_child_fail("member %d: barrier: %s", me, ipch_errname(rc));
	await_command(c, me, 'g');
	struct answer a = {me, 0};
	if (take(c, fd2, next, true) == -1)
		a.err = errno;
	IPCH_CHILD_SYS(write(c->res[1], &a, sizeof(a)));
	if (a.err != 0 && a.err != EDEADLK)
		ipch_child_fail("member %d: second lock: failed with %s", me,
		    ipch_errname(a.err));
	await_command(c, me, 'r');
	IPCH_CHILD_SYS(release(c, fd));
	if (fd2 != fd)
		IPCH_CHILD_SYS(release(c, fd2));
	return 0;
}

static void
command(struct cycle *c, int k, char what)
{
	IPCH_SYS(write(c->cmd[k][1], &what, 1));
}

/* Next answer from a member, or false when none came within timeout_ms. */
static bool
next_answer(struct cycle *c, int timeout_ms, struct answer *a)
{
	struct pollfd p = {.fd = c->res[0], .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	IPCH_SYS(n);
	if (n == 0)
		return false;
	IPCH_EXPECT_EQ("bytes of one member's answer", sizeof(*a),
	    IPCH_SYS(read(c->res[0], a, sizeof(*a))));
	return true;
}

static void
expect_blocked(struct cycle *c, pid_t pid, int k, const char *when)
{
	int err = ipch_wait_blocked(pid, method_sysno(c->method), BLOCK_MS);
	if (err == ENOSYS)
		atf_tc_skip("cannot observe a blocked %s: no /proc/<pid>/stat",
		    method_call(c->method));
	if (err == 0)
		return;
	struct answer a;
	if (next_answer(c, 0, &a))
		atf_tc_fail("member %d %s: expected it asleep in %s, but "
		            "member %d's request returned %s",
		    k, when, method_call(c->method), a.member,
		    a.err ? ipch_errname(a.err) : "the lock");
	atf_tc_fail("member %d (pid %ld) %s: expected it asleep in %s, got "
	            "%s",
	    k, (long)pid, when, method_call(c->method),
	    err == ESRCH ? "its exit" : "no block within 2 s");
}

/* Make the files, start the members, meet them, and have every member but
 * the last request its second lock, each seen asleep before the next. */
static void
build_cycle(struct cycle *c, enum method m, int n, bool per_file, pid_t *pids)
{
	char name[32];
	memset(c, 0, sizeof(*c));
	c->method = m;
	c->n = n;
	c->per_file = per_file;
	for (int k = 0; k < (per_file ? n : 1); k++) {
		ipch_work_path("lockfile", c->path[k], sizeof(c->path[k]));
		IPCH_SYS(close(IPCH_SYS(
		    open(c->path[k], O_RDWR | O_CREAT | O_EXCL, 0600))));
	}
	c->met = ipch_barrier_new((unsigned)n + 1);
	for (int k = 0; k < n; k++)
		IPCH_SYS(pipe(c->cmd[k]));
	IPCH_SYS(pipe(c->res));
	for (int k = 0; k < n; k++) {
		c->me = k;
		snprintf(name, sizeof(name), "member-%d", k);
		pids[k] = ipch_spawn(name, member, c);
	}
	int rc = ipch_barrier_wait(c->met, ANSWER_MS);
	if (rc != 0)
		atf_tc_fail("barrier with %d members holding their first "
		            "lock: %s",
		    n, ipch_errname(rc));
	for (int k = 0; k < n - 1; k++) {
		command(c, k, 'g');
		expect_blocked(c, pids[k], k, "requesting the next lock");
	}
}

/* The cycle is broken at `victim`, whose locks are gone or going: each
 * member waiting on the one after it must now get its lock in turn, as its
 * successor releases. */
static void
expect_chain_granted(struct cycle *c, pid_t *pids, int victim)
{
	for (int step = 1; step < c->n; step++) {
		int k = (victim - step + c->n) % c->n;
		struct answer a;
		if (!next_answer(c, ANSWER_MS, &a))
			atf_tc_fail("member %d: expected its %s to be granted "
			            "once member %d released, got no answer "
			            "within 5 s",
			    k, method_call(c->method), (k + 1) % c->n);
		if (a.member != k || a.err != 0)
			atf_tc_fail("after member %d released: expected member "
			            "%d granted its lock, got member %d's "
			            "request returning %s",
			    (k + 1) % c->n, k, a.member,
			    a.err ? ipch_errname(a.err) : "the lock");
		command(c, k, 'r');
		ipch_reap_ok(pids[k]);
	}
}

/*
 * fcntl F_SETLKW: the kernel detects the cycle.  POSIX lists EDEADLK among
 * the errors fcntl() *may* give; Linux fcntl(2) says the kernel detects
 * such deadlocks (chains of up to 10 steps) and makes "one of the blocking
 * lock requests" fail.  So the case asserts: exactly one request fails with
 * EDEADLK, the others stay asleep while its process still holds its lock,
 * and once it releases, each survivor gets its lock.  Which request fails
 * is reported, not asserted.
 */
static void
detected_cycle(int n, bool per_file)
{
	struct cycle c;
	pid_t pids[MAX_MEMBERS];
	build_cycle(&c, M_FCNTL, n, per_file, pids);
	command(&c, n - 1, 'g');

	struct answer a;
	if (!next_answer(&c, ANSWER_MS, &a))
		atf_tc_fail("%d-process cycle of F_SETLKW requests: expected "
		            "one to fail with EDEADLK, got none within 5 s "
		            "(deadlock not detected)",
		    n);
	if (a.err != EDEADLK)
		atf_tc_fail("first answer in a %d-process cycle: expected "
		            "EDEADLK, got member %d's request returning %s",
		    n, a.member, a.err ? ipch_errname(a.err) : "the lock");
	int victim = a.member;
	printf("EDEADLK went to member %d of %d (%s)\n", victim, n,
	    victim == n - 1 ? "the request closing the cycle"
	                    : "an earlier request");
	fflush(stdout);

	/* The others are still in the cycle, minus the victim's request:
	 * asleep, no second EDEADLK, nobody granted yet. */
	for (int k = 0; k < n; k++)
		if (k != victim)
			expect_blocked(&c, pids[k], k,
			    "after the EDEADLK, before any release");
	if (next_answer(&c, 0, &a))
		atf_tc_fail("before any release: expected no second answer, "
		            "got member %d's request returning %s",
		    a.member, a.err ? ipch_errname(a.err) : "the lock");

	command(&c, victim, 'r');
	ipch_reap_ok(pids[victim]);
	expect_chain_granted(&c, pids, victim);
}

/*
 * OFD locks and flock(): no detection on Linux.  The closing request goes
 * to sleep like the others; the case sees every member asleep and no
 * answer, then breaks the cycle by killing the last member, whose lock
 * goes with its open file description, and the chain must be granted.
 */
static void
undetected_cycle(enum method m, int n, bool per_file)
{
	struct cycle c;
	pid_t pids[MAX_MEMBERS];
	build_cycle(&c, m, n, per_file, pids);
	command(&c, n - 1, 'g');
	expect_blocked(&c, pids[n - 1], n - 1, "closing the cycle");
	for (int k = 0; k < n - 1; k++)
		expect_blocked(&c, pids[k], k, "after the cycle closed");
	struct answer a;
	if (next_answer(&c, 0, &a))
		atf_tc_fail("%s cycle: expected every request asleep (Linux "
		            "does no deadlock detection here), got member "
		            "%d's request returning %s",
		    method_call(m), a.member,
		    a.err ? ipch_errname(a.err) : "the lock");
	printf("%d-process %s cycle: all %d requests asleep, no EDEADLK; "
	       "broken by SIGKILL of member %d\n",
	    n, method_call(m), n, n - 1);
	fflush(stdout);

	IPCH_SYS(kill(pids[n - 1], SIGKILL));
	ipch_reap_expect_signal(pids[n - 1], SIGKILL);
	expect_chain_granted(&c, pids, n - 1);
}

/* ------------------------------------------------------------------ */

IPCH_CASE(setlkw_two_process_cycle_fails_one_request_with_edeadlk,
    "conformance",
    "POSIX.1-2017 fcntl(): EDEADLK; Linux fcntl(2): deadlock detection",
    "of two F_SETLKW requests waiting on each other's record locks, "
    "exactly one fails with EDEADLK and the other is granted on release",
    "timeout", "20");
ATF_TC_BODY(setlkw_two_process_cycle_fails_one_request_with_edeadlk, tc)
{
	detected_cycle(2, false);
}

IPCH_CASE(setlkw_three_process_cycle_fails_one_request_with_edeadlk,
    "conformance",
    "POSIX.1-2017 fcntl(): EDEADLK; Linux fcntl(2): deadlock detection, "
    "circular deadlocks of more than two processes",
    "in a cycle of three F_SETLKW requests exactly one fails with EDEADLK "
    "and the other two are granted in turn as locks are released",
    "timeout", "20");
ATF_TC_BODY(setlkw_three_process_cycle_fails_one_request_with_edeadlk, tc)
{
	detected_cycle(3, false);
}

IPCH_CASE(setlkw_cycle_across_two_files_fails_one_request_with_edeadlk,
    "conformance",
    "POSIX.1-2017 fcntl(): EDEADLK; Linux fcntl(2): deadlock detection",
    "a cycle of F_SETLKW requests spanning two files is detected like one "
    "within a file: exactly one request fails with EDEADLK",
    "timeout", "20");
ATF_TC_BODY(setlkw_cycle_across_two_files_fails_one_request_with_edeadlk, tc)
{
	detected_cycle(2, true);
}

IPCH_CASE(ofd_setlkw_cycle_is_not_detected, "conformance",
    "Linux fcntl(2): open file description locks, no deadlock detection",
    "two F_OFD_SETLKW requests waiting on each other both sleep without "
    "EDEADLK; killing one process grants the other its lock",
    "timeout", "20");
ATF_TC_BODY(ofd_setlkw_cycle_is_not_detected, tc)
{
	undetected_cycle(M_OFD, 2, false);
}

IPCH_CASE(ofd_setlkw_three_process_cycle_is_not_detected, "conformance",
    "Linux fcntl(2): open file description locks, no deadlock detection",
    "a cycle of three F_OFD_SETLKW requests all sleep without EDEADLK; "
    "killing one process lets the other two through in turn",
    "timeout", "20");
ATF_TC_BODY(ofd_setlkw_three_process_cycle_is_not_detected, tc)
{
	undetected_cycle(M_OFD, 3, false);
}

IPCH_CASE(flock_cycle_is_not_detected, "conformance",
    "Linux flock(2): flock() does not detect deadlock",
    "two flock(LOCK_EX) requests on each other's locked file both sleep "
    "without EDEADLK; killing one process grants the other its lock",
    "timeout", "20");
ATF_TC_BODY(flock_cycle_is_not_detected, tc)
{
	undetected_cycle(M_FLOCK, 2, true);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(
	    tp, setlkw_two_process_cycle_fails_one_request_with_edeadlk);
	ATF_TP_ADD_TC(
	    tp, setlkw_three_process_cycle_fails_one_request_with_edeadlk);
	ATF_TP_ADD_TC(
	    tp, setlkw_cycle_across_two_files_fails_one_request_with_edeadlk);
	ATF_TP_ADD_TC(tp, ofd_setlkw_cycle_is_not_detected);
	ATF_TP_ADD_TC(tp, ofd_setlkw_three_process_cycle_is_not_detected);
	ATF_TP_ADD_TC(tp, flock_cycle_is_not_detected);
	return atf_no_error();
}
