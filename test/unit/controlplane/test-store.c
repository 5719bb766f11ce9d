/* Store semantics: revisions, optimistic concurrency, history, compaction,
 * durability across a kill -9. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controlplane/store.h"
#include "test/runner/kt.h"

static kn_store *open_store(const char *name)
{
    char url[512];
    snprintf(url, sizeof(url), "sqlite://%s/%s", kt_tmpdir(), name);
    kn_store *s = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_open(url, &s, &err), err);
    return s;
}

static int64_t put(kn_store *s, const char *key, const char *val)
{
    kn_error *err = NULL;
    int64_t rev = 0;
    KT_ASSERT_OK(kn_store_create(s, key, val, strlen(val), &rev, &err), err);
    return rev;
}

KT_TEST(store, create_get_revisions)
{
    kn_store *s = open_store("a.db");
    KT_ASSERT_EQ(kn_store_current_rev(s), 0);
    KT_ASSERT_EQ(put(s, "/registry/pods/default/a", "A1"), 1);
    KT_ASSERT_EQ(put(s, "/registry/pods/default/b", "B1"), 2);
    kn_kv kv = {0};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_get(s, "/registry/pods/default/a", &kv, &err), err);
    KT_ASSERT_STREQ(kv.value, "A1");
    KT_ASSERT_EQ(kv.mod_rev, 1);
    KT_ASSERT_EQ(kv.create_rev, 1);
    kn_kv_free(&kv);
    KT_ASSERT_EQ(kn_store_current_rev(s), 2);
    kn_store_close(s);
}

KT_TEST(store, create_existing_is_eexist)
{
    kn_store *s = open_store("a.db");
    put(s, "/k", "v");
    kn_error *err = NULL;
    int64_t rev;
    KT_ASSERT_EQ(kn_store_create(s, "/k", "w", 1, &rev, &err), -KN_EEXIST);
    KT_ASSERT_EQ(kn_error_code(err), KN_EEXIST);
    kn_error_free(&err);
    KT_ASSERT_EQ(kn_store_current_rev(s), 1);
    kn_store_close(s);
}

KT_TEST(store, update_with_stale_revision_conflicts)
{
    kn_store *s = open_store("a.db");
    put(s, "/k", "v1");
    kn_error *err = NULL;
    int64_t rev = 0;
    KT_ASSERT_OK(kn_store_update(s, "/k", "v2", 2, 1, &rev, &err), err);
    KT_ASSERT_EQ(rev, 2);
    KT_ASSERT_EQ(kn_store_update(s, "/k", "v3", 2, 1, &rev, &err), -KN_ECONFLICT);
    kn_error_free(&err);
    kn_kv kv = {0};
    KT_ASSERT_OK(kn_store_get(s, "/k", &kv, &err), err);
    KT_ASSERT_STREQ(kv.value, "v2");
    KT_ASSERT_EQ(kv.create_rev, 1);
    KT_ASSERT_EQ(kv.mod_rev, 2);
    kn_kv_free(&kv);
    KT_ASSERT_EQ(kn_store_update(s, "/missing", "x", 1, 0, &rev, &err), -KN_ENOTFOUND);
    kn_error_free(&err);
    kn_store_close(s);
}

KT_TEST(store, delete_then_recreate)
{
    kn_store *s = open_store("a.db");
    put(s, "/k", "v1");
    kn_error *err = NULL;
    kn_kv prev = {0};
    int64_t rev = 0;
    KT_ASSERT_EQ(kn_store_delete(s, "/k", 5, NULL, &rev, &err), -KN_ECONFLICT);
    kn_error_free(&err);
    KT_ASSERT_OK(kn_store_delete(s, "/k", 1, &prev, &rev, &err), err);
    KT_ASSERT_STREQ(prev.value, "v1");
    KT_ASSERT_EQ(rev, 2);
    kn_kv_free(&prev);
    kn_kv kv = {0};
    KT_ASSERT_EQ(kn_store_get(s, "/k", &kv, &err), -KN_ENOTFOUND);
    kn_error_free(&err);
    KT_ASSERT_EQ(kn_store_delete(s, "/k", 0, NULL, NULL, &err), -KN_ENOTFOUND);
    kn_error_free(&err);
    KT_ASSERT_EQ(put(s, "/k", "v2"), 3);
    KT_ASSERT_OK(kn_store_get(s, "/k", &kv, &err), err);
    KT_ASSERT_EQ(kv.create_rev, 3);
    kn_kv_free(&kv);
    kn_store_close(s);
}

KT_TEST(store, list_prefix_pagination_and_past_revision)
{
    kn_store *s = open_store("a.db");
    put(s, "/registry/pods/a/1", "a1");
    put(s, "/registry/pods/a/2", "a2");
    put(s, "/registry/pods/b/1", "b1");
    put(s, "/registry/podsx/1", "other prefix");
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_update(s, "/registry/pods/a/1", "a1v2", 4, 0, NULL, &err), err);

    kn_kv_list l;
    int64_t lrev;
    bool more;
    KT_ASSERT_OK(kn_store_list(s, "/registry/pods/", NULL, 2, 0, &l, &lrev, &more, &err), err);
    KT_ASSERT_EQ(l.len, 2);
    KT_ASSERT(more);
    KT_ASSERT_EQ(lrev, 5);
    KT_ASSERT_STREQ(l.items[0].value, "a1v2");
    KT_ASSERT_STREQ(l.items[1].key, "/registry/pods/a/2");
    char *cont = strdup(l.items[1].key);
    kn_kv_list_free(&l);
    KT_ASSERT_OK(kn_store_list(s, "/registry/pods/", cont, 2, lrev, &l, &lrev, &more, &err), err);
    free(cont);
    KT_ASSERT_EQ(l.len, 1);
    KT_ASSERT(!more);
    KT_ASSERT_STREQ(l.items[0].key, "/registry/pods/b/1");
    kn_kv_list_free(&l);

    /* as of revision 2, only the first two pods existed, with old values */
    KT_ASSERT_OK(kn_store_list(s, "/registry/pods/", NULL, 0, 2, &l, &lrev, &more, &err), err);
    KT_ASSERT_EQ(l.len, 2);
    KT_ASSERT_STREQ(l.items[0].value, "a1");
    kn_kv_list_free(&l);
    KT_ASSERT_EQ(kn_store_list(s, "/", NULL, 0, 99, &l, &lrev, &more, &err), -KN_EINVAL);
    kn_error_free(&err);
    kn_store_close(s);
}

KT_TEST(store, events_since_revision_include_deletes)
{
    kn_store *s = open_store("a.db");
    put(s, "/r/a", "1");
    put(s, "/r/b", "2");
    put(s, "/other", "x");
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_update(s, "/r/a", "1b", 2, 0, NULL, &err), err);
    KT_ASSERT_OK(kn_store_delete(s, "/r/b", 0, NULL, NULL, &err), err);

    kn_store_event_list ev;
    KT_ASSERT_OK(kn_store_events(s, "/r/", 1, 0, &ev, NULL, &err), err);
    KT_ASSERT_EQ(ev.len, 3);
    KT_ASSERT_EQ(ev.items[0].type, KN_STORE_PUT);
    KT_ASSERT_EQ(ev.items[0].kv.mod_rev, 2);
    KT_ASSERT_EQ(ev.items[0].kv.create_rev, 2);
    KT_ASSERT_EQ(ev.items[1].type, KN_STORE_PUT);
    KT_ASSERT_STREQ(ev.items[1].kv.value, "1b");
    KT_ASSERT_EQ(ev.items[1].prev_rev, 1);
    KT_ASSERT_EQ(ev.items[2].type, KN_STORE_DELETE);
    KT_ASSERT_STREQ(ev.items[2].kv.key, "/r/b");
    KT_ASSERT_STREQ(ev.items[2].kv.value, "2");
    KT_ASSERT_EQ(ev.items[2].kv.mod_rev, 5);
    kn_store_event_list_free(&ev);
    KT_ASSERT_OK(kn_store_events(s, "/r/", 1, 1, &ev, NULL, &err), err);
    KT_ASSERT_EQ(ev.len, 1);
    kn_store_event_list_free(&ev);
    kn_store_close(s);
}

KT_TEST(store, compaction_makes_old_revisions_gone)
{
    kn_store *s = open_store("a.db");
    put(s, "/k", "1");
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_update(s, "/k", "2", 1, 0, NULL, &err), err);
    put(s, "/j", "x");
    KT_ASSERT_OK(kn_store_delete(s, "/j", 0, NULL, NULL, &err), err);
    put(s, "/m", "y");
    KT_ASSERT_OK(kn_store_compact(s, 4, &err), err);
    KT_ASSERT_EQ(kn_store_compacted_rev(s), 4);

    kn_store_event_list ev;
    KT_ASSERT_EQ(kn_store_events(s, "/", 2, 0, &ev, NULL, &err), -KN_EGONE);
    kn_error_free(&err);
    KT_ASSERT_OK(kn_store_events(s, "/", 4, 0, &ev, NULL, &err), err);
    KT_ASSERT_EQ(ev.len, 1);
    kn_store_event_list_free(&ev);

    kn_kv_list l;
    int64_t lrev;
    bool more;
    KT_ASSERT_EQ(kn_store_list(s, "/", NULL, 0, 3, &l, &lrev, &more, &err), -KN_EGONE);
    kn_error_free(&err);
    KT_ASSERT_OK(kn_store_list(s, "/", NULL, 0, 4, &l, &lrev, &more, &err), err);
    KT_ASSERT_EQ(l.len, 1);
    KT_ASSERT_STREQ(l.items[0].value, "2");
    kn_kv_list_free(&l);
    /* the counter never goes back, even though the newest rows were removed */
    KT_ASSERT_EQ(put(s, "/n", "z"), 6);
    kn_store_close(s);
    s = open_store("a.db");
    KT_ASSERT_EQ(kn_store_current_rev(s), 6);
    KT_ASSERT_EQ(kn_store_compacted_rev(s), 4);
    kn_store_close(s);
}

KT_TEST(store, wait_wakes_on_write)
{
    kn_store *s = open_store("a.db");
    KT_ASSERT(!kn_store_wait(s, 0, 10));
    put(s, "/k", "v");
    KT_ASSERT(kn_store_wait(s, 0, 10));
    kn_store_close(s);
}

KT_TEST(store, bad_urls)
{
    kn_store *s = NULL;
    kn_error *err = NULL;
    KT_ASSERT_EQ(kn_store_open("etcdx://h:1", &s, &err), -KN_ENOTSUP);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "etcdx://h:1");
    kn_error_free(&err);
    KT_ASSERT_FAILS(kn_store_open("sqlite:///nonexistent-dir/x/y.db", &s, &err));
    kn_error_free(&err);
}

/* A child writes as fast as it can and reports each acknowledged revision
 * through a pipe; it is killed with SIGKILL mid-stream. Every acknowledged
 * write must be there after reopening. */
KT_TEST_TIMEOUT(store, kill9_loses_no_acknowledged_write, 120)
{
    int fds[2];
    KT_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        kn_store *s = open_store("k.db");
        for (int i = 0;; i++) {
            char key[64];
            snprintf(key, sizeof(key), "/registry/pods/default/p%06d", i);
            int64_t rev;
            if (kn_store_create(s, key, key, strlen(key), &rev, NULL) < 0)
                _exit(3);
            if (write(fds[1], &i, sizeof(i)) != sizeof(i))
                _exit(4);
        }
    }
    close(fds[1]);
    int last = -1, v;
    while (last < 200 && read(fds[0], &v, sizeof(v)) == sizeof(v))
        last = v;
    kill(pid, SIGKILL);
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        last = v;
    waitpid(pid, NULL, 0);
    close(fds[0]);
    KT_ASSERT(last >= 200);

    kn_store *s = open_store("k.db");
    kn_kv_list l;
    int64_t lrev;
    bool more;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_list(s, "/registry/pods/", NULL, 0, 0, &l, &lrev, &more, &err), err);
    KT_ASSERT_MSG((int)l.len >= last + 1, "acknowledged %d writes, found %zu", last + 1, l.len);
    for (int i = 0; i <= last; i++) {
        char key[64];
        snprintf(key, sizeof(key), "/registry/pods/default/p%06d", i);
        KT_ASSERT_STREQ(l.items[i].key, key);
    }
    kn_kv_list_free(&l);
    kn_store_close(s);
}
