/*
 * kv_hash.c -- the calls of pkv.h on hashes (fields set, deleted, read,
 * counted, scanned, alone or in a batch) and on keys of any type (rename,
 * copy), over the hash structure of type_hash.c and the batch of kv.c.
 *
 * A hash write is an operation of the batch like a put: kv_exec locks
 * the key's stripe, looks the key up once, and calls kv_hset or kv_hdel
 * to decide and write.  Hash reads hold the key's stripe too (they are
 * not lock-free, unlike string reads): a single read is a batch of one
 * stripe that writes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv_batch.h"

/* kv_hash_at -- the header of k's hash (vtype PKV_TYPE_HASH) or set
 * (PKV_TYPE_SET: the same table, its fields' values empty), or a result
 * (kv_coll_at). */
static int kv_hash_at(pkv_batch *b, const struct kv_key *k, unsigned vtype,
		      uint64_t *hoffp)
{
	return kv_coll_at(b, k, vtype, sizeof(struct kv_hash_hdr), hoffp);
}

/* kv_op_vtype -- the type a field operation works on. */
static unsigned kv_op_vtype(const struct kv_op *op)
{
	return op->op == KV_OP_SADD || op->op == KV_OP_SREM ? PKV_TYPE_SET
							    : PKV_TYPE_HASH;
}

/* kv_hash_made -- the header of k's hash or set (vtype), made now if
 * the key is missing, or a result (kv_coll_at). */
static int kv_hash_made(pkv_batch *b, const struct kv_op *op,
			struct kv_key *k, unsigned vtype, uint64_t *hoffp)
{
	int r = kv_hash_at(b, k, vtype, hoffp);

	if (r == PKV_ENOTFOUND && !(r = hash_new(&b->t, hoffp)))
		r = kv_coll_make(b, op, k, vtype,
				 vtype == PKV_TYPE_SET ? KV_LAYOUT_VERSION_SETS
						       : KV_LAYOUT_VERSION_HASHES,
				 *hoffp);
	return r;
}

/* kv_field_at -- op's field in k's hash or set (vtype), the table made
 * if the key is missing: 1 found (at *loc), 0 not, PKV_EWRONGTYPE, or an
 * error; the header to *hoffp and the field's hash to *fhash. */
static int kv_field_at(pkv_batch *b, const struct kv_op *op,
		       struct kv_key *k, unsigned vtype, uint64_t *hoffp,
		       uint64_t *fhash, struct kv_loc *loc)
{
	int r = kv_hash_made(b, op, k, vtype, hoffp);

	if (r)
		return r;
	*fhash = kv_hash(b->db, op->field, op->flen);
	return hash_find(b->db, &b->t, *hoffp, *fhash, op->field, op->flen,
			 loc);
}

/* kv_hset -- KV_OP_HSET and KV_OP_SADD, decided and written (see
 * kv_write). */
int kv_hset(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	struct kv_newent n = { KV_TYPE_FIELD, PKV_TYPE_STRING, op->field,
			       op->val, op->flen, op->vlen, 0, 0, false, 0 };
	struct kv_loc loc;
	unsigned vtype = kv_op_vtype(op);
	uint64_t hoff, off;
	int r = kv_field_at(b, op, k, vtype, &hoff, &n.hash, &loc);

	if (r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r < 0)
		return r;
	*result = r ? PKV_EEXIST : 0;
	if (r && (op->flags & PKV_NX || vtype == PKV_TYPE_SET))
		return 0;            /* a member is there: nothing to write */
	if ((r = kv_new_entry(b, &n, &off)))
		return r;
	return *result ? hash_replace(t, &loc, off) : hash_insert(t, hoff, off);
}

/* kv_hincr -- see kv_batch.h.  A field that is an integer string gets
 * the sum in place (one word in the record); a text that reads as an
 * integer, or no field, becomes one. */
int kv_hincr(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
	     int *result)
{
	struct kvtx *t = &b->t;
	struct kv_newent n = { KV_TYPE_FIELD, PKV_TYPE_STRING, op->field,
			       NULL, op->flen, 0, 0, 0, true, 0 };
	const struct kv_entry *F = NULL;
	struct kv_loc loc;
	uint64_t hoff, off;
	long long v;
	int r = kv_field_at(b, op, k, PKV_TYPE_HASH, &hoff, &n.hash, &loc);

	if (r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r < 0)
		return r;
	if (r)
		F = kv_ptr(b->db, loc.entry);
	/* (a hash made just now has no field: this cannot fail then) */
	if ((*result = kv_int_sum(b, F ? loc.entry : 0, op->index, &v)))
		return 0;
	*op->num = v;
	if (F && kv_entry_is_int(F))
		return kvtx_set(t, loc.entry + kv_int_at(F->klen),
				(uint64_t)v);
	n.ival = v;
	if ((r = kv_new_entry(b, &n, &off)))
		return r;
	return F ? hash_replace(t, &loc, off) : hash_insert(t, hoff, off);
}

/* kv_hdel -- KV_OP_HDEL and KV_OP_SREM: the field goes, and the key with
 * the last one (a small table's header freed now; a big one's directories
 * and segments left to the collector). */
int kv_hdel(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	struct kv_loc loc;
	uint64_t hoff;
	int r = kv_hash_at(b, k, kv_op_vtype(op), &hoff);

	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r)
		return r;
	r = hash_find(b->db, t, hoff, kv_hash(b->db, op->field, op->flen),
		      op->field, op->flen, &loc);
	if (r <= 0) {
		*result = PKV_ENOTFOUND;
		return r;
	}
	if ((r = hash_unlink(t, hoff, &loc)))
		return r;
	if (hash_count(b->db, t, hoff) > 0)
		return 0;
	if (kvtx_get(t, hoff + offsetof(struct kv_hash_hdr, dirs)))
		kv_note_drop(b, k);
	else if ((r = tx_free(t->tx, hoff)))
		return r;
	if ((r = table_unlink(t, k->tab, &k->loc)))
		return r;
	return kv_delta(b, op->dbi, -1);
}

/* ---- hashes ---- */

/* kv_hash_read -- the header of key's hash (kv_coll_read). */
static int kv_hash_read(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, uint64_t *hoffp)
{
	return kv_coll_read(b, dbi, key, klen, PKV_TYPE_HASH,
			    sizeof(struct kv_hash_hdr), hoffp);
}

/* pkv_batch_hset -- set a field, now. */
int pkv_batch_hset(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *field, size_t flen, const void *val,
		   size_t vlen, unsigned flags)
{
	struct kv_op op = { .op = KV_OP_HSET, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .field = field, .flen = flen };
	return kv_exec(b, &op);
}

/* pkv_batch_hincr -- add to a field's integer, now. */
int pkv_batch_hincr(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, const void *field, size_t flen,
		    int64_t delta, int64_t *value)
{
	int64_t v;
	struct kv_op op = { .op = KV_OP_HINCR, .dbi = dbi, .key = key,
			    .klen = klen, .field = field, .flen = flen,
			    .index = delta, .num = value ? value : &v };
	return kv_exec(b, &op);
}

/* pkv_batch_hdel -- delete a field, now. */
int pkv_batch_hdel(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *field, size_t flen)
{
	struct kv_op op = { .op = KV_OP_HDEL, .dbi = dbi, .key = key,
			    .klen = klen, .field = field, .flen = flen };
	return kv_exec(b, &op);
}

/* pkv_batch_hget_ref -- a field's value as the batch left it. */
int pkv_batch_hget_ref(pkv_batch *b, unsigned dbi, const void *key,
		       size_t klen, const void *field, size_t flen,
		       struct pkv_ref *ref)
{
	const struct kv_entry *E;
	struct kv_loc loc;
	uint64_t hoff;
	int r;

	if (!field && flen)
		return kv_err(b->db, PKV_EINVAL, "NULL field");
	if ((r = kv_hash_read(b, dbi, key, klen, &hoff)))
		return r;
	if (!hoff)
		return PKV_ENOTFOUND;
	r = hash_find(b->db, kv_view(b), hoff, kv_hash(b->db, field, flen),
		      field, flen, &loc);
	if (r <= 0)
		return r ? r : PKV_ENOTFOUND;
	E = kv_ptr(b->db, loc.entry);
	if (kv_entry_damaged(b->db, dbi, E))
		return PKV_ECORRUPT;
	if ((r = kv_ref_kept(b->db, kv_view(b), b, loc.entry, ref)))
		return r;
	ref->expire_ms = 0;
	ref->priv_[0] = NULL;         /* the batch's lock keeps it */
	ref->priv_[1] = NULL;
	return 0;
}

/* pkv_batch_hlen -- a hash's fields as the batch left them. */
int pkv_batch_hlen(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   uint64_t *n)
{
	uint64_t hoff;
	int r = kv_hash_read(b, dbi, key, klen, &hoff);

	if (!r && n)
		*n = hoff ? hash_count(b->db, kv_view(b), hoff) : 0;
	return r;
}

/* pkv_batch_hscan -- pkv_hscan over the hash as the batch left it. */
int pkv_batch_hscan(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t cursor, unsigned count,
		    pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	uint64_t hoff;
	int r;

	if (!fn || !next)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	*next = 0;
	if ((r = kv_hash_read(b, dbi, key, klen, &hoff)) || !hoff)
		return r;
	return hash_scan(b->db, kv_view(b), b, hoff, cursor, count, fn, ctx,
			 next);
}

/*
 * kv_random_field -- the field of the table at hoff (0: none) that r
 * picks, as an item (key = the field, val = its value) valid until the
 * batch's next call; PKV_ENOTFOUND for an empty or absent table.
 */
int kv_random_field(pkv_batch *b, unsigned dbi, uint64_t hoff, uint64_t r,
		    struct pkv_item *item)
{
	const struct kv_entry *E;
	struct pkv_ref ref;
	struct kv_loc loc;
	int err;

	if (!hoff)
		return PKV_ENOTFOUND;
	err = hash_random(b->db, kv_view(b), hoff, r, &loc);
	if (err <= 0)
		return err ? err : PKV_ENOTFOUND;
	E = kv_ptr(b->db, loc.entry);
	if (kv_entry_damaged(b->db, dbi, E))
		return PKV_ECORRUPT;
	if ((err = kv_ref_kept(b->db, kv_view(b), b, loc.entry, &ref)))
		return err;
	memset(item, 0, sizeof(*item));
	item->key = kv_entry_key(E);
	item->klen = E->klen;
	item->val = ref.val;
	item->vlen = ref.vlen;
	item->type = PKV_TYPE_STRING;
	return 0;
}

/* pkv_batch_hrandfield_ref -- the field r picks, with its value. */
int pkv_batch_hrandfield_ref(pkv_batch *b, unsigned dbi, const void *key,
			     size_t klen, uint64_t r, struct pkv_item *item)
{
	uint64_t hoff;
	int err;

	if (!item)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	if ((err = kv_hash_read(b, dbi, key, klen, &hoff)))
		return err;
	return kv_random_field(b, dbi, hoff, r, item);
}

/* pkv_hset -- set a field, durably. */
int pkv_hset(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *field, size_t flen, const void *val, size_t vlen,
	     unsigned flags)
{
	struct kv_op op = { .op = KV_OP_HSET, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .field = field, .flen = flen };
	return kv_one(db, &op);
}

/* pkv_hincr -- add to a field's integer, durably. */
int pkv_hincr(pkv *db, unsigned dbi, const void *key, size_t klen,
	      const void *field, size_t flen, int64_t delta, int64_t *value)
{
	int64_t v;
	struct kv_op op = { .op = KV_OP_HINCR, .dbi = dbi, .key = key,
			    .klen = klen, .field = field, .flen = flen,
			    .index = delta, .num = value ? value : &v };
	return kv_one(db, &op);
}

/* pkv_hdel -- delete a field, durably. */
int pkv_hdel(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *field, size_t flen)
{
	struct kv_op op = { .op = KV_OP_HDEL, .dbi = dbi, .key = key,
			    .klen = klen, .field = field, .flen = flen };
	return kv_one(db, &op);
}

/* kv_reader -- a batch of one stripe for the single-call hash reads. */
static int kv_reader(pkv *db, pkv_batch **bp)
{
	return kv_batch_new(db, false, bp);
}

/* pkv_hget -- copy a field's value out. */
int pkv_hget(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *field, size_t flen, void *buf, size_t bufsize,
	     size_t *vlen)
{
	struct pkv_ref ref;
	pkv_batch *b;
	int err = kv_reader(db, &b);

	if (err)
		return err;
	err = pkv_batch_hget_ref(b, dbi, key, klen, field, flen, &ref);
	if (!err) {
		if (buf && bufsize)
			memcpy(buf, ref.val, ref.vlen < bufsize ? ref.vlen
								: bufsize);
		if (vlen)
			*vlen = ref.vlen;
	}
	kv_batch_free(b);
	return err;
}

/* pkv_hlen -- a hash's fields. */
int pkv_hlen(pkv *db, unsigned dbi, const void *key, size_t klen,
	     uint64_t *n)
{
	pkv_batch *b;
	int err = kv_reader(db, &b);

	if (err)
		return err;
	err = pkv_batch_hlen(b, dbi, key, klen, n);
	kv_batch_free(b);
	return err;
}

/* pkv_hscan -- a step of a scan of a hash's fields. */
int pkv_hscan(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t cursor, unsigned count, pkv_scan_fn fn, void *ctx,
	      uint64_t *next)
{
	pkv_batch *b;
	int err = kv_reader(db, &b);

	if (err)
		return err;
	err = pkv_batch_hscan(b, dbi, key, klen, cursor, count, fn, ctx,
			      next);
	kv_batch_free(b);
	return err;
}

/* ---- renaming and copying keys of any type ---- */

/* While a hash is copied: where its fields go. */
struct kv_copy {
	pkv_batch *b;
	uint64_t hoff;                /* the new hash's header */
};

/* kv_copy_field -- hash_scan callback: the field into the new hash. */
static int kv_copy_field(void *vctx, const struct pkv_item *it)
{
	struct kv_copy *c = vctx;
	struct kv_newent n = { KV_TYPE_FIELD, PKV_TYPE_STRING, it->key,
			       it->val, it->klen, it->vlen,
			       kv_hash(c->b->db, it->key, it->klen), 0, false,
			       0 };
	uint64_t off;
	int err = kv_new_entry(c->b, &n, &off);

	return err ? err : hash_insert(&c->b->t, c->hoff, off);
}

/* kv_copy_list -- a new list with the elements of list key S, in order
 * (O(elements)); its header's offset to *loffp. */
static int kv_copy_list(pkv_batch *b, const struct kv_entry *S,
			uint64_t *loffp)
{
	uint64_t src = list_of_entry(b->db, S), e, ne;
	int err;

	if (!src)
		return PKV_ECORRUPT;
	if ((err = list_new(&b->t, loffp)) ||
	    (err = list_end(b->db, &b->t, src, false, &e)))
		return err;
	while (e) {
		const char *p;
		size_t len;
		if ((err = list_value(b->db, src, e, &p, &len)) ||
		    (err = list_elem_new(&b->t, p, len, &ne)) ||
		    (err = list_link(&b->t, *loffp, kvtx_get(&b->t, *loffp +
				     offsetof(struct kv_list_hdr, tail)), 0,
				     ne)) ||
		    (err = list_step(b->db, &b->t, src, e, false, &e)))
			return err;
	}
	return 0;
}

/*
 * kv_copy_value -- the value of entry S as a new value for a copy: the
 * same bytes for a string, or a new hash with every field (its header's
 * offset to *hoffp, which n->val then points at).
 */
static int kv_copy_value(pkv_batch *b, const struct kv_entry *S,
			 struct kv_newent *n, uint64_t *hoffp)
{
	struct kv_copy c = { b, 0 };
	uint64_t src, cur = 0;
	int err;

	kv_newent_value(b->db, &b->t, pool_off(b->db->pool, S), n);
	if (S->vtype == PKV_TYPE_STRING)
		return 0;
	n->val = hoffp;
	if (S->vtype == PKV_TYPE_LIST)
		return kv_copy_list(b, S, hoffp);
	if (S->vtype == PKV_TYPE_ZSET)
		return kv_zset_copy(b, S, hoffp);
	if ((S->vtype != PKV_TYPE_HASH && S->vtype != PKV_TYPE_SET) ||
	    !(src = kv_coll_of_entry(b->db, S, S->vtype,
				     sizeof(struct kv_hash_hdr))))
		return PKV_ECORRUPT;
	if ((err = hash_new(&b->t, &c.hoff)))
		return err;
	do {
		err = hash_scan(b->db, &b->t, NULL, src, cur, 1024,
				kv_copy_field, &c, &cur);
	} while (!err && cur);
	*hoffp = c.hoff;
	return err;
}

/* kv_move -- the writes of a rename or copy of src to dst (see
 * kv_rekey); the key lookups are done, the transaction open. */
static int kv_move(pkv_batch *b, const struct kv_key *src,
		   struct kv_key *dst, unsigned dbi, const void *key,
		   size_t klen, unsigned ddbi, const void *dkey, size_t dklen,
		   bool copy)
{
	const struct kv_entry *S = kv_ptr(b->db, src->loc.entry);
	struct kv_newent n = { KV_TYPE_ENTRY, 0, dkey, NULL, dklen, 0,
			       dst->hash, src->expire_ms, false, 0 };
	struct kv_key again;
	uint64_t hoff, off;
	int err;

	if (copy)
		err = kv_copy_value(b, S, &n, &hoff);
	else {
		kv_newent_value(b->db, &b->t, src->loc.entry, &n);
		err = 0;
	}
	if (err || (err = kv_new_entry(b, &n, &off)))
		return err;
	if (dst->found) {
		kv_note_drop(b, dst);
		err = table_replace(&b->t, dst->tab, &dst->loc, off);
	} else if (!(err = table_insert(&b->t, dst->tab, off))) {
		err = kv_delta(b, ddbi, 1);
	}
	if (err || copy)
		return err;
	/* The insert may have changed the word that pointed at the old
	 * entry (same chain): look it up again. */
	if ((err = kv_find(b, dbi, key, klen, false, &again)))
		return err;
	if ((err = table_unlink(&b->t, again.tab, &again.loc)))
		return err;
	return kv_delta(b, dbi, -1);
}

/*
 * kv_rekey -- pkv_batch_rename / pkv_batch_copy: both keys held, then
 * decided and written as one operation of the batch (kv_exec's rules:
 * its result, or an error that leaves nothing of it and fails the batch).
 */
static int kv_rekey(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, unsigned ddbi, const void *dkey, size_t dklen,
		    unsigned flags, bool copy)
{
	bool same = dbi == ddbi && klen == dklen &&
		    (klen == 0 || memcmp(key, dkey, klen) == 0);
	struct kv_key src, dst;
	struct kv_save s;
	int err, r = 0;

	if ((err = kv_read_check(b->db, dbi, key, klen)) ||
	    (err = kv_read_check(b->db, ddbi, dkey, dklen)))
		goto fail;
	if ((flags & ~PKV_NX) || (copy && same)) {
		err = kv_err(b->db, PKV_EINVAL, copy && same ? "a key copied "
			     "to itself" : "bad flags 0x%x", flags);
		goto fail;
	}
	if ((err = kv_find(b, dbi, key, klen, true, &src)) ||
	    (err = kv_find(b, ddbi, dkey, dklen, true, &dst)) ||
	    (err = kv_tx(b)))
		goto fail;
	if (!src.present)
		r = PKV_ENOTFOUND;
	else if (!same && (flags & PKV_NX) && dst.present)
		r = PKV_EEXIST;
	if (r || same) {
		if ((err = kv_result(b, r)))
			goto fail;
		return r;
	}
	kv_save(b, &s);
	if ((err = kv_move(b, &src, &dst, dbi, key, klen, ddbi, dkey, dklen,
			   copy))) {
		kv_restore(b, &s);
		kv_err(b->db, err, err == PKV_EFULL ? "pool is full: no room "
		       "for the write (existing keys are intact)" :
		       "write failed: %s", pkv_strerror(err));
		goto fail;
	}
	if ((err = kv_result(b, 0)))
		goto fail;
	return 0;
fail:
	if (!b->err) {
		b->err = err;
		b->err_at = b->nres;
	}
	return err;
}

/* pkv_batch_rename -- move a key of any type. */
int pkv_batch_rename(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, unsigned ddbi, const void *dkey,
		     size_t dklen, unsigned flags)
{
	return kv_rekey(b, dbi, key, klen, ddbi, dkey, dklen, flags, false);
}

/* pkv_batch_copy -- copy a key of any type. */
int pkv_batch_copy(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   unsigned ddbi, const void *dkey, size_t dklen,
		   unsigned flags)
{
	return kv_rekey(b, dbi, key, klen, ddbi, dkey, dklen, flags, true);
}
