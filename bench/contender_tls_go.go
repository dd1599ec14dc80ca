// contender_tls_go.go — Go's crypto/tls in redial-bench's TLS scenarios: a goroutine per
// endpoint dials with tls.Dialer (the handshake verifies the farm's certificate against the
// run's CA, name "localhost"), reads until the farm's close_notify, closes and dials again
// at once. tls-resumed gives each endpoint its own one-entry session cache (as redial keeps
// one session per endpoint); tls-full disables session tickets. Mirrors
// contender_tls_common.h: the same flags, window and RESULT line. Standard library only.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func addr(i uint32, port int) string {
	a, b, c := 1+i/62500, (i/250)%250, 1+i%250
	return fmt.Sprintf("127.%d.%d.%d:%d", a, b, c, port)
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize())
}

func main() {
	scenario := flag.String("scenario", "", "tls-full or tls-resumed")
	endpoints := flag.Uint("endpoints", 0, "")
	port := flag.Int("port", 0, "")
	warmup := flag.Uint("warmup-ms", 0, "")
	measure := flag.Uint("measure-ms", 0, "")
	ca := flag.String("tls-ca", "", "")
	timeout := flag.Uint64("timeout-ns", 2000000000, "")
	for _, ignored := range []string{"idle-ms", "backoff-initial-ns", "backoff-max-ns",
		"backoff-mult", "jitter", "stable-after-ns", "max-inflight", "seed"} {
		flag.String(ignored, "", "not used by the TLS scenarios")
	}
	flag.Parse()
	resume := *scenario == "tls-resumed"
	if (*scenario != "tls-full" && !resume) || *endpoints == 0 || *port == 0 || *ca == "" ||
		*measure == 0 {
		fmt.Fprintln(os.Stderr, "usage: bench-tls-go --scenario tls-full|tls-resumed "+
			"--endpoints N --port P --tls-ca FILE --measure-ms MS [--warmup-ms MS]")
		os.Exit(2)
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-tls-go:", err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "bench-tls-go: no certificate in", *ca)
		os.Exit(1)
	}
	rss0 := rss()

	var open, done atomic.Bool
	var attempts, connects, failures, resumed atomic.Uint64
	var mu sync.Mutex
	var lat []int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := uint32(0); i < uint32(*endpoints); i++ {
		cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
		if resume {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		} else {
			cfg.SessionTicketsDisabled = true
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Duration(*timeout)}, Config: cfg}
		target := addr(i, *port)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int64
			for !done.Load() {
				start := time.Now()
				c, err := d.DialContext(ctx, "tcp", target)
				in := open.Load()
				if err != nil {
					if in {
						attempts.Add(1)
						failures.Add(1)
					}
					if ctx.Err() != nil {
						break
					}
					continue
				}
				if in {
					attempts.Add(1)
					connects.Add(1)
					mine = append(mine, int64(time.Since(start)))
					if c.(*tls.Conn).ConnectionState().DidResume {
						resumed.Add(1)
					}
				}
				io.Copy(io.Discard, c) // the ticket, then close_notify and FIN
				c.Close()
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}

	time.Sleep(time.Duration(*warmup) * time.Millisecond)
	c0 := readCPU()
	t0 := time.Now()
	open.Store(true)
	time.Sleep(time.Duration(*measure) * time.Millisecond)
	open.Store(false)
	wall := time.Since(t0)
	c1 := readCPU()
	done.Store(true)
	cancel()
	wg.Wait()

	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	q := func(p float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		k := int(p*float64(len(lat))) - 1
		if k < 0 {
			k = 0
		}
		return lat[k]
	}
	fmt.Printf("RESULT impl=tls-go scenario=%s endpoints=%d attempts=%d connects=%d "+
		"failures=%d timeouts=0 local_errors=0 wall_ns=%d user_us=%d sys_us=%d "+
		"rss_delta=%d resumed=%d hist_n=%d early=0 p50_ns=%d p99_ns=%d p999_ns=%d%s\n",
		*scenario, *endpoints, attempts.Load(), connects.Load(), failures.Load(),
		wall.Nanoseconds(), c1.user-c0.user, c1.sys-c0.sys, rss()-rss0, resumed.Load(),
		len(lat), q(0.5), q(0.99), q(0.999), usage(c0, c1))
}
