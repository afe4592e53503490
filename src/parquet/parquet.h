/* Parquet reader and writer: a codec with no knowledge of music.
 *
 * Reading is by column chunk: mr_pq_read() decodes one leaf column of one
 * row group into an mr_pq_col, so a caller holds only the columns and row
 * groups it asks for (projection). Reads use pread(2) on one descriptor, so
 * different (row group, column) pairs may be read from several threads at
 * once. Every length, count, offset and level taken from the file is checked
 * before use; a bad file ends in MR_EFORMAT with a message naming the file,
 * column and page, an unsupported one in MR_EUNSUPPORTED naming the feature
 * ("unsupported: column 'x' is a MAP").
 *
 * Writing is by row group: mr_pq_writer_write() takes one mr_pq_col per
 * field for n rows and emits one or more row groups; mr_pq_writer_close()
 * writes the footer and renames the file into place (base/fs.h atomic
 * output). The writer covers what the pipeline produces: flat or LIST
 * columns of INT32/INT64 (with INT(8/16/32/64) annotations), FLOAT, DOUBLE,
 * STRING, DATE, TIMESTAMP(ns) and BOOLEAN, optional or required.
 *
 * The one in-memory layout, shared by reader and writer (Arrow-like):
 *   - a "slot" is one value position: a row for flat columns, an element for
 *     LIST columns;
 *   - fixed-width values are one per slot in `values` (a null slot holds 0);
 *   - strings/binary: slot i is bytes[offsets[i] .. offsets[i+1]);
 *   - `valid[i]` is 0 for a null slot; NULL means no nulls;
 *   - LIST columns: row r owns slots list_offsets[r] .. list_offsets[r+1];
 *     `list_valid[r]` is 0 for a null list (NULL means no null lists).
 * Columns nested deeper than one LIST (lists of lists) are read as raw
 * levels: `def`/`rep` plus the non-null leaf values, for the generic record
 * assembler (mr_pq_assemble) used by `musrec parquet cat`.
 */
#ifndef MR_PARQUET_H
#define MR_PARQUET_H

#include <stdint.h>
#include <stddef.h>

/* Physical types (values as in parquet.thrift). */
typedef enum {
    MR_PQ_BOOLEAN = 0,
    MR_PQ_INT32 = 1,
    MR_PQ_INT64 = 2,
    MR_PQ_INT96 = 3,
    MR_PQ_FLOAT = 4,
    MR_PQ_DOUBLE = 5,
    MR_PQ_BYTE_ARRAY = 6,
    MR_PQ_FIXED_LEN_BYTE_ARRAY = 7,
} mr_pq_physical;

/* What the values mean, merged from ConvertedType and LogicalType. */
typedef enum {
    MR_PQ_L_NONE = 0,
    MR_PQ_L_INT,       /* bit_width 8/16/32/64, is_signed */
    MR_PQ_L_STRING,    /* UTF8, STRING */
    MR_PQ_L_ENUM,
    MR_PQ_L_JSON,
    MR_PQ_L_BSON,
    MR_PQ_L_UUID,
    MR_PQ_L_DATE,      /* INT32 days since 1970-01-01 */
    MR_PQ_L_TIME,      /* unit, utc */
    MR_PQ_L_TIMESTAMP, /* unit, utc; INT96 columns read as TIMESTAMP(ns) */
    MR_PQ_L_DECIMAL,   /* precision, scale (readable as raw ints only) */
    MR_PQ_L_FLOAT16,
} mr_pq_logical;

typedef enum { MR_PQ_MILLIS = 0, MR_PQ_MICROS = 1, MR_PQ_NANOS = 2 } mr_pq_unit;

typedef enum {
    MR_PQ_UNCOMPRESSED = 0,
    MR_PQ_SNAPPY = 1,
    MR_PQ_GZIP = 2,
    MR_PQ_LZO = 3,
    MR_PQ_BROTLI = 4,
    MR_PQ_LZ4 = 5, /* Hadoop-framed (or raw, detected) */
    MR_PQ_ZSTD = 6,
    MR_PQ_LZ4_RAW = 7,
} mr_pq_codec;

/* Deepest nesting of lists the reader assembles. */
#define MR_PQ_MAX_LIST_DEPTH 8

/* One leaf column of the schema. */
typedef struct {
    const char *name;      /* top-level field name: "albums" */
    const char *path;      /* dotted leaf path: "albums.list.element" */
    mr_pq_physical physical;
    mr_pq_logical logical;
    int bit_width, is_signed;  /* MR_PQ_L_INT; for plain INT32/INT64: 32/64, signed */
    mr_pq_unit unit;           /* TIME / TIMESTAMP */
    int utc;                   /* isAdjustedToUTC */
    int precision, scale;      /* DECIMAL */
    int type_length;           /* FIXED_LEN_BYTE_ARRAY */
    int max_def, max_rep;
    int nullable;              /* the top-level field is optional */
    int list_depth;            /* 0 flat, 1 LIST (any of the 3 forms), >1 nested lists */
    int elem_nullable;         /* LIST elements may be null */
    /* Added by the reader. */
    const char *unsupported;   /* NULL, or what makes it unreadable: "a MAP" */
    int schema_index;          /* the leaf's SchemaElement in the footer */
    /* Level thresholds for each list nesting k (0 = outermost), for record
     * assembly: def < list_def[k] means the list at nesting k is null,
     * def < elem_def[k] that it is empty; rep == k + 1 continues it. */
    int list_def[MR_PQ_MAX_LIST_DEPTH];
    int elem_def[MR_PQ_MAX_LIST_DEPTH];
} mr_pq_column_info;

/* A decoded column chunk (reader output) or a column batch (writer input). */
typedef struct {
    int64_t n_rows;
    int64_t n_slots;
    void *values;            /* n_slots fixed-width values: uint8 for BOOLEAN,
                                int32, int64, float, double, 12 bytes INT96
                                (reader converts INT96 to int64 ns unless raw),
                                type_length bytes for FIXED_LEN_BYTE_ARRAY */
    int64_t *offsets;        /* BYTE_ARRAY: n_slots + 1 */
    uint8_t *bytes;
    uint8_t *valid;          /* n_slots, or NULL */
    int64_t *list_offsets;   /* list_depth 1: n_rows + 1 */
    uint8_t *list_valid;     /* n_rows, or NULL */
    /* list_depth > 1 only: levels and dense non-null leaf values */
    int64_t n_levels;
    int16_t *def, *rep;
    int owned;               /* reader output: freed by mr_pq_col_free */
} mr_pq_col;

void mr_pq_col_free(mr_pq_col *c);

/* ---- reader ---- */

typedef struct mr_pq_reader mr_pq_reader;

int mr_pq_open(mr_pq_reader **out, const char *path);
/* Opens a file held in memory (data must outlive the reader); name is used
 * in messages. */
int mr_pq_open_mem(mr_pq_reader **out, const void *data, size_t len, const char *name);
void mr_pq_close(mr_pq_reader *r);
/* Caps the memory one mr_pq_read() may allocate (default 1 TiB, i.e. what
 * the machine has); a chunk needing more fails with MR_EFORMAT. For fuzzing
 * and for services reading untrusted files. */
void mr_pq_set_alloc_limit(mr_pq_reader *r, size_t bytes);
/* Keeps INT96 values as their 12 raw bytes (nanoseconds of the day, then
 * the Julian day, little-endian) instead of converting to int64 ns, which
 * cannot hold dates outside 1677..2262 (reading such a value otherwise
 * fails with MR_EUNSUPPORTED). */
void mr_pq_set_int96_raw(mr_pq_reader *r, int raw);

const char *mr_pq_path(const mr_pq_reader *r);
int64_t mr_pq_num_rows(const mr_pq_reader *r);
int mr_pq_num_row_groups(const mr_pq_reader *r);
int64_t mr_pq_row_group_rows(const mr_pq_reader *r, int rg);
int mr_pq_num_columns(const mr_pq_reader *r);
const mr_pq_column_info *mr_pq_column(const mr_pq_reader *r, int col);
/* Leaf index by top-level name ("albums") or full dotted path; -1 if none
 * (no error is set, so callers can probe optional columns). */
int mr_pq_find(const mr_pq_reader *r, const char *name);
/* Like mr_pq_find but a missing column is an error naming file and column. */
int mr_pq_require(const mr_pq_reader *r, const char *name, int *col);
/* The footer's created_by ("parquet-cpp-arrow version 14.0.1"), or NULL. */
const char *mr_pq_created_by(const mr_pq_reader *r);
/* Codec, encodings (bit e set for encoding e) and sizes of one column chunk. */
int mr_pq_chunk_info(const mr_pq_reader *r, int rg, int col, int *codec, uint32_t *encodings,
                     int64_t *compressed, int64_t *uncompressed);
/* The schema as the footer stores it, for display: element 0 is the root,
 * each group is followed by its num_children subtrees. physical is -1 for
 * groups; repetition 0 required, 1 optional, 2 repeated; converted is the
 * ConvertedType (-1 if none) and logical the LogicalType union member (0 if
 * none). The name is not NUL-terminated. */
int mr_pq_schema_size(const mr_pq_reader *r);
void mr_pq_schema_at(const mr_pq_reader *r, int i, const char **name, int *name_len, int *num_children,
                     int *repetition, int *physical, int *converted, int *logical);
/* Footer key-value metadata; NULL if absent. */
const char *mr_pq_kv(const mr_pq_reader *r, const char *key);
int mr_pq_num_kv(const mr_pq_reader *r);
void mr_pq_kv_at(const mr_pq_reader *r, int i, const char **key, const char **value);

/* Decodes column `col` of row group `rg`. INT96 is converted to int64
 * nanoseconds since the epoch. Thread-safe for distinct outputs. */
int mr_pq_read(mr_pq_reader *r, int rg, int col, mr_pq_col *out);

/* Decodes a flat fixed-width column chunk straight into dst, which holds
 * mr_pq_row_group_rows(r, rg) values of the column's width (1 for BOOLEAN,
 * 4 for INT32/FLOAT, 8 for INT64/DOUBLE and converted INT96, type_length
 * for FIXED_LEN_BYTE_ARRAY): no chunk-sized allocation and no copy, so a
 * caller can fill one whole-column array row group by row group, in
 * parallel. valid (same length, or NULL) receives 0 for nulls; with NULL, a
 * null is an error. Null slots hold 0. */
int mr_pq_read_into(mr_pq_reader *r, int rg, int col, void *dst, uint8_t *valid);

/* Convenience for the pipeline: reads a flat, non-null integer-like column
 * (INT32 or INT64 of any annotation, DATE, TIMESTAMP, BOOLEAN) of every row
 * group into dst[0 .. num_rows), widening to int64. Nulls are an error. */
int mr_pq_read_all_i64(mr_pq_reader *r, int col, int64_t *dst);

/* Record assembly for columns with list_depth > 1 (lists of lists): walks
 * one row's levels from a decoded chunk and reports its structure through
 * callbacks, so a caller can print or rebuild nested values. `cur` starts
 * zeroed and advances one row per call. Returns MR_EFORMAT (naming the
 * column) when the levels are inconsistent. */
typedef struct {
    int64_t level; /* next level entry */
    int64_t value; /* next dense value */
} mr_pq_cursor;

typedef struct {
    void (*list_begin)(void *ctx);
    void (*list_end)(void *ctx);
    void (*null)(void *ctx);
    void (*value)(void *ctx, int64_t slot); /* index into the dense values */
} mr_pq_assembler;

int mr_pq_assemble_row(const mr_pq_column_info *ci, const mr_pq_col *c, mr_pq_cursor *cur,
                       const mr_pq_assembler *cb, void *ctx);

/* ---- writer ---- */

typedef enum {
    MR_PQ_W_BOOL,
    MR_PQ_W_I32,    /* int32 values; bit_width 8/16/32 annotates INT(8/16/32) */
    MR_PQ_W_I64,
    MR_PQ_W_F32,
    MR_PQ_W_F64,
    MR_PQ_W_STRING,
    MR_PQ_W_DATE,   /* int32 days */
    MR_PQ_W_TS_NS,  /* int64 nanoseconds, TIMESTAMP(NANOS, isAdjustedToUTC=false) like pandas */
} mr_pq_wtype;

typedef struct {
    const char *name;
    mr_pq_wtype type;
    int bit_width;  /* 0 = natural width, no INT annotation */
    int nullable;   /* optional field (flat: null values; list: null lists) */
    int is_list;    /* 3-level LIST of required elements */
} mr_pq_field;

typedef struct {
    mr_pq_codec codec;        /* UNCOMPRESSED, SNAPPY (default), ZSTD, GZIP */
    int64_t row_group_rows;   /* default 1,048,576 */
    int dictionary;           /* try dictionary encoding (default on) */
    /* Zero means the default for each of these: */
    int level;                /* compression level (zstd 1..22, gzip 1..9) */
    int page_crc;             /* 1: store the CRC32 of every page */
    int64_t page_bytes;       /* data page size before compression, 1 MiB */
} mr_pq_write_opts;

/* The defaults used when mr_pq_writer_open gets NULL opts. */
mr_pq_write_opts mr_pq_write_opts_default(void);

typedef struct mr_pq_writer mr_pq_writer;

/* opts may be NULL for defaults. */
int mr_pq_writer_open(mr_pq_writer **out, const char *path, const mr_pq_field *fields, int n_fields,
                      const mr_pq_write_opts *opts);
int mr_pq_writer_kv(mr_pq_writer *w, const char *key, const char *value);
/* cols[i] describes field i for the same n_rows rows. */
int mr_pq_writer_write(mr_pq_writer *w, const mr_pq_col *cols);
/* Writes the footer, commits the file. Frees w on success and on failure. */
int mr_pq_writer_close(mr_pq_writer *w);
/* Discards everything; nothing appears at the final path. */
void mr_pq_writer_abort(mr_pq_writer *w);

#endif
