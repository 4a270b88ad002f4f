/* Self-tests of ipch_names: unique names and keys, and removal of every
 * registered object however the case ends. */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: names", descr)

SELFTEST(posix_names_are_unique_and_prefixed,
    "names differ within a process and across a fork, all with our prefix");
ATF_TC_BODY(posix_names_are_unique_and_prefixed, tc)
{
	char a[128], b[128];
	ipch_posix_name(IPCH_OBJ_POSIX_SHM, a, sizeof(a));
	ipch_posix_name(IPCH_OBJ_POSIX_SHM, b, sizeof(b));
	ATF_CHECK_MSG(strcmp(a, b) != 0, "two names are both '%s'", a);
	ATF_CHECK_MSG(
	    strncmp(a, "/" IPCH_NAME_PREFIX, strlen(IPCH_NAME_PREFIX) + 1) == 0,
	    "'%s' lacks the prefix /" IPCH_NAME_PREFIX, a);
	ATF_CHECK_MSG(strchr(a + 1, '/') == NULL, "'%s' has a second '/'", a);
}

SELFTEST(sysv_keys_are_unique_and_not_private,
    "a thousand keys are distinct and none is IPC_PRIVATE");
ATF_TC_BODY(sysv_keys_are_unique_and_not_private, tc)
{
	static key_t keys[1000];
	for (int i = 0; i < 1000; i++) {
		keys[i] = ipch_sysv_key(IPCH_OBJ_SYSV_SEM);
		ATF_REQUIRE(keys[i] != IPC_PRIVATE);
		for (int j = 0; j < i; j++)
			ATF_REQUIRE_MSG(keys[i] != keys[j],
			    "key 0x%lx made twice", (unsigned long)keys[i]);
	}
}

/* How many of the objects the case listed in its "objects" file exist. */
static int
count_present(const struct ipch_run *r, int *listed)
{
	char buf[2048];
	*listed = 0;
	ATF_REQUIRE_MSG(ipch_run_read(r, "objects", buf, sizeof(buf)) > 0,
	    "the case wrote no objects file");
	int present = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char kind[16], val[128];
		if (sscanf(line, "%15s %127s", kind, val) != 2)
			continue;
		(*listed)++;
		key_t key = (key_t)strtol(val, NULL, 0);
		int there = 0;
		if (strcmp(kind, "shm") == 0) {
			int fd = shm_open(val, O_RDONLY, 0);
			there = fd >= 0;
			if (fd >= 0)
				close(fd);
		} else if (strcmp(kind, "sem") == 0) {
			sem_t *s = sem_open(val, 0);
			there = s != SEM_FAILED;
			if (there)
				sem_close(s);
		} else if (strcmp(kind, "mq") == 0) {
			mqd_t q = mq_open(val, O_RDONLY);
			there = q != (mqd_t)-1;
			if (there)
				mq_close(q);
		} else if (strcmp(kind, "sysv_msg") == 0)
			there = msgget(key, 0) != -1;
		else if (strcmp(kind, "sysv_sem") == 0)
			there = semget(key, 0, 0) != -1;
		else if (strcmp(kind, "sysv_shm") == 0)
			there = shmget(key, 0, 0) != -1;
		if (there)
			fprintf(stderr, "still present: %s %s\n", kind, val);
		present += there;
	}
	return present;
}

static void
run_creator(
    const atf_tc_t *tc, const char *end, bool cleanup, struct ipch_run *r)
{
	static char var[32];
	static const char *vars[2];
	snprintf(var, sizeof(var), "end=%s", end);
	vars[0] = var;
	vars[1] = NULL;
	memset(r, 0, sizeof(*r));
	r->vars = vars;
	r->skip_cleanup = !cleanup;
	ipch_run_tree_case(tc, "harness/h_cases", "creates_objects", r);
}

SELFTEST(objects_removed_when_case_passes,
    "every object kind is gone once a passing case has ended");
ATF_TC_BODY(objects_removed_when_case_passes, tc)
{
	struct ipch_run r;
	int listed;
	run_creator(tc, "return", false, &r);
	ipch_run_expect(&r, "passed", NULL);
	IPCH_EXPECT_EQ(
	    "objects left after a pass", 0, count_present(&r, &listed));
	IPCH_EXPECT_EQ("objects the case made", 6, listed);
}

SELFTEST(objects_removed_when_case_fails,
    "every object kind is gone once a failing case has ended");
ATF_TC_BODY(objects_removed_when_case_fails, tc)
{
	struct ipch_run r;
	int listed;
	run_creator(tc, "fail", false, &r);
	ipch_run_expect(&r, "failed", "deliberate failure");
	IPCH_EXPECT_EQ(
	    "objects left after a failure", 0, count_present(&r, &listed));
	IPCH_EXPECT_EQ("objects the case made", 6, listed);
}

SELFTEST(cleanup_removes_objects_of_killed_body,
    "the cleanup routine removes what a SIGKILLed body registered");
ATF_TC_BODY(cleanup_removes_objects_of_killed_body, tc)
{
	struct ipch_run r;
	int listed;
	run_creator(tc, "kill", false, &r);
	/* Without cleanup they are all there: the check can see them. */
	IPCH_EXPECT_EQ(
	    "objects left by the killed body", 6, count_present(&r, &listed));
	run_creator(tc, "kill", true, &r);
	IPCH_EXPECT_EQ("objects left after the cleanup routine", 0,
	    count_present(&r, &listed));
	IPCH_EXPECT_EQ("objects the case made", 6, listed);
	ipch_sweep(NULL); /* the first run's objects */
}

SELFTEST(sweeper_removes_objects_of_dead_owner,
    "ipch_sweep removes what a killed run left when no cleanup ran");
ATF_TC_BODY(sweeper_removes_objects_of_dead_owner, tc)
{
	struct ipch_run r;
	int listed;
	run_creator(tc, "kill", false, &r);
	IPCH_EXPECT_EQ(
	    "objects left by the killed body", 6, count_present(&r, &listed));
	int removed = ipch_sweep(stdout);
	ATF_CHECK_MSG(removed >= 6,
	    "ipch_sweep: expected >= 6 removals, got %d", removed);
	IPCH_EXPECT_EQ(
	    "objects left after the sweep", 0, count_present(&r, &listed));
}

SELFTEST(sweeper_spares_live_owners_and_strangers,
    "ipch_sweep leaves objects of a live owner and names not ours");
ATF_TC_BODY(sweeper_spares_live_owners_and_strangers, tc)
{
	char ours[128];
	/* Names that look almost like ours; registered so that our own
	 * cleanup removes them even if this case dies. */
	const char *strangers[] = {
	    "/ipcsuitex.1.1.1.1", "/ipcsuite.1x.2", "/other.1.1.1.1"};
	ipch_posix_name(IPCH_OBJ_POSIX_SHM, ours, sizeof(ours));
	close((int)IPCH_SYS(shm_open(ours, O_RDWR | O_CREAT | O_EXCL, 0600)));
	for (int i = 0; i < 3; i++) {
		ipch_register(IPCH_OBJ_POSIX_SHM, strangers[i]);
		close((int)IPCH_SYS(
		    shm_open(strangers[i], O_RDWR | O_CREAT, 0600)));
	}
	ipch_sweep(stdout);
	int fd = shm_open(ours, O_RDONLY, 0);
	ATF_CHECK_MSG(fd >= 0, "sweep removed %s of a live owner", ours);
	for (int i = 0; i < 3; i++) {
		int f = shm_open(strangers[i], O_RDONLY, 0);
		ATF_CHECK_MSG(
		    f >= 0, "sweep removed stranger %s", strangers[i]);
		if (f >= 0)
			close(f);
	}
	if (fd >= 0)
		close(fd);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, posix_names_are_unique_and_prefixed);
	ATF_TP_ADD_TC(tp, sysv_keys_are_unique_and_not_private);
	ATF_TP_ADD_TC(tp, objects_removed_when_case_passes);
	ATF_TP_ADD_TC(tp, objects_removed_when_case_fails);
	ATF_TP_ADD_TC(tp, cleanup_removes_objects_of_killed_body);
	ATF_TP_ADD_TC(tp, sweeper_removes_objects_of_dead_owner);
	ATF_TP_ADD_TC(tp, sweeper_spares_live_owners_and_strangers);
	return atf_no_error();
}
