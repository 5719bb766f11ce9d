/* test-file.c - reading whole files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "test/runner/kt.h"

KT_TEST(file, reads_whole_files_and_names_them_in_errors)
{
    char dir[] = "/tmp/kt-file-XXXXXX";
    KT_ASSERT(mkdtemp(dir) != NULL);
    char path[64], fifo[64];
    snprintf(path, sizeof(path), "%s/data", dir);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f != NULL);
    for (int i = 0; i < 3000; i++) /* beyond the first buffer doublings */
        fputs("0123456789", f);
    fclose(f);
    char *data = NULL;
    size_t len = 0;
    KT_ASSERT_EQ(kn_read_file(path, 1 << 20, &data, &len, NULL), 0);
    KT_ASSERT_EQ(len, 30000);
    KT_ASSERT_EQ(strlen(data), 30000);
    free(data);
    kn_error *err = NULL;
    KT_ASSERT_EQ(kn_read_file(path, 1000, &data, NULL, &err), -KN_ETOOLARGE);
    KT_ASSERT(strstr(kn_error_msg(err), path) != NULL);
    kn_error_free(&err);
    KT_ASSERT(mkfifo(fifo, 0600) == 0);
    KT_ASSERT_EQ(kn_read_file(fifo, 1000, &data, NULL, &err), -KN_EINVAL);
    KT_ASSERT(strstr(kn_error_msg(err), "not a regular file") != NULL);
    kn_error_free(&err);
    KT_ASSERT(kn_read_file(dir, 1000, &data, NULL, &err) < 0); /* a directory */
    kn_error_free(&err);
    unlink(fifo);
    KT_ASSERT(kn_read_file(fifo, 1000, &data, NULL, &err) < 0);
    KT_ASSERT(strstr(kn_error_msg(err), "No such file") != NULL);
    kn_error_free(&err);
    unlink(path);
    rmdir(dir);
}
