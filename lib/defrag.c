/*
 * defrag.c -- online defragmentation (pkv_defrag): the keys' entries in
 * sparse runs are moved to fuller runs of their size class, so that the
 * sparse runs empty and their chunks go back to the free chunks, where
 * blocks of any size (and big values) can use them.
 *
 * Deleting keys at random leaves every run of their size class part
 * full; a pool whose values then change size has no chunk for the new
 * class while the old one holds free blocks nobody asks for (pkv compact
 * rewrites the whole pool, offline).  Here the heap picks the runs
 * (heap_evacuate_begin: at most half full, and only as many as the
 * class's other runs have room for, so no new run is made) and stops
 * handing out their blocks; each key entry in them is then copied to a
 * new block and its chain relinked, an ordinary write (KV_OP_MOVE, under
 * the key's stripe, durable like any other), and the old block freed.
 * Readers that hold the old entry keep it until they leave (the limbo),
 * and a crash at any moment leaves each key in its old block or its new
 * one.
 *
 * Only the keys' entries move: the blocks of a collection's inside (a
 * hash's fields, a list's elements, a sorted set's nodes) are named from
 * within the collection and stay, so a run that holds one is not
 * emptied.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv_int.h"
#include "heap.h"
#include "epoch.h"
#include "offvec.h"

/* Moves per transaction: a batch holds one stripe per key. */
#define DEFRAG_BATCH 32u
/* Longer keys are left where they are (their runs stay). */
#define DEFRAG_KEY_MAX (16u << 10)

/* The key entries found in the runs being evacuated. */
struct defrag_list {
	struct offvec off;            /* their data offsets */
	uint64_t others;              /* other blocks there (not moved) */
};

/* defrag_note -- heap_run_foreach_block: keep a key entry's offset. */
static int defrag_note(void *ctx, uint64_t data_off, uint64_t size,
		       uint32_t type)
{
	struct defrag_list *l = ctx;

	(void)size;
	if (type != KV_TYPE_ENTRY)
		l->others++;
	else if (!offvec_push(&l->off, data_off))
		return -ENOMEM;
	return 0;
}

/*
 * defrag_op -- the move of the entry at off, if it still is one: its key
 * copied to key[] (room for `room` bytes) and the database whose table
 * holds it found, in a read-side section (the block is not reused while
 * it lasts).  Returns 1 with *op, 0 when it is no key's entry now.
 */
static int defrag_op(pkv *db, uint64_t off, char *key, size_t room,
		     struct kv_op *op)
{
	struct epoch_ticket tk = epoch_enter(heap_epoch(db->heap));
	const struct kv_entry *E = kv_ptr(db, off);
	size_t klen = __atomic_load_n(&E->klen, __ATOMIC_RELAXED);
	int found = 0;

	if (klen <= room) {
		memcpy(key, kv_entry_key(E), klen);
		uint64_t hash = kv_hash(db, key, klen);
		for (unsigned dbi = 0; dbi < db->ndbs && !found; dbi++) {
			uint64_t e = 0;
			if (table_lookup(db, dbi, hash, key, klen, &e) == 1 &&
			    e == off) {
				*op = (struct kv_op){ .op = KV_OP_MOVE,
						      .dbi = dbi, .key = key,
						      .klen = klen,
						      .index = (int64_t)off };
				found = 1;
			}
		}
	}
	epoch_exit(tk);
	return found;
}

/* defrag_move -- move the listed entries, DEFRAG_BATCH to a commit.
 * Returns 0 or the error that stopped it (PKV_EFULL: no room left). */
static int defrag_move(pkv *db, const struct defrag_list *l,
		       struct pkv_defrag_stats *st)
{
	struct kv_op ops[DEFRAG_BATCH];
	int results[DEFRAG_BATCH];
	size_t room = DEFRAG_KEY_MAX, n = 0;
	char *keys = malloc(DEFRAG_BATCH * room);
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i <= l->off.n && !err; i++) {
		if (i < l->off.n) {
			if (defrag_op(db, l->off.v[i], keys + n * room, room,
				      &ops[n]))
				n++;
			else
				st->skipped++;
			if (i + 1 < l->off.n && n < DEFRAG_BATCH)
				continue;
		}
		if (!n)
			continue;
		err = kv_apply(db, ops, n, results);
		for (size_t k = 0; !err && k < n; k++) {
			if (results[k] == 0)
				st->moved++;
			else
				st->skipped++;
		}
		n = 0;
	}
	free(keys);
	return err;
}

/* pkv_defrag -- see pkv.h: runs at most half full. */
int pkv_defrag(pkv *db, struct pkv_defrag_stats *st)
{
	return kv_defrag(db, 50, st);
}

/* kv_defrag -- see kv_int.h. */
int kv_defrag(pkv *db, unsigned max_pct, struct pkv_defrag_stats *st)
{
	struct pkv_defrag_stats mine;
	struct defrag_list l = { { NULL, 0, 0 }, 0 };
	struct offvec chunks;
	int err = 0;

	if (!st)
		st = &mine;
	memset(st, 0, sizeof(*st));
	/* Blocks freed since the last checkpoint still count as taken (the
	 * limbo): on a disk, where checkpoints are far apart, every run of
	 * keys just deleted would look full. */
	if ((err = heap_checkpoint(db->heap)))
		return kv_err(db, err, "defrag: checkpoint failed: %s",
			      pkv_strerror(err));
	if ((err = heap_evacuate_begin(db->heap, max_pct, &chunks)))
		return kv_err(db, err, "defrag: out of memory");
	st->runs = chunks.n;
	for (size_t i = 0; i < chunks.n && !err; i++)
		err = heap_run_foreach_block(db->heap, (uint32_t)chunks.v[i],
					     defrag_note, &l);
	st->skipped = l.others;
	if (!err)
		err = defrag_move(db, &l, st);
	/* The old blocks wait for a checkpoint and the readers; then the
	 * runs they emptied go back to the free chunks.  (Nothing moved:
	 * no checkpoint, which on a disk writes every dirty page.) */
	if (st->moved)
		st->runs_freed = heap_give_back(db->heap);
	heap_evacuate_end(db->heap, &chunks);
	free(l.off.v);
	if (err == -ENOMEM)
		return kv_err(db, err, "defrag: out of memory");
	return err;
}
