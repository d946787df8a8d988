// main.c: the wasibench program. Subcommands arrive with the runner issue;
// for now `wasibench version` and `wasibench --help`.
#include "core/blas.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: wasibench <command> [options]\n\n"
               "commands:\n"
               "  version      print the build and BLAS in use\n"
               "  help         this text\n\n"
               "(run, info, merge and plot come with the runner; see README.md)\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version")) {
        threads_set(0);
        printf("wasibench (C11), %s, %d threads\n", blas_name(), threads_get());
        return 0;
    }
    fprintf(stderr, "wasibench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
