/* Self-tests of ipch_spawn: verdicts naming the child, and no process that
 * outlives its case. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: spawn", descr)

static int
exit_with(void *arg)
{
	return (int)(long)arg;
}

SELFTEST(reap_expect_exit_accepts_matching_status,
    "a child exiting with the expected code passes");
ATF_TC_BODY(reap_expect_exit_accepts_matching_status, tc)
{
	ipch_reap_ok(ipch_spawn("zero", exit_with, (void *)0L));
	ipch_reap_expect_exit(ipch_spawn("three", exit_with, (void *)3L), 3);
	ATF_CHECK_EQ(0, ipch_live_children());
}

SELFTEST(child_failure_reason_reaches_verdict,
    "ipch_child_fail's text appears in the parent's failure");
ATF_TC_BODY(child_failure_reason_reaches_verdict, tc)
{
	struct ipch_run r = {0};
	ipch_run_tree_case(tc, "harness/h_cases", "child_fails", &r);
	ipch_run_expect(&r, "failed", "child 'bad' (pid ");
	ipch_run_expect(
	    &r, "failed", "expected exit 0, got exit 99: deliberate 7");
}

SELFTEST(killed_child_is_named_with_its_signal,
    "a child killed by a signal is reported by signal name");
ATF_TC_BODY(killed_child_is_named_with_its_signal, tc)
{
	struct ipch_run r = {0};
	ipch_run_tree_case(tc, "harness/h_cases", "child_killed", &r);
	ipch_run_expect(&r, "failed", "expected exit 0, got signal SIGKILL");
	ipch_run_tree_case(tc, "harness/h_cases", "child_not_signalled", &r);
	ipch_run_expect(&r, "failed", "expected signal SIGPIPE, got exit 0");
}

/* True once no pid listed in the file exists any more (2 s at most). */
static void
expect_all_gone(const struct ipch_run *r, int expected)
{
	char buf[512];
	ATF_REQUIRE_MSG(ipch_run_read(r, "pids", buf, sizeof(buf)) > 0,
	    "the case wrote no pids file");
	int n = 0;
	for (char *p = buf; *p != '\0';) {
		pid_t pid = (pid_t)strtol(p, &p, 10);
		while (*p == '\n')
			p++;
		if (pid <= 0)
			break;
		n++;
		uint64_t deadline = ipch_now_ns() + 2000000000u;
		/* Killed processes become zombies of ours (ipch_run_case
		 * made us their subreaper): reap them as they come. */
		while (kill(pid, 0) == 0 && ipch_now_ns() < deadline) {
			const struct timespec t = {0, 1000000};
			ipch_reap_exited();
			nanosleep(&t, NULL);
		}
		ATF_CHECK_MSG(kill(pid, 0) == -1,
		    "pid %ld (state %c) outlived its case", (long)pid,
		    ipch_proc_state(pid) ? ipch_proc_state(pid) : '?');
	}
	IPCH_EXPECT_EQ("processes the case started", expected, n);
}

SELFTEST(failed_case_leaves_no_descendant,
    "children, grandchildren and orphans die and are reaped when a case fails");
ATF_TC_BODY(failed_case_leaves_no_descendant, tc)
{
	struct ipch_run r = {0};
	ipch_run_tree_case(tc, "harness/h_cases", "fails_with_descendants", &r);
	ipch_run_expect(&r, "failed", "deliberate failure with descendants");
	expect_all_gone(&r, 4);
}

SELFTEST(killed_case_leaves_no_spawned_descendant,
    "spawned children and grandchildren die when the case body is SIGKILLed");
ATF_TC_BODY(killed_case_leaves_no_spawned_descendant, tc)
{
	struct ipch_run r = {.skip_cleanup = true};
	ipch_run_tree_case(
	    tc, "harness/h_cases", "killed_with_descendants", &r);
	/* The body died before writing a verdict. */
	IPCH_EXPECT_EQ(
	    "result file present", 0, strcmp(r.result, "no result") != 0);
	expect_all_gone(&r, 3);
	/* No cleanup routine ran: the sweeper removes the dead body's
	 * registry, as it would after a killed run. */
	ipch_sweep(NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, reap_expect_exit_accepts_matching_status);
	ATF_TP_ADD_TC(tp, child_failure_reason_reaches_verdict);
	ATF_TP_ADD_TC(tp, killed_child_is_named_with_its_signal);
	ATF_TP_ADD_TC(tp, failed_case_leaves_no_descendant);
	ATF_TP_ADD_TC(tp, killed_case_leaves_no_spawned_descendant);
	return atf_no_error();
}
