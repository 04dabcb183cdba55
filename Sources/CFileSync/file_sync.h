// Linux calls that Swift's Glibc module does not export (writeback control needs _GNU_SOURCE).
#pragma once
#include <stdint.h>

extern int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);

// Starts writing back [offset, offset + length) of fd to the disk without waiting, so a later
// fsync has little left to do.
static inline int vf_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, offset, length, 2 /* SYNC_FILE_RANGE_WRITE */);
}

extern int syncfs(int fd);

// Flushes every dirty page of the filesystem holding fd: one call makes a batch of files
// durable, where an fsync per file would cost a disk flush each.
static inline int vf_sync_filesystem(int fd) { return syncfs(fd); }

