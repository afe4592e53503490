/* A bounded decoder for the Thrift compact protocol, the encoding of every
 * parquet footer and page header.
 *
 * The decoder is a cursor over [p, end) with a sticky error flag: every read
 * checks the remaining bytes first, a failed read sets `err` and returns 0,
 * and callers test the flag once per struct instead of after every field.
 * Nesting is limited (MR_THRIFT_MAX_DEPTH) so a hostile footer cannot
 * recurse without end, and a list's element count is checked against the
 * bytes left (every element takes at least one byte), which bounds every
 * allocation a footer can cause by the footer's size.
 */
#ifndef MR_THRIFT_READ_H
#define MR_THRIFT_READ_H

#include <stddef.h>
#include <stdint.h>

enum {
    MR_T_STOP = 0,
    MR_T_TRUE = 1,
    MR_T_FALSE = 2,
    MR_T_BYTE = 3,
    MR_T_I16 = 4,
    MR_T_I32 = 5,
    MR_T_I64 = 6,
    MR_T_DOUBLE = 7,
    MR_T_BINARY = 8,
    MR_T_LIST = 9,
    MR_T_SET = 10,
    MR_T_MAP = 11,
    MR_T_STRUCT = 12,
};

#define MR_THRIFT_MAX_DEPTH 32

typedef struct {
    const uint8_t *p, *end;
    int depth;
    int err;          /* sticky: set by the first failed read */
    const char *why;  /* what failed, for the error message */
} mr_thrift;

void mr_thrift_init(mr_thrift *t, const uint8_t *p, size_t n);

/* Struct fields. mr_thrift_struct_begin() enters a struct (checks depth and
 * resets the field-id delta base held in *last); mr_thrift_field() reads the
 * next field header and returns 0 at the STOP byte (or on error), else 1
 * with *id and *type; mr_thrift_struct_end() leaves it. */
void mr_thrift_struct_begin(mr_thrift *t, int16_t *last);
int mr_thrift_field(mr_thrift *t, int16_t *last, int16_t *id, int *type);
void mr_thrift_struct_end(mr_thrift *t);

/* Scalars; `type` is the field's wire type, checked against what is read
 * (an i32 field may not be read as a string). Booleans take their value from
 * the field type (MR_T_TRUE / MR_T_FALSE) or, inside a list, from a byte. */
int64_t mr_thrift_int(mr_thrift *t, int type); /* BYTE, I16, I32 or I64 */
int32_t mr_thrift_i32(mr_thrift *t, int type); /* same, must fit in int32 */
int mr_thrift_bool(mr_thrift *t, int type);
double mr_thrift_double(mr_thrift *t, int type);
/* Points *s into the buffer (not NUL-terminated); returns the length. */
size_t mr_thrift_binary(mr_thrift *t, int type, const uint8_t **s);

/* List/set header: element type and count (count <= bytes left). */
uint32_t mr_thrift_list(mr_thrift *t, int type, int *elem_type);

/* Skips a value of the given type, whatever it holds. */
void mr_thrift_skip(mr_thrift *t, int type);

/* Low level, exposed for tests. */
uint64_t mr_thrift_varint(mr_thrift *t);

#endif
