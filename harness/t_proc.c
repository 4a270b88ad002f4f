/* Self-tests of ipch_proc: process identity and blocked-in-syscall. */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: proc", descr)

static void
require_proc(void)
{
	if (!ipch_have_proc())
		atf_tc_skip("needs /proc/<pid>/stat (Linux procfs)");
}

static int fds[2];

static int
read_one(void *arg)
{
	(void)arg;
	char c;
	close(fds[1]);
	return read(fds[0], &c, 1) == 1 ? 0 : 1;
}

static int
spin(void *arg)
{
	(void)arg;
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

SELFTEST(wait_blocked_sees_a_reader_in_read,
    "a child blocked reading an empty pipe is seen in read(2)");
ATF_TC_BODY(wait_blocked_sees_a_reader_in_read, tc)
{
	require_proc();
	IPCH_SYS(pipe(fds));
	pid_t pid = ipch_spawn("reader", read_one, NULL);
	IPCH_EXPECT_EQ("ipch_wait_blocked(reader, read)", 0,
	    ipch_wait_blocked(pid, SYS_read, 5000));
	IPCH_SYS(write(fds[1], "x", 1));
	ipch_reap_ok(pid);
}

SELFTEST(wait_blocked_times_out_on_a_running_process,
    "a spinning child is never reported blocked");
ATF_TC_BODY(wait_blocked_times_out_on_a_running_process, tc)
{
	require_proc();
	pid_t pid = ipch_spawn("spinner", spin, NULL);
	IPCH_EXPECT_EQ("ipch_wait_blocked(spinner, any)", ETIMEDOUT,
	    ipch_wait_blocked(pid, IPCH_ANY_SYSCALL, 100));
	kill(pid, SIGKILL);
	ipch_reap_expect_signal(pid, SIGKILL);
}

SELFTEST(wait_blocked_reports_an_exited_process,
    "a child that exits is reported as ESRCH");
ATF_TC_BODY(wait_blocked_reports_an_exited_process, tc)
{
	require_proc();
	IPCH_SYS(pipe(fds));
	pid_t pid = ipch_spawn("reader", read_one, NULL);
	close(fds[1]);
	close(fds[0]);
	/* It reads EOF and exits 1; reaped only after the check. */
	IPCH_EXPECT_EQ("ipch_wait_blocked(exited, read)", ESRCH,
	    ipch_wait_blocked(pid, SYS_read, 5000));
	ipch_reap_expect_exit(pid, 1);
}

SELFTEST(starttime_tells_processes_apart,
    "a live process matches its start time and not another's");
ATF_TC_BODY(starttime_tells_processes_apart, tc)
{
	require_proc();
	unsigned long long me = ipch_proc_starttime(getpid());
	ATF_REQUIRE(me != 0);
	ATF_CHECK(ipch_proc_alive(getpid(), me));
	ATF_CHECK(!ipch_proc_alive(getpid(), me + 1));
	/* A spinner: it cannot end before the kill below. */
	pid_t pid = ipch_spawn("short", spin, NULL);
	unsigned long long st = ipch_proc_starttime(pid);
	kill(pid, SIGKILL);
	ipch_reap_expect_signal(pid, SIGKILL);
	ATF_CHECK_MSG(
	    !ipch_proc_alive(pid, st), "reaped pid %ld still alive", (long)pid);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, wait_blocked_sees_a_reader_in_read);
	ATF_TP_ADD_TC(tp, wait_blocked_times_out_on_a_running_process);
	ATF_TP_ADD_TC(tp, wait_blocked_reports_an_exited_process);
	ATF_TP_ADD_TC(tp, starttime_tells_processes_apart);
	return atf_no_error();
}
