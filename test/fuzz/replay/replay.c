/* replay.c - runs a fuzz target over every file of its corpus (a directory,
 * recursively, or single files), so `make check` replays each corpus as an
 * ordinary test under ASan+UBSan without needing libFuzzer. */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replayed;

static int run_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = (size_t)st->st_size + 1, len;
    uint8_t *buf = malloc(cap);
    len = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (!buf)
        return 1;
    /* an exact-size heap copy, so ASan catches a read one past the end */
    uint8_t *exact = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        exact[i] = buf[i];
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    replayed++;
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (nftw(argv[i], run_file, 16, FTW_PHYS) != 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
    }
    printf("%ld inputs\n", replayed);
    return 0;
}
