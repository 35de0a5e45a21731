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
 *   hdr.lanes_off          nlanes x (struct lane_hdr + 2 log buffers of
 *                          hdr.log_size bytes)
 *   hdr.chunk_hdr_off      nchunks x uint64_t chunk headers
 *   hdr.chunks_off         nchunks x CHUNK_SIZE bytes of heap
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
#define POOL_LAYOUT_VERSION 1u

#define POOL_HDR_SIZE 4096u       /* the header's page, state included */
#define POOL_HDR_CSUM_LEN 512u    /* bytes of pool_hdr covered by its checksum */
#define POOL_STATE_OFF 1024u      /* struct pool_state, in its own lines */
#define POOL_MIN_SIZE (8u << 20)  /* smallest pool create accepts */

#define CACHELINE 64u
#define CHUNK_SIZE (256u << 10)   /* 256 KiB, as PMDK */
#define BLOCK_HDR_SIZE 16u        /* struct block_hdr */
#define BLOCK_ALIGN 16u           /* every block size is a multiple of this */

#define LOG_DEFAULT_SIZE 4096u    /* bytes per redo log buffer */
#define LOG_MIN_SIZE 512u
#define LOG_DEFAULT_LANES 64u
#define LOG_MAX_LANES 1024u

/* pool_hdr.incompat_features: bits an implementation must understand. */
#define POOL_FEAT_INCOMPAT_KNOWN 0ull

/* Immutable pool header; the first POOL_HDR_CSUM_LEN bytes are checksummed. */
struct pool_hdr {
	char magic[POOL_MAGIC_LEN];   /* POOL_MAGIC */
	uint32_t layout_version;      /* POOL_LAYOUT_VERSION */
	uint32_t hdr_size;            /* POOL_HDR_SIZE */
	uint8_t uuid[16];             /* random at create: names this pool */
	uint64_t pool_size;           /* bytes of the file at create */
	uint64_t compat_features;     /* may be ignored if unknown */
	uint64_t incompat_features;   /* must be refused if unknown */
	uint64_t create_time;         /* seconds since the epoch */
	uint64_t chunk_size;          /* CHUNK_SIZE */
	uint64_t nchunks;             /* chunks in the heap */
	uint64_t chunk_hdr_off;       /* offset of the chunk header table */
	uint64_t chunks_off;          /* offset of chunk 0 */
	uint64_t lanes_off;           /* offset of the redo log area */
	uint32_t nlanes;              /* lanes; each has 2 log buffers */
	uint32_t log_size;            /* bytes per log buffer */
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
	uint64_t redo_watermark;      /* every log with seq <= it is applied
					 and durable; seqs only grow */
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
 * Redo log buffer.  A log is valid when its checksum matches: the checksum
 * covers the header (checksum field 0), `used` bytes of entries, and the
 * pool ranges named by COVER entries, so a log torn by a crash, half
 * overwritten, never written, or whose new blocks did not all reach the
 * media before the crash, is simply invalid.
 * Entries are 8-byte aligned; each starts with a word holding the opcode in
 * its low 3 bits and the target offset (8-byte aligned) in the rest.
 */
#define LOG_OP_SET 1u   /* word = value */
#define LOG_OP_OR 2u    /* word |= value (allocation bitmap bits) */
#define LOG_OP_AND 3u   /* word &= value (clearing bitmap bits) */
#define LOG_OP_COPY 4u  /* then a length word, then the bytes, padded to 8 */
#define LOG_OP_COVER 5u /* value = length: the pool bytes [off, off+len) are
			   part of the checksum (blocks the transaction filled
			   directly); nothing to apply */
#define LOG_ENTRY_OP(w) ((unsigned)((w) & 0x7u))
#define LOG_ENTRY_OFF(w) ((w) & ~(uint64_t)0x7)

struct log_hdr {
	uint64_t checksum;            /* csum64 over header and entries */
	uint64_t seq;                 /* global commit order; 0 = never used */
	uint32_t used;                /* bytes of entries after the header */
	uint32_t lane;                /* lane that wrote it (sanity check) */
	uint64_t reserved;            /* zero */
};
static_assert(sizeof(struct log_hdr) == 32, "log_hdr size");

/*
 * Per-lane persistent word(s).  durable_through: every log of this lane
 * with seq <= it has its effects durable in place and must not be replayed
 * (a lane sets it when a transaction has been applied; see redo.c).
 */
struct lane_hdr {
	uint64_t durable_through;     /* see above */
	uint64_t reserved[7];         /* zero */
};
static_assert(sizeof(struct lane_hdr) == CACHELINE, "lane_hdr size");

#define LANE_STRIDE(log_size) ((uint64_t)CACHELINE + 2 * (uint64_t)(log_size))

struct log_word_entry {
	uint64_t op_off;              /* opcode | target offset */
	uint64_t value;               /* operand */
};
static_assert(sizeof(struct log_word_entry) == 16, "log entry size");

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
#define KV_LAYOUT_VERSION 1u
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
	uint64_t reserved[4];         /* zero */
};
static_assert(sizeof(struct kv_table) == 64, "kv_table size");

struct kv_buckets {
	uint64_t log2;                /* 2^log2 buckets */
	uint64_t reserved;            /* zero */
	uint64_t head[];              /* first entry of each chain, or 0 */
};

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
	uint64_t hash;                /* keyed hash of the key */
	int64_t expire_ms;            /* absolute Unix ms, 0 = none */
	uint32_t klen;                /* key bytes */
	uint32_t vlen;                /* value bytes */
	uint32_t vtype;               /* value type (0 = string) */
	uint32_t reserved;            /* zero */
	/* then klen bytes of key and vlen bytes of value */
};
static_assert(sizeof(struct kv_entry) == 40, "kv_entry size");

#endif /* PKV_LAYOUT_H */
