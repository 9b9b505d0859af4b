/* util.h: small helpers shared by the translator and the driver: checked allocation,
 * a growable string buffer and a growable-array macro. Nothing here knows about C or
 * libclang; keep it that way so the pragma parser stays fuzzable on its own. */
#ifndef DAGCC_UTIL_H
#define DAGCC_UTIL_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grows *items (of elem bytes each) so that index n is valid; *cap tracks capacity. */
void grow_array(void **items, size_t *cap, size_t n, size_t elem);
#define VEC_PUSH(arr, count, cap, value)                                              \
    do {                                                                              \
        grow_array((void **)&(arr), &(cap), (count), sizeof *(arr));                  \
        (arr)[(count)++] = (value);                                                   \
    } while (0)

typedef struct strbuf {
    char *s;   /* always NUL-terminated when non-NULL */
    size_t n;  /* length without the terminator */
    size_t cap;
} strbuf;

void sb_putn(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char c);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(strbuf *b, const char *fmt, va_list ap);
/* Appends s as the body of a C string literal (quotes not included). */
void sb_put_c_escaped(strbuf *b, const char *s);
const char *sb_str(const strbuf *b); /* "" when empty */
char *sb_take(strbuf *b);            /* caller frees; leaves b empty */
void sb_free(strbuf *b);

/* The first index i in [0, n) of an array sorted by an unsigned key (at byte offset
 * key_off of each size-byte element) whose key is >= key; n if none. */
size_t lower_bound_u(const void *base, size_t n, size_t size, size_t key_off, unsigned key);

/* Reads a whole file; returns NULL (errno set) on failure. *len excludes the NUL added. */
char *read_file(const char *path, size_t *len);

#endif
