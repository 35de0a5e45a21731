/*
 * error.c -- error texts: pkv_strerror for codes, err_set for the detail
 * message that goes with them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pkv.h"
#include "errmsg.h"

#define PKV_STR2(x) #x
#define PKV_STR(x) PKV_STR2(x)
#define PACKAGE_VERSION_STRING PKV_STR(PKV_VERSION_MAJOR) "." \
	PKV_STR(PKV_VERSION_MINOR) "." PKV_STR(PKV_VERSION_PATCH)

/* Texts of the library's own codes, indexed by PKV_EFIRST - code. */
static const char *const error_texts[] = {
	"not found",                                   /* PKV_ENOTFOUND */
	"already exists",                              /* PKV_EEXIST */
	"pool is full",                                /* PKV_EFULL */
	"not a pkv pool",                              /* PKV_ENOTPOOL */
	"unsupported pool layout version",             /* PKV_EVERSION */
	"pool file is truncated",                      /* PKV_ETRUNCATED */
	"pool header checksum mismatch",               /* PKV_ECHECKSUM */
	"pool metadata is corrupt",                    /* PKV_ECORRUPT */
	"pool is in use by another process",           /* PKV_EBUSY */
	"transaction too big for its log",             /* PKV_ETXTOOBIG */
	"invalid argument",                            /* PKV_EINVAL */
	"value of the wrong type for the operation",   /* PKV_EWRONGTYPE */
	"index out of range",                          /* PKV_ERANGE */
	"value is not an integer or out of range",     /* PKV_ENOTINT */
	"increment or decrement would overflow",       /* PKV_EOVERFLOW */
};

/* pkv_strerror -- text of 0, a negative errno, or a PKV_E* code. */
const char *pkv_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err <= PKV_EFIRST && err >= PKV_ELAST)
		return error_texts[PKV_EFIRST - err];
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

/* pkv_version -- the library's version string. */
const char *pkv_version(void)
{
	return PACKAGE_VERSION_STRING;
}

/* err_set -- format the detail message when em is given; return code. */
int err_set(struct errmsg *em, int code, const char *fmt, ...)
{
	if (em) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(em->text, sizeof(em->text), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* err_clear -- empty the detail message. */
void err_clear(struct errmsg *em)
{
	if (em)
		em->text[0] = '\0';
}
