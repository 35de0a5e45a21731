/*
 * layout.h -- the on-media layout of a pkv pool, and nothing else.
 *
 * Every structure that is stored in a pool file is defined here, with
 * compile-time checks of its size, so that a change to the format is
 * visible in one place and bumps POOL_LAYOUT_VERSION.  All integers are
 * little-endian (the only byte order pkv runs on), all persistent pointers
 * are byte offsets from the start of the pool, and 0 is the null offset
 * (offset 0 is the pool header, which nothing can point to).
 *
 * Map of a pool:
 *
 *   0                      struct pool_hdr    (immutable after create, checksummed)
 *   POOL_STATE_OFF         struct pool_state  (mutable words, each updated atomically)
 *   hdr.lanes_off          the redo area: 2 checkpoint slots (struct ckpt_hdr
 *                          + nlanes ring offsets each), then nlanes log rings
 *                          of hdr.log_size bytes
 *   hdr.chunk_hdr_off      nchunks x uint64_t chunk headers
 *   hdr.chunks_off         nchunks x hdr.chunk_size bytes of heap
 *
 * A chunk is free, the first chunk of a huge span, or a run of fixed-size
 * blocks of one size class.  A run starts with its allocation bitmap
 * (1 = allocated), then its blocks.  Every allocated block, in a run or a
 * huge span, starts with a struct block_hdr; the caller's data follows it.
 * The interior chunks of a huge span keep a FREE header: only the span's
 * first header describes it, so freeing a span is a single 8-byte store.
 */
#ifndef PKV_LAYOUT_H
#define PKV_LAYOUT_H

#include <stdint.h>
#include <assert.h>

#define POOL_MAGIC "PKVPOOL" /* 7 chars + NUL fill the 8-byte magic */
#define POOL_MAGIC_LEN 8
#define POOL_LAYOUT_VERSION 2u  /* 2: log rings and checkpoints */

#define POOL_HDR_SIZE 4096u       /* the header's page, state included */
#define POOL_HDR_CSUM_LEN 512u    /* bytes of pool_hdr covered by its checksum */
#define POOL_STATE_OFF 1024u      /* struct pool_state, in its own lines */
#define POOL_MIN_SIZE (8u << 20)  /* smallest pool create accepts */

#define CACHELINE 64u
#define CHUNK_SIZE (256u << 10)   /* 256 KiB, as PMDK: the chunks of a
				     pool made with POOL_SMALL_BELOW bytes
				     or more (hdr.chunk_size says which) */
#define CHUNK_SIZE_SMALL (64u << 10) /* those of a smaller pool: a run per
				     size class in use costs a quarter */
#define POOL_SMALL_BELOW (32ull << 20)
#define BLOCK_HDR_SIZE 16u        /* struct block_hdr */
#define BLOCK_ALIGN 16u           /* every block size is a multiple of this */

#define LOG_DEFAULT_SIZE 16384u   /* bytes of each lane's log ring */
#define LOG_MIN_SIZE 1024u
#define LOG_MAX_SIZE (64u << 20)
#define LOG_DEFAULT_LANES 64u
#define LOG_MAX_LANES 1024u

/*
 * pool_hdr.incompat_features: bits an implementation must understand.
 *
 * POOL_FEAT_GROW: the pool can grow.  hdr.nchunks is then the capacity of
 * the chunk header table (the most the heap may ever hold, fixed at
 * create), pool_state.heap_chunks the chunks in the heap now, and the file
 * holds at least chunks_off + heap_chunks * CHUNK_SIZE bytes.  Headers
 * past heap_chunks are zero (free).  A pool without the bit has all
 * hdr.nchunks chunks in its heap and cannot grow.
 */
#define POOL_FEAT_GROW 0x1ull
#define POOL_FEAT_INCOMPAT_KNOWN POOL_FEAT_GROW
#define POOL_MAX_CAPACITY (16ull << 40) /* 16 TiB: the address space a
					   growable pool reserves at most */

/* Immutable pool header; the first POOL_HDR_CSUM_LEN bytes are checksummed. */
struct pool_hdr {
	char magic[POOL_MAGIC_LEN];   /* POOL_MAGIC */
	uint32_t layout_version;      /* POOL_LAYOUT_VERSION */
	uint32_t hdr_size;            /* POOL_HDR_SIZE */
	uint8_t uuid[16];             /* random at create: names this pool */
	uint64_t pool_size;           /* bytes of the file at create (it
					 grows with POOL_FEAT_GROW) */
	uint64_t compat_features;     /* may be ignored if unknown */
	uint64_t incompat_features;   /* must be refused if unknown */
	uint64_t create_time;         /* seconds since the epoch */
	uint64_t chunk_size;          /* CHUNK_SIZE or CHUNK_SIZE_SMALL */
	uint64_t nchunks;             /* chunks in the heap; with
					 POOL_FEAT_GROW, the most it can hold */
	uint64_t chunk_hdr_off;       /* offset of the chunk header table */
	uint64_t chunks_off;          /* offset of chunk 0 */
	uint64_t lanes_off;           /* offset of the redo log area */
	uint32_t nlanes;              /* lanes; each has a log ring */
	uint32_t log_size;            /* bytes of each lane's ring */
	uint8_t reserved[POOL_HDR_CSUM_LEN - 112 - 8]; /* zero */
	uint64_t checksum;            /* csum64 of the bytes above, this field 0 */
};
static_assert(sizeof(struct pool_hdr) == POOL_HDR_CSUM_LEN, "pool_hdr size");

/*
 * Mutable pool state.  Each field is one aligned 8-byte word, written by a
 * single store and persisted on its own, or through a redo log entry, so it
 * needs no checksum: a torn update is impossible at 8-byte granularity.
 */
struct pool_state {
	uint64_t clean_shutdown;      /* 1 after a clean close, 0 while open */
	uint64_t root;                /* offset of the user's root block, or 0 */
	uint64_t heap_chunks;         /* POOL_FEAT_GROW: chunks in the heap
					 (only ever raised); else 0 */
	uint64_t reserved[5];         /* zero */
};
static_assert(sizeof(struct pool_state) == CACHELINE, "pool_state size");
static_assert(POOL_STATE_OFF >= POOL_HDR_CSUM_LEN, "state after header");

/* Chunk header word: kind in bits 0-7, class in 8-15, span in 32-63. */
#define CHUNK_FREE 0u   /* free (also every interior chunk of a huge span) */
#define CHUNK_RUN 1u    /* a run of blocks of one size class */
#define CHUNK_HUGE 2u   /* first chunk of an allocated span of chunks */
#define CHUNK_KIND(h) ((unsigned)((h) & 0xffu))
#define CHUNK_CLASS(h) ((unsigned)(((h) >> 8) & 0xffu))
#define CHUNK_SPAN(h) ((uint32_t)((h) >> 32))
#define CHUNK_HDR_RUN(cls) ((uint64_t)CHUNK_RUN | ((uint64_t)(cls) << 8))
#define CHUNK_HDR_HUGE(n) ((uint64_t)CHUNK_HUGE | ((uint64_t)(n) << 32))

/* Header at the start of every allocated block. */
struct block_hdr {
	uint64_t size;                /* bytes the caller asked for */
	uint32_t type;                /* caller's type tag (the GC's trace key) */
	uint32_t reserved;            /* zero */
};
static_assert(sizeof(struct block_hdr) == BLOCK_HDR_SIZE, "block_hdr size");

/*
 * Redo log records and checkpoints (redo.c has the argument).
 *
 * Each lane owns a ring of hdr.log_size bytes.  A commit appends one
 * record at the ring's head, 64-byte aligned; a record never wraps: one
 * that does not fit before the end starts at offset 0.  A record is valid
 * when its checksum matches: it covers the header (checksum field 0), the
 * `used` bytes of entries, and the pool bytes that BLOCK entries name, so
 * a record torn by a crash, never written, or whose new blocks did not all
 * reach the media, is simply invalid.
 *
 * A record stays replayable until a checkpoint's watermark passes its seq.
 * A checkpoint slot says: every record with seq <= watermark has its
 * effects durable in place, and each lane's records after that start at
 * tail[lane].  Two slots alternate; the valid one with the higher gen is
 * current (an all-zero slot is a valid slot of gen 0: a new pool).
 *
 * Entries are 8-byte aligned; each starts with a word holding the opcode
 * in its low 3 bits and the target offset (8-byte aligned) in the rest.
 */
#define LOG_OP_SET 1u   /* word = value */
#define LOG_OP_OR 2u    /* word |= value (allocation bitmap bits) */
#define LOG_OP_AND 3u   /* word &= value (clearing bitmap bits) */
#define LOG_OP_COPY 4u  /* value = length; then the bytes, padded to 8 */
#define LOG_OP_BLOCK 5u /* a block the transaction filled directly: target =
			   its data offset, value = size | prefix << 48; the
			   checksum covers its struct block_hdr and data bytes
			   [prefix, size); the first `prefix` bytes (words a
			   later transaction may change) follow, padded to 8,
			   and are copied back at replay */
#define LOG_OP_CHAIN 6u /* the record's entries are elsewhere (a record too
			   big for the ring): target = a byte area in free
			   heap space, value = its length; the checksum
			   covers it.  The record's only entry. */
#define LOG_OP_BLOCKCOPY 7u /* a block the transaction filled, carried whole
			   (the disk mode, where the block's pages are not
			   written before the commit, and a small block
			   that may change anywhere on persistent memory,
			   not fenced before it): target = its struct
			   block_hdr, value = bytes, header included; the
			   bytes follow, padded to 8, and are written back at
			   replay before the record's other entries */
#define LOG_ENTRY_OP(w) ((unsigned)((w) & 0x7u))
#define LOG_ENTRY_OFF(w) ((w) & ~(uint64_t)0x7)
#define LOG_BLOCK_SIZE(v) ((v) & ((1ull << 48) - 1))
#define LOG_BLOCK_PREFIX(v) ((v) >> 48)
#define LOG_BLOCK_PREFIX_MAX 0xffffu

struct log_rec {
	uint64_t checksum;            /* see above */
	uint64_t seq;                 /* global commit order, from 1 */
	uint32_t used;                /* bytes of entries after the header */
	uint16_t lane;                /* lane that wrote it (sanity check) */
	uint16_t flags;               /* zero */
};
static_assert(sizeof(struct log_rec) == 24, "log_rec size");

struct log_word_entry {
	uint64_t op_off;              /* opcode | target offset */
	uint64_t value;               /* operand */
};
static_assert(sizeof(struct log_word_entry) == 16, "log entry size");

struct ckpt_hdr {
	uint64_t checksum;            /* csum64 of the slot, this field 0 */
	uint64_t gen;                 /* +1 per checkpoint */
	uint64_t watermark;           /* records with seq <= it are applied
					 and durable; never decreases */
	uint32_t nlanes;              /* = hdr.nlanes */
	uint32_t reserved0;           /* zero */
	uint64_t reserved[4];         /* zero */
	/* then uint64_t tail[nlanes]: ring offset of each lane's first
	   record after the watermark */
};
static_assert(sizeof(struct ckpt_hdr) == CACHELINE, "ckpt_hdr size");

/* CKPT_SLOT_SIZE -- bytes of one checkpoint slot, cache-line rounded. */
#define CKPT_SLOT_SIZE(nlanes) \
	(((uint64_t)CACHELINE + 8ull * (nlanes) + CACHELINE - 1) & \
	 ~(uint64_t)(CACHELINE - 1))

/* LANES_AREA_SIZE -- bytes of the whole redo area. */
#define LANES_AREA_SIZE(nlanes, log_size) \
	(2 * CKPT_SLOT_SIZE(nlanes) + (uint64_t)(nlanes) * (log_size))

/*
 * Key-value engine (kv.c, table.c).  Blocks carry these types; the pool
 * root points to the kv_root.  Every pointer is a block's data offset.
 *
 *   kv_root --table[i]--> kv_table --cur/next--> kv_buckets --head[b]-->
 *       kv_entry --next--> kv_entry ...
 *                         kv_table --stripes--> kv_stripe[KV_STRIPES]
 *
 * A table's chains are split into KV_STRIPES stripes by the low bits of
 * the key hash (bucket b belongs to stripe b % KV_STRIPES; tables never
 * have fewer buckets than stripes).  Each stripe keeps its own key count,
 * expiry count and resize progress, so writers on different stripes never
 * write the same word.  During a resize both bucket arrays are live:
 * stripe s has moved its first `migrated` buckets of `cur` to `next`.
 */
#define KV_TYPE_ROOT 16u
#define KV_TYPE_TABLE 17u
#define KV_TYPE_BUCKETS 18u
#define KV_TYPE_STRIPES 19u
#define KV_TYPE_ENTRY 20u

#define KV_MAGIC 0x31305654564b5650ull   /* "PVKVTV01" little-endian */
#define KV_LAYOUT_VERSION 8u   /* 2: mutable words first, checksum;
				  3: hashes; 4: lists; 5: sets; 6: sorted
				  sets; 7: integer strings; 8: bucket
				  arrays by stripe */
#define KV_LAYOUT_VERSION_STRINGS 2u  /* what a pool holding only strings
				  says: a root is made at 2 and is raised
				  in the transaction that makes the pool's
				  first collection of a newer type (3 for
				  a hash, 4 for a list, 5 for a set, 6 for
				  a sorted set, 7 for the first integer
				  string, 8 for the first bucket array
				  by stripe), so a
				  library that
				  cannot trace a type refuses only pools
				  that hold it */
#define KV_LAYOUT_VERSION_HASHES 3u
#define KV_LAYOUT_VERSION_LISTS 4u
#define KV_LAYOUT_VERSION_SETS 5u
#define KV_LAYOUT_VERSION_ZSETS 6u
#define KV_LAYOUT_VERSION_INTS 7u
#define KV_LAYOUT_VERSION_BY_STRIPE 8u
#define KV_STRIPES 256u
#define KV_STRIPE_BITS 8u
#define KV_MAX_DBS 128u   /* all created, or flushed, in one transaction */

struct kv_root {
	uint64_t magic;               /* KV_MAGIC */
	uint64_t version;             /* KV_LAYOUT_VERSION */
	uint64_t ndbs;                /* numbered databases */
	uint64_t seed[2];             /* hash key, random at create */
	uint64_t reserved[3];         /* zero */
	uint64_t table[];             /* ndbs kv_table offsets */
};
static_assert(sizeof(struct kv_root) == 64, "kv_root size");

struct kv_table {
	uint64_t cur;                 /* kv_buckets in use */
	uint64_t next;                /* kv_buckets being filled, or 0 */
	uint64_t version;             /* +1 when a resize starts or ends: odd
					 while one is in progress */
	uint64_t stripes;             /* kv_stripe[KV_STRIPES] */
	uint64_t prepared;            /* an empty kv_buckets made ready for
					 the next resize, or 0 */
	uint64_t reserved[3];         /* zero */
};
static_assert(sizeof(struct kv_table) == 64, "kv_table size");

struct kv_buckets {
	uint64_t log2;                /* 2^log2 buckets */
	uint64_t flags;               /* KV_BUCKETS_BY_STRIPE, or zero */
	uint64_t head[];              /* first entry of each chain, or 0:
					 see kv_bucket_slot */
};

/*
 * KV_BUCKETS_BY_STRIPE: the array keeps each stripe's buckets together.
 * Bucket b (of a key whose hash & mask is b) belongs to stripe
 * b % KV_STRIPES and is that stripe's (b / KV_STRIPES)-th; without the
 * flag its head is head[b], with it head[s * (n / KV_STRIPES) + j] for
 * stripe s, j-th, n buckets (log2 >= KV_STRIPE_BITS).  A resize moves a
 * stripe's buckets in order, so with the flag the heads it reads and
 * writes share cache lines and pages (eight to a line) instead of lying
 * 2 KiB apart.  Arrays made for a resize have it; a pool's first raises
 * the root to KV_LAYOUT_VERSION_BY_STRIPE.
 */
#define KV_BUCKETS_BY_STRIPE 0x1u

/* kv_bucket_slot -- the index in B->head of bucket b's head. */
static inline uint64_t kv_bucket_slot(const struct kv_buckets *B, uint64_t b)
{
	if (!(B->flags & KV_BUCKETS_BY_STRIPE))
		return b;
	return ((b & (KV_STRIPES - 1)) << (B->log2 - KV_STRIPE_BITS)) |
	       (b >> KV_STRIPE_BITS);
}

struct kv_stripe {
	uint64_t count;               /* keys in the stripe */
	uint64_t expires;             /* of them, with an expiry */
	uint64_t migr;                /* (version << 32) | buckets migrated,
					 for the resize of that version */
	uint64_t reserved;            /* zero */
};
static_assert(sizeof(struct kv_stripe) == 32, "kv_stripe size");

struct kv_entry {
	uint64_t next;                /* next entry in the chain, or 0 */
	int64_t expire_ms;            /* absolute Unix ms, 0 = none */
	/* The words above change in place (KV_ENTRY_MUTABLE bytes); what
	   follows never changes while the entry exists. */
	uint64_t hash;                /* keyed hash of the key */
	uint32_t klen;                /* key bytes */
	uint32_t vlen;                /* value bytes */
	uint16_t vtype;               /* value type (PKV_TYPE_*): a string
					 is the value; a hash's value is the
					 8-byte offset of its kv_hash */
	uint16_t flags;               /* KV_ENTRY_INT, or zero */
	uint32_t csum;                /* kv_entry_csum: hash, lengths, type,
					 key and value, so damage is found */
	/* then klen bytes of key and vlen bytes of value */
};
static_assert(sizeof(struct kv_entry) == 40, "kv_entry size");
#define KV_ENTRY_MUTABLE 16u          /* next and expire_ms */

/*
 * An integer string (flags KV_ENTRY_INT, vtype PKV_TYPE_STRING; what
 * INCR and its kin make, as Redis's "int" encoding): its value is an
 * int64_t, 8-byte aligned after the key (zero bytes pad the value up to
 * it; vlen counts them), read as its decimal text.  INCR changes the
 * word in place, so it is a mutable word as next and expire_ms are: the
 * whole entry is its block's prefix (carried in the record that makes
 * it, outside the checksums), and kv_entry_csum leaves the word out.
 * A pool's first one raises the root to KV_LAYOUT_VERSION_INTS.
 */
#define KV_ENTRY_INT 0x1u


/*
 * Hashes (type_hash.c).  A key whose entry has vtype PKV_TYPE_HASH holds,
 * as its 8-byte value, the offset of its struct kv_hash_hdr, one cache
 * line.  The fields are a linear hash table: `nbuckets` chains of struct
 * kv_entry blocks (type KV_TYPE_FIELD: key = the field, value = its
 * value, expire_ms 0).  The first HASH_INLINE_BUCKETS heads are in the
 * header, so a small hash is its header and its fields; the others are
 * in segments of up to HASH_SEG_BUCKETS heads, reached through
 * directories of up to HASH_DIR_SEGS segments, reached through one block
 * of up to HASH_DIRS directory offsets (`dirs`), made with the first
 * bucket past the inline ones.  Each of these arrays is made with
 * HASH_ARRAY_MIN words and doubled when a bucket first needs a word past
 * its end (its block's size says how many it holds; an array made by an
 * older build is whole), so a small table takes a few small blocks.  The
 * table grows one bucket at a time (a split of bucket
 * nbuckets - 2^i into itself and bucket nbuckets), and shrinks the same
 * way back (bucket nbuckets - 1 appended to bucket nbuckets - 1 - 2^i,
 * freeing a segment, directory or directory block that held no other
 * bucket), so a write touches a bounded number of blocks however big the
 * hash is, and nothing is ever copied whole.
 *
 *   kv_entry --value--> kv_hash_hdr --head[b]--> kv_entry (field) --next-->
 *                                   --dirs--> hdirs --[d]--> hdir --[s]-->
 *                                             hseg --head[b]--> ...
 *
 * A field's bucket, with 2^i <= nbuckets < 2^(i+1): b = hash mod 2^i, or
 * hash mod 2^(i+1) if that b < nbuckets - 2^i (already split).  Heads of
 * buckets >= nbuckets are zero.  Directory blocks and segments are zeroed
 * when made, and so are the words a doubled array adds.
 *
 * A set (vtype PKV_TYPE_SET) is the same table: its members are the
 * fields, each with an empty value.
 */
#define KV_TYPE_HASH 21u    /* struct kv_hash_hdr */
#define KV_TYPE_HDIR 22u    /* HASH_DIR_SEGS segment offsets */
#define KV_TYPE_HSEG 23u    /* HASH_SEG_BUCKETS chain heads */
#define KV_TYPE_FIELD 24u   /* struct kv_entry of a field */
#define KV_TYPE_HDIRS 25u   /* HASH_DIRS directory offsets */

#define HASH_INLINE_BUCKETS 4u
#define HASH_ARRAY_MIN 4u           /* words an array is made with */
#define HASH_SEG_BUCKETS 128u
#define HASH_DIR_SEGS 512u
#define HASH_DIRS 64u
#define HASH_MAX_BUCKETS (HASH_INLINE_BUCKETS + \
			  (uint64_t)HASH_DIRS * HASH_DIR_SEGS * HASH_SEG_BUCKETS)

struct kv_hash_hdr {
	uint64_t count;               /* fields */
	uint64_t nbuckets;            /* buckets in use, from
					 HASH_INLINE_BUCKETS */
	uint64_t dirs;                /* the directory offsets, or 0 */
	uint64_t reserved;            /* zero */
	uint64_t head[HASH_INLINE_BUCKETS];   /* buckets 0..3 */
};
static_assert(sizeof(struct kv_hash_hdr) == CACHELINE, "kv_hash_hdr size");

/*
 * Lists (type_list.c).  A key whose entry has vtype PKV_TYPE_LIST holds,
 * as its 8-byte value, the offset of its struct kv_list_hdr.  The
 * elements are a doubly linked chain of struct kv_list_elem blocks, from
 * `head` (index 0, the left end) to `tail`, so a push or pop at either
 * end, and an insert or removal next to a known element, touches the
 * header and at most three elements however long the list is.  A list is
 * never empty: the key goes with its last element.
 *
 *   kv_entry --value--> kv_list_hdr --head--> elem <--prev--next--> elem
 *                                   --tail-----------------------^
 *
 * An element's next and prev change in place; its length and bytes never
 * change while it exists (LSET makes a new element), and its checksum
 * covers them, so damage is found where it is read.
 */
#define KV_TYPE_LIST 26u    /* struct kv_list_hdr */
#define KV_TYPE_LELEM 27u   /* struct kv_list_elem */

struct kv_list_hdr {
	uint64_t count;               /* elements, >= 1 */
	uint64_t head;                /* the first element */
	uint64_t tail;                /* the last element */
	uint64_t reserved;            /* zero */
};

struct kv_list_elem {
	uint64_t next;                /* toward the tail, or 0 */
	uint64_t prev;                /* toward the head, or 0 */
	/* The words above change in place (LIST_ELEM_MUTABLE bytes); what
	   follows never changes while the element exists. */
	uint32_t len;                 /* bytes of the element */
	uint32_t csum;                /* list_elem_csum: len and bytes */
	/* then len bytes */
};
static_assert(sizeof(struct kv_list_elem) == 24, "kv_list_elem size");
#define LIST_ELEM_MUTABLE 16u         /* next and prev */

/*
 * Sorted sets (type_zset.c).  A key whose entry has vtype PKV_TYPE_ZSET
 * holds, as its 8-byte value, the offset of its struct kv_zset_hdr: a
 * skip list of struct kv_zset_node blocks ordered by (score, member), as
 * Redis's zskiplist (each level's link carries its span, so ranks are
 * O(log n)), and a member table -- a hash's table (layout "Hashes") whose
 * fields are the members, each field's 8-byte value the offset of its
 * node.  A node never moves while its member is in the set (a new score
 * relinks it), so the field's value never changes.  A node's level comes
 * from its member's hash (P(level > k) = 4^-k), so the same set has the
 * same shape whatever the order of its writes.  The header holds the
 * head's ZSET_MAXLEVEL links.  A sorted set is never empty: the key goes
 * with its last member.
 *
 *   kv_entry --value--> kv_zset_hdr --head[i].forward--> node --...-->
 *                                   --members--> kv_hash_hdr --> fields
 *   field (member) --value--> node;  node --field--> field
 *
 * Every word of a header and a node may change in place (scores and
 * links): they are allocated whole as the transaction's prefix.
 */
#define KV_TYPE_ZSET 28u    /* struct kv_zset_hdr */
#define KV_TYPE_ZNODE 29u   /* struct kv_zset_node */

#define ZSET_MAXLEVEL 32u

struct kv_zlevel {
	uint64_t forward;             /* the next node at this level, or 0 */
	uint64_t span;                /* nodes it skips, + 1 */
};

struct kv_zset_hdr {
	uint64_t count;               /* members, >= 1 */
	uint64_t level;               /* levels in use, 1..ZSET_MAXLEVEL */
	uint64_t members;             /* the member table's kv_hash_hdr */
	uint64_t tail;                /* the last node */
	struct kv_zlevel head[ZSET_MAXLEVEL];
};

struct kv_zset_node {
	uint64_t score;               /* a double's bits (never NaN) */
	uint64_t backward;            /* the previous node, 0 for the first */
	uint64_t field;               /* the member's field entry */
	uint64_t level;               /* 1..ZSET_MAXLEVEL */
	struct kv_zlevel lvl[];       /* level of them */
};

#endif /* PKV_LAYOUT_H */
