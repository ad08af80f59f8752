// memtrace: which call sites copy or zero how many bytes (issue 9's copy counts).
//
// An LD_PRELOAD shim over memcpy, memmove and memset: every call of at least 2 KiB adds its
// size to its caller's return address; at exit the table is written to $MEMTRACE_OUT
// ("kind bytes calls offset object", offset relative to the object's load address).
// `memtrace.py` names the callers from the binary's symbol table. Copies that libc makes
// internally (calloc's zeroing, realloc) do not pass through the PLT and are not counted.
// Not thread-safe: trace single-threaded runs (`sweep run -j 1`).
//
//   cc -O2 -shared -fPIC -o memtrace.so memtrace.c -ldl
//   MEMTRACE_OUT=trace.txt LD_PRELOAD=./memtrace.so sweep run -j 1 ...
//   python3 memtrace.py trace.txt path/to/sweep
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS 4096
#define MIN_BYTES 2048

static uintptr_t site[SLOTS];
static unsigned long long bytes[SLOTS], calls[SLOTS];
static char kind[SLOTS];

static void *(*real_memcpy)(void *, const void *, size_t);
static void *(*real_memmove)(void *, const void *, size_t);
static void *(*real_memset)(void *, int, size_t);

static void count(uintptr_t caller, size_t n, char k) {
    if (n < MIN_BYTES) return;
    size_t h = (caller * 2654435761u) % SLOTS;
    for (size_t i = 0; i < SLOTS; i++) {
        size_t j = (h + i) % SLOTS;
        if (site[j] == caller || site[j] == 0) {
            site[j] = caller;
            bytes[j] += n;
            calls[j]++;
            kind[j] = k;
            return;
        }
    }
}

void *memcpy(void *d, const void *s, size_t n) {
    if (!real_memcpy) real_memcpy = dlsym(RTLD_NEXT, "memcpy");
    count((uintptr_t)__builtin_return_address(0), n, 'c');
    return real_memcpy(d, s, n);
}

void *memmove(void *d, const void *s, size_t n) {
    if (!real_memmove) real_memmove = dlsym(RTLD_NEXT, "memmove");
    count((uintptr_t)__builtin_return_address(0), n, 'm');
    return real_memmove(d, s, n);
}

void *memset(void *d, int c, size_t n) {
    if (!real_memset) real_memset = dlsym(RTLD_NEXT, "memset");
    count((uintptr_t)__builtin_return_address(0), n, 's');
    return real_memset(d, c, n);
}

__attribute__((destructor)) static void dump(void) {
    const char *path = getenv("MEMTRACE_OUT");
    FILE *f = fopen(path ? path : "memtrace.txt", "w");
    if (!f) return;
    for (size_t j = 0; j < SLOTS; j++) {
        if (!site[j]) continue;
        Dl_info info;
        uintptr_t base = dladdr((void *)site[j], &info) ? (uintptr_t)info.dli_fbase : 0;
        fprintf(f, "%c %llu %llu %lx %s\n", kind[j], bytes[j], calls[j],
                (unsigned long)(site[j] - base), info.dli_fname ? info.dli_fname : "?");
    }
    fclose(f);
}
