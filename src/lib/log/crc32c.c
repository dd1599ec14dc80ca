/* crc32c.c — CRC-32C: SSE4.2 instruction when the CPU has it (checked once at run time),
 * slicing-by-8 tables otherwise. The drain runs it over every record it writes and the
 * reader over every frame it reads, so both paths matter. */
#include "log/crc32c.h"
#include "log/wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define POLY 0x82f63b78u /* Castagnoli, reflected */

/* slice[k][b]: the CRC of byte b followed by k zero bytes. Built once (pthread_once): 8 KiB
 * of constants is more than we want to keep in the source, and building takes microseconds. */
static uint32_t slice[8][256];
static pthread_once_t slice_once = PTHREAD_ONCE_INIT;

static void slice_build(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;
		for (int i = 0; i < 8; i++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
		slice[0][b] = c;
	}
	for (uint32_t b = 0; b < 256; b++)
		for (int k = 1; k < 8; k++)
			slice[k][b] = (slice[k - 1][b] >> 8) ^ slice[0][slice[k - 1][b] & 0xff];
}

uint32_t rd_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&slice_once, slice_build);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ slice[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t v = rd_get64(p) ^ crc;
		crc = slice[7][v & 0xff] ^ slice[6][(v >> 8) & 0xff] ^
		      slice[5][(v >> 16) & 0xff] ^ slice[4][(v >> 24) & 0xff] ^
		      slice[3][(v >> 32) & 0xff] ^ slice[2][(v >> 40) & 0xff] ^
		      slice[1][(v >> 48) & 0xff] ^ slice[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ slice[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const void *buf,
							      size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	/* One dependency chain: about 8 bytes per 3 cycles. Frames are short (50-100 bytes),
	 * so three interleaved streams with a shift-combine would not pay for themselves. */
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

/* 0 = not checked yet, 1 = no SSE4.2, 2 = SSE4.2. Racing first calls all store the same
 * value, so relaxed ordering is enough. */
static atomic_int hw_state;

int rd_crc32c_hw_available(void)
{
	int s = atomic_load_explicit(&hw_state, memory_order_relaxed);
	if (s == 0) {
		__builtin_cpu_init();
		s = __builtin_cpu_supports("sse4.2") ? 2 : 1;
		atomic_store_explicit(&hw_state, s, memory_order_relaxed);
	}
	return s == 2;
}

uint32_t rd_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	if (rd_crc32c_hw_available())
		return crc_sse42(crc, buf, len);
	return rd_crc32c_sw(crc, buf, len);
}

uint32_t rd_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (rd_crc32c_hw_available())
		return crc_sse42(crc, buf, len);
	return rd_crc32c_sw(crc, buf, len);
}
#else
int rd_crc32c_hw_available(void)
{
	return 0;
}

uint32_t rd_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return rd_crc32c_sw(crc, buf, len);
}

uint32_t rd_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return rd_crc32c_sw(crc, buf, len);
}
#endif
