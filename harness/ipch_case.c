/* Case metadata shared by every program. */
#include "ipch_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
known_kind(const char *kind)
{
	static const char *const kinds[] = {
	    "conformance", "stress", "scenario", "bench", "selftest", NULL};

	for (const char *const *k = kinds; *k != NULL; k++)
		if (strcmp(*k, kind) == 0)
			return 1;
	return 0;
}

void
ipch_case_head(atf_tc_t *tc, const char *kind, const char *ref,
    const char *const *descr_and_pairs)
{
	/* A typo in a kind would silently drop the case from a report's
	 * column; stop the build's first run instead. */
	if (!known_kind(kind) || ref == NULL || *ref == '\0' ||
	    descr_and_pairs[0] == NULL) {
		fprintf(stderr, "ipch: bad case metadata (kind '%s')\n", kind);
		abort();
	}
	atf_tc_set_md_var(tc, "descr", "%s", descr_and_pairs[0]);
	atf_tc_set_md_var(tc, "X-ref", "%s", ref);
	atf_tc_set_md_var(tc, "X-kind", "%s", kind);
	atf_tc_set_md_var(tc, "timeout", "%s", IPCH_DEFAULT_TIMEOUT);
	for (const char *const *p = descr_and_pairs + 1; p[0] != NULL; p += 2) {
		if (p[1] == NULL) {
			fprintf(stderr,
			    "ipch: metadata key '%s' has no value\n", p[0]);
			abort();
		}
		atf_tc_set_md_var(tc, p[0], "%s", p[1]);
	}
}

#include <unistd.h>

const char *
ipch_tree_file(const atf_tc_t *tc, const char *relpath, char *buf, size_t len)
{
	const char *srcdir = atf_tc_has_config_var(tc, "srcdir")
	                         ? atf_tc_get_config_var(tc, "srcdir")
	                         : ".";
	const char *up[] = {"", "/..", "/../..", "/../../.."};
	for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		snprintf(buf, len, "%s%s/%s", srcdir, up[i], relpath);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	atf_tc_fail("'%s' not found in or above %s: build it with make, or "
	            "install it with make install",
	    relpath, srcdir);
}

const char *
ipch_fixture(const atf_tc_t *tc, const char *name, char *buf, size_t len)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "fixtures/%s", name);
	return ipch_tree_file(tc, rel, buf, len);
}
