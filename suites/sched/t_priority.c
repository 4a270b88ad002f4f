/*
 * nice(), getpriority() and setpriority() (POSIX.1-2017; Linux
 * setpriority(2), sched(7)): return values, the -1 that is both a nice
 * value and the error return, errno, privilege and RLIMIT_NICE, process
 * groups and users, and inheritance by children; and the privilege a
 * real-time policy needs (sched(7)).
 *
 * Privilege is a capability (CAP_SYS_NICE), not uid 0.  The unprivileged
 * paths run in a child: as root it switches to a throwaway uid, which drops
 * every capability; as any other user it runs as is.
 */
#define _GNU_SOURCE /* setresuid, setresgid, setgroups */
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipch.h"

/* The uid that unprivileged children of root run as. */
#define NOBODY ((uid_t)65534)

/* Highest nice value (NZERO - 1 on Linux, as nice() returns it). */
#define NICE_MAX 19

/* The caller's nice value (PRIO_PROCESS, 0 cannot fail). */
static int
my_nice(void)
{
	errno = 0;
	return getpriority(PRIO_PROCESS, 0);
}

/* Skip unless the case's nice value leaves `room` steps above it. */
static int
nice_with_room(int room)
{
	int cur = my_nice();
	if (cur + room > NICE_MAX)
		atf_tc_skip("the case runs at nice %d, which leaves fewer than "
		            "%d steps below the maximum %d",
		    cur, room, NICE_MAX);
	return cur;
}

/* In the body: skip unless a child can run without CAP_SYS_NICE. */
static void
require_unprivileged_child(void)
{
	if (geteuid() == 0) {
		if (ipch_has_cap(IPCH_CAP_SETUID) != 1 ||
		    ipch_has_cap(IPCH_CAP_SETGID) != 1)
			atf_tc_skip("root without CAP_SETUID and CAP_SETGID: "
			            "cannot switch a child to a throwaway uid "
			            "to check the unprivileged path");
	} else if (ipch_has_cap(IPCH_CAP_SYS_NICE) == 1) {
		atf_tc_skip("this non-root process holds CAP_SYS_NICE: the "
		            "unprivileged path cannot be checked");
	}
}

/* In a child: become `uid` when root (which drops every capability), and
 * make sure CAP_SYS_NICE is gone. */
static void
child_become(uid_t uid)
{
	if (geteuid() == 0) {
		IPCH_CHILD_SYS(setgroups(0, NULL));
		IPCH_CHILD_SYS(setresgid(uid, uid, uid));
		IPCH_CHILD_SYS(setresuid(uid, uid, uid));
	}
	if (ipch_has_cap(IPCH_CAP_SYS_NICE) != 0)
		ipch_child_fail(
		    "CAP_SYS_NICE still held as uid %ld", (long)getuid());
}

/* In a child: RLIMIT_NICE soft limit `lim`, hard limit unchanged.  0 lets
 * no nice value be lowered (the ceiling is 20 - lim). */
static void
child_rlimit_nice(rlim_t lim)
{
	struct rlimit rl;
	IPCH_CHILD_SYS(getrlimit(RLIMIT_NICE, &rl));
	rl.rlim_cur = lim;
	IPCH_CHILD_SYS(setrlimit(RLIMIT_NICE, &rl));
}

/* In the body: skip unless nice -1 can be reached (CAP_SYS_NICE). */
static void
require_cap_sys_nice(void)
{
	if (ipch_has_cap(IPCH_CAP_SYS_NICE) != 1)
		atf_tc_skip("needs CAP_SYS_NICE to reach a negative nice "
		            "value, and it is not in the effective set");
}

IPCH_CASE(nice_returns_the_new_nice_value, "conformance",
    "POSIX.1-2017 nice(): RETURN VALUE",
    "nice(incr) returns the new nice value, nice(0) the current one, and "
    "getpriority() then reports the same");
ATF_TC_BODY(nice_returns_the_new_nice_value, tc)
{
	int cur = nice_with_room(3);
	errno = 0;
	IPCH_EXPECT_EQ("nice(0)", cur, nice(0));
	IPCH_EXPECT_EQ("nice(3)", cur + 3, nice(3));
	IPCH_EXPECT_EQ("errno after successful nice()", 0, errno);
	IPCH_EXPECT_EQ(
	    "getpriority(PRIO_PROCESS, 0) after nice(3)", cur + 3, my_nice());
}

IPCH_CASE(nice_beyond_the_range_stops_at_the_highest_nice_value, "conformance",
    "POSIX.1-2017 nice(): DESCRIPTION, range limit",
    "an increment past the top of the range sets the highest nice value, "
    "19, and nice() returns it");
ATF_TC_BODY(nice_beyond_the_range_stops_at_the_highest_nice_value, tc)
{
	IPCH_EXPECT_EQ("nice(100)", NICE_MAX, nice(100));
	IPCH_EXPECT_EQ("getpriority(PRIO_PROCESS, 0) after nice(100)", NICE_MAX,
	    my_nice());
}

static int
nice_to_minus_one(void *arg)
{
	(void)arg;
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, 0));
	errno = 0;
	int r = nice(-1);
	IPCH_CHILD_EXPECT_EQ("nice(-1) from nice 0", -1, r);
	IPCH_CHILD_EXPECT_EQ(
	    "errno after nice(-1) returned the nice value -1", 0, errno);
	return 0;
}

IPCH_CASE(nice_returning_minus_one_is_success_when_errno_is_unchanged,
    "conformance", "POSIX.1-2017 nice(): RETURN VALUE, APPLICATION USAGE",
    "nice() that lowers the nice value to -1 returns -1 and leaves errno "
    "as it was, which is how a caller tells it from an error");
ATF_TC_BODY(nice_returning_minus_one_is_success_when_errno_is_unchanged, tc)
{
	require_cap_sys_nice();
	ipch_reap_ok(ipch_spawn("nice-to-minus-one", nice_to_minus_one, NULL));
}

static int
getpriority_minus_one(void *arg)
{
	(void)arg;
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, -1));
	errno = 0;
	int r = getpriority(PRIO_PROCESS, 0);
	IPCH_CHILD_EXPECT_EQ("getpriority() at nice -1", -1, r);
	IPCH_CHILD_EXPECT_EQ(
	    "errno after getpriority() returned the nice value -1", 0, errno);
	return 0;
}

IPCH_CASE(getpriority_returning_minus_one_is_success_when_errno_is_unchanged,
    "conformance", "POSIX.1-2017 getpriority(): -1 return and errno",
    "getpriority() of a process at nice -1 returns -1 and leaves errno at "
    "0, so -1 alone is no error");
ATF_TC_BODY(
    getpriority_returning_minus_one_is_success_when_errno_is_unchanged, tc)
{
	require_cap_sys_nice();
	ipch_reap_ok(
	    ipch_spawn("getpriority-minus-one", getpriority_minus_one, NULL));
}

IPCH_CASE(getpriority_and_setpriority_fail_with_esrch_for_no_process,
    "conformance", "POSIX.1-2017 getpriority(), setpriority(): ESRCH",
    "getpriority() and setpriority() of a pid no process has fail with "
    "ESRCH");
ATF_TC_BODY(getpriority_and_setpriority_fail_with_esrch_for_no_process, tc)
{
	/* INT_MAX is above any pid_max Linux allows (2^22). */
	IPCH_EXPECT_ERRNO(ESRCH, getpriority(PRIO_PROCESS, INT_MAX));
	IPCH_EXPECT_ERRNO(ESRCH, setpriority(PRIO_PROCESS, INT_MAX, 10));
}

IPCH_CASE(getpriority_and_setpriority_fail_with_einval_for_a_bad_which,
    "conformance", "POSIX.1-2017 getpriority(), setpriority(): EINVAL",
    "getpriority() and setpriority() with a `which' other than "
    "PRIO_PROCESS, PRIO_PGRP and PRIO_USER fail with EINVAL");
ATF_TC_BODY(getpriority_and_setpriority_fail_with_einval_for_a_bad_which, tc)
{
	int bad = PRIO_PROCESS + PRIO_PGRP + PRIO_USER + 42;
	IPCH_EXPECT_ERRNO(EINVAL, getpriority(bad, 0));
	IPCH_EXPECT_ERRNO(EINVAL, setpriority(bad, 0, 10));
}

static int
raise_nice_unprivileged(void *arg)
{
	int cur = *(int *)arg;
	child_become(NOBODY);
	child_rlimit_nice(0);
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, cur + 5));
	IPCH_CHILD_EXPECT_EQ(
	    "getpriority() after setpriority(+5)", cur + 5, my_nice());
	/* Linux setpriority(2): out-of-range values are clamped. */
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, 100));
	IPCH_CHILD_EXPECT_EQ(
	    "getpriority() after setpriority(100)", NICE_MAX, my_nice());
	return 0;
}

IPCH_CASE(setpriority_to_a_higher_nice_value_needs_no_privilege, "conformance",
    "POSIX.1-2017 setpriority(); Linux setpriority(2): range clamping",
    "a process without CAP_SYS_NICE and with RLIMIT_NICE 0 may raise its "
    "own nice value, and a value past 19 is clamped to 19");
ATF_TC_BODY(setpriority_to_a_higher_nice_value_needs_no_privilege, tc)
{
	int cur = nice_with_room(5);
	require_unprivileged_child();
	ipch_reap_ok(ipch_spawn("unprivileged", raise_nice_unprivileged, &cur));
}

static int
lower_nice_unprivileged(void *arg)
{
	int cur = *(int *)arg;
	child_become(NOBODY);
	child_rlimit_nice(0);
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, cur + 5));
	IPCH_CHILD_EXPECT_ERRNO(EACCES, setpriority(PRIO_PROCESS, 0, cur + 4));
	IPCH_CHILD_EXPECT_EQ("getpriority() after the refused setpriority()",
	    cur + 5, my_nice());
	return 0;
}

IPCH_CASE(setpriority_to_a_lower_nice_value_fails_with_eacces_unprivileged,
    "conformance",
    "POSIX.1-2017 setpriority(): EACCES; Linux setpriority(2): EACCES",
    "without CAP_SYS_NICE and with RLIMIT_NICE 0, setpriority() to a lower "
    "nice value than the current one fails with EACCES and changes "
    "nothing");
ATF_TC_BODY(
    setpriority_to_a_lower_nice_value_fails_with_eacces_unprivileged, tc)
{
	int cur = nice_with_room(5);
	require_unprivileged_child();
	ipch_reap_ok(ipch_spawn("unprivileged", lower_nice_unprivileged, &cur));
}

static int
nice_negative_unprivileged(void *arg)
{
	int cur = *(int *)arg;
	child_become(NOBODY);
	child_rlimit_nice(0);
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, cur + 5));
	IPCH_CHILD_EXPECT_ERRNO(EPERM, nice(-1));
	IPCH_CHILD_EXPECT_EQ(
	    "getpriority() after the refused nice(-1)", cur + 5, my_nice());
	return 0;
}

IPCH_CASE(nice_with_a_negative_increment_fails_with_eperm_unprivileged,
    "conformance", "POSIX.1-2017 nice(): EPERM",
    "without CAP_SYS_NICE and with RLIMIT_NICE 0, nice(-1) fails with "
    "EPERM (not setpriority's EACCES) and changes nothing");
ATF_TC_BODY(nice_with_a_negative_increment_fails_with_eperm_unprivileged, tc)
{
	int cur = nice_with_room(5);
	require_unprivileged_child();
	ipch_reap_ok(
	    ipch_spawn("unprivileged", nice_negative_unprivileged, &cur));
}

/* RLIMIT_NICE soft limit the next case sets: nice may go down to 20 - 10. */
#define RLIM_NICE 10

static int
lower_nice_under_rlimit(void *arg)
{
	(void)arg;
	/* Before the uid switch: raising the limit needs the hard limit
	 * or CAP_SYS_RESOURCE, which root loses with the switch. */
	child_rlimit_nice(RLIM_NICE);
	child_become(NOBODY);
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, NICE_MAX));
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, 20 - RLIM_NICE));
	IPCH_CHILD_EXPECT_EQ("getpriority() after lowering to the RLIMIT_NICE "
	                     "ceiling",
	    20 - RLIM_NICE, my_nice());
	IPCH_CHILD_EXPECT_ERRNO(
	    EACCES, setpriority(PRIO_PROCESS, 0, 20 - RLIM_NICE - 1));
	return 0;
}

IPCH_CASE(rlimit_nice_lets_an_unprivileged_process_lower_its_nice_value,
    "conformance", "Linux setpriority(2): RLIMIT_NICE; getrlimit(2)",
    "without CAP_SYS_NICE, RLIMIT_NICE 10 lets a process lower its nice "
    "value down to 20 - 10 = 10, and not one step further (EACCES)");
ATF_TC_BODY(rlimit_nice_lets_an_unprivileged_process_lower_its_nice_value, tc)
{
	require_unprivileged_child();
	struct rlimit rl;
	IPCH_SYS(getrlimit(RLIMIT_NICE, &rl));
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < RLIM_NICE &&
	    ipch_has_cap(IPCH_CAP_SYS_RESOURCE) != 1)
		atf_tc_skip("RLIMIT_NICE hard limit is %ld and "
		            "CAP_SYS_RESOURCE is not in the effective set: "
		            "cannot raise the soft limit to %d",
		    (long)rl.rlim_max, RLIM_NICE);
	ipch_reap_ok(ipch_spawn("unprivileged", lower_nice_under_rlimit, NULL));
}

static struct ipch_latch ready;
static struct ipch_gate done;

/* A process that reports ready and then waits for the case to finish. */
static int
wait_for_done(void *arg)
{
	uid_t *uid = arg;
	if (uid != NULL)
		child_become(*uid);
	ipch_latch_arrive(&ready);
	return ipch_gate_wait(&done) == 0 ? 0 : 1;
}

IPCH_CASE(prio_pgrp_sets_every_member_and_reads_the_lowest, "conformance",
    "POSIX.1-2017 getpriority(), setpriority(): PRIO_PGRP",
    "setpriority(PRIO_PGRP) sets the nice value of every process of the "
    "group, and getpriority(PRIO_PGRP) returns the lowest of theirs");
ATF_TC_BODY(prio_pgrp_sets_every_member_and_reads_the_lowest, tc)
{
	int cur = nice_with_room(9);
	ipch_latch_init(&ready);
	ipch_gate_init(&done);
	pid_t a = ipch_spawn("member-a", wait_for_done, NULL);
	pid_t b = ipch_spawn("member-b", wait_for_done, NULL);
	IPCH_EXPECT_EQ("members ready", 0, ipch_latch_wait(&ready, 2, 10000));
	/* A new group of the two, led by a; the case is not in it. */
	IPCH_SYS(setpgid(a, a));
	IPCH_SYS(setpgid(b, a));
	IPCH_SYS(setpriority(PRIO_PGRP, a, cur + 7));
	IPCH_EXPECT_EQ("nice of member-a after PRIO_PGRP", cur + 7,
	    getpriority(PRIO_PROCESS, a));
	IPCH_EXPECT_EQ("nice of member-b after PRIO_PGRP", cur + 7,
	    getpriority(PRIO_PROCESS, b));
	IPCH_EXPECT_EQ("nice of the case, outside the group", cur, my_nice());
	IPCH_SYS(setpriority(PRIO_PROCESS, b, cur + 9));
	IPCH_EXPECT_EQ("getpriority(PRIO_PGRP) of nice +7 and +9 members",
	    cur + 7, getpriority(PRIO_PGRP, a));
	ipch_gate_open(&done);
	ipch_reap_ok(a);
	ipch_reap_ok(b);
}

/* A uid no process on this machine has: the PRIO_USER case would renice
 * every process of a uid in use. */
static uid_t
unused_uid(void)
{
	for (uid_t u = 0x70000000u + ((uid_t)getpid() & 0xfffffu);; u += 7) {
		errno = 0;
		if (getpriority(PRIO_USER, u) == -1 && errno == ESRCH)
			return u;
	}
}

IPCH_CASE(prio_user_sets_every_process_of_the_user_and_reads_the_lowest,
    "conformance", "POSIX.1-2017 getpriority(), setpriority(): PRIO_USER",
    "setpriority(PRIO_USER, uid) sets the nice value of every process of "
    "that user and of no other, and getpriority(PRIO_USER) returns the "
    "lowest of theirs");
ATF_TC_BODY(prio_user_sets_every_process_of_the_user_and_reads_the_lowest, tc)
{
	int cur = nice_with_room(9);
	if (geteuid() != 0 || ipch_has_cap(IPCH_CAP_SETUID) != 1 ||
	    ipch_has_cap(IPCH_CAP_SETGID) != 1)
		atf_tc_skip("needs CAP_SETUID and CAP_SETGID (as root) to run "
		            "processes under a uid of their own: PRIO_USER on "
		            "the caller's uid would renice every process of "
		            "the user");
	uid_t uid = unused_uid();
	ipch_latch_init(&ready);
	ipch_gate_init(&done);
	pid_t a = ipch_spawn("user-a", wait_for_done, &uid);
	pid_t b = ipch_spawn("user-b", wait_for_done, &uid);
	IPCH_EXPECT_EQ(
	    "user processes ready", 0, ipch_latch_wait(&ready, 2, 10000));
	IPCH_SYS(setpriority(PRIO_USER, uid, cur + 6));
	IPCH_EXPECT_EQ("nice of user-a after PRIO_USER", cur + 6,
	    getpriority(PRIO_PROCESS, a));
	IPCH_EXPECT_EQ("nice of user-b after PRIO_USER", cur + 6,
	    getpriority(PRIO_PROCESS, b));
	IPCH_EXPECT_EQ("nice of the case, another user", cur, my_nice());
	IPCH_SYS(setpriority(PRIO_PROCESS, b, cur + 9));
	IPCH_EXPECT_EQ("getpriority(PRIO_USER) of nice +6 and +9 processes",
	    cur + 6, getpriority(PRIO_USER, uid));
	ipch_gate_open(&done);
	ipch_reap_ok(a);
	ipch_reap_ok(b);
}

static int
report_nice(void *arg)
{
	(void)arg;
	return my_nice() + 20; /* 0 to 39 fits an exit status */
}

static int
nice_then_fork(void *arg)
{
	int want = *(int *)arg;
	IPCH_CHILD_SYS(setpriority(PRIO_PROCESS, 0, want));
	int st = ipch_reap(ipch_spawn("grandchild", report_nice, NULL));
	if (!WIFEXITED(st))
		ipch_child_fail("grandchild did not exit (status %#x)", st);
	IPCH_CHILD_EXPECT_EQ(
	    "nice value the grandchild saw", want, WEXITSTATUS(st) - 20);
	return 0;
}

IPCH_CASE(children_inherit_the_nice_value, "conformance",
    "POSIX.1-2017 fork(): the child inherits the nice value; Linux "
    "sched(7)",
    "a process forked after its parent set nice +4 runs at nice +4");
ATF_TC_BODY(children_inherit_the_nice_value, tc)
{
	int want = nice_with_room(4) + 4;
	ipch_reap_ok(ipch_spawn("parent", nice_then_fork, &want));
}

static int
fifo_unprivileged(void *arg)
{
	(void)arg;
	child_become(NOBODY);
	struct rlimit rl;
	IPCH_CHILD_SYS(getrlimit(RLIMIT_RTPRIO, &rl));
	rl.rlim_cur = 0;
	IPCH_CHILD_SYS(setrlimit(RLIMIT_RTPRIO, &rl));
	struct sched_param sp = {.sched_priority = 1};
	IPCH_CHILD_EXPECT_ERRNO(EPERM, sched_setscheduler(0, SCHED_FIFO, &sp));
	IPCH_CHILD_EXPECT_EQ("policy after the refused sched_setscheduler()",
	    SCHED_OTHER, sched_getscheduler(0));
	return 0;
}

IPCH_CASE(sched_fifo_fails_with_eperm_without_cap_sys_nice_or_rlimit_rtprio,
    "conformance",
    "Linux sched(7): privileges and resource limits, RLIMIT_RTPRIO; "
    "sched_setscheduler(2): EPERM",
    "without CAP_SYS_NICE and with RLIMIT_RTPRIO 0, switching to SCHED_FIFO "
    "fails with EPERM and the policy stays SCHED_OTHER");
ATF_TC_BODY(
    sched_fifo_fails_with_eperm_without_cap_sys_nice_or_rlimit_rtprio, tc)
{
	require_unprivileged_child();
	ipch_reap_ok(ipch_spawn("unprivileged", fifo_unprivileged, NULL));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, nice_returns_the_new_nice_value);
	ATF_TP_ADD_TC(
	    tp, nice_beyond_the_range_stops_at_the_highest_nice_value);
	ATF_TP_ADD_TC(
	    tp, nice_returning_minus_one_is_success_when_errno_is_unchanged);
	ATF_TP_ADD_TC(tp,
	    getpriority_returning_minus_one_is_success_when_errno_is_unchanged);
	ATF_TP_ADD_TC(
	    tp, getpriority_and_setpriority_fail_with_esrch_for_no_process);
	ATF_TP_ADD_TC(
	    tp, getpriority_and_setpriority_fail_with_einval_for_a_bad_which);
	ATF_TP_ADD_TC(
	    tp, setpriority_to_a_higher_nice_value_needs_no_privilege);
	ATF_TP_ADD_TC(tp,
	    setpriority_to_a_lower_nice_value_fails_with_eacces_unprivileged);
	ATF_TP_ADD_TC(
	    tp, nice_with_a_negative_increment_fails_with_eperm_unprivileged);
	ATF_TP_ADD_TC(
	    tp, rlimit_nice_lets_an_unprivileged_process_lower_its_nice_value);
	ATF_TP_ADD_TC(tp, prio_pgrp_sets_every_member_and_reads_the_lowest);
	ATF_TP_ADD_TC(
	    tp, prio_user_sets_every_process_of_the_user_and_reads_the_lowest);
	ATF_TP_ADD_TC(tp, children_inherit_the_nice_value);
	ATF_TP_ADD_TC(tp,
	    sched_fifo_fails_with_eperm_without_cap_sys_nice_or_rlimit_rtprio);
	return 0;
}
