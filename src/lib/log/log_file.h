/* log_file.h — the drain's output: the batch it fills with checksummed frames, and the file
 * the batch goes to (segment headers, write errors, rotation with its name replays). Called
 * only by the drain thread, and by open/close while the drain does not run. */
#ifndef RD_LOG_LOG_FILE_H
#define RD_LOG_LOG_FILE_H

#include "log/log_int.h"

/* Opens l->path (appending, as a new segment) and writes the segment header; when the file
 * is already at rotate_bytes it is rotated away first. 0 or -errno. */
int rd_log_file_start(struct redial_log *l);
/* Syncs (when configured) and closes the file. Returns err, or the first error of those
 * calls when err is 0. */
int rd_log_file_close(struct redial_log *l, int err);
/* Frees what the file side holds (the fd when still open, the remembered names). */
void rd_log_file_free(struct redial_log *l);

/* Copies one frame into the batch and fills in its checksum. flags (RD_LOG_F_REPLAY) go in
 * before the checksum is taken. The caller made room (BATCH_BYTES in all). */
void rd_log_batch_append(struct redial_log *l, const uint8_t *p, size_t flen, uint8_t flags);
/* Writes the batch out and empties it. On a write error the file is cut back to its last
 * whole record, the error is kept in l->error, and from then on batches are only counted
 * as lost. */
void rd_log_batch_write(struct redial_log *l);
/* Starts the next file: path -> path.1 -> ... , a fresh path with a new header, then the
 * names of the endpoints still alive. The batch must be empty. */
void rd_log_file_rotate(struct redial_log *l);

#endif
