/*
 * kv_batch.h -- the batch, and the steps of one operation, shared by the
 * write path (kv.c) and the calls on hashes and on keys of any type
 * (kv_hash.c).  Internal: the public side is pkv.h, "Batches".
 */
#ifndef PKV_KV_BATCH_H
#define PKV_KV_BATCH_H

#include "kv_int.h"

/* What a batch holds of a database (pkv_batch's dbheld): its lock
 * shared (with some stripes), and its resize preparation (kv_hold_db). */
#define KV_HELD_SHARED 1u
#define KV_HELD_RESIZE 2u

/* A (database, stripe) a batch holds. */
struct kv_hold {
	unsigned dbi, stripe;
};

/* A change of databases' key counts, applied in order at commit and
 * undone by a rollback: delta added to dbi's (KV_COUNT_ADD), dbi's
 * emptied (KV_COUNT_ZERO: a flush), dbi's and dbi2's exchanged
 * (KV_COUNT_SWAP). */
enum kv_count_kind { KV_COUNT_ADD, KV_COUNT_ZERO, KV_COUNT_SWAP };
struct kv_delta {
	enum kv_count_kind kind;
	unsigned dbi, dbi2;
	int delta;
};

struct pkv_batch {
	pkv *db;
	struct kvtx t;                /* the open transaction */
	bool open;                    /* t has begun */
	bool serial;                  /* holds db->batch_mtx */
	int err;                      /* a failure that fails the batch */
	size_t err_at;                /* results[] length when it came */
	struct kv_hold *holds;
	size_t nholds, holdcap;
	uint64_t *heldmap;            /* ndbs x KV_STRIPES bits, from
					 KV_HOLD_SCAN holds on */
	uint8_t *dbheld;              /* per database (ndbs): KV_HELD_* */
	int *results;                 /* one per write operation */
	size_t nres, rescap;
	struct kv_delta *deltas;
	size_t ndeltas, deltacap;
	uint64_t payload;             /* key + value bytes written */
	bool *finish;                 /* databases whose resize may be done
					 (ndbs), or NULL */
	bool drops;                   /* a key of a collection type went, or
					 a table: the collector reclaims the
					 rest */
	bool retabled;                /* a flush or swap set a root table
					 word: tables are found through t */
	bool reclaim;                 /* a flush in a full pool: its old
					 tables are collected at commit
					 (drops is set too) */
	struct kv_texts *texts;       /* integer strings read as text */
	unsigned dbcap;               /* dbheld's length (>= db->ndbs) */
};

/* Integer strings the batch read, as text: a reference's value lasts as
 * long as the batch (kv_text). */
#define KV_TEXTS 48
struct kv_texts {
	struct kv_texts *next;
	unsigned used;
	char text[KV_TEXTS][KV_INT_TEXT];
};

/* What a savepoint remembers (struct pkv_savepoint holds it). */
struct kv_save {
	struct kvtx_mark m;
	size_t nres, ndeltas, payload;
	int err;
	bool open;
};
_Static_assert(sizeof(struct kv_save) <= sizeof(struct pkv_savepoint),
	       "pkv_savepoint too small");

/* Where an operation's key is, as the batch sees it. */
struct kv_key {
	const struct kv_table *tab;
	uint64_t hash;
	bool found;                   /* an entry is in the table */
	struct kv_loc loc;            /* where, if found */
	int64_t expire_ms;            /* its expiry, as the batch left it */
	bool present;                 /* found and not expired */
};

/* What a new entry holds (kv_new_entry). */
struct kv_newent {
	uint32_t block_type;          /* KV_TYPE_ENTRY or KV_TYPE_FIELD */
	unsigned vtype;               /* PKV_TYPE_* */
	const void *key, *val;
	size_t klen, vlen;
	uint64_t hash;
	int64_t expire_ms;
	bool is_int;                  /* an integer string of value ival
					 (vtype, val and vlen not read) */
	int64_t ival;
};

/* ---- the batch object (kv.c) ---- */

/* kv_batch_new -- an empty batch; `serial` for one that may hold more
 * than one stripe (it then runs alone among such batches).
 * kv_batch_free ends one: locks, memory. */
int kv_batch_new(pkv *db, bool serial, pkv_batch **bp);
void kv_batch_free(pkv_batch *b);

/* kv_tx -- the batch's transaction, begun on first use. */
int kv_tx(pkv_batch *b);

/* kv_view -- the transaction to read through, or NULL before any write. */
static inline const struct kvtx *kv_view(const pkv_batch *b)
{
	return b->open ? &b->t : NULL;
}

/* kv_result -- record an operation's result; kv_delta -- the operation
 * changed dbi's key count by delta; kv_count_change -- any change of
 * counts (struct kv_delta). */
int kv_result(pkv_batch *b, int r);
int kv_delta(pkv_batch *b, unsigned dbi, int delta);
int kv_count_change(pkv_batch *b, enum kv_count_kind kind, unsigned dbi,
		    unsigned dbi2, int delta);

/* kv_hold_db -- hold every stripe of dbi for the rest of the batch (a
 * serial one), and its resize preparation (resize_mtx): no single write
 * and no preparer is then at the database's table, whose root word the
 * batch may change.  0 or -ENOMEM. */
int kv_hold_db(pkv_batch *b, unsigned dbi);

/* kv_save, kv_restore -- a savepoint of the batch, and back to it. */
void kv_save(const pkv_batch *b, struct kv_save *s);
void kv_restore(pkv_batch *b, const struct kv_save *s);

/* ---- one operation (kv.c) ---- */

/* kv_find -- look a key up once, through the batch (holding its stripe
 * first when `lock`). */
int kv_find(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
	    bool lock, struct kv_key *k);

/* kv_new_entry -- a new entry in the transaction; its offset to *offp. */
int kv_new_entry(pkv_batch *b, const struct kv_newent *n, uint64_t *offp);

/* kv_vtype -- the type of a found key's value.  kv_note_drop -- k's
 * entry is about to go: a collection's rest is left to the collector. */
unsigned kv_vtype(const pkv_batch *b, const struct kv_key *k);
void kv_note_drop(pkv_batch *b, const struct kv_key *k);

/* kv_dbwide -- KV_OP_FLUSH or KV_OP_SWAPDB in the batch (db.c): 0, or an
 * error after which nothing of it remains. */
int kv_dbwide(pkv_batch *b, const struct kv_op *op);

/* kv_exec -- run one write operation in the batch (lock, look up,
 * decide, write); kv_one -- one operation as a batch of its own. */
int kv_exec(pkv_batch *b, const struct kv_op *op);
int kv_one(pkv *db, const struct kv_op *op);

/* kv_read_check -- the arguments of a read.  kv_ref_value -- an entry's
 * value and type into a reference (NULL and 0 for a non-string). */
int kv_read_check(const pkv *db, unsigned dbi, const void *key,
		  size_t klen);
void kv_ref_value(const struct kv_entry *E, struct pkv_ref *ref);

/* kv_text -- room for one integer's text that lasts as long as the
 * batch, or NULL (no memory). */
char *kv_text(pkv_batch *b);

/* kv_newent_value -- what a copy of the key entry at e holds as its value
 * (read through t): the same bytes, or the same integer. */
void kv_newent_value(const pkv *db, const struct kvtx *t, uint64_t e,
		     struct kv_newent *n);

/* kv_coll_at -- the header of k's collection of type vtype (hsize bytes)
 * to *offp: 0, or PKV_ENOTFOUND (no key), PKV_EWRONGTYPE, PKV_ECORRUPT.
 * kv_coll_make -- make op's key a new collection of type vtype whose
 * header the caller made at hdr (raising the root's layout version to
 * `version`). */
int kv_coll_at(pkv_batch *b, const struct kv_key *k, unsigned vtype,
	       uint64_t hsize, uint64_t *offp);
int kv_coll_make(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		 unsigned vtype, uint64_t version, uint64_t hdr);

/* kv_coll_read -- the header of key's collection of type vtype (hsize
 * bytes) as the batch sees it, holding its stripe: 0 with *offp (0: no
 * key), PKV_EWRONGTYPE (reported), PKV_EINVAL or PKV_ECORRUPT. */
int kv_coll_read(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		 unsigned vtype, uint64_t hsize, uint64_t *offp);

/* ---- hash writes (kv_hash.c), decided by kv_write ---- */

/* kv_hset, kv_hdel -- KV_OP_HSET and KV_OP_HDEL on the key found as k:
 * their result (0, PKV_EEXIST, PKV_ENOTFOUND, PKV_EWRONGTYPE) to
 * *result, or an error. */
int kv_hset(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
	    int *result);
int kv_hdel(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
	    int *result);

/* kv_int_sum -- delta added to the number the string entry at e holds
 * (through the batch: an integer string's word, or a text read by
 * num_parse_ll), e 0 counting as 0: 0 with the sum in *v, or the result
 * PKV_ENOTINT or PKV_EOVERFLOW.  kv_incr's and kv_hincr's rule. */
int kv_int_sum(pkv_batch *b, uint64_t e, int64_t delta, long long *v);

/* kv_hincr -- KV_OP_HINCR on the key found as k (as kv_incr on a field,
 * the hash made if missing): its result (0, PKV_EWRONGTYPE, PKV_ENOTINT,
 * PKV_EOVERFLOW) to *result, or an error. */
int kv_hincr(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
	     int *result);

/* ---- list writes (kv_list.c), decided by kv_write ---- */

/* kv_list_write -- a list operation (KV_OP_LPUSH...) on the key found as
 * k: its result (0, PKV_ENOTFOUND, PKV_EWRONGTYPE, PKV_ERANGE) to
 * *result, or an error. */
int kv_list_write(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		  int *result);

/* kv_zset_write -- a sorted set operation (KV_OP_ZADD...) on the key found
 * as k (kv_zset.c). */
int kv_zset_write(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		  int *result);

/* kv_zset_copy -- a new sorted set with the members of key entry S. */
int kv_zset_copy(pkv_batch *b, const struct kv_entry *S, uint64_t *zoffp);

#endif /* PKV_KV_BATCH_H */
