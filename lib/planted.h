/*
 * planted.h -- bugs planted on purpose, each removing one persistence
 * barrier (or splitting what must be one transaction), to prove that the
 * crash simulator fails when that barrier is missing.
 *
 * Every flush and fence that durability depends on -- and every rule on
 * when freed memory may be reused -- is written
 *
 *     if (!PLANTED(REDO_COMMIT_FENCE))
 *             persist_fence(p);
 *
 * In libpkv (and every program but the crash simulators) PLANTED(x) is the
 * constant 0: the compiler removes the test, and nothing of this reaches
 * the production commit path.  The crash simulators build the library's
 * sources again with -DPKV_PLANTED_BUGS, where PLANTED(x) compares with
 * planted_bug, set from PKV_PLANTED_BUG=<name> (planted.c), and
 * tests/crashsim-planted.sh runs the simulator once per bug and expects a
 * failure each time.  A new barrier comes with a new line here.
 */
#ifndef PKV_PLANTED_H
#define PKV_PLANTED_H

/* X(id, name, what removing it does) */
#define PLANTED_BUG_LIST(X) \
	X(REDO_FLUSH_RECORD, "redo-flush-record", \
	  "commit: the record is never written back") \
	X(REDO_COMMIT_FENCE, "redo-commit-fence", \
	  "commit: applied in place before the record is durable") \
	X(REDO_NO_CHECKSUM, "redo-no-checksum", \
	  "recovery trusts any record whose header looks right") \
	X(DISK_APPLY_MARK, "disk-apply-mark", \
	  "on a disk: a commit's changes in place are never marked, so no " \
	  "checkpoint writes their pages back") \
	X(DISK_QUEUE_GATE, "disk-queue-gate", \
	  "on a disk: a checkpoint writes back pages that a pipelined " \
	  "commit not yet durable changed") \
	X(DISK_QUEUE_FENCE, "disk-queue-fence", \
	  "on a disk: pipelined commits written together with one fence, " \
	  "so a later one may be durable without an earlier one") \
	X(CKPT_FLUSH_TARGETS, "ckpt-flush-targets", \
	  "checkpoint: the words records changed are never written back") \
	X(CKPT_TARGET_FENCE, "ckpt-target-fence", \
	  "checkpoint: the watermark may land before what it covers") \
	X(CKPT_FLUSH_SLOT, "ckpt-flush-slot", \
	  "checkpoint: the new slot is never written back") \
	X(CKPT_SLOT_FENCE, "ckpt-slot-fence", \
	  "checkpoint: ring space and freed blocks reused before the new " \
	  "watermark is durable") \
	X(RECOVER_FENCE, "recover-fence", \
	  "recovery: the watermark may land before the replayed changes") \
	X(TX_FLUSH_BLOCK, "tx-flush-block", \
	  "commit: a new block is never written back") \
	X(TX_MUTABLE_FENCE, "tx-mutable-fence", \
	  "commit: a new block that later transactions change in place is " \
	  "published before it is durable") \
	X(TX_CARRY_MUTABLE, "tx-carry-mutable", \
	  "commit: a small new block that later transactions change in " \
	  "place is neither carried in the record nor made durable first") \
	X(KV_INT_PREFIX, "kv-int-prefix", \
	  "an integer string's value word is left out of its block's " \
	  "prefix, so a record that made it fails its checksum once INCR " \
	  "changed it") \
	X(TX_UNALLOC_AT_ONCE, "tx-unalloc-at-once", \
	  "a block allocated and freed in one transaction is reused before " \
	  "the watermark passes the commit") \
	X(HEAP_RUN_FENCE, "heap-run-fence", \
	  "a new run's header may land before its cleared bitmap") \
	X(RUN_RETIRE_EARLY, "run-retire-early", \
	  "an empty run's chunk goes back to the free chunks before the " \
	  "watermark passes its last free") \
	X(RUN_RETIRE_FENCE, "run-retire-fence", \
	  "a retired run's chunk may be taken again before its free " \
	  "header is durable") \
	X(GROW_PERSIST, "grow-persist", \
	  "growth: the heap's new chunk count is stored, never written " \
	  "back, and its chunks used at once") \
	X(KV_DBWIDE_APART, "kv-dbwide-apart", \
	  "a flush inside a batch is committed on its own, apart from the " \
	  "batch's other operations (what pkv-server's EXEC did)")

enum planted_bug {
	PB_NONE = 0,
#define PLANTED_ENUM(id, name, what) PB_##id,
	PLANTED_BUG_LIST(PLANTED_ENUM)
#undef PLANTED_ENUM
	PB_COUNT
};

#ifdef PKV_PLANTED_BUGS
extern enum planted_bug planted_bug;
#define PLANTED(id) (planted_bug == PB_##id)

/* planted_from_env -- set planted_bug from PKV_PLANTED_BUG; 0, or -1 (and
 * a message) for an unknown name. */
int planted_from_env(void);

/* planted_name, planted_what -- of bug b (PB_NONE < b < PB_COUNT). */
const char *planted_name(enum planted_bug b);
const char *planted_what(enum planted_bug b);
#else
#define PLANTED(id) 0
#endif

#endif /* PKV_PLANTED_H */
