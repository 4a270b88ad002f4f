/* Self-tests of ipch_config: typed values and the one-line error. */
#include <string.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: config", descr)

SELFTEST(parse_long_accepts_integers_in_range, "integers in range parse");
ATF_TC_BODY(parse_long_accepts_integers_in_range, tc)
{
	long v = 0;
	ATF_CHECK(ipch_parse_long("42", 1, 100, &v) == NULL && v == 42);
	ATF_CHECK(ipch_parse_long("-5", -10, 0, &v) == NULL && v == -5);
}

SELFTEST(
    parse_long_rejects_text_and_range, "junk and out-of-range values fail");
ATF_TC_BODY(parse_long_rejects_text_and_range, tc)
{
	long v = 7;
	ATF_CHECK_STREQ("is not an integer", ipch_parse_long("abc", 1, 9, &v));
	ATF_CHECK_STREQ("is not an integer", ipch_parse_long("4x", 1, 9, &v));
	ATF_CHECK_STREQ("is not an integer", ipch_parse_long("", 1, 9, &v));
	ATF_CHECK_STREQ("is out of range", ipch_parse_long("10", 1, 9, &v));
	ATF_CHECK_STREQ("is not an integer",
	    ipch_parse_long("99999999999999999999", 1, 9, &v));
	ATF_CHECK_EQ(7, v);
}

SELFTEST(parse_bool_accepts_usual_spellings, "true/false, yes/no, 1/0, on/off");
ATF_TC_BODY(parse_bool_accepts_usual_spellings, tc)
{
	bool b = false;
	ATF_CHECK(ipch_parse_bool("yes", &b) == NULL && b);
	ATF_CHECK(ipch_parse_bool("FALSE", &b) == NULL && !b);
	ATF_CHECK(ipch_parse_bool("on", &b) == NULL && b);
	ATF_CHECK_STREQ("is not a boolean", ipch_parse_bool("maybe", &b));
}

SELFTEST(config_values_reach_the_case, "kyua -v values reach the case typed");
ATF_TC_BODY(config_values_reach_the_case, tc)
{
	const char *vars[] = {"records=123", "verbose=yes", NULL};
	struct ipch_run r = {.vars = vars};
	char out[256];
	ipch_run_tree_case(tc, "harness/h_cases", "config_values", &r);
	ipch_run_expect(&r, "passed", NULL);
	ATF_REQUIRE(ipch_run_read(&r, "stdout", out, sizeof(out)) > 0);
	ATF_CHECK_MSG(strstr(out, "records=123\nverbose=1\n") != NULL,
	    "stdout: expected records=123 verbose=1, got '%s'", out);
}

SELFTEST(bad_config_value_fails_with_one_clear_line,
    "a bad value names the variable, the value and what to pass");
ATF_TC_BODY(bad_config_value_fails_with_one_clear_line, tc)
{
	const char *vars[] = {"records=lots", NULL};
	struct ipch_run r = {.vars = vars};
	ipch_run_tree_case(tc, "harness/h_cases", "config_values", &r);
	ipch_run_expect(&r, "failed",
	    "config variable records='lots' is not an integer: pass an integer "
	    "from 1 to 1000, as kyua -v test_suites.ipcsuite.records=10");
}

SELFTEST(out_of_range_config_value_fails, "a value out of range is refused");
ATF_TC_BODY(out_of_range_config_value_fails, tc)
{
	const char *vars[] = {"records=0", NULL};
	struct ipch_run r = {.vars = vars};
	ipch_run_tree_case(tc, "harness/h_cases", "config_values", &r);
	ipch_run_expect(&r, "failed", "records='0' is out of range");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_long_accepts_integers_in_range);
	ATF_TP_ADD_TC(tp, parse_long_rejects_text_and_range);
	ATF_TP_ADD_TC(tp, parse_bool_accepts_usual_spellings);
	ATF_TP_ADD_TC(tp, config_values_reach_the_case);
	ATF_TP_ADD_TC(tp, bad_config_value_fails_with_one_clear_line);
	ATF_TP_ADD_TC(tp, out_of_range_config_value_fails);
	return atf_no_error();
}
