/* Internal: on-disk layout of trace files, shared by writer and reader.
 *
 * File:  header skippable frame | data frames | index skippable | end skippable
 *
 * Skippable frames are "magic(le32) size(le32) content[size]".  All integers
 * in skippable frames are little endian.
 *
 * Data frame content (one independent zstd frame, checksummed):
 *   u8 TF_FRAME_KIND, varint first_seq, varint first_time_ns, events...
 * Sequence numbers are implicit: the n-th event of a frame has
 * first_seq + n.  Codec state (struct tf_state) is reset at every frame.
 *
 * Event encoding, first byte "op":
 *  op bit7 = 0  template hit: the event equals template (op & 3) of its
 *               VCPU slot except as noted by:
 *                 bit2 vcpu changed      -> varint vcpu
 *                 (always)               -> zigzag varint time delta
 *                 bit3 exit_seq delta!=1 -> zigzag varint exit_seq delta
 *                 bit4 a2 differs        -> zigzag varint a2 delta vs the
 *                                           template, whose a2 becomes ev's
 *               bits 5,6 must be 0.
 *  op bit7 = 1  full event: type = op & 31 (31: varint type follows)
 *                 bit5 vcpu changed      -> varint vcpu
 *                 bit6 payload present
 *               then: [varint type] [varint vcpu] zigzag time delta,
 *               u8 flags: bit0..3 a0..a3 present (varints, else 0),
 *               bit4 rip delta (zigzag vs the slot's rip, else unchanged),
 *               bit5 exit_seq delta (zigzag, else unchanged), bit6 digest
 *               (8 bytes LE, else 0), bit7 must be 0;
 *               then [varint payload_len, payload bytes].
 *               A full event without payload on a tracked slot becomes
 *               template (slot.next_tpl++ & 3).
 * VCPU ids 0..TF_NSLOTS-1 and TRACE_VCPU_NONE have a slot with running
 * exit_seq/rip and templates; other ids use a scratch slot reset to zero
 * before each event (so templates never match). */
#ifndef VCPRR_TRACES_FORMAT_H
#define VCPRR_TRACES_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "traces/event.h"
#include "traces/sha256.h"
#include "traces/trace.h"

#define TF_SKIP_HEADER   0x184D2A50u
#define TF_SKIP_INDEX    0x184D2A5Eu
#define TF_SKIP_END      0x184D2A5Fu
#define TF_SKIP_MASK     0xFFFFFFF0u
#define TF_ZSTD_MAGIC    0xFD2FB528u

#define TF_HDR_MAGIC     "VCPRRTRC"
#define TF_IDX_MAGIC     "VCPRRIDX"
#define TF_END_MAGIC     "VCPRREND"

/* header content: magic[8] u32 version u32 desc_len u64 start_time_ns
 * desc[desc_len] (text, no NUL) check[8].  Every skippable frame of ours
 * ends with check: the first 8 bytes of SHA-256 over its content before
 * it, so that one flipped bit anywhere reads as corrupt, not as another
 * run.  (zstd checksums only its own frames' content.) */
#define TF_CHECK_BYTES   8
#define TF_HDR_FIXED     24
#define TF_HDR_MAX_FRAME (8 + TF_HDR_FIXED + TRACE_DESC_LEN + TF_CHECK_BYTES)
/* index content: magic[8] u32 version u32 0 u64 count, entries, check[8].
 * Entries are the data frames in file order: the first starts right after
 * the header, each one's first_seq is the previous one's plus its count,
 * and the counts add up to the end marker's event count.  count 0: the
 * writer had no index to write (the reader scans). */
#define TF_IDX_HDR_BYTES 24
#define TF_IDX_ENT_BYTES 32   /* u64 offset, first_seq, first_time, u32 count, u32 0 */
/* end content: magic[8] u32 version u32 0 u64 index_off u64 nr_events
 * check[8] */
#define TF_END_BYTES     (32 + TF_CHECK_BYTES)
#define TF_END_FRAME     (8 + TF_END_BYTES)

#define TF_FRAME_KIND    1
#define TF_WINDOW_LOG    21   /* writer */
#define TF_WINDOW_LOG_MAX 23  /* reader refuses larger windows */

#define TF_NSLOTS        64
#define TF_SLOT_NONE     TF_NSLOTS
#define TF_SLOT_SCRATCH  (TF_NSLOTS + 1)
#define TF_NTPL          4
#define TF_TYPE_ESC      31

/* Worst-case encoded size of one event (header part + payload). */
#define TF_MAX_EVHDR     (1 + 10 + 10 + 10 + 1 + 4 * 10 + 10 + 10 + 8 + 10)
#define TF_MAX_EVENT     (TF_MAX_EVHDR + TRACE_MAX_PAYLOAD)

#define OP_FULL          0x80u
#define OPT_VCPU         0x04u
#define OPT_EXIT         0x08u
#define OPT_A2           0x10u
#define OPT_RESERVED     0x60u
#define OPF_VCPU         0x20u
#define OPF_PAYLOAD      0x40u
#define FL_A0            0x01u
#define FL_RIP           0x10u
#define FL_EXIT          0x20u
#define FL_DIGEST        0x40u
#define FL_RESERVED      0x80u

struct tf_tpl {
	uint64_t rip, digest, a0, a1, a2, a3;
	uint32_t type;             /* TEV_NONE: empty */
};

struct tf_slot {
	uint64_t exit_seq, rip;
	uint32_t next_tpl;
	struct tf_tpl tpl[TF_NTPL];
};

struct tf_state {
	uint64_t time;
	uint32_t vcpu;
	struct tf_slot slot[TF_NSLOTS + 2];
};

static inline void tf_state_reset(struct tf_state *s, uint64_t first_time)
{
	memset(s, 0, sizeof(*s));
	s->time = first_time;
	s->vcpu = TRACE_VCPU_NONE;
}

static inline struct tf_slot *tf_slot_of(struct tf_state *s, uint32_t vcpu)
{
	struct tf_slot *sl;

	if (vcpu < TF_NSLOTS)
		return &s->slot[vcpu];
	if (vcpu == TRACE_VCPU_NONE)
		return &s->slot[TF_SLOT_NONE];
	sl = &s->slot[TF_SLOT_SCRATCH];
	memset(sl, 0, sizeof(*sl));
	return sl;
}

static inline uint64_t tf_zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t tf_unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint8_t *tf_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline void tf_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void tf_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t tf_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);   /* little-endian host, checked below */
	return v;
}

static inline uint64_t tf_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The check bytes of a skippable frame's content. */
static inline void tf_check(const void *content, size_t len,
			    uint8_t out[TF_CHECK_BYTES])
{
	uint8_t d[32];

	sha256(content, len, d);
	memcpy(out, d, TF_CHECK_BYTES);
}

/* --- frames.c: our skippable frames, one codec for writer and reader */

/* A message in @err (when @errlen); returns -EBADMSG. */
int tf_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct tf_index_entry {
	uint64_t off, first_seq, first_time;
	uint32_t count;
};

/* The header frame of @h into @frame (TF_HDR_MAX_FRAME bytes); returns
 * its size. */
size_t tf_header_encode(const struct trace_header *h, uint8_t *frame);
/* The @len content bytes of a header frame (at file offset 8) into @h.
 * 0, or a negative errno with a message naming the offset: a corrupt
 * header (checksum, lengths, a NUL in the description) or another format
 * version. */
int tf_header_decode(const uint8_t *content, uint32_t len,
		     struct trace_header *h, char *err, size_t errlen);

/* Writes the seek index of the @n data frames @idx (n = 0: no index) and
 * the end marker through @out. */
typedef void tf_out_fn(void *arg, const void *buf, size_t len);
void tf_tail_encode(const struct tf_index_entry *idx, size_t n,
		    uint64_t index_off, uint64_t nr_events, tf_out_fn *out,
		    void *arg);

/* A file to check: up to @len bytes at @off (fewer at its end), or a
 * negative errno. */
typedef ssize_t tf_read_fn(void *arg, uint64_t off, void *buf, size_t len);
struct tf_file {
	tf_read_fn *read;
	void *arg;
	uint64_t size, data_start;
};

struct tf_tail {
	bool has_end;              /* a valid end marker and seek index */
	uint64_t end_events, idx_off, idx_count;
	const char *trunc_reason;  /* !has_end: why the file reads as cut */
};
/* The end marker and the seek index it names.  Without an end marker the
 * file was cut (0, !has_end); one that is there but does not check out
 * (checksums, where the index is, its entries against the layout) is a
 * negative errno with a message naming the offset. */
int tf_tail_check(const struct tf_file *f, struct tf_tail *t, char *err,
		  size_t errlen);

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "trace format helpers assume a little-endian host"
#endif

/* A full event without payload becomes the slot's next template.  Writer
 * and reader both call this, so their template state cannot drift apart. */
static inline void tf_tpl_learn(struct tf_slot *sl, const struct trace_event *ev)
{
	struct tf_tpl *t = &sl->tpl[sl->next_tpl++ % TF_NTPL];

	t->type = ev->type;
	t->rip = ev->rip;
	t->digest = ev->digest;
	t->a0 = ev->a0;
	t->a1 = ev->a1;
	t->a2 = ev->a2;
	t->a3 = ev->a3;
}

#endif
