/* table-internal.h - what the printers in table.c and table-kinds.c share:
 * column definitions, row functions and cell helpers. */
#ifndef KNODE_CONTROLPLANE_TABLE_INTERNAL_H
#define KNODE_CONTROLPLANE_TABLE_INTERNAL_H

#include <cjson/cJSON.h>

typedef struct tbl_column {
    const char *name, *type, *desc;
    int priority; /* 1: only with -o wide */
} tbl_column;

/* Appends the cells of one object, one per column (wide ones included). */
typedef void (*tbl_row_fn)(const cJSON *obj, cJSON *cells);

typedef struct tbl_printer {
    const char *resource;   /* plural */
    const tbl_column *cols; /* ends with a NULL name */
    tbl_row_fn row;
} tbl_printer;

/* The printer of table-kinds.c for a resource, or NULL. */
const tbl_printer *tbl_kinds_printer(const char *resource);

/* The string at a path of o, or NULL. */
const char *tbl_str_at(const cJSON *o, const char *path);
/* A string cell, "<none>" for NULL or "". */
void tbl_cell_str(cJSON *cells, const char *s);
/* A string cell taken as is (NULL: ""). */
void tbl_cell_raw(cJSON *cells, const char *s);
/* The object's age ("5m") as a cell. */
void tbl_cell_age(cJSON *cells, const cJSON *obj);
/* An integer cell from a path (0 when missing). */
void tbl_cell_int(cJSON *cells, const cJSON *o, const char *path);
/* The pod template's containers and images ("a,b") and the label selector
 * at sel_path ("app=web") as three cells, as upstream's wide columns. */
void tbl_cells_containers_images_selector(cJSON *cells, const cJSON *obj, const char *sel_path);
/* "k=v,k2=v2" of a string map, "" for none (owned). */
char *tbl_join_map(const cJSON *map);

#endif
