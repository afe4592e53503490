/* Names of tracks, artists, albums and genres: a display form and a
 * matching key.
 *
 * mr_name_clean() gives the display name: control and zero-width characters
 * removed, every run of white space (ASCII, no-break, the U+2000 spaces,
 * ideographic space) made one ASCII space, trimmed; invalid UTF-8 bytes are
 * dropped. Case and accents are kept.
 *
 * mr_name_fold() gives the key two names are compared by: the clean name,
 * case-folded (ASCII, Latin-1, Latin Extended-A and the common parts of
 * Extended-B and Additional, Greek, Cyrillic and its supplement, fullwidth
 * forms), with accents removed (é -> e, ß -> ss, æ -> ae, combining marks
 * dropped, Greek tonos dropped, final sigma -> sigma), ё -> е as Russian
 * catalogs match, and the common compatibility characters mapped the NFKC
 * way (ligatures, superscript and subscript digits, fullwidth ASCII) or to
 * their ASCII cousins (dashes -> '-', curly quotes -> ' and ", ellipsis ->
 * "..."). Punctuation is kept; the grouping code decides what to ignore.
 */
#ifndef MR_NAMES_H
#define MR_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* out needs n + 1 bytes; returns the length written (NUL-terminated). */
size_t mr_name_clean(const char *s, size_t n, char *out);

/* Worst-case output size of mr_name_fold for n input bytes (plus NUL). */
#define MR_NAME_FOLD_CAP(n) (3 * (n) + 1)
/* out needs MR_NAME_FOLD_CAP(n) bytes; returns the length written. */
size_t mr_name_fold(const char *s, size_t n, char *out);

/* Decodes one UTF-8 code point at s[*i] (advancing *i); returns -1 for an
 * invalid or overlong sequence (then *i skips one byte). */
int32_t mr_utf8_next(const char *s, size_t n, size_t *i);
/* Encodes cp, returns bytes written (1..4). */
int mr_utf8_put(char *out, uint32_t cp);

#endif
