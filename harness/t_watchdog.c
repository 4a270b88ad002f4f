/*
 * Self-tests of the watchdog: each deliberate deadlock of
 * suites/scenario/t_deadlock_diagnosis is diagnosed with the right text, and
 * cases that wait with deadlines, sleep or progress slowly are left alone.
 * The time from start to verdict of each diagnosed case is reported as a
 * metric (watchdog_<case>_ms); the budget is 2 s after the last progress.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: watchdog", descr)

static void
expect_diagnosis(const atf_tc_t *tc, const char *demo, const char *const *texts)
{
	const char *vars[] = {"deadlock_demos=true", NULL};
	struct ipch_run r = {.vars = vars, .timeout_s = 20};
	uint64_t t0 = ipch_now_ns();
	ipch_run_tree_case(
	    tc, "suites/scenario/t_deadlock_diagnosis", demo, &r);
	double ms = (double)(ipch_now_ns() - t0) / 1e6;
	char metric[96];
	snprintf(metric, sizeof(metric), "watchdog_%s_ms", demo);
	ipch_metric(metric, ms, "ms");
	ipch_run_expect(&r, "failed", "watchdog: deadlock");
	for (; *texts != NULL; texts++)
		ipch_run_expect(&r, "failed", *texts);
}

#define DIAGNOSIS(demo, ...)                                                   \
	SELFTEST(diagnoses_##demo, "the watchdog names the cycle of " #demo);  \
	ATF_TC_BODY(diagnoses_##demo, tc)                                      \
	{                                                                      \
		const char *texts[] = {__VA_ARGS__, NULL};                     \
		expect_diagnosis(tc, #demo, texts);                            \
	}

DIAGNOSIS(pipe_read_cycle, "'reader-a' waits in read(fd ", "on pipe:[",
    "whose write end is held by pid ", "'reader-b' waits in read(fd ")
DIAGNOSIS(pipe_read_self, "(case body) waits in read(fd ", "on pipe:[",
    "write end is held by pid ")
DIAGNOSIS(fifo_read_cycle, "waits in read(fd ", "on FIFO /", "fifo-a", "fifo-b",
    "whose write end is held by pid ")
DIAGNOSIS(ofd_lock_cycle, "'locker-a' waits in fcntl(F_OFD_SETLKW) on /",
    "locked by pid ", "'locker-b' waits in fcntl(F_OFD_SETLKW)")
DIAGNOSIS(sysv_sem_cycle, "waits in semop(semid ", "sem 0, op -1) at value 0",
    "sem 1, op -1) at value 0", "last changed by pid ")
DIAGNOSIS(pshared_mutex_cycle, "'taker-a' waits in futex(0x",
    "a mutex owned by pid ", "'taker-b'")

/* --- no false alarms: 1.5 windows of waiting that is not a deadlock ---- */

#define QUIET_MS 1500

static int
sleep_long(void *arg)
{
	(void)arg;
	const struct timespec t = {
	    QUIET_MS / 1000, (QUIET_MS % 1000) * 1000000L};
	nanosleep(&t, NULL);
	return 0;
}

static int quiet[2];

static int
poll_with_deadline(void *arg)
{
	(void)arg;
	struct pollfd p = {.fd = quiet[0], .events = POLLIN};
	return poll(&p, 1, QUIET_MS) == 0 ? 0 : 1;
}

SELFTEST(timed_waits_are_not_a_deadlock,
    "children in nanosleep and in poll with a timeout, the body in waitpid: "
    "no alarm");
ATF_TC_BODY(timed_waits_are_not_a_deadlock, tc)
{
	IPCH_SYS(pipe(quiet));
	ipch_spawn("sleeper", sleep_long, NULL);
	ipch_spawn("poller", poll_with_deadline, NULL);
	ipch_reap_all_ok();
}

static int
slow_writer(void *arg)
{
	(void)arg;
	close(quiet[0]);
	for (int i = 0; i < 6; i++) {
		const struct timespec t = {0, 250000000L};
		nanosleep(&t, NULL);
		IPCH_CHILD_SYS(write(quiet[1], "x", 1));
	}
	return 0;
}

static int
patient_reader(void *arg)
{
	(void)arg;
	char c;
	close(quiet[1]);
	for (int i = 0; i < 6; i++)
		if (read(quiet[0], &c, 1) != 1)
			ipch_child_fail("byte %d missing", i);
	return 0;
}

SELFTEST(slow_progress_is_not_a_deadlock,
    "a reader blocked on a writer that writes every 250 ms: no alarm");
ATF_TC_BODY(slow_progress_is_not_a_deadlock, tc)
{
	IPCH_SYS(pipe(quiet));
	ipch_spawn("writer", slow_writer, NULL);
	ipch_spawn("reader", patient_reader, NULL);
	close(quiet[0]);
	close(quiet[1]);
	ipch_reap_all_ok();
}

static int
spin_then_write(void *arg)
{
	(void)arg;
	uint64_t end = ipch_now_ns() + (uint64_t)QUIET_MS * 1000000u;
	while (ipch_now_ns() < end)
		;
	IPCH_CHILD_SYS(write(quiet[1], "x", 1));
	return 0;
}

SELFTEST(busy_process_is_not_a_deadlock,
    "a reader blocked on a writer that computes for 1.5 s: no alarm");
ATF_TC_BODY(busy_process_is_not_a_deadlock, tc)
{
	char c;
	IPCH_SYS(pipe(quiet));
	ipch_spawn("computer", spin_then_write, NULL);
	close(quiet[1]);
	IPCH_EXPECT_EQ("bytes read", 1, IPCH_SYS(read(quiet[0], &c, 1)));
	ipch_reap_all_ok();
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, diagnoses_pipe_read_cycle);
	ATF_TP_ADD_TC(tp, diagnoses_pipe_read_self);
	ATF_TP_ADD_TC(tp, diagnoses_fifo_read_cycle);
	ATF_TP_ADD_TC(tp, diagnoses_ofd_lock_cycle);
	ATF_TP_ADD_TC(tp, diagnoses_sysv_sem_cycle);
	ATF_TP_ADD_TC(tp, diagnoses_pshared_mutex_cycle);
	ATF_TP_ADD_TC(tp, timed_waits_are_not_a_deadlock);
	ATF_TP_ADD_TC(tp, slow_progress_is_not_a_deadlock);
	ATF_TP_ADD_TC(tp, busy_process_is_not_a_deadlock);
	return atf_no_error();
}
