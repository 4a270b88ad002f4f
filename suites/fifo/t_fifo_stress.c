/*
 * Many writers, one or several readers, on a FIFO: self-describing records
 * (harness/ipch_records.h) of every size from the smallest to PIPE_BUF and
 * beyond, verified as they arrive and summed in the case body.
 * Each writer and reader opens the FIFO itself, as unrelated processes do.
 *
 * Budget: stress=short (default) or long, or stress_records=N records per
 * case; stress_writers=N (1..16, default four per CPU).  Metrics:
 * <label>.mib_per_s and .records_per_s (verified throughput),
 * .large_interleaved for records above PIPE_BUF.
 */
#include <limits.h>

#include "ipch.h"

/* Short budgets keep the four cases of this program near a second in all
 * on two CPUs; long ones are twenty-five times that. */
#define SHORT(n) (n)
#define LONG(n) (25 * (n))

static struct ipch_rec_run
setup(const atf_tc_t *tc, const char *label, uint32_t short_records)
{
	struct ipch_rec_run r = {
	    .channel = IPCH_REC_FIFO,
	    .label = label,
	    .readers = 1,
	};
	r.spec.writers = ipch_rec_writers(tc);
	uint32_t total =
	    ipch_rec_volume(tc, SHORT(short_records), LONG(short_records));
	r.spec.records = total / r.spec.writers ? total / r.spec.writers : 1;
	r.spec.min_len = IPCH_REC_MIN_LEN;
	r.spec.max_len = PIPE_BUF;
	r.spec.seed = 0x5eed0000u + r.spec.writers;
	return r;
}

IPCH_CASE(records_up_to_pipe_buf_from_many_writers_arrive_whole_in_order,
    "stress", "POSIX.1-2017 write(): pipes and FIFOs, PIPE_BUF atomicity",
    "records of 42 to PIPE_BUF bytes written at once by up to four "
    "writers per CPU reach one reader whole, unmixed, each writer's in order, "
    "none lost or duplicated",
    "timeout", "300");
ATF_TC_BODY(records_up_to_pipe_buf_from_many_writers_arrive_whole_in_order, tc)
{
	struct ipch_rec_run r = setup(tc, "fifo.stress.small", 12000);
	ipch_rec_run(tc, &r);
}

IPCH_CASE(records_above_pipe_buf_may_interleave_and_are_counted, "stress",
    "POSIX.1-2017 write(): pipes and FIFOs, nbyte > PIPE_BUF may interleave",
    "with records up to 32 times PIPE_BUF among small ones, the small ones "
    "arrive whole and everything in order and once; how often a large one "
    "interleaves is measured, never failed",
    "timeout", "300");
ATF_TC_BODY(records_above_pipe_buf_may_interleave_and_are_counted, tc)
{
	struct ipch_rec_run r = setup(tc, "fifo.stress.large", 3000);
	/* A quarter of the records larger than PIPE_BUF, up to twice a
	 * default Linux pipe (16 pages): such a write has to wait for the
	 * reader part way, which is where other writers get in. */
	r.spec.large_min = PIPE_BUF + 1;
	r.spec.large_max = 32 * PIPE_BUF;
	r.spec.large_pct = 25;
	ipch_rec_run(tc, &r);
}

IPCH_CASE(nonblocking_writes_up_to_pipe_buf_are_all_or_eagain_under_contention,
    "stress", "POSIX.1-2017 write(): O_NONBLOCK set, nbyte <= PIPE_BUF",
    "non-blocking writers contending for a full FIFO each get all of a "
    "record written or EAGAIN, never part, and every record arrives whole "
    "and once",
    "timeout", "300");
ATF_TC_BODY(
    nonblocking_writes_up_to_pipe_buf_are_all_or_eagain_under_contention, tc)
{
	struct ipch_rec_run r = setup(tc, "fifo.stress.nonblocking", 12000);
	r.nonblocking = true;
	ipch_rec_run(tc, &r);
}

IPCH_CASE(several_readers_each_get_whole_pipe_buf_records_exactly_once,
    "stress",
    "POSIX.1-2017 write(): PIPE_BUF atomicity; read(): data read is removed; "
    "Linux pipe(7): a read of PIPE_BUF takes one whole PIPE_BUF write",
    "records of exactly PIPE_BUF bytes from many writers, read by three "
    "readers with reads of PIPE_BUF bytes: each read is one whole record, "
    "and every record is read by exactly one reader",
    "timeout", "300");
ATF_TC_BODY(several_readers_each_get_whole_pipe_buf_records_exactly_once, tc)
{
	struct ipch_rec_run r = setup(tc, "fifo.stress.readers", 6000);
	/* POSIX promises nothing about how reads cut the stream; whole
	 * records per read is what Linux does for PIPE_BUF writes read
	 * PIPE_BUF at a time (ipch_records.c). */
	r.spec.min_len = r.spec.max_len = PIPE_BUF;
	r.readers = 3;
	ipch_rec_run(tc, &r);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(
	    tp, records_up_to_pipe_buf_from_many_writers_arrive_whole_in_order);
	ATF_TP_ADD_TC(
	    tp, records_above_pipe_buf_may_interleave_and_are_counted);
	ATF_TP_ADD_TC(tp,
	    nonblocking_writes_up_to_pipe_buf_are_all_or_eagain_under_contention);
	ATF_TP_ADD_TC(
	    tp, several_readers_each_get_whole_pipe_buf_records_exactly_once);
	return atf_no_error();
}
