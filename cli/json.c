/*
 * json.c -- escaped JSON strings and binary-safe fields (json.h).
 *
 * JSON strings are sequences of Unicode characters, so arbitrary bytes
 * cannot go into one unchanged; mapping each byte to \u00XX would look
 * valid but change the data (a reader would re-encode bytes >= 0x80 as
 * two).  Hence the rule of json.h: UTF-8 goes out as text, anything else
 * as base64 under a different name.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "json.h"

/* json_utf8_len -- length of the well-formed UTF-8 sequence at p[0..n),
 * or 0 when it is not one (RFC 3629, table 3-7 of Unicode). */
static size_t json_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;                /* no overlong 3-byte forms */
	else if (c == 0xed)
		hi = 0x9f;                /* no surrogates */
	else if (c == 0xf0)
		lo = 0x90;                /* no overlong 4-byte forms */
	else if (c == 0xf4)
		hi = 0x8f;                /* nothing above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* json_utf8_valid -- well-formed UTF-8 throughout. */
bool json_utf8_valid(const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len;) {
		size_t k = json_utf8_len(s + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* json_text -- the body of a JSON string over len bytes (quotes not
 * included); invalid sequences become U+FFFD. */
static void json_text(FILE *f, const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t k;

		switch (c) {
		case '"':  fputs("\\\"", f); i++; continue;
		case '\\': fputs("\\\\", f); i++; continue;
		case '\b': fputs("\\b", f); i++; continue;
		case '\f': fputs("\\f", f); i++; continue;
		case '\n': fputs("\\n", f); i++; continue;
		case '\r': fputs("\\r", f); i++; continue;
		case '\t': fputs("\\t", f); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
			continue;
		}
		k = json_utf8_len(s + i, len - i);
		if (k == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		fwrite(s + i, 1, k, f);
		i += k;
	}
}

/* json_string -- a C string as a JSON string literal. */
void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	json_text(f, (const unsigned char *)s, strlen(s));
	fputc('"', f);
}

/* json_base64 -- the bytes in standard padded base64. */
static void json_base64(FILE *f, const unsigned char *s, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 |
			     s[i + 2];
		fputc(tab[v >> 18], f);
		fputc(tab[(v >> 12) & 63], f);
		fputc(tab[(v >> 6) & 63], f);
		fputc(tab[v & 63], f);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		fputc(tab[v >> 18], f);
		fputc(tab[(v >> 12) & 63], f);
		fputs("==", f);
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		fputc(tab[v >> 18], f);
		fputc(tab[(v >> 12) & 63], f);
		fputc(tab[(v >> 6) & 63], f);
		fputc('=', f);
	}
}

/* json_bytes_field -- "name": text, or "name_base64": base64. */
void json_bytes_field(FILE *f, const char *name, const void *p, size_t len)
{
	if (json_utf8_valid(p, len)) {
		fprintf(f, "\"%s\": \"", name);
		json_text(f, p, len);
	} else {
		fprintf(f, "\"%s_base64\": \"", name);
		json_base64(f, p, len);
	}
	fputc('"', f);
}
