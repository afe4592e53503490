/* Parquet footer and page headers, decoded from thrift into plain structs
 * (internal to src/parquet/). Only the fields the reader uses are kept;
 * everything else is skipped. Strings point into a copy owned by the
 * mr_pq_meta (its footer buffer), so freeing is one call. */
#ifndef MR_PQ_META_H
#define MR_PQ_META_H

#include <stddef.h>
#include <stdint.h>

#include "parquet/parquet.h"

typedef struct {
    const uint8_t *name;
    size_t name_len;
    int type;          /* physical type, -1 for a group */
    int type_length;
    int repetition;    /* 0 required, 1 optional, 2 repeated, -1 absent */
    int num_children;  /* -1 absent (a leaf) */
    int converted;     /* ConvertedType, -1 absent */
    int scale, precision;
    /* LogicalType union: the field id of the member set, 0 if absent. */
    int logical;
    int lt_unit;       /* TIME/TIMESTAMP: 1 millis, 2 micros, 3 nanos */
    int lt_utc;
    int lt_bit_width, lt_signed;
    int lt_scale, lt_precision;
} mr_pq_selem;

typedef struct {
    int type;
    int codec;
    uint32_t encodings;   /* bit e set when encoding e is listed (e < 32) */
    int64_t num_values;
    int64_t total_uncompressed, total_compressed;
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* -1 when absent */
    int has_meta;
    int has_file_path;    /* data in another file: unsupported */
} mr_pq_chunk;

typedef struct {
    int64_t num_rows;
    int n_cols;
    mr_pq_chunk *cols;
} mr_pq_rowgroup;

typedef struct {
    int64_t num_rows;
    int n_schema;
    mr_pq_selem *schema;
    int n_rg;
    mr_pq_rowgroup *rgs;
    int n_kv;
    char **kv; /* 2 * n_kv NUL-terminated strings: key, value */
    char *created_by;
} mr_pq_meta;

/* Decodes FileMetaData from buf[0..n). On error returns MR_EFORMAT with a
 * message starting "corrupt footer: ". */
int mr_pq_meta_parse(const uint8_t *buf, size_t n, mr_pq_meta *m);
void mr_pq_meta_free(mr_pq_meta *m);

enum { MR_PQ_PAGE_DATA = 0, MR_PQ_PAGE_INDEX = 1, MR_PQ_PAGE_DICT = 2, MR_PQ_PAGE_DATA_V2 = 3 };

typedef struct {
    int type;
    int32_t uncompressed_size, compressed_size;
    int has_crc;
    uint32_t crc;
    int has_v1, has_v2, has_dict;
    int32_t num_values;    /* v1, v2 and dictionary */
    int encoding;
    int def_encoding, rep_encoding;  /* v1 */
    int32_t num_nulls, num_rows;     /* v2 */
    int32_t def_len, rep_len;        /* v2 */
    int is_compressed;               /* v2, default 1 */
} mr_pq_page_header;

/* Decodes a PageHeader at buf[0..n); *hdr_len receives its size. */
int mr_pq_page_header_parse(const uint8_t *buf, size_t n, mr_pq_page_header *h, size_t *hdr_len);

/* Builds the leaf columns from the schema: names, paths, levels, list
 * shapes, logical types, and the reason a leaf is unsupported. *cols is
 * malloc'd with n entries; names and paths are malloc'd strings freed by
 * mr_pq_columns_free. */
int mr_pq_schema_columns(const mr_pq_meta *m, mr_pq_column_info **cols, int *n);
void mr_pq_columns_free(mr_pq_column_info *cols, int n);

/* "PLAIN", "RLE_DICTIONARY", ... or "encoding N" into buf (24 bytes). */
const char *mr_pq_encoding_name(int e, char buf[24]);

#endif
