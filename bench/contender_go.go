// contender_go.go — the Go contender of redial-bench: a goroutine per endpoint, each dialing
// with net.Dialer.DialContext under a context deadline, reading until the server's FIN, and
// sleeping out redial's backoff policy (ported below, generator included, so the delays are
// the ones the C contenders draw). Standard library only. It takes the same flags and prints
// the same RESULT line as the C contenders (contender_common.h), and measures itself the same
// way: getrusage(RUSAGE_SELF), /proc/self/statm, CLOCK_MONOTONIC (runtime.nanotime).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/bits"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // for go:linkname
)

//go:linkname nanotime runtime.nanotime
func nanotime() int64

const (
	implName       = "go"
	minWaitNs      = 20000
	throttleMinNs  = 10000000
	throttleMaxNs  = 1000000000
	histSub        = 16
	histBuckets    = histSub + 60*histSub
	jitterNone     = 0
	jitterFull     = 1
	jitterEqual    = 2
	holdGuardNs    = 60 * 1000000000
	holdSettleNs   = 100 * 1000000
	scenarioChurn  = "churn"
	scenarioRefuse = "refused"
	scenarioTmo    = "timeout"
	scenarioScale  = "scale"
	scenarioHold   = "hold"
)

// ---- redial's backoff policy and generator (src/backoff.c) -------------------------------

type rng struct{ s [4]uint64 }

func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRng(seed uint64) *rng {
	r := &rng{}
	x := seed
	for i := range r.s {
		r.s[i] = splitmix(&x)
	}
	return r
}

func (r *rng) next() uint64 {
	s := &r.s
	result := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

func (r *rng) uniformIncl(lo, hi uint64) uint64 {
	if hi <= lo {
		return lo
	}
	span := hi - lo
	if span == ^uint64(0) {
		return r.next()
	}
	n := span + 1
	rejectBelow := (0 - n) % n
	v := r.next()
	for v < rejectBelow {
		v = r.next()
	}
	return lo + v%n
}

type backoff struct {
	initial, max uint64
	mult         float64
	jitter       int
}

func powSaturating(mult float64, exp uint32, limit float64) float64 {
	result, base := 1.0, mult
	for exp != 0 {
		if exp&1 != 0 {
			result *= base
			if result >= limit {
				return result
			}
		}
		exp >>= 1
		base *= base
	}
	return result
}

func (b *backoff) ceiling(failures uint32) uint64 {
	if b.initial >= b.max {
		return b.max
	}
	if b.initial == 0 || failures <= 1 {
		return b.initial
	}
	mult := b.mult
	if !(mult >= 1.0) {
		mult = 1.0
	}
	limit := float64(b.max) / float64(b.initial)
	p := powSaturating(mult, failures-1, limit)
	if p >= limit {
		return b.max
	}
	d := float64(b.initial) * p
	if d >= float64(b.max) {
		return b.max
	}
	v := uint64(d)
	if v < b.initial {
		v = b.initial
	}
	if v < b.max {
		return v
	}
	return b.max
}

func (b *backoff) delay(failures uint32, r *rng) uint64 {
	switch b.jitter {
	case jitterFull:
		return r.uniformIncl(0, b.ceiling(failures))
	case jitterEqual:
		c := b.ceiling(failures)
		return (c - c/2) + r.uniformIncl(0, c/2)
	}
	return b.ceiling(failures)
}

// ---- histogram (contender_common.c) ---------------------------------------------------------

type hist struct {
	n, early uint64
	b        [histBuckets]uint64
}

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := 63 - bits.LeadingZeros64(v)
	sub := int(v>>(uint(e)-4)) & (histSub - 1)
	return histSub + (e-4)*histSub + sub
}

func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := (i-histSub)/histSub + 4
	sub := (i - histSub) % histSub
	lo := uint64(histSub+sub) << uint(e-4)
	return lo + ((uint64(1) << uint(e-4)) >> 1)
}

// add is safe from many goroutines.
func (h *hist) add(v int64) {
	atomic.AddUint64(&h.n, 1)
	if v < 0 {
		atomic.AddUint64(&h.early, 1)
		atomic.AddUint64(&h.b[0], 1)
		return
	}
	atomic.AddUint64(&h.b[histIndex(uint64(v))], 1)
}

func (h *hist) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := 0; i < histBuckets; i++ {
		seen += h.b[i]
		if seen >= rank {
			return histValue(i)
		}
	}
	return histValue(histBuckets - 1)
}

func (h *hist) format() string {
	return fmt.Sprintf(" hist_n=%d early=%d p50_ns=%d p99_ns=%d p999_ns=%d", h.n, h.early,
		h.quantile(0.5), h.quantile(0.99), h.quantile(0.999))
}

// ---- readings ---------------------------------------------------------------------------

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func addr(i uint32, port int) string {
	a, b, c := 1+i/62500, (i/250)%250, 1+i%250
	return fmt.Sprintf("127.%d.%d.%d:%d", a, b, c, port)
}

func sleepUntil(t int64) {
	if d := t - nanotime(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

// ---- the contender ----------------------------------------------------------------------

type bench struct {
	scenario                     string
	endpoints                    uint32
	port                         int
	warmup                       int64
	measure                      int64
	idle                         int64
	timeout                      int64
	bo                           backoff
	stable                       int64
	maxInfl                      int
	seed                         uint64
	removePct                    uint32
	sem                          chan struct{}
	open                         int32 // the window is open
	attempts                     uint64
	connects                     uint64
	failures                     uint64
	timeouts                     uint64
	localErrs                    uint64
	h                            hist
	throttleMu                   sync.Mutex
	throttleUntil, throttleDelay int64

	// scale and hold
	roundDone sync.WaitGroup // each endpoint's first failure (scale) or connection (hold)
	exitWG    sync.WaitGroup // scale: the removed endpoints' goroutines exiting
	holdPhase int32          // 0 connecting, 1 idle, 2 watching
	notice    []int64
	noticed   int64
}

// errno maps a dial error to the errno the C contenders would have seen.
func errnoOf(err error) syscall.Errno {
	var en syscall.Errno
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return syscall.ETIMEDOUT
	}
	if errors.As(err, &en) {
		return en
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return syscall.ETIMEDOUT
	}
	return syscall.EPROTO
}

func isLocal(e syscall.Errno) bool {
	switch e {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL,
		syscall.EADDRINUSE:
		return true
	}
	return false
}

func (b *bench) record(e syscall.Errno, start, now int64) {
	if atomic.LoadInt32(&b.open) == 0 {
		return
	}
	atomic.AddUint64(&b.attempts, 1)
	if e == 0 {
		atomic.AddUint64(&b.connects, 1)
		if b.scenario == scenarioChurn {
			b.h.add(now - start)
		}
		return
	}
	atomic.AddUint64(&b.failures, 1)
	if e == syscall.ETIMEDOUT {
		atomic.AddUint64(&b.timeouts, 1)
		if b.scenario == scenarioTmo {
			b.h.add(now - start - b.timeout)
		}
	}
	if b.scenario == scenarioRefuse {
		b.h.add(now - start)
	}
}

// throttle pauses every new attempt after a local error, as redial does.
func (b *bench) throttle() int64 {
	b.throttleMu.Lock()
	defer b.throttleMu.Unlock()
	if b.throttleDelay == 0 {
		b.throttleDelay = throttleMinNs
	} else if b.throttleDelay *= 2; b.throttleDelay > throttleMaxNs {
		b.throttleDelay = throttleMaxNs
	}
	b.throttleUntil = nanotime() + b.throttleDelay
	return b.throttleUntil
}

func (b *bench) throttled() int64 {
	b.throttleMu.Lock()
	defer b.throttleMu.Unlock()
	return b.throttleUntil
}

// wait sleeps d ns unless ctx ends first; false when it did.
func wait(ctx context.Context, d uint64) bool {
	if d < minWaitNs {
		return ctx.Err() == nil
	}
	t := time.NewTimer(time.Duration(d))
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C:
		return true
	}
}

// endpoint is one endpoint's goroutine: dial, hold until the FIN, back off, again.
func (b *bench) endpoint(ctx context.Context, i uint32, start <-chan struct{}) {
	<-start
	address := addr(i, b.port)
	r := newRng(b.seed ^ uint64(i)*0x9e3779b97f4a7c15)
	var d net.Dialer
	var level uint32
	buf := make([]byte, 64)
	first := true
	for {
		if until := b.throttled(); until > nanotime() && !wait(ctx, uint64(until-nanotime())) {
			break
		}
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		t0 := nanotime()
		dctx, cancel := context.WithTimeout(ctx, time.Duration(b.timeout))
		c, err := d.DialContext(dctx, "tcp4", address)
		cancel()
		<-b.sem
		now := nanotime()
		if ctx.Err() != nil {
			if c != nil {
				c.Close()
			}
			break
		}
		if err == nil {
			b.record(0, t0, now)
			if b.scenario == scenarioHold && first {
				first = false
				b.roundDone.Done()
			}
			for {
				if _, rerr := c.Read(buf); rerr != nil {
					break
				}
			}
			down := nanotime()
			if b.scenario == scenarioHold && atomic.LoadInt32(&b.holdPhase) == 2 {
				if k := atomic.AddInt64(&b.noticed, 1); k <= int64(len(b.notice)) {
					b.notice[k-1] = down
				}
			}
			c.Close()
			if down-now >= b.stable {
				level = 0
			}
			level++
			if !wait(ctx, b.bo.delay(level, r)) {
				break
			}
			continue
		}
		e := errnoOf(err)
		if isLocal(e) {
			atomic.AddUint64(&b.localErrs, 1)
			b.throttle()
			continue
		}
		b.record(e, t0, now)
		if b.scenario == scenarioScale && first {
			first = false
			b.roundDone.Done()
		}
		level++
		if !wait(ctx, b.bo.delay(level, r)) {
			break
		}
	}
	if b.scenario == scenarioScale {
		b.exitWG.Done()
	}
}

func (b *bench) windowed() {
	rss0 := rss()
	start := make(chan struct{})
	for i := uint32(0); i < b.endpoints; i++ {
		go b.endpoint(context.Background(), i, start)
	}
	t := nanotime()
	close(start)
	sleepUntil(t + b.warmup)
	t0, c0 := nanotime(), readCPU()
	atomic.StoreInt32(&b.open, 1)
	sleepUntil(t0 + b.measure)
	atomic.StoreInt32(&b.open, 0)
	t1, c1 := nanotime(), readCPU()
	fmt.Printf("RESULT impl=%s scenario=%s endpoints=%d attempts=%d connects=%d failures=%d"+
		" timeouts=%d local_errors=%d wall_ns=%d user_us=%d sys_us=%d rss_delta=%d%s%s\n",
		implName, b.scenario, b.endpoints, atomic.LoadUint64(&b.attempts),
		atomic.LoadUint64(&b.connects), atomic.LoadUint64(&b.failures),
		atomic.LoadUint64(&b.timeouts), atomic.LoadUint64(&b.localErrs), t1-t0,
		c1.user-c0.user, c1.sys-c0.sys, rss()-rss0, usage(c0, c1), b.h.format())
}

// removalOrder is contender_common.c's bc_removal_order: the same indices in the same order.
func removalOrder(n, k uint32, seed uint64) []uint32 {
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	r := newRng(seed)
	for i := uint32(0); i < k && i < n; i++ {
		j := i + uint32(r.next()%uint64(n-i))
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm
}

func (b *bench) scale() {
	n := b.endpoints
	k := uint32(uint64(n) * uint64(b.removePct) / 100)
	order := removalOrder(n, k, b.seed)
	rss0 := rss()
	cancels := make([]context.CancelFunc, n)
	start := make(chan struct{})
	b.roundDone.Add(int(n))
	for i := uint32(0); i < n; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		go b.endpoint(ctx, i, start)
	}
	t0, c0 := nanotime(), readCPU()
	atomic.StoreInt32(&b.open, 1)
	close(start)
	b.roundDone.Wait()
	t1, c1 := nanotime(), readCPU()
	rssDelta := rss() - rss0
	attempts := atomic.LoadUint64(&b.attempts)

	var rh hist
	done := make(chan struct{})
	removeStart := nanotime()
	// The goroutines of the removed endpoints must have exited for a removal to be over.
	b.exitWG.Add(int(k))
	go func() { b.exitWG.Wait(); close(done) }()
	for j := uint32(0); j < k; j++ {
		a := nanotime()
		cancels[order[j]]()
		rh.add(nanotime() - a)
	}
	<-done
	removeTotal := nanotime() - removeStart
	fmt.Printf("RESULT impl=%s scenario=scale endpoints=%d attempts=%d connects=0 failures=%d"+
		" wall_ns=%d user_us=%d sys_us=%d rss_delta=%d remove_n=%d remove_total_ns=%d"+
		" remove_p50_ns=%d remove_p99_ns=%d%s\n",
		implName, n, attempts, attempts, t1-t0, c1.user-c0.user, c1.sys-c0.sys, rssDelta, k,
		removeTotal, rh.quantile(0.5), rh.quantile(0.99), usage(c0, c1))
}

func (b *bench) hold() {
	n := b.endpoints
	b.notice = make([]int64, n)
	for i := range b.notice {
		b.notice[i] = -1
	}
	rss0 := rss()
	atomic.StoreInt32(&b.open, 1) // count the connections of the connect phase
	tStart, cStart := nanotime(), readCPU()
	start := make(chan struct{})
	b.roundDone.Add(int(n))
	for i := uint32(0); i < n; i++ {
		go b.endpoint(context.Background(), i, start)
	}
	close(start)
	all := make(chan struct{})
	go func() { b.roundDone.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(holdGuardNs):
	}
	tAll, cAll := nanotime(), readCPU()
	rssAll := rss()
	connected := atomic.LoadUint64(&b.connects)
	atomic.StoreInt32(&b.holdPhase, 1)
	// Settle, then the idle window (contender_common.c: HOLD_SETTLE_NS).
	sleepUntil(tAll + holdSettleNs)
	tIdle0, cIdle0 := nanotime(), readCPU()
	sleepUntil(tIdle0 + b.idle)
	tIdle, cIdle := nanotime(), readCPU()
	atomic.StoreInt32(&b.holdPhase, 2)
	fmt.Printf("READY %d\n", connected)
	for nanotime()-tIdle < holdGuardNs && atomic.LoadInt64(&b.noticed) < int64(connected) {
		time.Sleep(time.Millisecond)
	}
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	var t0 int64
	fmt.Sscanf(line, "DROP %d", &t0)
	var h hist
	var last int64
	noticed := atomic.LoadInt64(&b.noticed)
	if noticed > int64(n) {
		noticed = int64(n)
	}
	for _, t := range b.notice[:noticed] {
		h.add(t - t0)
		if t > last {
			last = t
		}
	}
	all2 := int64(0)
	if t0 > 0 && last > t0 {
		all2 = last - t0
	}
	fmt.Printf("RESULT impl=%s scenario=hold endpoints=%d attempts=%d connects=%d failures=0"+
		" wall_ns=%d user_us=%d sys_us=%d rss_delta=%d idle_ns=%d idle_user_us=%d"+
		" idle_sys_us=%d noticed=%d notice_all_ns=%d%s%s\n",
		implName, n, connected, connected, tAll-tStart, cAll.user-cStart.user,
		cAll.sys-cStart.sys, rssAll-rss0, tIdle-tIdle0, cIdle.user-cIdle0.user, cIdle.sys-cIdle0.sys,
		noticed, all2, usage(cStart, cAll), h.format())
}

func main() {
	var b bench
	var jitter string
	var warmupMs, measureMs, idleMs, stopAfter uint64
	var endpoints, removePct uint
	var callgrind, kernelWaits bool
	flag.StringVar(&b.scenario, "scenario", "", "churn|refused|timeout|scale|hold")
	flag.UintVar(&endpoints, "endpoints", 0, "endpoints")
	flag.IntVar(&b.port, "port", 0, "farm port")
	flag.Uint64Var(&warmupMs, "warmup-ms", 300, "warm-up")
	flag.Uint64Var(&measureMs, "measure-ms", 2000, "window")
	flag.Uint64Var(&idleMs, "idle-ms", 1000, "hold: idle window")
	flag.Int64Var(&b.timeout, "timeout-ns", 2000000000, "connect deadline")
	flag.Uint64Var(&b.bo.initial, "backoff-initial-ns", 100000000, "backoff initial")
	flag.Uint64Var(&b.bo.max, "backoff-max-ns", 30000000000, "backoff cap")
	flag.Float64Var(&b.bo.mult, "backoff-mult", 2.0, "backoff multiplier")
	flag.StringVar(&jitter, "jitter", "full", "none|full|equal")
	flag.Int64Var(&b.stable, "stable-after-ns", 1000000000, "stable after")
	flag.IntVar(&b.maxInfl, "max-inflight", 4096, "attempts in flight")
	flag.Uint64Var(&b.seed, "seed", 1, "seed")
	flag.Uint64Var(&stopAfter, "stop-after", 0, "unsupported here")
	flag.UintVar(&removePct, "remove-pct", 10, "scale: share removed")
	flag.BoolVar(&callgrind, "callgrind", false, "unsupported here")
	flag.BoolVar(&kernelWaits, "kernel-waits", false, "unsupported here")
	flag.Parse()
	switch jitter {
	case "none":
		b.bo.jitter = jitterNone
	case "full":
		b.bo.jitter = jitterFull
	case "equal":
		b.bo.jitter = jitterEqual
	default:
		fmt.Fprintln(os.Stderr, "bench-go: bad --jitter")
		os.Exit(2)
	}
	b.endpoints, b.removePct = uint32(endpoints), uint32(removePct)
	b.warmup, b.measure, b.idle = int64(warmupMs)*1000000, int64(measureMs)*1000000, int64(idleMs)*1000000
	if b.endpoints == 0 || b.port == 0 || b.maxInfl <= 0 || flag.NArg() != 0 || stopAfter != 0 ||
		callgrind || kernelWaits {
		fmt.Fprintln(os.Stderr, "bench-go: bad arguments")
		os.Exit(2)
	}
	b.sem = make(chan struct{}, b.maxInfl)
	switch b.scenario {
	case scenarioChurn, scenarioRefuse, scenarioTmo:
		b.windowed()
	case scenarioScale:
		b.scale()
	case scenarioHold:
		b.hold()
	default:
		fmt.Fprintln(os.Stderr, "bench-go: bad --scenario")
		os.Exit(2)
	}
}
