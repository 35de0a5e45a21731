/*
 * json.h -- JSON output for the pkv tool's --json options, written by
 * hand (no dependency) and always valid: strings are escaped, and bytes
 * that are not UTF-8 -- keys and values are binary -- are never emitted
 * as a JSON string.  A field holding such bytes is written as NAME when
 * they are valid UTF-8 and as NAME_base64 (standard alphabet, padded)
 * otherwise, so a reader looks for one or the other.
 */
#ifndef PKV_CLI_JSON_H
#define PKV_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* json_utf8_valid -- whether len bytes at p are well-formed UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
bool json_utf8_valid(const void *p, size_t len);

/* json_string -- the NUL-terminated text s as a JSON string literal; bytes
 * that are not valid UTF-8 are replaced by U+FFFD. */
void json_string(FILE *f, const char *s);

/*
 * json_bytes_field -- `"name": "text"` when the bytes are UTF-8, else
 * `"name_base64": "..."` (no separator before or after).
 */
void json_bytes_field(FILE *f, const char *name, const void *p, size_t len);

#endif /* PKV_CLI_JSON_H */
