#include "ipch_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *
ipch_parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno == ERANGE)
		return "is not an integer";
	if (v < min || v > max)
		return "is out of range";
	*out = v;
	return NULL;
}

const char *
ipch_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on", NULL};
	static const char *const no[] = {"0", "false", "no", "off", NULL};
	for (int i = 0; yes[i] != NULL; i++)
		if (strcasecmp(text, yes[i]) == 0)
			return (*out = true), NULL;
	for (int i = 0; no[i] != NULL; i++)
		if (strcasecmp(text, no[i]) == 0)
			return (*out = false), NULL;
	return "is not a boolean";
}

long
ipch_config_long(
    const atf_tc_t *tc, const char *name, long def, long min, long max)
{
	long v = def;
	if (!atf_tc_has_config_var(tc, name))
		return def;
	const char *text = atf_tc_get_config_var(tc, name);
	const char *why = ipch_parse_long(text, min, max, &v);
	if (why != NULL)
		atf_tc_fail(
		    "config variable %s='%s' %s: pass an integer from "
		    "%ld to %ld, as kyua -v test_suites.ipcsuite.%s=%ld",
		    name, text, why, min, max, name, def);
	return v;
}

bool
ipch_config_bool(const atf_tc_t *tc, const char *name, bool def)
{
	bool v = def;
	if (!atf_tc_has_config_var(tc, name))
		return def;
	const char *text = atf_tc_get_config_var(tc, name);
	const char *why = ipch_parse_bool(text, &v);
	if (why != NULL)
		atf_tc_fail(
		    "config variable %s='%s' %s: pass true or false, as "
		    "kyua -v test_suites.ipcsuite.%s=%s",
		    name, text, why, name, def ? "true" : "false");
	return v;
}

bool
ipch_stress_long(const atf_tc_t *tc)
{
	if (!atf_tc_has_config_var(tc, "stress"))
		return false;
	const char *v = atf_tc_get_config_var(tc, "stress");
	if (strcmp(v, "long") == 0)
		return true;
	if (strcmp(v, "short") == 0)
		return false;
	atf_tc_fail(
	    "config variable stress='%s' is not a budget: pass short or "
	    "long, as kyua -v test_suites.ipcsuite.stress=long",
	    v);
}
