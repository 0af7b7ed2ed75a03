/*
 * A disk whose fsync is slow, for benchmarks: loaded with LD_PRELOAD into a
 * process (Redis), it makes fsync and fdatasync sleep SLOW_FSYNC_US
 * microseconds before doing the real call. The data still reaches the disk;
 * only the wait grows, as on a slower or busier device.
 *
 * C because LD_PRELOAD interposes C symbols; the decisions benchmark compiles
 * it with the system's cc (`cc -shared -fPIC -O2 -o libslow_fsync.so
 * slow_fsync.c -ldl`). Redis's AOF calls fdatasync on Linux
 * (redis_fsync in src/config.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static long delay_us(void) {
    static long us = -1;
    if (us < 0) {
        const char *v = getenv("SLOW_FSYNC_US");
        us = v ? atol(v) : 0;
    }
    return us;
}

static void pause_a_while(void) {
    long us = delay_us();
    if (us <= 0) return;
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0) {
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    pause_a_while();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    pause_a_while();
    return real(fd);
}
