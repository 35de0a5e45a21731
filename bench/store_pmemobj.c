/*
 * store_pmemobj.c -- the store a PMDK user would write instead of pkv: a
 * chained hash table in a libpmemobj pool, every change in a libpmemobj
 * transaction.
 *
 * The root object points to a bucket array of PMEMoids, allocated (zeroed)
 * at create with a fixed size: the next power of two at or above the key
 * count, so chains stay about one entry long and no resize is needed.  An
 * entry holds its key and value inline.
 *
 *   put:    TX_BEGIN { entry = pmemobj_tx_alloc(...); fill it;
 *                      pmemobj_tx_add_range_direct(link); *link = entry;
 *                      pmemobj_tx_free(old entry, on overwrite) } TX_END
 *   delete: TX_BEGIN { add_range(link); *link = next; tx_free(entry) }
 *   get:    walk the chain, copy the value out.
 *
 * link is the bucket slot for a new key (new entries go at the head), or
 * the pointer to the entry being replaced.  Objects allocated in a
 * transaction are flushed by libpmemobj at commit; the slot is undo-logged
 * by add_range.  So every put and delete is durable and atomic on return.
 *
 * With more than one thread, a volatile rwlock per stripe of buckets
 * guards the chains (readers must not walk into an entry a writer frees);
 * with one thread no lock is taken, the peer's best case.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkvbench.h"

#ifdef PKVBENCH_PEERS
#include <libpmemobj.h>

#define PH_LAYOUT "pkvbench-chained-hash"
#define PH_TYPE_BUCKETS 1
#define PH_TYPE_ENTRY 2
#define PH_STRIPES 1024

struct ph_root {
	uint64_t nbuckets;            /* a power of two */
	PMEMoid buckets;              /* nbuckets PMEMoid chain heads */
};

struct ph_entry {
	PMEMoid next;                 /* next entry in the chain */
	uint64_t hash;                /* of the key */
	uint32_t klen, vlen;
	char kv[];                    /* key, then value */
};

struct store {
	PMEMobjpool *pop;
	PMEMoid *buckets;
	uint64_t mask;
	uint64_t pool_size;
	bool locking;
	pthread_rwlock_t stripe[PH_STRIPES];
	char path[4096];
	char desc[128];
};

/* ph_hash -- FNV-1a over the key, then a 64-bit finalizer. */
static uint64_t ph_hash(const void *k, size_t kl)
{
	const unsigned char *p = k;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < kl; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return mix64(h);
}

static int ph_open(struct store **sp, const char *dir, uint64_t keys,
		   double vavg, bool create)
{
	struct store *s = calloc(1, sizeof(*s));
	struct ph_root *root;
	volatile uint64_t nb = 1024;
	volatile int rc = 0;

	if (!s)
		return -ENOMEM;
	store_path(s->path, sizeof(s->path), dir, "pmemobj", "pool");
	while (nb < keys)
		nb <<= 1;
	if (create) {
		/* entry: 16-byte allocation header + struct + key + value,
		 * rounded to an allocation class; twice that for the classes'
		 * waste and overwrites in flight. */
		double per = (16.0 + sizeof(struct ph_entry) + KEY_LEN + vavg) * 2;
		s->pool_size = (uint64_t)((double)keys * per) + nb * 16 +
			       (128ull << 20);
		if (g_opt.pool_mib)
			s->pool_size = g_opt.pool_mib << 20;
		unlink(s->path);
		s->pop = pmemobj_create(s->path, PH_LAYOUT, s->pool_size, 0644);
	} else {
		s->pop = pmemobj_open(s->path, PH_LAYOUT);
	}
	if (!s->pop) {
		fprintf(stderr, "pkvbench: pmemobj: %s\n", pmemobj_errormsg());
		free(s);
		return -EIO;
	}
	root = pmemobj_direct(pmemobj_root(s->pop, sizeof(struct ph_root)));
	if (create) {
		TX_BEGIN(s->pop) {
			pmemobj_tx_add_range_direct(root, sizeof(*root));
			root->buckets = pmemobj_tx_zalloc(nb * sizeof(PMEMoid),
							  PH_TYPE_BUCKETS);
			root->nbuckets = nb;
		} TX_ONABORT {
			rc = -errno;
		} TX_END
		if (rc) {
			fprintf(stderr, "pkvbench: pmemobj: bucket array: %s\n",
				pmemobj_errormsg());
			pmemobj_close(s->pop);
			free(s);
			return rc;
		}
	}
	s->buckets = pmemobj_direct(root->buckets);
	s->mask = root->nbuckets - 1;
	if (!s->pool_size) {
		FILE *f = fopen(s->path, "r");
		if (f) {
			fseek(f, 0, SEEK_END);
			s->pool_size = (uint64_t)ftell(f);
			fclose(f);
		}
	}
	s->locking = g_opt.threads > 1;
	for (int i = 0; i < PH_STRIPES; i++)
		pthread_rwlock_init(&s->stripe[i], NULL);
	snprintf(s->desc, sizeof(s->desc), "pool %.0f MiB, %llu buckets",
		 (double)s->pool_size / 1048576.0,
		 (unsigned long long)root->nbuckets);
	*sp = s;
	return 0;
}

/* ph_find -- the link (bucket slot or a next field) that points to key's
 * entry, or NULL; *headp gets the bucket slot. */
static PMEMoid *ph_find(struct store *s, uint64_t h, const void *k,
			size_t kl, PMEMoid **headp)
{
	PMEMoid *p = &s->buckets[h & s->mask];

	*headp = p;
	while (!OID_IS_NULL(*p)) {
		struct ph_entry *e = pmemobj_direct(*p);
		if (e->hash == h && e->klen == kl && !memcmp(e->kv, k, kl))
			return p;
		p = &e->next;
	}
	return NULL;
}

static pthread_rwlock_t *ph_lock(struct store *s, uint64_t h, bool write)
{
	pthread_rwlock_t *l = &s->stripe[(h & s->mask) % PH_STRIPES];

	if (!s->locking)
		return NULL;
	if (write)
		pthread_rwlock_wrlock(l);
	else
		pthread_rwlock_rdlock(l);
	return l;
}

static void ph_unlock(pthread_rwlock_t *l)
{
	if (l)
		pthread_rwlock_unlock(l);
}

/* ph_tx_put -- the transaction of a put: a new entry linked at `link`
 * (the bucket slot, or the link to the entry it replaces). */
static int ph_tx_put(struct store *s, uint64_t h, PMEMoid *head,
		     PMEMoid *old, const void *k, size_t kl, const void *v,
		     size_t vl)
{
	PMEMoid *link = old ? old : head;
	volatile int rc = 0;

	TX_BEGIN(s->pop) {
		PMEMoid n = pmemobj_tx_alloc(sizeof(struct ph_entry) + kl + vl,
					     PH_TYPE_ENTRY);
		struct ph_entry *e = pmemobj_direct(n);

		e->hash = h;
		e->klen = (uint32_t)kl;
		e->vlen = (uint32_t)vl;
		memcpy(e->kv, k, kl);
		memcpy(e->kv + kl, v, vl);
		pmemobj_tx_add_range_direct(link, sizeof(*link));
		if (old) {
			struct ph_entry *o = pmemobj_direct(*old);
			e->next = o->next;
			pmemobj_tx_free(*old);
		} else {
			e->next = *head;
		}
		*link = n;
	} TX_ONABORT {
		rc = errno ? -errno : -EIO;
	} TX_END
	return rc;
}

static int ph_put(struct store *s, void *t, const void *k, size_t kl,
		  const void *v, size_t vl)
{
	uint64_t h = ph_hash(k, kl);
	pthread_rwlock_t *l = ph_lock(s, h, true);
	PMEMoid *head, *old = ph_find(s, h, k, kl, &head);
	int rc = ph_tx_put(s, h, head, old, k, kl, v, vl);

	ph_unlock(l);
	return rc;
}

static int ph_get(struct store *s, void *t, const void *k, size_t kl,
		  void *buf, size_t bufsize, size_t *vl)
{
	uint64_t h = ph_hash(k, kl);
	pthread_rwlock_t *l = ph_lock(s, h, false);
	PMEMoid *head, *p = ph_find(s, h, k, kl, &head);
	int rc = STORE_NOTFOUND;

	if (p) {
		const struct ph_entry *e = pmemobj_direct(*p);
		memcpy(buf, e->kv + e->klen,
		       e->vlen < bufsize ? e->vlen : bufsize);
		*vl = e->vlen;
		rc = 0;
	}
	ph_unlock(l);
	return rc;
}

/* ph_tx_del -- the transaction of a delete: unlink and free. */
static int ph_tx_del(struct store *s, PMEMoid *link)
{
	volatile int rc = 0;

	TX_BEGIN(s->pop) {
		PMEMoid victim = *link;
		struct ph_entry *e = pmemobj_direct(victim);

		pmemobj_tx_add_range_direct(link, sizeof(*link));
		*link = e->next;
		pmemobj_tx_free(victim);
	} TX_ONABORT {
		rc = errno ? -errno : -EIO;
	} TX_END
	return rc;
}

static int ph_del(struct store *s, void *t, const void *k, size_t kl)
{
	uint64_t h = ph_hash(k, kl);
	pthread_rwlock_t *l = ph_lock(s, h, true);
	PMEMoid *head, *link = ph_find(s, h, k, kl, &head);
	int rc = link ? ph_tx_del(s, link) : STORE_NOTFOUND;

	ph_unlock(l);
	return rc;
}

/* ph_stats -- libpmemobj counts no flushes; the allocated bytes come from
 * a walk of every object (outside the timed part): usable size plus the
 * 16-byte allocation header. */
static void ph_stats(struct store *s, struct store_stats *ss)
{
	double used = 0;
	PMEMoid o;

	ss->payload = ss->flushed = ss->fences = NAN;
	POBJ_FOREACH(s->pop, o)
		used += (double)pmemobj_alloc_usable_size(o) + 16;
	ss->used_bytes = used;
	ss->util = s->pool_size ? used / (double)s->pool_size : NAN;
}

static void ph_close(struct store *s, bool remove)
{
	pmemobj_close(s->pop);
	if (remove)
		unlink(s->path);
	for (int i = 0; i < PH_STRIPES; i++)
		pthread_rwlock_destroy(&s->stripe[i]);
	free(s);
}

static const char *ph_describe(struct store *s)
{
	return s->desc;
}

const struct store_ops store_pmemobj_ops = {
	.name = "pmemobj",
	.bit = STORE_PMEMOBJ,
	.note = "chained hash, one pmemobj tx per op",
	.open = ph_open,
	.put = ph_put,
	.get = ph_get,
	.del = ph_del,
	.stats = ph_stats,
	.close = ph_close,
	.describe = ph_describe,
};

#endif /* PKVBENCH_PEERS */
