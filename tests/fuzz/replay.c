/*
 * replay.c -- runs a fuzz target's LLVMFuzzerTestOneInput over every file
 * of its corpus folder (FUZZ_CORPUS), so builds without libFuzzer still
 * replay every saved input (including past crashes) under make check.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(void)
{
    DIR           *d = opendir(FUZZ_CORPUS);
    struct dirent *de;
    char           path[4096];
    int            n = 0;

    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", FUZZ_CORPUS);
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        FILE    *f;
        uint8_t *buf;
        long     len;

        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", FUZZ_CORPUS, de->d_name);
        f = fopen(path, "rb");
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
            || fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        buf = malloc(len ? len : 1);
        if (buf == NULL || fread(buf, 1, len, f) != (size_t) len) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t) len);
        free(buf);
        n++;
    }
    closedir(d);
    printf("replayed %d inputs from %s\n", n, FUZZ_CORPUS);
    return n > 0 ? 0 : 1;
}
