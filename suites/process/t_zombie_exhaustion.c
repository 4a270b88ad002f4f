/*
 * PID exhaustion from zombies.  Inside a sandbox with a process limit, a
 * parent forks children that exit and are never reaped until fork fails;
 * a witness outside the sandbox forks all along and must never fail.
 */
#define _GNU_SOURCE /* waitid WNOWAIT */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipch.h"

/* Shared between the case body, the witness and the confined parent. */
struct exhaust {
	long rounds;
	long round;        /* the one running */
	long max_children; /* a runaway guard: fork never failing */
	atomic_long witness_forks;
	atomic_long witness_fails;
	atomic_int witness_errno;
	atomic_int stop;
	/* results of the confined parent, per the last round */
	long zombies; /* children alive as zombies when fork failed */
	long zombies_min, zombies_max; /* over all rounds */
	long witness_forks_at_limit;   /* witness forks while we were full */
	double ms_to_fill;             /* fork until EAGAIN, last round */
	char why[256];
};

static void
ms_sleep(long ms)
{
	const struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

/* Outside the sandbox: fork and reap in a loop until told to stop. */
static int
witness(void *arg)
{
	struct exhaust *x = arg;
	while (!atomic_load(&x->stop)) {
		pid_t pid = fork();
		if (pid == -1) {
			atomic_store(&x->witness_errno, errno);
			atomic_fetch_add(&x->witness_fails, 1);
			continue;
		}
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) != pid)
			ipch_child_fail(
			    "witness: waitpid: %s", ipch_errname(errno));
		atomic_fetch_add(&x->witness_forks, 1);
	}
	return 0;
}

static int fail_with(struct exhaust *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail_with(struct exhaust *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	return 1;
}

/*
 * Wait until the witness, outside, has forked a few more times while this
 * sandbox is full: the host must not notice our exhaustion.  A deadline
 * rather than a count alone, so a starved witness shows as a failure with
 * numbers instead of a hang.
 */
static long
witness_progress_while_full(struct exhaust *x)
{
	long before = atomic_load(&x->witness_forks);
	uint64_t deadline = ipch_now_ns() + 5000000000u;
	while (atomic_load(&x->witness_forks) < before + 20 &&
	       ipch_now_ns() < deadline)
		ms_sleep(1);
	return atomic_load(&x->witness_forks) - before;
}

/* In the sandbox: one round of fill, inspect, reap one, refill, reap all. */
static int
one_round(struct exhaust *x, pid_t *kids, long round)
{
	long n = 0;
	int err = 0;
	uint64_t t0 = ipch_now_ns();

	for (;;) {
		pid_t pid = fork();
		if (pid == -1) {
			err = errno;
			break;
		}
		if (pid == 0)
			_exit(0);
		if (n == x->max_children)
			return fail_with(x,
			    "round %ld: fork still succeeds after "
			    "%ld children: no limit in force",
			    round, n);
		kids[n++] = pid;
	}
	x->ms_to_fill = (double)(ipch_now_ns() - t0) / 1e6;
	if (err != EAGAIN)
		return fail_with(x,
		    "round %ld: fork at the limit: expected "
		    "EAGAIN, got %s after %ld children",
		    round, ipch_errname(err), n);

	/* Every child has exited (WNOWAIT leaves it unreaped): each one is a
	 * zombie holding its slot. */
	for (long i = 0; i < n; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)kids[i], &si, WEXITED | WNOWAIT) == -1)
			return fail_with(x,
			    "round %ld: waitid(WNOWAIT) of child "
			    "%ld: %s",
			    round, (long)kids[i], ipch_errname(errno));
		char st = ipch_proc_state(kids[i]);
		if (st != 'Z')
			return fail_with(x,
			    "round %ld: child %ld exited "
			    "unreaped: expected state Z, got %c",
			    round, (long)kids[i], st ? st : '?');
	}
	x->zombies = n;
	if (round == 0 || n < x->zombies_min)
		x->zombies_min = n;
	if (round == 0 || n > x->zombies_max)
		x->zombies_max = n;

	/* Still full: a second attempt fails the same way. */
	pid_t again = fork();
	if (again == 0)
		_exit(0);
	if (again != -1 || errno != EAGAIN)
		return fail_with(x,
		    "round %ld: fork while still full: expected "
		    "EAGAIN, got %s",
		    round, again == -1 ? ipch_errname(errno) : "success");

	x->witness_forks_at_limit = witness_progress_while_full(x);

	/*
	 * Reaping one zombie frees one slot: fork works again, once.  The
	 * newest one: in a PID namespace whose pids have wrapped, Linux hands
	 * out no pid below RESERVED_PIDS (300) again, so a freed low pid would
	 * not be a free slot.
	 */
	if (waitpid(kids[n - 1], NULL, 0) != kids[n - 1])
		return fail_with(x, "round %ld: waitpid of a zombie: %s", round,
		    ipch_errname(errno));
	pid_t one = fork();
	if (one == -1)
		return fail_with(x,
		    "round %ld: fork after reaping one zombie: "
		    "expected success, got %s",
		    round, ipch_errname(errno));
	if (one == 0)
		_exit(0);
	kids[n - 1] = one;
	pid_t full = fork();
	if (full == 0)
		_exit(0);
	if (full != -1 || errno != EAGAIN)
		return fail_with(x,
		    "round %ld: fork after one reap and one "
		    "fork: expected EAGAIN, got %s",
		    round, full == -1 ? ipch_errname(errno) : "success");

	/* Reaping all restores fork for good. */
	for (long i = 0; i < n; i++)
		if (waitpid(kids[i], NULL, 0) != kids[i])
			return fail_with(x,
			    "round %ld: waitpid of child %ld: "
			    "%s",
			    round, (long)kids[i], ipch_errname(errno));
	for (long i = 0; i < 3; i++) {
		pid_t p = fork();
		if (p == -1)
			return fail_with(x,
			    "round %ld: fork after reaping every "
			    "zombie: expected success, got %s",
			    round, ipch_errname(errno));
		if (p == 0)
			_exit(0);
		(void)waitpid(p, NULL, 0);
	}
	return 0;
}

/* One round per sandbox: a PID namespace is good for one fill only, as
 * after its pids wrap the ones below 300 are never handed out again. */
static int
exhaust(void *arg)
{
	struct exhaust *x = arg;
	pid_t *kids = calloc((size_t)x->max_children + 1, sizeof(*kids));
	if (kids == NULL)
		return fail_with(x, "calloc: out of memory");
	int rc = one_round(x, kids, x->round);
	free(kids);
	return rc;
}

IPCH_CASE(unreaped_zombies_exhaust_fork_in_sandbox_only, "stress",
    "POSIX.1-2017 fork(): EAGAIN",
    "children that exit unreaped stay zombies (state Z) until fork fails "
    "with EAGAIN at the sandbox's process limit; reaping restores fork; a "
    "process outside keeps forking throughout",
    "timeout", "120");
ATF_TC_BODY(unreaped_zombies_exhaust_fork_in_sandbox_only, tc)
{
	bool longrun = ipch_stress_long(tc);
	struct ipch_sandbox sb = {0};

	if (atf_tc_has_config_var(tc, "sandbox")) {
		const char *name = atf_tc_get_config_var(tc, "sandbox");
		int k = ipch_sandbox_parse(name);
		if (k < 0)
			atf_tc_fail(
			    "config sandbox='%s': expected auto, pidns, "
			    "cgroup2, cgroup1 or nproc",
			    name);
		sb.kind = (enum ipch_sandbox_kind)k;
	}
	const char *why = ipch_sandbox_unavailable(sb.kind);
	if (why != NULL)
		atf_tc_skip("%s", why);
	sb.limit = ipch_config_long(
	    tc, "zombie_limit", longrun ? 4000 : 64, 2, 100000);
	struct exhaust *x =
	    IPCH_SYS_PTR(mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
	                     MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	        MAP_FAILED);
	memset(x, 0, sizeof(*x));
	x->rounds =
	    ipch_config_long(tc, "zombie_rounds", longrun ? 20 : 2, 1, 10000);
	/* The pidns minimum is 300; a runaway guard well above any limit. */
	x->max_children = (sb.limit > 300 ? sb.limit : 300) * 2 + 64;

	pid_t w = ipch_spawn("witness", witness, x);
	uint64_t deadline = ipch_now_ns() + 5000000000u;
	while (atomic_load(&x->witness_forks) == 0 && ipch_now_ns() < deadline)
		ms_sleep(1);

	uint64_t t0 = ipch_now_ns();
	bool ran = true;
	for (x->round = 0; x->round < x->rounds && ran; x->round++) {
		ran = ipch_sandbox_run(&sb, exhaust, x);
		if (!WIFEXITED(sb.status) || WEXITSTATUS(sb.status) != 0)
			break;
	}
	double secs = (double)(ipch_now_ns() - t0) / 1e9;
	atomic_store(&x->stop, 1);
	ipch_reap_ok(w);
	if (!ran)
		atf_tc_skip("%s", sb.why);

	printf("sandbox %s, limit %ld, %ld round(s)\n",
	    ipch_sandbox_name(sb.used), sb.limit_used, x->rounds);
	ipch_metric("zombies_at_limit", (double)x->zombies, "processes");
	ipch_metric("sandbox_limit", (double)sb.limit_used, "processes");
	ipch_metric("fill_to_eagain", x->ms_to_fill, "ms");
	ipch_metric("all_rounds", secs, "s");
	ipch_metric(
	    "witness_forks", (double)atomic_load(&x->witness_forks), "forks");
	ipch_metric("witness_forks_while_full",
	    (double)x->witness_forks_at_limit, "forks");

	if (!WIFEXITED(sb.status) || WEXITSTATUS(sb.status) != 0) {
		if (x->why[0] != '\0')
			atf_tc_fail("sandbox %s: %s",
			    ipch_sandbox_name(sb.used), x->why);
		ipch_sandbox_expect_ok(&sb);
	}
	/* The confined parent is one of the limit's processes; every other
	 * slot went to a zombie, in every round. */
	IPCH_EXPECT_EQ("zombies when fork failed, fewest over the rounds "
	               "(limit - 1)",
	    sb.limit_used - 1, x->zombies_min);
	IPCH_EXPECT_EQ("zombies when fork failed, most over the rounds "
	               "(limit - 1)",
	    sb.limit_used - 1, x->zombies_max);
	if (atomic_load(&x->witness_fails) != 0)
		atf_tc_fail("witness outside the sandbox: expected every fork "
		            "to succeed, got %ld failure(s), last with %s",
		    (long)atomic_load(&x->witness_fails),
		    ipch_errname(atomic_load(&x->witness_errno)));
	if (x->witness_forks_at_limit < 20)
		atf_tc_fail("witness outside the sandbox: expected 20 forks "
		            "while the sandbox was full, got %ld in 5 s",
		    x->witness_forks_at_limit);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, unreaped_zombies_exhaust_fork_in_sandbox_only);
	return atf_no_error();
}
