/*
 * Mutex ownership, as the owner's mistakes and death reveal it, for
 * process-shared mutexes in MAP_SHARED memory: an error-checking mutex
 * refuses a relock by its owner (EDEADLK) and an unlock by anyone else
 * (EPERM); a robust mutex whose owning process dies passes to the next
 * locker with EOWNERDEAD, and becomes unusable (ENOTRECOVERABLE) unless that
 * locker calls pthread_mutex_consistent() before unlocking.
 *
 * pthread functions return an error number rather than setting errno, so
 * the checks here compare return values and name them.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS: not in POSIX.1-2008 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipch.h"

struct shared {
	pthread_mutex_t *m;
	struct ipch_latch locked; /* the holder has the mutex */
	struct ipch_latch woke;   /* a waiter got it after the owner died */
	struct ipch_gate never;   /* kept shut: the holder dies waiting */
};

/* A process-shared mutex of `type` in shared anonymous memory, robust on
 * request, with the holder's latch and gate made ready. */
static void
shared_mutex(struct shared *s, int type, bool robust)
{
	pthread_mutexattr_t a;
	s->m = IPCH_SYS_PTR(mmap(NULL, sizeof(*s->m), PROT_READ | PROT_WRITE,
	                        MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	    MAP_FAILED);
	IPCH_EXPECT_RC(0, pthread_mutexattr_init(&a));
	IPCH_EXPECT_RC(
	    0, pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
	IPCH_EXPECT_RC(0, pthread_mutexattr_settype(&a, type));
	if (robust)
		IPCH_EXPECT_RC(
		    0, pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
	IPCH_EXPECT_RC(0, pthread_mutex_init(s->m, &a));
	IPCH_EXPECT_RC(0, pthread_mutexattr_destroy(&a));
	ipch_latch_init(&s->locked);
	ipch_latch_init(&s->woke);
	ipch_gate_init(&s->never);
}

/* Child: lock, tell the case, and wait to be killed holding the lock. */
static int
hold_until_killed(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(0, pthread_mutex_lock(s->m));
	ipch_latch_arrive(&s->locked);
	(void)ipch_gate_wait(&s->never);
	ipch_child_fail("expected to be killed holding the mutex, got the "
	                "gate opened");
}

/* Start a holder and return once it holds the mutex. */
static pid_t
start_holder(struct shared *s)
{
	pid_t pid = ipch_spawn("holder", hold_until_killed, s);
	int rc = ipch_latch_wait(&s->locked, 1, 5000);
	if (rc != 0)
		atf_tc_fail("holder: expected it to lock the mutex, got %s",
		    rc == EPIPE ? "its exit first" : "no lock within 5 s");
	return pid;
}

/* The owner process dies while it holds the mutex. */
static void
kill_holder(pid_t pid)
{
	IPCH_SYS(kill(pid, SIGKILL));
	ipch_reap_expect_signal(pid, SIGKILL);
}

static int
child_trylock_is_ebusy(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(EBUSY, pthread_mutex_trylock(s->m));
	return 0;
}

static int
child_unlock_is_eperm(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(EPERM, pthread_mutex_unlock(s->m));
	return 0;
}

static int
child_lock_is_not_recoverable(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(ENOTRECOVERABLE, pthread_mutex_lock(s->m));
	return 0;
}

static int
child_trylock_is_not_recoverable(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(ENOTRECOVERABLE, pthread_mutex_trylock(s->m));
	return 0;
}

/* A robust mutex made permanently unusable: its owner died, and the next
 * locker unlocked it without making it consistent. */
static void
make_not_recoverable(struct shared *s)
{
	shared_mutex(s, PTHREAD_MUTEX_DEFAULT, true);
	kill_holder(start_holder(s));
	IPCH_EXPECT_RC(EOWNERDEAD, pthread_mutex_lock(s->m));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s->m));
}

static int
child_lock_unlock(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(0, pthread_mutex_lock(s->m));
	IPCH_CHILD_EXPECT_RC(0, pthread_mutex_unlock(s->m));
	return 0;
}

/* Child: block in pthread_mutex_lock until the owner dies, then take over
 * the mutex, repair it and let it go. */
static int
child_wait_for_dead_owner(void *arg)
{
	struct shared *s = arg;
	IPCH_CHILD_EXPECT_RC(EOWNERDEAD, pthread_mutex_lock(s->m));
	ipch_latch_arrive(&s->woke);
	IPCH_CHILD_EXPECT_RC(0, pthread_mutex_consistent(s->m));
	IPCH_CHILD_EXPECT_RC(0, pthread_mutex_unlock(s->m));
	return 0;
}

/* ------------------------------------------------------------------ */

IPCH_CASE(errorcheck_relock_by_owner_fails_with_edeadlk, "conformance",
    "POSIX.1-2017 pthread_mutex_lock(): EDEADLK, PTHREAD_MUTEX_ERRORCHECK",
    "a process-shared error-checking mutex locked again by its owner "
    "fails with EDEADLK instead of deadlocking, and stays locked",
    "timeout", "10");
ATF_TC_BODY(errorcheck_relock_by_owner_fails_with_edeadlk, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_ERRORCHECK, false);
	IPCH_EXPECT_RC(0, pthread_mutex_lock(s.m));
	IPCH_EXPECT_RC(EDEADLK, pthread_mutex_lock(s.m));
	/* Still ours, once: another process cannot take it. */
	ipch_reap_ok(ipch_spawn("trylocker", child_trylock_is_ebusy, &s));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
	IPCH_EXPECT_RC(EPERM, pthread_mutex_unlock(s.m));
}

IPCH_CASE(errorcheck_unlock_by_another_process_fails_with_eperm, "conformance",
    "POSIX.1-2017 pthread_mutex_unlock(): EPERM, PTHREAD_MUTEX_ERRORCHECK",
    "unlocking a process-shared error-checking mutex from a process that "
    "does not own it fails with EPERM and leaves it locked",
    "timeout", "10");
ATF_TC_BODY(errorcheck_unlock_by_another_process_fails_with_eperm, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_ERRORCHECK, false);
	IPCH_EXPECT_RC(0, pthread_mutex_lock(s.m));
	ipch_reap_ok(ipch_spawn("non-owner", child_unlock_is_eperm, &s));
	ipch_reap_ok(ipch_spawn("trylocker", child_trylock_is_ebusy, &s));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
}

IPCH_CASE(errorcheck_unlock_of_unlocked_mutex_fails_with_eperm, "conformance",
    "POSIX.1-2017 pthread_mutex_unlock(): EPERM, PTHREAD_MUTEX_ERRORCHECK",
    "unlocking an unlocked error-checking mutex fails with EPERM", "timeout",
    "10");
ATF_TC_BODY(errorcheck_unlock_of_unlocked_mutex_fails_with_eperm, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_ERRORCHECK, false);
	IPCH_EXPECT_RC(EPERM, pthread_mutex_unlock(s.m));
}

IPCH_CASE(robust_unlock_by_another_process_fails_with_eperm, "conformance",
    "POSIX.1-2017 pthread_mutex_unlock(): EPERM, robust mutex",
    "unlocking a robust mutex of the default type from a process that "
    "does not own it fails with EPERM",
    "timeout", "10");
ATF_TC_BODY(robust_unlock_by_another_process_fails_with_eperm, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_DEFAULT, true);
	IPCH_EXPECT_RC(0, pthread_mutex_lock(s.m));
	ipch_reap_ok(ipch_spawn("non-owner", child_unlock_is_eperm, &s));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
}

IPCH_CASE(robust_mutex_of_dead_owner_gives_eownerdead_and_ownership,
    "conformance", "POSIX.1-2017 pthread_mutex_lock(): EOWNERDEAD",
    "after the owner process is killed holding a robust process-shared "
    "mutex, the next lock returns EOWNERDEAD and holds the mutex",
    "timeout", "10");
ATF_TC_BODY(robust_mutex_of_dead_owner_gives_eownerdead_and_ownership, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_DEFAULT, true);
	kill_holder(start_holder(&s));
	IPCH_EXPECT_RC(EOWNERDEAD, pthread_mutex_lock(s.m));
	/* EOWNERDEAD is a successful lock: others are kept out. */
	ipch_reap_ok(ipch_spawn("trylocker", child_trylock_is_ebusy, &s));
	IPCH_EXPECT_RC(0, pthread_mutex_consistent(s.m));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
}

IPCH_CASE(robust_mutex_waiter_gets_eownerdead_when_owner_dies, "conformance",
    "POSIX.1-2017 pthread_mutex_lock(): EOWNERDEAD",
    "a process blocked locking a robust mutex wakes with EOWNERDEAD when "
    "the owner process is killed",
    "timeout", "10");
ATF_TC_BODY(robust_mutex_waiter_gets_eownerdead_when_owner_dies, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_DEFAULT, true);
	pid_t holder = start_holder(&s);
	pid_t waiter = ipch_spawn("waiter", child_wait_for_dead_owner, &s);
	ipch_expect_blocked(
	    waiter, SYS_futex, "futex (pthread_mutex_lock of the held mutex)");
	kill_holder(holder);
	/* Bounded: a waiter left asleep fails here, not at the timeout. */
	int rc = ipch_latch_wait(&s.woke, 1, 5000);
	if (rc != 0 && rc != EPIPE)
		atf_tc_fail("waiter: expected it to wake once the owner was "
		            "killed, got no wakeup within 5 s");
	ipch_reap_ok(waiter);
	/* The waiter repaired it: plain locking works again. */
	IPCH_EXPECT_RC(0, pthread_mutex_lock(s.m));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
}

IPCH_CASE(robust_mutex_unlocked_without_consistent_is_not_recoverable,
    "conformance",
    "POSIX.1-2017 pthread_mutex_lock(): ENOTRECOVERABLE; "
    "pthread_mutex_consistent()",
    "a robust mutex unlocked after EOWNERDEAD without "
    "pthread_mutex_consistent() fails every later lock with "
    "ENOTRECOVERABLE, in any process",
    "timeout", "10");
ATF_TC_BODY(robust_mutex_unlocked_without_consistent_is_not_recoverable, tc)
{
	struct shared s;
	make_not_recoverable(&s);
	IPCH_EXPECT_RC(ENOTRECOVERABLE, pthread_mutex_lock(s.m));
	IPCH_EXPECT_RC(ENOTRECOVERABLE, pthread_mutex_lock(s.m));
	ipch_reap_ok(ipch_spawn("locker", child_lock_is_not_recoverable, &s));
}

/*
 * pthread_mutex_consistent(): once not recoverable, "all attempts to lock
 * the mutex shall fail with the error [ENOTRECOVERABLE]", trylock included.
 * glibc's trylock takes the free lock word, sees the mutex is not
 * recoverable, and releases the word only `if (oldval == id)`, oldval being
 * what its compare-and-swap found (0), so it returns ENOTRECOVERABLE with
 * the mutex still held: the next trylock gets EBUSY and the next lock
 * sleeps for ever.  The child's trylock shows it without hanging.
 */
IPCH_CASE(robust_mutex_stays_not_recoverable_after_trylock, "conformance",
    "POSIX.1-2017 pthread_mutex_consistent(): all attempts to lock fail "
    "with ENOTRECOVERABLE",
    "after a trylock of a not-recoverable robust mutex returns "
    "ENOTRECOVERABLE, another process's trylock returns it too",
    "timeout", "10");
ATF_TC_BODY(robust_mutex_stays_not_recoverable_after_trylock, tc)
{
	struct shared s;
	make_not_recoverable(&s);
#ifdef __GLIBC__
	atf_tc_expect_fail(
	    "glibc (seen in 2.36, unchanged upstream): "
	    "nptl/pthread_mutex_trylock.c leaves a "
	    "not-recoverable robust mutex locked after returning "
	    "ENOTRECOVERABLE (releases it only if oldval == id)");
#endif
	IPCH_EXPECT_RC(ENOTRECOVERABLE, pthread_mutex_trylock(s.m));
	ipch_reap_ok(
	    ipch_spawn("trylocker", child_trylock_is_not_recoverable, &s));
}

IPCH_CASE(robust_mutex_made_consistent_is_usable_again, "conformance",
    "POSIX.1-2017 pthread_mutex_consistent()",
    "a robust mutex made consistent after EOWNERDEAD locks and unlocks "
    "normally again, in any process",
    "timeout", "10");
ATF_TC_BODY(robust_mutex_made_consistent_is_usable_again, tc)
{
	struct shared s;
	shared_mutex(&s, PTHREAD_MUTEX_DEFAULT, true);
	kill_holder(start_holder(&s));
	IPCH_EXPECT_RC(EOWNERDEAD, pthread_mutex_lock(s.m));
	IPCH_EXPECT_RC(0, pthread_mutex_consistent(s.m));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
	ipch_reap_ok(ipch_spawn("locker", child_lock_unlock, &s));
	IPCH_EXPECT_RC(0, pthread_mutex_lock(s.m));
	IPCH_EXPECT_RC(0, pthread_mutex_unlock(s.m));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, errorcheck_relock_by_owner_fails_with_edeadlk);
	ATF_TP_ADD_TC(
	    tp, errorcheck_unlock_by_another_process_fails_with_eperm);
	ATF_TP_ADD_TC(tp, errorcheck_unlock_of_unlocked_mutex_fails_with_eperm);
	ATF_TP_ADD_TC(tp, robust_unlock_by_another_process_fails_with_eperm);
	ATF_TP_ADD_TC(
	    tp, robust_mutex_of_dead_owner_gives_eownerdead_and_ownership);
	ATF_TP_ADD_TC(tp, robust_mutex_waiter_gets_eownerdead_when_owner_dies);
	ATF_TP_ADD_TC(
	    tp, robust_mutex_unlocked_without_consistent_is_not_recoverable);
	ATF_TP_ADD_TC(tp, robust_mutex_stays_not_recoverable_after_trylock);
	ATF_TP_ADD_TC(tp, robust_mutex_made_consistent_is_usable_again);
	return atf_no_error();
}
