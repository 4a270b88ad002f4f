/* Self-tests of ipch_check: errno names and the messages of failed checks. */
#include <stdio.h>
#include <string.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: check", descr)

SELFTEST(errname_names_posix_errnos, "ipch_errname gives the symbolic name");
ATF_TC_BODY(errname_names_posix_errnos, tc)
{
	ATF_CHECK_STREQ("EAGAIN", ipch_errname(EAGAIN));
	ATF_CHECK_STREQ("EPIPE", ipch_errname(EPIPE));
	ATF_CHECK_STREQ("ENXIO", ipch_errname(ENXIO));
	ATF_CHECK_STREQ("EDEADLK", ipch_errname(EDEADLK));
	ATF_CHECK_STREQ("EOWNERDEAD", ipch_errname(EOWNERDEAD));
}

SELFTEST(errname_falls_back_to_number, "an unknown errno prints as a number");
ATF_TC_BODY(errname_falls_back_to_number, tc)
{
	ATF_CHECK_STREQ("errno 99999", ipch_errname(99999));
}

static void
expect_message(const atf_tc_t *tc, const char *tcname, const char *text)
{
	struct ipch_run r = {0};
	ipch_run_tree_case(tc, "harness/h_cases", tcname, &r);
	ipch_run_expect(&r, "failed", text);
}

SELFTEST(
    sys_names_the_call_and_errno, "a failed IPCH_SYS names call and errno");
ATF_TC_BODY(sys_names_the_call_and_errno, tc)
{
	expect_message(tc, "sys_fails", "close(-1): failed with EBADF");
}

SELFTEST(
    expect_errno_says_expected_and_seen, "IPCH_EXPECT_ERRNO names both errnos");
ATF_TC_BODY(expect_errno_says_expected_and_seen, tc)
{
	expect_message(tc, "expect_errno_wrong",
	    "close(-1): expected EPIPE, got -1 with EBADF");
}

SELFTEST(expect_errno_reports_unexpected_success,
    "IPCH_EXPECT_ERRNO reports a call that succeeded, with its value");
ATF_TC_BODY(expect_errno_reports_unexpected_success, tc)
{
	expect_message(
	    tc, "expect_errno_success", "expected EPIPE, got 24 (success)");
}

SELFTEST(expect_eq_says_expected_and_seen, "IPCH_EXPECT_EQ names both values");
ATF_TC_BODY(expect_eq_says_expected_and_seen, tc)
{
	expect_message(tc, "expect_eq_mismatch", "answer: expected 42, got 41");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, errname_names_posix_errnos);
	ATF_TP_ADD_TC(tp, errname_falls_back_to_number);
	ATF_TP_ADD_TC(tp, sys_names_the_call_and_errno);
	ATF_TP_ADD_TC(tp, expect_errno_says_expected_and_seen);
	ATF_TP_ADD_TC(tp, expect_errno_reports_unexpected_success);
	ATF_TP_ADD_TC(tp, expect_eq_says_expected_and_seen);
	return atf_no_error();
}
