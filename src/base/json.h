/* Small JSON output helpers shared by the logger, `musrec parquet cat`, the
 * evaluation files and the HTTP service. Parsing uses cJSON. */
#ifndef MR_JSON_H
#define MR_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes s (len bytes, may hold NUL) as a quoted JSON string. Invalid UTF-8
 * bytes are replaced by U+FFFD so the output is always valid JSON. */
void mr_json_str(FILE *f, const char *s, size_t len);

/* Length of the valid UTF-8 sequence at s (1 for ASCII, 2..4), or 0 if it
 * is invalid: overlong forms, surrogates and code points past U+10FFFF. */
size_t mr_utf8_seq(const unsigned char *s, size_t n);

/* Formats a double as the shortest decimal that round-trips ("0.1", "1e+300");
 * NaN and infinities become the strings "NaN", "Infinity", "-Infinity" (quoted,
 * since JSON has no such numbers). buf needs 32 bytes. Returns buf. */
char *mr_json_num(char *buf, double v);

/* Same for float: the shortest decimal that reads back to the same float. */
char *mr_json_num_f32(char *buf, float v);

#endif
