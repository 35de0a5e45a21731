/*
 * testheap.h -- cmocka helpers shared by the tests that open a heap.
 * Include after <cmocka.h>, "pkv.h" and "heap.h".
 */
#ifndef PKV_TESTHEAP_H
#define PKV_TESTHEAP_H

/* check -- fail the test unless the heap's volatile and persistent state
 * agree (heap_check), naming the first difference. */
static inline void check(struct heap *h)
{
	struct errmsg em;
	int rc;

	err_clear(&em);
	rc = heap_check(h, &em);
	if (rc != 0)
		fail_msg("heap_check: %s: %s", pkv_strerror(rc), em.text);
}

/* new_image -- a zeroed, page-aligned buffer of size bytes holding a
 * fresh pool layout (PKV_PERSIST unset, so the memory backend is used);
 * NULL on failure. */
static inline char *new_image(size_t size)
{
	char *buf;

	unsetenv("PKV_PERSIST");
	buf = aligned_alloc(4096, size);
	if (buf == NULL)
		return NULL;
	memset(buf, 0, size);
	if (pool_format_memory(buf, size, NULL, NULL) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* open_image -- open buf (size bytes) as a pool and recover its heap,
 * failing the test with the library's message if either step fails. */
static inline void open_image(char *buf, size_t size, struct pool **poolp,
			      struct heap **hp)
{
	struct errmsg em;
	int rc;

	err_clear(&em);
	rc = pool_open_memory(buf, size, poolp, &em);
	if (rc != 0)
		fail_msg("pool_open_memory: %s: %s", pkv_strerror(rc),
			 em.text);
	rc = heap_open(*poolp, hp, &em);
	if (rc != 0)
		fail_msg("heap_open: %s: %s", pkv_strerror(rc), em.text);
}

#endif /* PKV_TESTHEAP_H */
