/* obs_util.h: helpers for the observability tests: capturing stderr into a file, reading
 * a file, counting substrings, a strict JSON syntax check, and a task body that spins. */
#ifndef DAG_TEST_OBS_UTIL_H
#define DAG_TEST_OBS_UTIL_H

#include <stddef.h>

/* A fresh temporary directory (mkdtemp); the path stays valid for the process. */
const char *obs_tmpdir(void);
/* path inside obs_tmpdir(); returns a static buffer rotated among 8. */
const char *obs_tmp(const char *name);

/* Redirect stderr (fd 2) to a file until cap_end(), which returns what was written
 * (malloc'ed, NUL-terminated). */
void cap_begin(void);
char *cap_end(void);
/* What was captured so far, without ending the capture. */
char *cap_peek(void);

char *slurp_file(const char *path, size_t *len);
size_t count_str(const char *hay, const char *needle);
/* 0 if text is one syntactically valid JSON value (RFC 8259), else the offset + 1 of the
 * first error. */
size_t json_check(const char *text);

void spin_for_us(long us);

#endif
