/*
 * Many writers, one or several readers, on a pipe: self-describing records
 * (harness/ipch_records.h) of every size from the smallest to PIPE_BUF and
 * beyond, verified as they arrive and summed in the case body.
 * Writers and readers inherit the ends of one pipe from the case body.
 *
 * Budget: stress=short (default) or long, or stress_records=N records per
 * case; stress_writers=N (1..16, default four per CPU).  Metrics:
 * <label>.mib_per_s and .records_per_s (verified throughput),
 * .large_interleaved for records above PIPE_BUF.
 */

#include "ipch.h"

IPCH_CASE(records_up_to_pipe_buf_from_many_writers_arrive_whole_in_order,
    "stress", "POSIX.1-2017 write(): pipes and FIFOs, PIPE_BUF atomicity",
    "records of 42 to PIPE_BUF bytes written at once by up to four "
    "writers per CPU reach one reader whole, unmixed, each writer's in order, "
    "none lost or duplicated",
    "timeout", "300");
ATF_TC_BODY(records_up_to_pipe_buf_from_many_writers_arrive_whole_in_order, tc)
{
	ipch_rec_scenario(tc, IPCH_REC_PIPE, IPCH_REC_SMALL);
}

IPCH_CASE(records_above_pipe_buf_may_interleave_and_are_counted, "stress",
    "POSIX.1-2017 write(): pipes and FIFOs, nbyte > PIPE_BUF may interleave",
    "with records up to 32 times PIPE_BUF among small ones, the small ones "
    "arrive whole and everything in order and once; how often a large one "
    "interleaves is measured, never failed",
    "timeout", "300");
ATF_TC_BODY(records_above_pipe_buf_may_interleave_and_are_counted, tc)
{
	ipch_rec_scenario(tc, IPCH_REC_PIPE, IPCH_REC_LARGE);
}

IPCH_CASE(nonblocking_writes_up_to_pipe_buf_are_all_or_eagain_under_contention,
    "stress", "POSIX.1-2017 write(): O_NONBLOCK set, nbyte <= PIPE_BUF",
    "non-blocking writers contending for a full pipe each get all of a "
    "record written or EAGAIN, never part, and every record arrives whole "
    "and once",
    "timeout", "300");
ATF_TC_BODY(
    nonblocking_writes_up_to_pipe_buf_are_all_or_eagain_under_contention, tc)
{
	ipch_rec_scenario(tc, IPCH_REC_PIPE, IPCH_REC_NONBLOCKING);
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
	ipch_rec_scenario(tc, IPCH_REC_PIPE, IPCH_REC_READERS);
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
