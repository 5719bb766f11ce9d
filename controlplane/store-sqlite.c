/* store-sqlite.c - kn_store on SQLite (WAL, synchronous=FULL).
 *
 * Schema: every write is a row of `kv` whose primary key is its revision.
 * A delete is a tombstone row carrying the deleted value (so a watch can
 * report it). The current value of a key is its newest row, if not a
 * tombstone. `meta` holds the revision counter and the compacted revision:
 * the counter cannot be derived from MAX(rev) because compaction may remove
 * the newest tombstone, and revisions must never be reused.
 *
 * One connection, serialized by a mutex: SQLite serializes writers anyway,
 * and reads are short. Watchers wait on a condition variable signalled after
 * each commit. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controlplane/store.h"
#include "lib/xalloc.h"

struct kn_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    int64_t rev;
    int64_t compact_rev;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS kv ("
    "  rev INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL,"
    "  create_rev INTEGER NOT NULL,"
    "  prev_rev INTEGER NOT NULL,"
    "  deleted INTEGER NOT NULL,"
    "  value BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS kv_key_rev ON kv(key, rev);"
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES ('rev', 0), ('compact_rev', 0);";

static int db_error(kn_store *s, kn_error **err, const char *what)
{
    return kn_error_set(err, KN_EIO, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int prepare(kn_store *s, const char *sql, sqlite3_stmt **st, kn_error **err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_error(s, err, "prepare");
    return 0;
}

static int exec_sql(kn_store *s, const char *sql, kn_error **err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int r = kn_error_set(err, KN_EIO, "store: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

static int64_t meta_get(kn_store *s, const char *name)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE name=?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static const char *url_path(const char *url)
{
    static const char scheme[] = "sqlite://";
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return NULL;
    return url + sizeof(scheme) - 1;
}

int kn_store_open(const char *url, kn_store **out, kn_error **err)
{
    const char *path = url_path(url);
    if (!path)
        return kn_error_set(err, KN_ENOTSUP,
                            "store: unsupported store URL \"%s\" (want sqlite://"
                            "PATH)",
                            url);
    if (!*path)
        return kn_error_set(err, KN_EINVAL, "store: empty path in \"%s\"", url);
    kn_store *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        kn_error_set(err, KN_EIO, "store: open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        kn_store_close(s);
        return -KN_EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (exec_sql(s, schema, err) < 0) {
        kn_store_close(s);
        return kn_error_wrap(err, "open %s", path);
    }
    s->rev = meta_get(s, "rev");
    s->compact_rev = meta_get(s, "compact_rev");
    *out = s;
    return 0;
}

void kn_store_close(kn_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int64_t kn_store_current_rev(kn_store *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t r = s->rev;
    pthread_mutex_unlock(&s->mu);
    return r;
}

int64_t kn_store_compacted_rev(kn_store *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t r = s->compact_rev;
    pthread_mutex_unlock(&s->mu);
    return r;
}

void kn_kv_free(kn_kv *kv)
{
    if (!kv)
        return;
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof(*kv));
}

void kn_kv_list_free(kn_kv_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        kn_kv_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

void kn_store_event_list_free(kn_store_event_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        kn_kv_free(&l->items[i].kv);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

/* Fills kv from a row whose columns start at col: key, rev, create_rev, value. */
static void row_to_kv(sqlite3_stmt *st, int col, kn_kv *kv)
{
    kv->key = xstrdup((const char *)sqlite3_column_text(st, col));
    kv->mod_rev = sqlite3_column_int64(st, col + 1);
    kv->create_rev = sqlite3_column_int64(st, col + 2);
    const void *blob = sqlite3_column_blob(st, col + 3);
    int n = sqlite3_column_bytes(st, col + 3);
    kv->value = xmalloc((size_t)n + 1);
    if (n > 0)
        memcpy(kv->value, blob, (size_t)n);
    kv->value[n] = '\0';
    kv->value_len = (size_t)n;
}

/* The newest row of key: 1 and kv filled (with *deleted), 0 if none, <0 on error. */
static int newest_row(kn_store *s, const char *key, kn_kv *kv, bool *deleted, kn_error **err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "SELECT key, rev, create_rev, value, deleted FROM kv WHERE key=? "
                "ORDER BY rev DESC LIMIT 1",
                &st, err) < 0)
        return -KN_EIO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        row_to_kv(st, 0, kv);
        *deleted = sqlite3_column_int(st, 4) != 0;
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = db_error(s, err, "read");
    }
    sqlite3_finalize(st);
    return r;
}

int kn_store_get(kn_store *s, const char *key, kn_kv *out, kn_error **err)
{
    kn_kv kv = {0};
    bool deleted = false;
    pthread_mutex_lock(&s->mu);
    int r = newest_row(s, key, &kv, &deleted, err);
    pthread_mutex_unlock(&s->mu);
    if (r < 0)
        return r;
    if (r == 0 || deleted) {
        kn_kv_free(&kv);
        return kn_error_set(err, KN_ENOTFOUND, "%s not found", key);
    }
    *out = kv;
    return 0;
}

typedef struct write_op {
    const char *key;
    const char *value;
    size_t len;
    int64_t create_rev; /* 0: this write creates the key */
    int64_t prev_rev;
    bool deleted;
} write_op;

/* Inserts the row for op at the next revision and bumps the counter, inside
 * the caller's transaction. */
static int insert_row(kn_store *s, const write_op *op, int64_t *rev, kn_error **err)
{
    int64_t next = s->rev + 1;
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "INSERT INTO kv (rev, key, create_rev, prev_rev, deleted, value) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                &st, err) < 0)
        return -KN_EIO;
    sqlite3_bind_int64(st, 1, next);
    sqlite3_bind_text(st, 2, op->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, op->create_rev ? op->create_rev : next);
    sqlite3_bind_int64(st, 4, op->prev_rev);
    sqlite3_bind_int(st, 5, op->deleted);
    sqlite3_bind_blob(st, 6, op->value ? op->value : "", (int)op->len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, err, "insert");
    char sql[96];
    snprintf(sql, sizeof(sql), "UPDATE meta SET value=%lld WHERE name='rev'", (long long)next);
    if (exec_sql(s, sql, err) < 0)
        return -KN_EIO;
    *rev = next;
    return 0;
}

typedef enum { W_CREATE, W_UPDATE, W_DELETE } write_kind;

/* Checks the preconditions of a write against the key's newest row. */
static int check_write(write_kind kind, const char *key, int r, bool deleted, const kn_kv *cur,
                       int64_t expected_rev, kn_error **err)
{
    bool exists = r == 1 && !deleted;
    if (kind == W_CREATE && exists)
        return kn_error_set(err, KN_EEXIST, "%s already exists", key);
    if (kind != W_CREATE && !exists)
        return kn_error_set(err, KN_ENOTFOUND, "%s not found", key);
    if (kind != W_CREATE && expected_rev > 0 && cur->mod_rev != expected_rev)
        return kn_error_set(err, KN_ECONFLICT, "%s: revision %lld does not match the current %lld",
                            key, (long long)expected_rev, (long long)cur->mod_rev);
    return 0;
}

static int do_write(kn_store *s, write_kind kind, const char *key, const char *value, size_t len,
                    int64_t expected_rev, kn_kv *prev, int64_t *rev, kn_error **err)
{
    if (len > (size_t)INT32_MAX)
        return kn_error_set(err, KN_ETOOLARGE, "%s: value too large", key);
    kn_kv cur = {0};
    bool deleted = false;
    int64_t new_rev = 0;
    pthread_mutex_lock(&s->mu);
    int r = exec_sql(s, "BEGIN IMMEDIATE", err);
    if (r == 0)
        r = newest_row(s, key, &cur, &deleted, err);
    if (r >= 0)
        r = check_write(kind, key, r, deleted, &cur, expected_rev, err);
    if (r >= 0) {
        bool live = cur.key && !deleted;
        write_op op = {key,
                       kind == W_DELETE ? cur.value : value,
                       kind == W_DELETE ? cur.value_len : len,
                       live ? cur.create_rev : 0,
                       cur.key ? cur.mod_rev : 0,
                       kind == W_DELETE};
        r = insert_row(s, &op, &new_rev, err);
    }
    if (r >= 0)
        r = exec_sql(s, "COMMIT", err);
    if (r < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        s->rev = new_rev;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->mu);
    if (r >= 0 && rev)
        *rev = new_rev;
    if (r >= 0 && prev) {
        *prev = cur;
        memset(&cur, 0, sizeof(cur));
    }
    kn_kv_free(&cur);
    return r < 0 ? r : 0;
}

int kn_store_create(kn_store *s, const char *key, const char *value, size_t len, int64_t *rev,
                    kn_error **err)
{
    return do_write(s, W_CREATE, key, value, len, 0, NULL, rev, err);
}

int kn_store_update(kn_store *s, const char *key, const char *value, size_t len,
                    int64_t expected_rev, int64_t *rev, kn_error **err)
{
    return do_write(s, W_UPDATE, key, value, len, expected_rev, NULL, rev, err);
}

int kn_store_delete(kn_store *s, const char *key, int64_t expected_rev, kn_kv *prev, int64_t *rev,
                    kn_error **err)
{
    return do_write(s, W_DELETE, key, NULL, 0, expected_rev, prev, rev, err);
}

/* The first key after every key with the prefix: prefix with its last byte
 * incremented (bytes 0xff are dropped first). NULL: no upper bound. */
static char *prefix_end(const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
        n--;
    if (n == 0)
        return NULL;
    char *end = xstrndup(prefix, n);
    end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
    return end;
}

static void push_kv(kn_kv_list *l, size_t *cap, sqlite3_stmt *st)
{
    if (l->len == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        l->items = xreallocarray(l->items, *cap, sizeof(*l->items));
    }
    row_to_kv(st, 0, &l->items[l->len++]);
}

static int list_locked(kn_store *s, const char *prefix, const char *start_after, size_t limit,
                       int64_t at, kn_kv_list *out, bool *more, kn_error **err)
{
    char *end = prefix_end(prefix);
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "SELECT key, rev, create_rev, value FROM ("
                " SELECT key, MAX(rev) AS rev, create_rev, value, deleted FROM kv"
                " WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) AND key > ?3 AND rev <= ?4"
                " GROUP BY key) WHERE deleted = 0 ORDER BY key LIMIT ?5",
                &st, err) < 0) {
        free(end);
        return -KN_EIO;
    }
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    if (end)
        sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, start_after ? start_after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    sqlite3_bind_int64(st, 5, limit ? (int64_t)limit + 1 : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        push_kv(out, &cap, st);
    int r = rc == SQLITE_DONE ? 0 : db_error(s, err, "list");
    sqlite3_finalize(st);
    free(end);
    *more = limit && out->len > limit;
    if (*more) {
        kn_kv_free(&out->items[limit]);
        out->len = limit;
    }
    return r;
}

int kn_store_list(kn_store *s, const char *prefix, const char *start_after, size_t limit,
                  int64_t at_rev, kn_kv_list *out, int64_t *list_rev, bool *more, kn_error **err)
{
    memset(out, 0, sizeof(*out));
    bool more_local = false;
    pthread_mutex_lock(&s->mu);
    int64_t at = at_rev > 0 ? at_rev : s->rev;
    int r = 0;
    if (at_rev > s->rev)
        r = kn_error_set(err, KN_EINVAL, "revision %lld is newer than the store's %lld",
                         (long long)at_rev, (long long)s->rev);
    else if (at_rev > 0 && at_rev < s->compact_rev)
        r = kn_error_set(err, KN_EGONE, "revision %lld has been compacted (oldest %lld)",
                         (long long)at_rev, (long long)s->compact_rev);
    else
        r = list_locked(s, prefix, start_after, limit, at, out, &more_local, err);
    pthread_mutex_unlock(&s->mu);
    if (r < 0) {
        kn_kv_list_free(out);
        return r;
    }
    if (list_rev)
        *list_rev = at;
    if (more)
        *more = more_local;
    return 0;
}

static void push_event(kn_store_event_list *l, size_t *cap, sqlite3_stmt *st)
{
    if (l->len == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        l->items = xreallocarray(l->items, *cap, sizeof(*l->items));
    }
    kn_store_event *ev = &l->items[l->len++];
    row_to_kv(st, 0, &ev->kv);
    ev->prev_rev = sqlite3_column_int64(st, 4);
    ev->type = sqlite3_column_int(st, 5) ? KN_STORE_DELETE : KN_STORE_PUT;
}

static int events_locked(kn_store *s, const char *prefix, int64_t after_rev, size_t max,
                         kn_store_event_list *out, kn_error **err)
{
    char *end = prefix_end(prefix);
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "SELECT key, rev, create_rev, value, prev_rev, deleted FROM kv"
                " WHERE rev > ?1 AND key >= ?2 AND (?3 IS NULL OR key < ?3)"
                " ORDER BY rev LIMIT ?4",
                &st, err) < 0) {
        free(end);
        return -KN_EIO;
    }
    sqlite3_bind_int64(st, 1, after_rev);
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    if (end)
        sqlite3_bind_text(st, 3, end, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, max ? (int64_t)max : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        push_event(out, &cap, st);
    int r = rc == SQLITE_DONE ? 0 : db_error(s, err, "events");
    sqlite3_finalize(st);
    free(end);
    return r;
}

int kn_store_events(kn_store *s, const char *prefix, int64_t after_rev, size_t max,
                    kn_store_event_list *out, int64_t *seen_rev, kn_error **err)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    int r;
    if (after_rev < s->compact_rev)
        r = kn_error_set(err, KN_EGONE, "revision %lld has been compacted (oldest %lld)",
                         (long long)after_rev, (long long)s->compact_rev);
    else
        r = events_locked(s, prefix, after_rev, max, out, err);
    if (r == 0 && seen_rev)
        *seen_rev = max && out->len == max ? out->items[out->len - 1].kv.mod_rev : s->rev;
    pthread_mutex_unlock(&s->mu);
    if (r < 0)
        kn_store_event_list_free(out);
    return r;
}

bool kn_store_wait(kn_store *s, int64_t after_rev, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->rev <= after_rev) {
        if (pthread_cond_timedwait(&s->changed, &s->mu, &deadline) != 0)
            break;
    }
    bool ok = s->rev > after_rev;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int kn_store_compact(kn_store *s, int64_t rev, kn_error **err)
{
    pthread_mutex_lock(&s->mu);
    int r = 0;
    if (rev > s->rev)
        rev = s->rev;
    if (rev > s->compact_rev) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "BEGIN IMMEDIATE;"
                 "DELETE FROM kv WHERE rev <= %1$lld AND (deleted = 1 OR EXISTS ("
                 " SELECT 1 FROM kv k2 WHERE k2.key = kv.key AND k2.rev > kv.rev"
                 " AND k2.rev <= %1$lld));"
                 "UPDATE meta SET value = %1$lld WHERE name = 'compact_rev';"
                 "COMMIT;",
                 (long long)rev);
        r = exec_sql(s, sql, err);
        if (r < 0)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        else
            s->compact_rev = rev;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}
