/*
 * kv.c -- the key-value calls: the write path shared by single writes and
 * batches (kv_apply), the lock-free reads, and active expiry.
 *
 * A write call, single or batched, runs in four steps:
 *   1. lock: each database touched shared, each stripe touched, in the
 *      global order (kv_int.h);
 *   2. decide in memory: look every distinct key up once, then play the
 *      operations in order on those states, so conditions (NX, XX, a
 *      missing key) see the effect of earlier operations of the batch;
 *   3. write: one transaction changes each key at most once -- a new entry
 *      replacing or inserted, an unlink, or an expiry word -- and commits:
 *      durable before the call returns;
 *   4. help a resize in progress on the stripes still held, unlock, and
 *      start or finish a resize if it is due.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_int.h"

#define KV_MOVES_PER_WRITE 16   /* resize work a write does on its stripe */

/* The state of one distinct key while a write call decides. */
struct kstate {
	unsigned dbi;
	uint64_t hash;
	const void *key;
	size_t klen;
	bool found;                   /* an entry is in the table */
	struct kv_loc loc;            /* where, if found */
	bool present;                 /* logically: found and not expired */
	bool dirty;                   /* something to write */
	bool new_value;               /* val/vlen replace the stored value */
	const void *val;
	size_t vlen;
	int64_t expire_ms;
};

/* A (database, stripe) pair to lock. */
struct lockid {
	unsigned dbi, stripe;
};

static int lockid_cmp(const void *a, const void *b)
{
	const struct lockid *x = a, *y = b;
	if (x->dbi != y->dbi)
		return x->dbi < y->dbi ? -1 : 1;
	return x->stripe < y->stripe ? -1 : x->stripe > y->stripe;
}

/* pkv_now_ms -- Unix time in milliseconds. */
int64_t pkv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* kv_check_op -- validate one operation's arguments. */
static int kv_check_op(const pkv *db, const struct kv_op *op)
{
	if (op->dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range "
			      "(the pool has %u)", op->dbi, db->ndbs);
	if (!op->key && op->klen)
		return kv_err(db, PKV_EINVAL, "NULL key");
	if (op->klen > UINT32_MAX || op->vlen > UINT32_MAX ||
	    (!op->val && op->vlen))
		return kv_err(db, PKV_EINVAL, "key or value too long "
			      "(at most 4 GiB - 1) or NULL value");
	if (op->flags & ~(PKV_NX | PKV_XX | PKV_KEEPTTL) ||
	    (op->flags & PKV_NX && op->flags & PKV_XX))
		return kv_err(db, PKV_EINVAL, "bad flags 0x%x", op->flags);
	if (op->expire_ms < 0)
		return kv_err(db, PKV_EINVAL, "negative expiry time");
	return 0;
}

/* kv_decide -- play op on its key's state; the operation's result. */
static int kv_decide(struct kstate *k, const struct kv_op *op, int64_t now)
{
	switch (op->op) {
	case KV_OP_PUT:
		if ((op->flags & PKV_NX) && k->present)
			return PKV_EEXIST;
		if ((op->flags & PKV_XX) && !k->present)
			return PKV_ENOTFOUND;
		if (!(op->flags & PKV_KEEPTTL) || !k->present)
			k->expire_ms = (op->flags & PKV_KEEPTTL) ? 0
								 : op->expire_ms;
		k->val = op->val;
		k->vlen = op->vlen;
		k->new_value = true;
		k->present = true;
		break;
	case KV_OP_DEL:
		if (!k->present) {
			k->dirty |= k->found;  /* an expired entry: remove */
			return PKV_ENOTFOUND;
		}
		k->present = false;
		break;
	case KV_OP_DEL_EXPIRED:
		if (k->present || !k->found)
			return PKV_ENOTFOUND;
		k->dirty = true;
		return 0;
	case KV_OP_EXPIRE:
		if (!k->present) {
			k->dirty |= k->found;
			return PKV_ENOTFOUND;
		}
		k->expire_ms = op->expire_ms;
		break;
	}
	/* A time already past removes the key, as in Redis. */
	if (k->present && k->expire_ms && k->expire_ms <= now)
		k->present = false;
	k->dirty = true;
	return 0;
}

/* kv_write_key -- the transaction's change for one decided key; the
 * change in key count to *dcount. */
static int kv_write_key(pkv *db, struct kvtx *t, const struct kstate *k,
			int *dcount)
{
	const struct kv_table *tab = kv_table_of(db, k->dbi);
	struct kv_loc loc;
	uint64_t off;
	int err;

	*dcount = 0;
	/* Find the key again through the transaction: an earlier key of the
	 * same batch may have replaced or unlinked the entry whose next word
	 * pointed to this one, so the location found while deciding can be
	 * stale. */
	if (k->found &&
	    !table_find(db, t, tab, k->hash, k->key, k->klen, &loc))
		return PKV_ECORRUPT;  /* cannot be: the stripe is held */
	if (!k->present) {
		if (!k->found)
			return 0;
		*dcount = -1;
		return table_unlink(t, tab, &loc);
	}
	if (k->found && !k->new_value) {
		/* Only the expiry changes: one word in place. */
		const struct kv_entry *E = kv_ptr(db, loc.entry);
		uint64_t st = kv_load(&tab->stripes) +
			(k->hash & (KV_STRIPES - 1)) * sizeof(struct kv_stripe);
		int64_t d = (k->expire_ms != 0) - (E->expire_ms != 0);
		if (E->expire_ms == k->expire_ms)
			return 0;
		err = kvtx_set(t, loc.entry + offsetof(struct kv_entry,
							expire_ms),
			       (uint64_t)k->expire_ms);
		if (!err && d)
			err = kvtx_add(t, st + offsetof(struct kv_stripe,
							expires), d);
		return err;
	}
	/* Only next and expire_ms change in place later: the rest is fixed,
	 * so the commit checksum covers it and it needs no fence. */
	err = tx_alloc_fixed(t->tx, sizeof(struct kv_entry) + k->klen +
			     k->vlen, KV_TYPE_ENTRY, KV_ENTRY_MUTABLE, &off);
	if (err)
		return err;
	/* The value goes straight into its block in the pool. */
	struct kv_entry *E = kv_ptr(db, off);
	E->next = 0;
	E->expire_ms = k->expire_ms;
	E->hash = k->hash;
	E->klen = (uint32_t)k->klen;
	E->vlen = (uint32_t)k->vlen;
	E->vtype = 0;
	E->flags = 0;
	if (k->klen)
		memcpy((char *)(E + 1), k->key, k->klen);
	if (k->vlen)
		memcpy((char *)(E + 1) + k->klen, k->val, k->vlen);
	E->csum = kv_entry_csum(E);
	atomic_fetch_add_explicit(&db->payload_bytes, k->klen + k->vlen,
				  memory_order_relaxed);
	if (k->found)
		return table_replace(t, tab, &loc, off);
	*dcount = 1;
	return table_insert(t, tab, off);
}

/* kv_after_write -- resize work on held stripes (step 4, first half). */
static void kv_help_stripes(pkv *db, const struct lockid *ids, size_t nids,
			    bool *finish)
{
	for (size_t i = 0; i < nids; i++) {
		struct kv_table *tab = kv_table_of(db, ids[i].dbi);
		if (table_resizing(tab) &&
		    table_migrate(db, tab, ids[i].stripe,
				  KV_MOVES_PER_WRITE) == 2)
			finish[ids[i].dbi] = true;
	}
}

/* kv_prepared -- whether tab has the bucket array its next resize takes. */
static bool kv_prepared(const pkv *db, const struct kv_table *tab)
{
	const struct kv_buckets *cur = kv_ptr(db, kv_load(&tab->cur));
	uint64_t p = kv_load(&tab->prepared);

	return p && ((const struct kv_buckets *)kv_ptr(db, p))->log2 ==
		    cur->log2 + 1;
}

/* kv_prepare_resize -- make the next bucket array ready (database lock
 * held shared; skips when another thread is at it). */
static void kv_prepare_resize(pkv *db, unsigned dbi)
{
	struct kv_db *d = &db->dbs[dbi];

	if (pthread_mutex_trylock(&d->resize_mtx))
		return;
	table_resize_prepare(db, kv_table_of(db, dbi)); /* PKV_EFULL: later */
	pthread_mutex_unlock(&d->resize_mtx);
}

/*
 * kv_maybe_resize -- keep a table at about one key per bucket.  From
 * three quarters full the next, twice bigger bucket array is made ready
 * (zeroed and durable: milliseconds for a big table) beside the writers,
 * by the maintenance thread when there is one (`inline_ok` false: the
 * writer only asks), else by this thread; once full, the ready array is
 * published under the exclusive lock, which is short.  A resize whose
 * stripes have all moved is finished the same way.  No lock held.
 */
static void kv_maybe_resize(pkv *db, unsigned dbi, bool finish,
			    bool inline_ok)
{
	struct kv_db *d = &db->dbs[dbi];
	struct kv_table *tab = kv_table_of(db, dbi);
	const struct kv_buckets *cur = kv_ptr(db, kv_load(&tab->cur));
	uint64_t keys = (uint64_t)atomic_load(&d->count);
	uint64_t nb = kv_mask(cur) + 1;
	bool resizing = table_resizing(tab);
	bool start = !resizing && keys > nb;

	if (!resizing && keys > nb - nb / 4 && !kv_prepared(db, tab)) {
		if (!inline_ok) {
			/* Ask the maintenance thread, once. */
			if (!atomic_exchange(&d->resize_wanted, true)) {
				pthread_mutex_lock(&db->thread_mtx);
				pthread_cond_signal(&db->thread_cond);
				pthread_mutex_unlock(&db->thread_mtx);
			}
			start = false;
		} else {
			pthread_rwlock_rdlock(&d->lock);
			kv_prepare_resize(db, dbi);
			pthread_rwlock_unlock(&d->lock);
		}
	}
	if (!start && !finish)
		return;
	pthread_rwlock_wrlock(&d->lock);
	tab = kv_table_of(db, dbi);
	if (start)
		table_resize_start(db, tab);  /* none ready: later */
	else
		table_resize_finish(db, tab);
	pthread_rwlock_unlock(&d->lock);
}

/* kv_apply -- the write path (see the top of the file). */
int kv_apply(pkv *db, const struct kv_op *ops, size_t n, int *results)
{
	struct kstate kst1, *ks = &kst1;
	struct lockid lid1, *ids = &lid1;
	size_t nks = 0, nids = 0;
	bool finish[KV_MAX_DBS] = { false };
	int64_t dcount[KV_MAX_DBS] = { 0 };
	int64_t now = pkv_now_ms();
	struct kvtx t;
	int err = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((err = kv_check_op(db, &ops[i])))
			return err;
	if (n > 1) {
		ks = calloc(n, sizeof(*ks));
		ids = calloc(n, sizeof(*ids));
		if (!ks || !ids) {
			free(ks);
			free(ids);
			return kv_err(db, -ENOMEM, "out of memory");
		}
	}

	/* 1. lock */
	for (size_t i = 0; i < n; i++) {
		uint64_t h = kv_hash(db, ops[i].key, ops[i].klen);
		ids[i].dbi = ops[i].dbi;
		ids[i].stripe = (unsigned)(h & (KV_STRIPES - 1));
	}
	qsort(ids, n, sizeof(*ids), lockid_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || lockid_cmp(&ids[i], &ids[nids - 1]))
			ids[nids++] = ids[i];
	for (size_t i = 0; i < nids; i++) {
		if (i == 0 || ids[i].dbi != ids[i - 1].dbi)
			pthread_rwlock_rdlock(&db->dbs[ids[i].dbi].lock);
		pthread_mutex_lock(&db->dbs[ids[i].dbi].stripe[ids[i].stripe]);
	}

	/* 2. decide */
	for (size_t i = 0; i < n; i++) {
		const struct kv_op *op = &ops[i];
		uint64_t h = kv_hash(db, op->key, op->klen);
		struct kstate *k = NULL;
		int r;
		for (size_t j = 0; j < nks && !k; j++)
			if (ks[j].dbi == op->dbi && ks[j].hash == h &&
			    ks[j].klen == op->klen &&
			    (op->klen == 0 || memcmp(ks[j].key, op->key, op->klen) == 0))
				k = &ks[j];
		if (!k) {
			const struct kv_entry *E;
			k = &ks[nks++];
			memset(k, 0, sizeof(*k));
			k->dbi = op->dbi;
			k->hash = h;
			k->key = op->key;
			k->klen = op->klen;
			k->found = table_find(db, NULL, kv_table_of(db, op->dbi),
					      h, op->key, op->klen, &k->loc);
			if (k->found) {
				E = kv_ptr(db, k->loc.entry);
				k->present = !kv_expired(E, now);
				k->expire_ms = E->expire_ms;
				k->val = kv_entry_val(E);
				k->vlen = E->vlen;
			}
		}
		r = kv_decide(k, op, now);
		if (results)
			results[i] = r;
	}

	/* 3. write */
	bool any = false;
	for (size_t j = 0; j < nks; j++)
		any |= ks[j].dirty;
	if (any) {
		if ((err = kvtx_begin(db, &t)))
			goto unlock;
		for (size_t j = 0; j < nks && !err; j++) {
			int dc = 0;
			if (ks[j].dirty)
				err = kv_write_key(db, &t, &ks[j], &dc);
			dcount[ks[j].dbi] += dc;
		}
		if (err) {
			kvtx_abort(&t);
			if (err == PKV_EFULL)
				kv_err(db, err, "pool is full: no room for the "
				       "write (existing keys are intact)");
			else if (err == PKV_ETXTOOBIG)
				kv_err(db, err, "%zu operations are too many "
				       "for one transaction", n);
			else
				kv_err(db, err, "write failed: %s",
				       pkv_strerror(err));
			goto unlock;
		}
		err = kvtx_commit(&t);
		/* A failed write-back (-errno) comes after the changes were
		 * applied in memory: count them.  PKV_E* codes mean nothing
		 * was applied. */
		if (!err || err > PKV_EFIRST)
			for (unsigned d = 0; d < db->ndbs; d++)
				if (dcount[d])
					atomic_fetch_add(&db->dbs[d].count,
							 dcount[d]);
		if (err) {
			kv_err(db, err, "commit failed: %s", err > PKV_EFIRST ?
			       "the write is applied but could not be made "
			       "durable (I/O error)" : pkv_strerror(err));
			goto unlock;
		}
	}

	/* 4. help, unlock, resize */
	kv_help_stripes(db, ids, nids, finish);
unlock:
	for (size_t i = nids; i-- > 0;) {
		pthread_mutex_unlock(&db->dbs[ids[i].dbi].stripe[ids[i].stripe]);
		if (i == 0 || ids[i].dbi != ids[i - 1].dbi)
			pthread_rwlock_unlock(&db->dbs[ids[i].dbi].lock);
	}
	if (!err)
		for (size_t i = 0; i < nids; i++)
			if (i == 0 || ids[i].dbi != ids[i - 1].dbi)
				kv_maybe_resize(db, ids[i].dbi,
						finish[ids[i].dbi],
						!db->thread_running);
	/* Resize work after the commit may have hit a failed write-back:
	 * the pool can no longer make writes durable, so say so now. */
	if (!err && (err = persist_failed(&db->pool->persist)))
		kv_err(db, err, "I/O error: the pool can no longer make writes "
		       "durable (%s); reopen it", strerror(-err));
	if (ks != &kst1) {
		free(ks);
		free(ids);
	}
	return err;
}

/* ---- single writes ---- */

/* kv_one -- apply one operation; its condition result if the write
 * itself succeeded. */
static int kv_one(pkv *db, const struct kv_op *op)
{
	int r = 0, err = kv_apply(db, op, 1, &r);
	return err ? err : r;
}

/* pkv_put -- set a key. */
int pkv_put(pkv *db, unsigned dbi, const void *key, size_t klen,
	    const void *val, size_t vlen, unsigned flags, int64_t expire_ms)
{
	struct kv_op op = { KV_OP_PUT, dbi, key, klen, val, vlen, flags,
			    expire_ms };
	return kv_one(db, &op);
}

/* pkv_del -- remove a key. */
int pkv_del(pkv *db, unsigned dbi, const void *key, size_t klen)
{
	struct kv_op op = { KV_OP_DEL, dbi, key, klen, NULL, 0, 0, 0 };
	return kv_one(db, &op);
}

/* pkv_expire -- set or clear a key's expiry. */
int pkv_expire(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t expire_ms)
{
	struct kv_op op = { KV_OP_EXPIRE, dbi, key, klen, NULL, 0, 0,
			    expire_ms };
	return kv_one(db, &op);
}

/* ---- reads ---- */

/* kv_read_check -- the arguments of a read. */
static int kv_read_check(const pkv *db, unsigned dbi, const void *key,
			 size_t klen)
{
	if (dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range "
			      "(the pool has %u)", dbi, db->ndbs);
	if (!key && klen)
		return kv_err(db, PKV_EINVAL, "NULL key");
	return 0;
}

/* kv_find_live -- inside a section: the live entry of key, or NULL. */
static const struct kv_entry *kv_find_live(pkv *db, unsigned dbi,
					   const void *key, size_t klen)
{
	uint64_t e = table_lookup(db, dbi, kv_hash(db, key, klen), key, klen);
	const struct kv_entry *E = e ? kv_ptr(db, e) : NULL;

	return E && !kv_expired(E, pkv_now_ms()) ? E : NULL;
}

/* pkv_get_ref -- find a value and hold it in place. */
int pkv_get_ref(pkv *db, unsigned dbi, const void *key, size_t klen,
		struct pkv_ref *ref)
{
	const struct kv_entry *E;
	struct epoch_ticket tk;
	int err = kv_read_check(db, dbi, key, klen);

	if (err)
		return err;
	tk = epoch_enter(heap_epoch(db->heap));
	E = kv_find_live(db, dbi, key, klen);
	if (!E) {
		epoch_exit(tk);
		return PKV_ENOTFOUND;
	}
	ref->val = kv_entry_val(E);
	ref->vlen = E->vlen;
	ref->expire_ms = kv_entry_expire(E);
	ref->priv_[0] = tk.slot;
	ref->priv_[1] = (void *)(uintptr_t)tk.phase;
	return 0;
}

/* pkv_ref_release -- leave the reference's section. */
void pkv_ref_release(struct pkv_ref *ref)
{
	struct epoch_ticket tk = { ref->priv_[0],
				   (unsigned)(uintptr_t)ref->priv_[1] };

	if (!tk.slot)
		return;
	ref->priv_[0] = NULL;
	ref->val = NULL;
	epoch_exit(tk);
}

/* pkv_exists -- whether a live key exists. */
int pkv_exists(pkv *db, unsigned dbi, const void *key, size_t klen)
{
	return pkv_get(db, dbi, key, klen, NULL, 0, NULL);
}

/* pkv_get -- copy a value out: a reference, held just for the copy. */
int pkv_get(pkv *db, unsigned dbi, const void *key, size_t klen, void *buf,
	    size_t bufsize, size_t *vlen)
{
	struct pkv_ref ref;
	int err = pkv_get_ref(db, dbi, key, klen, &ref);

	if (err)
		return err;
	if (buf && bufsize)
		memcpy(buf, ref.val, ref.vlen < bufsize ? ref.vlen : bufsize);
	if (vlen)
		*vlen = ref.vlen;
	pkv_ref_release(&ref);
	return 0;
}

/* pkv_ttl -- a key's expiry, through a reference. */
int pkv_ttl(pkv *db, unsigned dbi, const void *key, size_t klen,
	    int64_t *expire_ms)
{
	struct pkv_ref ref;
	int err = pkv_get_ref(db, dbi, key, klen, &ref);

	if (err)
		return err;
	if (expire_ms)
		*expire_ms = ref.expire_ms;
	pkv_ref_release(&ref);
	return 0;
}

/* ---- batches ---- */

struct pkv_batch {
	pkv *db;
	struct kv_op *ops;
	size_t n, cap;
	int err;                      /* first failure while building */
};

/* pkv_batch_begin -- an empty batch. */
int pkv_batch_begin(pkv *db, pkv_batch **bp)
{
	pkv_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return kv_err(db, -ENOMEM, "out of memory");
	b->db = db;
	*bp = b;
	return 0;
}

/* batch_add -- append op with copies of its key and value. */
static int batch_add(pkv_batch *b, struct kv_op op)
{
	char *copy;
	int err = kv_check_op(b->db, &op);

	if (!err && b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct kv_op *o = realloc(b->ops, cap * sizeof(*o));
		if (o) {
			b->ops = o;
			b->cap = cap;
		} else {
			err = kv_err(b->db, -ENOMEM, "out of memory");
		}
	}
	if (!err) {
		copy = malloc(op.klen + op.vlen + 1);
		if (!copy) {
			err = kv_err(b->db, -ENOMEM, "out of memory");
		} else {
			if (op.klen)
				memcpy(copy, op.key, op.klen);
			if (op.vlen)
				memcpy(copy + op.klen, op.val, op.vlen);
			op.key = copy;
			op.val = copy + op.klen;
			b->ops[b->n++] = op;
		}
	}
	if (err && !b->err)
		b->err = err;
	return err;
}

/* pkv_batch_put -- add a put. */
int pkv_batch_put(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		  const void *val, size_t vlen, unsigned flags,
		  int64_t expire_ms)
{
	struct kv_op op = { KV_OP_PUT, dbi, key, klen, val, vlen, flags,
			    expire_ms };
	return batch_add(b, op);
}

/* pkv_batch_del -- add a delete. */
int pkv_batch_del(pkv_batch *b, unsigned dbi, const void *key, size_t klen)
{
	struct kv_op op = { KV_OP_DEL, dbi, key, klen, NULL, 0, 0, 0 };
	return batch_add(b, op);
}

/* pkv_batch_expire -- add an expiry change. */
int pkv_batch_expire(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, int64_t expire_ms)
{
	struct kv_op op = { KV_OP_EXPIRE, dbi, key, klen, NULL, 0, 0,
			    expire_ms };
	return batch_add(b, op);
}

/* pkv_batch_abort -- free the batch. */
void pkv_batch_abort(pkv_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free((void *)b->ops[i].key);
	free(b->ops);
	free(b);
}

/* pkv_batch_commit -- apply it all as one transaction, then free it. */
int pkv_batch_commit(pkv_batch *b, int *results)
{
	int err = b->err ? b->err : kv_apply(b->db, b->ops, b->n, results);

	pkv_batch_abort(b);
	return err;
}

/* ---- active expiry ---- */

#define EXPIRE_BATCH 32

struct expire_ctx {
	struct kv_op ops[EXPIRE_BATCH];
	unsigned n;
	unsigned dbi;
};

/* expire_collect -- table_scan callback (expired entries only): copy the
 * key; stop when the batch is full. */
static int expire_collect(void *vctx, const void *key, size_t klen,
			  const void *val, size_t vlen, int64_t expire_ms)
{
	struct expire_ctx *c = vctx;
	void *copy = malloc(klen ? klen : 1);

	(void)val;
	(void)vlen;
	(void)expire_ms;
	if (!copy)
		return 1;
	memcpy(copy, key, klen);
	c->ops[c->n] = (struct kv_op){ KV_OP_DEL_EXPIRED, c->dbi, copy, klen,
				       NULL, 0, 0, 0 };
	return ++c->n == EXPIRE_BATCH;
}

/* kv_expire_cycle -- remove expired keys of dbi from the database's
 * expiry cursor on, until the budget is spent or the scan wraps. */
void kv_expire_cycle(pkv *db, unsigned dbi, uint64_t budget_ns)
{
	struct timespec ts;
	uint64_t expires, t0, now;

	table_count(db, kv_table_of(db, dbi), NULL, &expires);
	if (!expires)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	do {
		struct expire_ctx c = { .n = 0, .dbi = dbi };
		struct epoch_ticket tk = epoch_enter(heap_epoch(db->heap));
		uint64_t next;
		int results[EXPIRE_BATCH];

		table_scan_expired(db, dbi, db->expire_cursor[dbi], 64,
				   expire_collect, &c, &next);
		epoch_exit(tk);
		db->expire_cursor[dbi] = next;
		/* Deletes only what is still expired under the lock: a key
		 * set again meanwhile stays. */
		if (c.n && kv_apply(db, c.ops, c.n, results) == 0)
			for (unsigned i = 0; i < c.n; i++)
				if (results[i] == 0)
					atomic_fetch_add(&db->expired_keys, 1);
		for (unsigned i = 0; i < c.n; i++)
			free((void *)c.ops[i].key);
		if (next == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	} while (now - t0 < budget_ns);
}

/* kv_help_resize -- the maintenance thread's share of a resize: stripes
 * no writer is holding move some buckets; a finished resize is closed. */
void kv_help_resize(pkv *db, unsigned dbi)
{
	struct kv_db *d = &db->dbs[dbi];
	unsigned done = 0;

	/*
	 * The database lock is taken per stripe, not for the whole pass: a
	 * writer finishing or starting a resize waits for it exclusively,
	 * and behind that writer (the lock prefers writers) every other
	 * writer of the database -- the whole server.  One stripe's move
	 * is short; a pass over 256 stripes with a commit each is not.
	 */
	for (unsigned s = 0; s < KV_STRIPES; s++) {
		struct kv_table *tab;
		int r = 0;
		pthread_rwlock_rdlock(&d->lock);
		tab = kv_table_of(db, dbi);
		if (!table_resizing(tab)) {
			pthread_rwlock_unlock(&d->lock);
			break;
		}
		if (pthread_mutex_trylock(&d->stripe[s]) == 0) {
			r = table_migrate(db, tab, s, 64);
			pthread_mutex_unlock(&d->stripe[s]);
		}
		pthread_rwlock_unlock(&d->lock);
		done += r == 1 || r == 2;
	}
	atomic_store(&d->resize_wanted, false);
	kv_maybe_resize(db, dbi, done == KV_STRIPES, true);
}
