/* Typed access to the columns of the pipeline's parquet inputs, tolerant of
 * how real files vary: ids as INT32 or INT64 (any INT annotation), dates as
 * DATE, TIMESTAMP in ms/us/ns or INT96. A column of the wrong kind is an
 * error naming the file, the column, what it is and what was expected. */
#ifndef MR_PQCOL_H
#define MR_PQCOL_H

#include <stdint.h>

#include "parquet/parquet.h"

typedef enum {
    MR_PQC_INT,    /* INT32 or INT64, no date/time meaning */
    MR_PQC_DAY,    /* DATE, TIMESTAMP(any unit) or INT96: read as days since 1970-01-01 */
    MR_PQC_STRING, /* BYTE_ARRAY (UTF8 or none) */
} mr_pqc_kind;

/* Finds column `name` and checks that it is a flat (list_depth 0) column of
 * the kind asked for, or, when list is set, a LIST of it. */
int mr_pqc_require(mr_pq_reader *r, const char *name, mr_pqc_kind kind, int list, int *col);

/* Reads row group rg of a flat numeric column as int64 (MR_PQC_INT: the
 * value; MR_PQC_DAY: days). Null values: *n_null counts them and their slot
 * is set to null_value (pass n_null NULL to make nulls an error). */
int mr_pqc_read_i64(mr_pq_reader *r, int rg, int col, mr_pqc_kind kind, int64_t *dst, int64_t null_value,
                    int64_t *n_null);

/* Reads row group rg of a flat numeric column (MR_PQC_INT: the value;
 * MR_PQC_DAY: days) into dst as dst_width-byte integers (2, 4 or 8),
 * checking lo <= v <= hi: a value outside is an error naming the file,
 * column, row group and value, and so is a null. Decodes straight into dst
 * when the file's width and meaning are the caller's (no copy), otherwise
 * through a per-thread buffer reused between calls; one pass converts,
 * checks and narrows. Thread-safe for distinct row groups. */
int mr_pqc_read_narrow(mr_pq_reader *r, int rg, int col, mr_pqc_kind kind, void *dst, int dst_width, int64_t lo,
                       int64_t hi);

/* Converts a decoded chunk's slot values (INT32/INT64/INT96 physical) of
 * column info ci into int64 ids or days. */
void mr_pqc_convert(const mr_pq_column_info *ci, mr_pqc_kind kind, const mr_pq_col *c, int64_t *dst);

/* A whole column, all row groups concatenated. Numbers as int64 in vals
 * (ids or days), strings as soff (n_slots + 1 byte offsets) + bytes; for
 * LIST columns off maps rows to slots (n_rows + 1). Null lists read as
 * empty, null elements are dropped; a null in a flat column is an error. */
typedef struct {
    int64_t n_rows, n_slots;
    int64_t *vals;
    int64_t *off;
    int64_t *soff;
    char *bytes;
} mr_pqc_gathered;

int mr_pqc_gather(mr_pq_reader *r, int col, mr_pqc_kind kind, int list, mr_pqc_gathered *g);
void mr_pqc_gathered_free(mr_pqc_gathered *g);

/* "INT64", "INT32 DATE", "BYTE_ARRAY STRING", ... for messages. */
const char *mr_pqc_describe(const mr_pq_column_info *ci, char *buf, int cap);

/* Days since 1970-01-01 <-> "YYYY-MM-DD". parse returns 0 or MR_EINVAL. */
int mr_day_parse(const char *s, int32_t *day);
void mr_day_format(int32_t day, char out[16]);

#endif
