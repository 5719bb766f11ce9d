/* bench-store.c - the control plane's store beside SQLite doing the same
 * work directly (the store's limit): 1,000 creates (each its own durable
 * transaction) and a list of 1,000 objects. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controlplane/store.h"
#include "lib/xalloc.h"
#include "test/bench/bench.h"

enum { N = 1000 };

static const char pod[] = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
                          "\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                          "\"image\":\"localhost/busybox:1.35\"}]}}";

static double raw_sqlite_creates(const char *path, double *list_ms)
{
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE kv (rev INTEGER PRIMARY KEY, key TEXT, value BLOB)",
                 NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO kv (key, value) VALUES (?, ?)", -1, &st, NULL);
    double t0 = bench_now();
    for (int i = 0; i < N; i++) {
        char key[64];
        snprintf(key, sizeof(key), "/registry/core/pods/default/p%04d", i);
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, pod, (int)strlen(pod), SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double create = bench_now() - t0;
    sqlite3_finalize(st);
    t0 = bench_now();
    sqlite3_prepare_v2(db, "SELECT key, value FROM kv ORDER BY key", -1, &st, NULL);
    size_t bytes = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        bytes += (size_t)sqlite3_column_bytes(st, 1);
    sqlite3_finalize(st);
    *list_ms = (bench_now() - t0) * 1e3;
    sqlite3_close(db);
    return N / create;
}

int main(void)
{
    char dir[] = "/tmp/knode-bench-store-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *url = xasprintf("sqlite://%s/store.db", dir);
    char *raw = xasprintf("%s/raw.db", dir);
    kn_store *s;
    if (kn_store_open(url, &s, NULL) < 0)
        return 1;
    double t0 = bench_now();
    for (int i = 0; i < N; i++) {
        char key[64];
        int64_t rev;
        snprintf(key, sizeof(key), "/registry/core/pods/default/p%04d", i);
        kn_store_create(s, key, pod, strlen(pod), &rev, NULL);
    }
    double ours = N / (bench_now() - t0);
    t0 = bench_now();
    kn_kv_list l;
    int64_t lrev;
    bool more;
    kn_store_list(s, "/registry/core/pods/", NULL, 0, 0, &l, &lrev, &more, NULL);
    double list_ms = (bench_now() - t0) * 1e3;
    kn_kv_list_free(&l);
    kn_store_close(s);
    double raw_list_ms;
    double peer = raw_sqlite_creates(raw, &raw_list_ms);
    bench_report("store: create 1,000 objects (durable each)", ours,
                 "same inserts on SQLite directly (limit)", peer, "obj/s", 0);
    bench_report("store: list 1,000 objects", list_ms, "SELECT on SQLite directly (limit)",
                 raw_list_ms, "ms", 1);
    char *rm = xasprintf("rm -rf %s", dir);
    int r = system(rm);
    (void)r;
    free(rm), free(url), free(raw);
    return 0;
}
