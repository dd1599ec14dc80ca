/* wire.h — the event log's on-disk format: constants, layouts and little-endian byte helpers
 * shared by the writer, the reader, the decoder and the tests. docs/log-format.md says the
 * same in prose; change both together. */
#ifndef RD_LOG_WIRE_H
#define RD_LOG_WIRE_H

#include <stdint.h>
#include <string.h>

/* ---- File (segment) header --------------------------------------------------------------
 * Every open of the log, and every rotation, starts a segment with this header. Its first
 * four bytes read as a frame length of 0x4c445289, far above RD_LOG_MAX_PAYLOAD, so a header
 * can never be taken for a frame. 0x89 catches 7-bit transfers, "\r\n" newline conversion.
 *
 *   0  magic[8]          "\x89RDL" "OG\r\n"
 *   8  u16 version       RD_LOG_VERSION; a reader skips segments of another version
 *  10  u16 header_len    bytes of the header, crc included (>= RD_LOG_HEADER_V1)
 *  12  u32 flags         0; readers ignore bits they do not know
 *  16  u64 realtime_ns   CLOCK_REALTIME  } read together: the clock anchor that turns a
 *  24  u64 monotonic_ns  CLOCK_MONOTONIC } record's mono_ns into wall-clock time
 *  32  u32 alert_after   the writer's setting, for the reader's information
 *  36  u32 pid           the writing process
 *  40  u32 reserved      0
 *  44  u32 crc32c        over bytes [0, header_len - 4)
 */
#define RD_LOG_MAGIC "\x89RDLOG\r\n"
#define RD_LOG_MAGIC_LEN 8
#define RD_LOG_VERSION 1
#define RD_LOG_HEADER_V1 48
#define RD_LOG_HEADER_MAX 4096 /* a reader's bound on header_len */

/* ---- Frame --------------------------------------------------------------------------------
 *   0  u32 len     payload bytes after this 12-byte frame header
 *                  (RD_LOG_PAYLOAD_MIN .. RD_LOG_MAX_PAYLOAD)
 *   4  u16 type    enum redial_log_type; 0 is never written
 *   6  u8  level   enum redial_log_level (0..3)
 *   7  u8  flags   RD_LOG_F_*; readers ignore bits they do not know
 *   8  u32 crc32c  over bytes [0, 8) then the payload
 *  12  payload:
 *        0  u64 mono_ns      CLOCK_MONOTONIC of the event
 *        8  u64 endpoint_id  0 when the record is not about an endpoint
 *       16  body             per type, below
 * Frames follow each other with no padding.
 */
#define RD_LOG_FRAME_HDR 12
#define RD_LOG_PREFIX 16 /* mono_ns + endpoint_id */
#define RD_LOG_PAYLOAD_MIN RD_LOG_PREFIX
#define RD_LOG_APP_MAX_BODY 65536u
#define RD_LOG_MAX_PAYLOAD (RD_LOG_PREFIX + RD_LOG_APP_MAX_BODY + 48u)

#define RD_LOG_F_REPLAY 0x01u /* an endpoint_added repeated at the top of a rotated file */

/* ---- Bodies (v1). A body may be LONGER than listed: later versions append fields, and a
 * reader ignores bytes past what it knows. A body SHORTER than listed is malformed.
 *
 * connect_failed (28 + addr):
 *    0 u64 duration_ns  8 u64 backoff_ns  16 u32 attempt  20 i32 errno  24 u8 class
 *   25 u8 addr_family (RD_LOG_AF_*)  26 u16 port (host value)
 *   28 addr: AF4: 4 bytes (network order); AF6: 16 bytes (network order) + u32 scope_id
 *   tail (optional, TLS endpoints): u8 n, then n bytes: the TLS library's reason
 * connected (20):    0 u64 duration_ns  8 u64 down_ns  16 u32 attempts
 *   tail (optional, TLS endpoints): 20 u8 tls_flags (RD_LOG_TLS_F_*)  21 u16 version (0x0304
 *   TLS 1.3, 0x0303 TLS 1.2)  23 u8 n, n bytes cipher name, then u8 m, m bytes ALPN protocol
 * alert (8):         0 u32 streak  4 i32 errno
 * gave_up (9):       0 u32 attempts  4 i32 errno  8 u8 reason
 * disconnected (12): 0 u64 up_ns  8 i32 errno
 * cancelled, endpoint_removed (0)
 * resolved (8 + entries): 0 u32 ttl_s  4 u16 count  6 u16 reserved (0)
 *   8 count entries, each: u8 entry_len  u8 addr_family (RD_LOG_AF_*)  u16 port (host value)
 *     then AF4: 4 bytes, AF6: 16 bytes + u32 scope_id (entry_len 8 or 24). A reader skips an
 *     entry of a family it does not know by its entry_len.
 * endpoint_added (2 + n): 0 u16 n  2 n bytes of endpoint string (no NUL)
 * dropped (8):       0 u64 count
 * application types (0x8000-0xffff): an opaque body of 0..65536 bytes
 */
#define RD_LOG_AF_NONE 0
#define RD_LOG_AF_INET 4
#define RD_LOG_AF_INET6 6
#define RD_LOG_CF_BODY 28
#define RD_LOG_CONNECTED_BODY 20
#define RD_LOG_TLS_TAIL_MIN 5     /* flags, version, and the two length bytes */
#define RD_LOG_TLS_F_TLS 0x01u
#define RD_LOG_TLS_F_RESUMED 0x02u
#define RD_LOG_ALERT_BODY 8
#define RD_LOG_GAVE_UP_BODY 9
#define RD_LOG_DISCONNECTED_BODY 12
#define RD_LOG_ADDED_BODY 2
#define RD_LOG_DROPPED_BODY 8
#define RD_LOG_RESOLVED_BODY 8
#define RD_LOG_RESOLVED_MAX 64 /* addresses kept in one resolved record */
#define RD_LOG_ENDPOINT_STR_MAX 4096 /* longer endpoint strings are cut (never in practice) */

static inline void rd_put16(uint8_t *p, uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	memcpy(p, &v, 2);
}

static inline void rd_put32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
}

static inline void rd_put64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

static inline uint16_t rd_get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	return v;
}

static inline uint32_t rd_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t rd_get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#endif
