/*
 * Who reaps a child, and when no one has to: SIGCHLD ignored, SA_NOCLDWAIT,
 * orphans reparented to a subreaper or to init, and a SIGCHLD handler that
 * collects a burst of children although their signals coalesce.
 */
#define _GNU_SOURCE /* PR_SET_CHILD_SUBREAPER */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipch.h"

/* A grandchild that exits at once; pid back to the caller. */
static pid_t
fork_exiting(void)
{
	pid_t pid = IPCH_CHILD_SYS(fork());
	if (pid == 0)
		_exit(0);
	return pid;
}

/*
 * With SIGCHLD ignored or SA_NOCLDWAIT set, a terminated child does not
 * become a zombie, and wait blocks until every child is gone and then
 * fails with ECHILD (POSIX.1-2017 wait()).  Run in a spawned child so the
 * case body keeps the default disposition that ipch_reap relies on.
 */
static int
no_zombie_after(void *arg)
{
	int how = (int)(long)arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (how == 0)
		sa.sa_handler = SIG_IGN;
	else {
		sa.sa_handler = SIG_DFL;
		sa.sa_flags = SA_NOCLDWAIT;
	}
	IPCH_CHILD_SYS(sigaction(SIGCHLD, &sa, NULL));

	pid_t kids[8];
	for (int i = 0; i < 8; i++)
		kids[i] = fork_exiting();
	int status;
	errno = 0;
	pid_t r = waitpid(-1, &status, 0);
	if (r != -1 || errno != ECHILD)
		ipch_child_fail("waitpid(-1) with %s: expected -1 with ECHILD "
		                "once all children are gone, got %ld (%s)",
		    how == 0 ? "SIGCHLD ignored" : "SA_NOCLDWAIT", (long)r,
		    r == -1 ? ipch_errname(errno) : "a reaped child");
	for (int i = 0; i < 8; i++) {
		char st = ipch_proc_state(kids[i]);
		if (st != 0)
			ipch_child_fail("child %ld: expected no process left, "
			                "got state %c",
			    (long)kids[i], st);
	}
	return 0;
}

IPCH_CASE(sigchld_ignored_leaves_no_zombie, "conformance",
    "POSIX.1-2017 wait(): SIGCHLD set to SIG_IGN",
    "children of a process that ignores SIGCHLD leave no zombie and wait "
    "fails with ECHILD once they are gone");
ATF_TC_BODY(sigchld_ignored_leaves_no_zombie, tc)
{
	(void)tc;
	ipch_reap_ok(ipch_spawn("ignorer", no_zombie_after, (void *)0L));
}

IPCH_CASE(sa_nocldwait_leaves_no_zombie, "conformance",
    "POSIX.1-2017 sigaction(): SA_NOCLDWAIT",
    "children of a process with SA_NOCLDWAIT on SIGCHLD leave no zombie "
    "and wait fails with ECHILD once they are gone");
ATF_TC_BODY(sa_nocldwait_leaves_no_zombie, tc)
{
	(void)tc;
	ipch_reap_ok(ipch_spawn("nocldwait", no_zombie_after, (void *)1L));
}

/* ------------------------------------------------------------------ */

/*
 * middle: starts the orphan, waits for `leave`, exits.  The orphan sends
 * its pid through `pidpipe`, waits for `release` and exits.  Each waiter
 * drops its copies of the gates' write ends, so a gate opens exactly when
 * its opener says so (or dies).
 */
struct orphan_ctx {
	int pidpipe[2];
	struct ipch_gate leave, release;
};

static int
middle(void *arg)
{
	struct orphan_ctx *o = arg;
	pid_t pid = IPCH_CHILD_SYS(fork());
	if (pid == 0) {
		close(o->leave.fd[1]);
		pid_t me = getpid();
		(void)!write(o->pidpipe[1], &me, sizeof(me));
		(void)ipch_gate_wait(&o->release);
		_exit(0);
	}
	close(o->release.fd[1]);
	(void)ipch_gate_wait(&o->leave);
	return 0; /* the orphan's parent exits first */
}

static void
orphan_ctx_init(struct orphan_ctx *o)
{
	IPCH_SYS(pipe(o->pidpipe));
	ipch_gate_init(&o->leave);
	ipch_gate_init(&o->release);
}

/*
 * A subreaper that starts a middle process which starts the orphan and
 * exits: the orphan's new parent must be the subreaper, which then reaps
 * it.  Run in a spawned child so that the subreaper is not the case body
 * (which ipch_spawn already made one): the nearest subreaper wins.
 */
static int
subreaper(void *arg)
{
	struct orphan_ctx *o = arg;
	IPCH_CHILD_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1));
	pid_t m = IPCH_CHILD_SYS(fork());
	if (m == 0)
		_exit(middle(o));
	pid_t orphan;
	if (read(o->pidpipe[0], &orphan, sizeof(orphan)) != sizeof(orphan))
		ipch_child_fail("no pid from the orphan");
	ipch_gate_open(&o->leave);
	int status;
	if (waitpid(m, &status, 0) != m || !WIFEXITED(status))
		ipch_child_fail("middle process: waitpid failed");
	/* The middle process is gone, so reparenting has happened. */
	pid_t pp = ipch_proc_ppid(orphan);
	if (pp != getpid())
		ipch_child_fail("orphan %ld: expected parent %ld (the "
		                "subreaper), got %ld",
		    (long)orphan, (long)getpid(), (long)pp);
	ipch_gate_open(&o->release);
	pid_t r = waitpid(orphan, &status, 0);
	if (r != orphan || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ipch_child_fail(
		    "orphan %ld: expected the subreaper to reap its "
		    "exit 0, got waitpid %ld (%s)",
		    (long)orphan, (long)r, r == -1 ? ipch_errname(errno) : "");
	return 0;
}

IPCH_CASE(orphan_is_reparented_to_subreaper_and_reaped, "conformance",
    "Linux prctl(2): PR_SET_CHILD_SUBREAPER",
    "an orphan is reparented to its nearest subreaper ancestor, which can "
    "wait for it");
ATF_TC_BODY(orphan_is_reparented_to_subreaper_and_reaped, tc)
{
	(void)tc;
	struct orphan_ctx o;
	orphan_ctx_init(&o);
	pid_t s = ipch_spawn("subreaper", subreaper, &o);
	/* Hand both gates to the subreaper: close the body's write ends. */
	ipch_gate_open(&o.leave);
	ipch_gate_open(&o.release);
	ipch_reap_ok(s);
}

IPCH_CASE(orphan_is_reparented_to_init_and_reaped, "conformance",
    "POSIX.1-2017 _Exit(): children inherited by an implementation-defined "
    "system process",
    "with no subreaper above it, an orphan is reparented to init (pid 1), "
    "which reaps it when it exits");
ATF_TC_BODY(orphan_is_reparented_to_init_and_reaped, tc)
{
	(void)tc;
	struct orphan_ctx o;
	orphan_ctx_init(&o);
	pid_t m = ipch_spawn("middle", middle, &o);
	/*
	 * ipch_spawn made this body a subreaper (so the end-of-case kill finds
	 * orphans).  Undo it now, before the middle process exits, or the
	 * orphan would come here and the case would test the harness instead
	 * of init.  The orphan needs no harness: it exits on the gate's EOF,
	 * which comes at the latest when this body dies.
	 */
	IPCH_SYS(prctl(PR_SET_CHILD_SUBREAPER, 0));
	pid_t orphan;
	IPCH_EXPECT_EQ("bytes of the orphan's pid", sizeof(orphan),
	    IPCH_SYS(read(o.pidpipe[0], &orphan, sizeof(orphan))));
	ipch_gate_open(&o.leave);
	ipch_reap_ok(m);
	pid_t pp = ipch_proc_ppid(orphan);
	ipch_gate_open(&o.release);
	if (pp != 1) {
		/* A subreaper further up (a service manager, a container's
		 * init shim) takes orphans before init can: not this rule. */
		if (pp > 1 && pp != getpid())
			atf_tc_skip("an ancestor of the case (pid %ld) is a "
			            "subreaper, so orphans never reach init",
			    (long)pp);
		atf_tc_fail("orphan %ld: expected parent 1 (init), got %ld",
		    (long)orphan, (long)pp);
	}
	/* Init reaps it: the pid disappears, never lingering as a zombie. */
	uint64_t deadline = ipch_now_ns() + 5000000000u;
	char st;
	while (
	    (st = ipch_proc_state(orphan)) != 0 && ipch_now_ns() < deadline) {
		const struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	if (st != 0)
		atf_tc_fail("orphan %ld: expected init to reap it within 5 s, "
		            "still there in state %c",
		    (long)orphan, st);
}

/* ------------------------------------------------------------------ */

static volatile sig_atomic_t reaped, handler_runs, deadline_hit;

static void
on_sigchld(int sig)
{
	(void)sig;
	int saved = errno;
	handler_runs++;
	/* One SIGCHLD may stand for many exits: collect all that are done. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		reaped++;
	errno = saved;
}

static void
on_alarm(int sig)
{
	(void)sig;
	deadline_hit = 1;
}

struct burst {
	long n;
	long rounds;
};

/*
 * N children wait on one gate and exit together: their SIGCHLDs arrive
 * while one is pending and coalesce, yet a handler that loops on
 * waitpid(WNOHANG) collects every one.  The count of handler runs is
 * reported, not checked: how many coalesce is up to the scheduler.
 */
static int
burst(void *arg)
{
	struct burst *b = arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigchld;
	IPCH_CHILD_SYS(sigaction(SIGCHLD, &sa, NULL));
	sa.sa_handler = on_alarm;
	IPCH_CHILD_SYS(sigaction(SIGALRM, &sa, NULL));

	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	long runs_total = 0;
	for (long r = 0; r < b->rounds; r++) {
		struct ipch_gate g;
		ipch_gate_init(&g);
		reaped = handler_runs = deadline_hit = 0;
		IPCH_CHILD_SYS(sigprocmask(SIG_BLOCK, &chld, &old));
		for (long i = 0; i < b->n; i++) {
			pid_t pid = IPCH_CHILD_SYS(fork());
			if (pid == 0) {
				close(g.fd[1]);
				_exit(ipch_gate_wait(&g) == 0 ? 0 : 1);
			}
		}
		ipch_gate_open(&g);
		close(g.fd[0]);
		alarm(10);
		/* Sleep with SIGCHLD deliverable only inside sigsuspend, so a
		 * signal between the test and the sleep is not lost. */
		while (reaped < b->n && !deadline_hit)
			sigsuspend(&old);
		alarm(0);
		IPCH_CHILD_SYS(sigprocmask(SIG_SETMASK, &old, NULL));
		if (reaped != b->n)
			ipch_child_fail(
			    "round %ld: expected the handler to reap "
			    "%ld children, got %ld in 10 s (%ld "
			    "handler runs)",
			    r, b->n, (long)reaped, (long)handler_runs);
		errno = 0;
		if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
			ipch_child_fail("round %ld: expected no child left "
			                "(ECHILD), got %s",
			    r, errno ? ipch_errname(errno) : "another child");
		runs_total += handler_runs;
	}
	ipch_metric("sigchld_handler_runs_per_burst",
	    (double)runs_total / (double)b->rounds, "runs");
	return 0;
}

IPCH_CASE(sigchld_handler_loop_reaps_whole_burst, "conformance",
    "POSIX.1-2017 waitpid(): WNOHANG; Signal Concepts: a pending signal "
    "is not queued twice",
    "a SIGCHLD handler that loops on waitpid(-1, WNOHANG) collects every "
    "child of a burst although their signals coalesce");
ATF_TC_BODY(sigchld_handler_loop_reaps_whole_burst, tc)
{
	struct burst b;
	b.n = ipch_config_long(
	    tc, "burst_children", ipch_stress_long(tc) ? 500 : 64, 1, 10000);
	b.rounds = ipch_config_long(
	    tc, "burst_rounds", ipch_stress_long(tc) ? 20 : 3, 1, 1000);
	ipch_metric("burst_children", (double)b.n, "processes");
	ipch_reap_ok(ipch_spawn("collector", burst, &b));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sigchld_ignored_leaves_no_zombie);
	ATF_TP_ADD_TC(tp, sa_nocldwait_leaves_no_zombie);
	ATF_TP_ADD_TC(tp, orphan_is_reparented_to_subreaper_and_reaped);
	ATF_TP_ADD_TC(tp, orphan_is_reparented_to_init_and_reaped);
	ATF_TP_ADD_TC(tp, sigchld_handler_loop_reaps_whole_burst);
	return atf_no_error();
}
