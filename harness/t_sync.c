/* Self-tests of ipch_sync: gates, latches and barriers order processes. */
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: sync", descr)

static struct ipch_gate gate;
static int out[2];

static int
wait_then_write(void *arg)
{
	(void)arg;
	close(out[0]);
	if (ipch_gate_wait(&gate) != 0)
		ipch_child_fail("gate broken");
	IPCH_CHILD_SYS(write(out[1], "g", 1));
	return 0;
}

SELFTEST(gate_holds_every_waiter_until_opened,
    "no waiter passes a closed gate; all pass once it opens");
ATF_TC_BODY(gate_holds_every_waiter_until_opened, tc)
{
	pid_t pids[4];
	ipch_gate_init(&gate);
	IPCH_SYS(pipe(out));
	for (int i = 0; i < 4; i++)
		pids[i] = ipch_spawn("waiter", wait_then_write, NULL);
	close(out[1]);
	for (int i = 0; i < 4; i++)
		IPCH_EXPECT_EQ("ipch_wait_blocked(waiter, read)", 0,
		    ipch_wait_blocked(pids[i], SYS_read, 5000));
	struct pollfd p = {.fd = out[0], .events = POLLIN};
	IPCH_EXPECT_EQ("waiters past the closed gate", 0, poll(&p, 1, 0));
	ipch_gate_open(&gate);
	char buf[8];
	IPCH_EXPECT_EQ("waiters past the open gate", 4,
	    ipch_read_full(out[0], buf, sizeof(buf)));
	ipch_reap_all_ok();
}

static struct ipch_latch latch;

static int
arrive(void *arg)
{
	(void)arg;
	ipch_latch_arrive(&latch);
	return 0;
}

static int
leave_without_arriving(void *arg)
{
	(void)arg;
	return 0;
}

SELFTEST(latch_counts_every_arrival, "latch_wait returns after n arrivals");
ATF_TC_BODY(latch_counts_every_arrival, tc)
{
	ipch_latch_init(&latch);
	for (int i = 0; i < 5; i++)
		ipch_spawn("arriver", arrive, NULL);
	IPCH_EXPECT_EQ(
	    "ipch_latch_wait(5)", 0, ipch_latch_wait(&latch, 5, 5000));
	ipch_reap_all_ok();
}

SELFTEST(latch_reports_arrivers_that_died,
    "latch_wait gives EPIPE when the children exit without arriving");
ATF_TC_BODY(latch_reports_arrivers_that_died, tc)
{
	ipch_latch_init(&latch);
	ipch_spawn("arriver", arrive, NULL);
	ipch_spawn("quitter", leave_without_arriving, NULL);
	IPCH_EXPECT_EQ(
	    "ipch_latch_wait(2)", EPIPE, ipch_latch_wait(&latch, 2, 5000));
	ipch_reap_all_ok();
}

SELFTEST(latch_times_out, "latch_wait gives ETIMEDOUT when arrivals are late");
ATF_TC_BODY(latch_times_out, tc)
{
	ipch_latch_init(&latch);
	/* This process keeps a write end, so no EPIPE can come. */
	int keep = dup(latch.fd[1]);
	IPCH_EXPECT_EQ("ipch_latch_wait(1, 50 ms)", ETIMEDOUT,
	    ipch_latch_wait(&latch, 1, 50));
	close(keep);
}

static struct ipch_barrier *barrier;

static int
barrier_round(void *arg)
{
	(void)arg;
	for (int round = 0; round < 50; round++)
		if (ipch_barrier_wait(barrier, 5000) != 0)
			ipch_child_fail("barrier timed out in round %d", round);
	return 0;
}

SELFTEST(barrier_is_reusable_across_rounds,
    "three processes meet fifty times without a timeout");
ATF_TC_BODY(barrier_is_reusable_across_rounds, tc)
{
	barrier = ipch_barrier_new(3);
	ipch_spawn("b1", barrier_round, NULL);
	ipch_spawn("b2", barrier_round, NULL);
	ipch_spawn("b3", barrier_round, NULL);
	ipch_reap_all_ok();
	ipch_barrier_free(barrier);
}

SELFTEST(barrier_times_out_when_short_of_members,
    "a barrier for two gives ETIMEDOUT to a lone waiter");
ATF_TC_BODY(barrier_times_out_when_short_of_members, tc)
{
	barrier = ipch_barrier_new(2);
	IPCH_EXPECT_EQ("ipch_barrier_wait alone", ETIMEDOUT,
	    ipch_barrier_wait(barrier, 50));
	ipch_barrier_free(barrier);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, gate_holds_every_waiter_until_opened);
	ATF_TP_ADD_TC(tp, latch_counts_every_arrival);
	ATF_TP_ADD_TC(tp, latch_reports_arrivers_that_died);
	ATF_TP_ADD_TC(tp, latch_times_out);
	ATF_TP_ADD_TC(tp, barrier_is_reusable_across_rounds);
	ATF_TP_ADD_TC(tp, barrier_times_out_when_short_of_members);
	return atf_no_error();
}
