/*
 * Cases that misbehave on purpose, for the harness self-tests: each fails,
 * dies or leaves things behind in a known way, and a t_*.c self-test runs
 * it with ipch_run_case() and checks the verdict text and what is left.
 * Not listed in any Kyuafile: run alone, every case here would be red.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness", descr)

SELFTEST(sys_fails, "IPCH_SYS on a failing call");
ATF_TC_BODY(sys_fails, tc)
{
	IPCH_SYS(close(-1));
}

SELFTEST(expect_errno_wrong, "IPCH_EXPECT_ERRNO seeing another errno");
ATF_TC_BODY(expect_errno_wrong, tc)
{
	IPCH_EXPECT_ERRNO(EPIPE, close(-1));
}

SELFTEST(expect_errno_success, "IPCH_EXPECT_ERRNO seeing success");
ATF_TC_BODY(expect_errno_success, tc)
{
	IPCH_EXPECT_ERRNO(EPIPE, getpid() * 0 + 24);
}

SELFTEST(expect_eq_mismatch, "IPCH_EXPECT_EQ seeing another value");
ATF_TC_BODY(expect_eq_mismatch, tc)
{
	IPCH_EXPECT_EQ("answer", 42, 41);
}

static int
fail_child(void *arg)
{
	(void)arg;
	ipch_child_fail("deliberate %d", 7);
}

SELFTEST(child_fails, "a child's reason reaches the parent's verdict");
ATF_TC_BODY(child_fails, tc)
{
	ipch_reap_ok(ipch_spawn("bad", fail_child, NULL));
}

static int
kill_self(void *arg)
{
	(void)arg;
	raise(SIGKILL);
	return 0;
}

SELFTEST(child_killed, "a child killed by a signal is named so");
ATF_TC_BODY(child_killed, tc)
{
	ipch_reap_ok(ipch_spawn("victim", kill_self, NULL));
}

static int
exit_zero(void *arg)
{
	(void)arg;
	return 0;
}

SELFTEST(child_not_signalled, "expecting a signal from a child that exits");
ATF_TC_BODY(child_not_signalled, tc)
{
	ipch_reap_expect_signal(ipch_spawn("calm", exit_zero, NULL), SIGPIPE);
}

SELFTEST(config_values, "prints typed config values");
ATF_TC_BODY(config_values, tc)
{
	printf("records=%ld\n", ipch_config_long(tc, "records", 10, 1, 1000));
	printf("verbose=%d\n", (int)ipch_config_bool(tc, "verbose", false));
}

/* --- descendants --------------------------------------------------- */

static struct ipch_latch ready;

static void
note_pid(void)
{
	char line[32];
	int fd = open("pids", O_WRONLY | O_CREAT | O_APPEND, 0644);
	snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	(void)!write(fd, line, strlen(line));
	close(fd);
	ipch_latch_arrive(&ready);
}

static int
block_forever(void *arg)
{
	(void)arg;
	note_pid();
	for (;;)
		pause();
	return 0;
}

static int
spawn_grandchild(void *arg)
{
	(void)arg;
	ipch_spawn("grandchild", block_forever, NULL);
	return block_forever(NULL);
}

static int
make_orphan(void *arg)
{
	(void)arg;
	/* A plain fork whose parent then exits: the orphan is reparented to
	 * the case body, the subreaper. */
	if (fork() == 0)
		block_forever(NULL);
	return 0;
}

/* Spawn four processes at three depths; `orphan` adds one reparented. */
static void
spawn_tree(bool orphan)
{
	ipch_latch_init(&ready);
	ipch_spawn("sleeper", block_forever, NULL);
	ipch_spawn("parent", spawn_grandchild, NULL);
	int n = 3;
	if (orphan) {
		ipch_reap_ok(ipch_spawn("orphaner", make_orphan, NULL));
		n++;
	}
	if (ipch_latch_wait(&ready, n, 5000) != 0)
		atf_tc_fail("the tree did not start");
}

SELFTEST(fails_with_descendants, "fails with children, grandchildren, orphans");
ATF_TC_BODY(fails_with_descendants, tc)
{
	spawn_tree(true);
	atf_tc_fail("deliberate failure with descendants running");
}

SELFTEST(killed_with_descendants, "SIGKILLed with spawned descendants");
ATF_TC_BODY(killed_with_descendants, tc)
{
	spawn_tree(false);
	raise(SIGKILL);
}

/* --- objects ------------------------------------------------------- */

static void
note_object(const char *line)
{
	int fd = open("objects", O_WRONLY | O_CREAT | O_APPEND, 0644);
	(void)!write(fd, line, strlen(line));
	close(fd);
}

SELFTEST(creates_objects,
    "makes one object of each kind, then returns, fails or dies by the "
    "config variable end");
ATF_TC_BODY(creates_objects, tc)
{
	char name[128], line[160];
	key_t key;

	ipch_posix_name(IPCH_OBJ_POSIX_SHM, name, sizeof(name));
	close((int)IPCH_SYS(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600)));
	snprintf(line, sizeof(line), "shm %s\n", name);
	note_object(line);

	ipch_posix_name(IPCH_OBJ_POSIX_SEM, name, sizeof(name));
	sem_close(IPCH_SYS_PTR(
	    sem_open(name, O_CREAT | O_EXCL, 0600, 1), SEM_FAILED));
	snprintf(line, sizeof(line), "sem %s\n", name);
	note_object(line);

	ipch_posix_name(IPCH_OBJ_POSIX_MQ, name, sizeof(name));
	mq_close((mqd_t)IPCH_SYS(
	    mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL)));
	snprintf(line, sizeof(line), "mq %s\n", name);
	note_object(line);

	key = ipch_sysv_key(IPCH_OBJ_SYSV_MSG);
	IPCH_SYS(msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	snprintf(line, sizeof(line), "sysv_msg 0x%lx\n", (unsigned long)key);
	note_object(line);

	key = ipch_sysv_key(IPCH_OBJ_SYSV_SEM);
	IPCH_SYS(semget(key, 1, IPC_CREAT | IPC_EXCL | 0600));
	snprintf(line, sizeof(line), "sysv_sem 0x%lx\n", (unsigned long)key);
	note_object(line);

	key = ipch_sysv_key(IPCH_OBJ_SYSV_SHM);
	IPCH_SYS(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600));
	snprintf(line, sizeof(line), "sysv_shm 0x%lx\n", (unsigned long)key);
	note_object(line);

	const char *end = atf_tc_has_config_var(tc, "end")
	                      ? atf_tc_get_config_var(tc, "end")
	                      : "return";
	if (strcmp(end, "fail") == 0)
		atf_tc_fail("deliberate failure after creating objects");
	if (strcmp(end, "kill") == 0)
		raise(SIGKILL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sys_fails);
	ATF_TP_ADD_TC(tp, expect_errno_wrong);
	ATF_TP_ADD_TC(tp, expect_errno_success);
	ATF_TP_ADD_TC(tp, expect_eq_mismatch);
	ATF_TP_ADD_TC(tp, child_fails);
	ATF_TP_ADD_TC(tp, child_killed);
	ATF_TP_ADD_TC(tp, child_not_signalled);
	ATF_TP_ADD_TC(tp, config_values);
	ATF_TP_ADD_TC(tp, fails_with_descendants);
	ATF_TP_ADD_TC(tp, killed_with_descendants);
	ATF_TP_ADD_TC(tp, creates_objects);
	return atf_no_error();
}
