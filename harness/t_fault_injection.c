/*
 * Proof that suite cases can fail: for every line "fault program:case" of
 * fixtures/fault/<family>.expect, the case passes with the fault shim loaded
 * but idle, and goes red (failed) with that one fault active.  A case that
 * skips on this platform cannot prove anything and is listed as such.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: fault injection",       \
	    descr, "timeout", "300")

static void
check_family(const atf_tc_t *tc, const char *family)
{
	char rel[128], expect[PATH_MAX], shim[PATH_MAX];
	snprintf(rel, sizeof(rel), "fixtures/fault/%s.expect", family);
	ipch_tree_file(tc, rel, expect, sizeof(expect));
	ipch_fixture(tc, "libipch_fault.so", shim, sizeof(shim));

	static char preload[PATH_MAX + 16];
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim);
	/* ASan insists on being first in the link order; the shim is not an
	 * ASan library, so let it stand in front. */
	const char *idle_env[] = {preload,
	    "IPCH_FAULT=", "ASAN_OPTIONS=verify_asan_link_order=0", NULL};
	static char fault_var[160];
	const char *fault_env[] = {
	    preload, fault_var, "ASAN_OPTIONS=verify_asan_link_order=0", NULL};

	FILE *f = fopen(expect, "r");
	ATF_REQUIRE_MSG(f != NULL, "cannot open %s", expect);
	char line[512];
	int proven = 0, unprovable = 0, bad = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char fault[128], target[384];
		if (line[0] == '#' ||
		    sscanf(line, "%127s %383s", fault, target) != 2)
			continue;
		char *colon = strchr(target, ':');
		ATF_REQUIRE_MSG(colon != NULL, "%s: '%s' is not program:case",
		    expect, target);
		*colon = '\0';

		struct ipch_run idle = {.env = idle_env, .timeout_s = 20};
		ipch_run_tree_case(tc, target, colon + 1, &idle);
		if (ipch_run_verdict_is(&idle, "skipped")) {
			printf("unprovable here: %s:%s %s\n", target, colon + 1,
			    idle.result);
			unprovable++;
			continue;
		}
		if (!ipch_run_verdict_is(&idle, "passed")) {
			printf("BAD: %s:%s without a fault: %s\n", target,
			    colon + 1, idle.result);
			bad++;
			continue;
		}
		snprintf(fault_var, sizeof(fault_var), "IPCH_FAULT=%s", fault);
		struct ipch_run hit = {.env = fault_env, .timeout_s = 20};
		ipch_run_tree_case(tc, target, colon + 1, &hit);
		if (ipch_run_verdict_is(&hit, "failed")) {
			printf("red under %s: %s:%s: %s\n", fault, target,
			    colon + 1, hit.result);
			proven++;
		} else {
			printf("BAD: %s:%s stayed '%s' under %s\n", target,
			    colon + 1, hit.result, fault);
			bad++;
		}
	}
	fclose(f);
	printf("%s: %d proven, %d unprovable here, %d bad\n", family, proven,
	    unprovable, bad);
	if (bad > 0)
		atf_tc_fail("%d expectation(s) of %s did not hold; see stdout",
		    bad, rel);
	if (proven == 0)
		atf_tc_skip("no expectation of %s could be proven here (%d "
		            "cases skipped on this platform)",
		    rel, unprovable);
}

SELFTEST(pipe_faults_turn_their_cases_red,
    "each pipe fault of the shim turns its listed cases from passed to failed");
ATF_TC_BODY(pipe_faults_turn_their_cases_red, tc)
{
	check_family(tc, "pipe");
}

SELFTEST(fifo_faults_turn_their_cases_red,
    "each FIFO fault of the shim turns its listed cases from passed to failed");
ATF_TC_BODY(fifo_faults_turn_their_cases_red, tc)
{
	check_family(tc, "fifo");
}

/* True when `fault` starts a line of some fixtures/fault/<f>.expect. */
static bool
expected_somewhere(const char *dir, const char *fault)
{
	DIR *d = opendir(dir);
	bool found = false;
	struct dirent *e;
	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 8 || strcmp(e->d_name + n - 7, ".expect") != 0)
			continue;
		char path[PATH_MAX + NAME_MAX + 2], line[512];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		while (f != NULL && !found && fgets(line, sizeof(line), f))
			found = strncmp(line, fault, strlen(fault)) == 0 &&
			        (line[strlen(fault)] == ' ' ||
			            line[strlen(fault)] == '\t');
		if (f != NULL)
			fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

SELFTEST(every_fault_is_expected_to_turn_a_case_red,
    "no fault of the shim goes unused: each is listed in some .expect file");
ATF_TC_BODY(every_fault_is_expected_to_turn_a_case_red, tc)
{
	char shim[PATH_MAX], dir[PATH_MAX];
	ipch_fixture(tc, "libipch_fault.so", shim, sizeof(shim));
	ipch_fixture(tc, "fault", dir, sizeof(dir));
	void *h = dlopen(shim, RTLD_LAZY | RTLD_LOCAL);
	ATF_REQUIRE_MSG(h != NULL, "dlopen %s: %s", shim, dlerror());
	const char *const *names = dlsym(h, "ipch_fault_names");
	ATF_REQUIRE_MSG(names != NULL, "%s exports no ipch_fault_names", shim);
	int n = 0;
	for (; names[n] != NULL; n++)
		ATF_CHECK_MSG(expected_somewhere(dir, names[n]),
		    "fault %s is in the shim but no .expect file lists it",
		    names[n]);
	ATF_CHECK_MSG(n > 0, "the shim lists no faults");
	dlclose(h);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, pipe_faults_turn_their_cases_red);
	ATF_TP_ADD_TC(tp, fifo_faults_turn_their_cases_red);
	ATF_TP_ADD_TC(tp, every_fault_is_expected_to_turn_a_case_red);
	return atf_no_error();
}
