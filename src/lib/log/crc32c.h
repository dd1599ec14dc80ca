/* crc32c.h — CRC-32C (Castagnoli), the checksum of every log frame. */
#ifndef RD_LOG_CRC32C_H
#define RD_LOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 to start, then the previous result to chain pieces. The usual
 * pre- and post-inversion happen inside, so crc(a+b) == rd_crc32c(rd_crc32c(0, a), b). */
uint32_t rd_crc32c(uint32_t crc, const void *buf, size_t len);

/* The two implementations behind rd_crc32c, exposed so tests can check both against the
 * same vectors. rd_crc32c_hw returns the software result when the CPU lacks SSE4.2. */
uint32_t rd_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t rd_crc32c_hw(uint32_t crc, const void *buf, size_t len);
/* True when rd_crc32c uses the SSE4.2 instruction. */
int rd_crc32c_hw_available(void);

#endif
