// contender_go_usage.go — what both Go contenders report of their own cost, as
// contender_common.c's struct bc_cpu does for the C ones: CPU time, context switches and, in
// the driver's counting run (BENCH_SYSCALL_FD: a raw_syscalls:sys_enter counter opened with
// inherit before exec, so it sums every thread), the system calls entered. Built into
// bench-go and bench-tls-go.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

type cpu struct{ user, sys, vcsw, ivcsw, syscalls uint64 }

var scFd = func() int {
	v, ok := os.LookupEnv("BENCH_SYSCALL_FD")
	if !ok {
		return -1
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return -1
	}
	return fd
}()

func readCPU() cpu {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c := cpu{user: uint64(ru.Utime.Sec)*1000000 + uint64(ru.Utime.Usec),
		sys:  uint64(ru.Stime.Sec)*1000000 + uint64(ru.Stime.Usec),
		vcsw: uint64(ru.Nvcsw), ivcsw: uint64(ru.Nivcsw)}
	if scFd >= 0 {
		var b [8]byte
		if n, err := syscall.Read(scFd, b[:]); err != nil || n != 8 {
			fmt.Fprintf(os.Stderr, "%s: read BENCH_SYSCALL_FD: %v\n", filepath.Base(os.Args[0]), err)
			os.Exit(1)
		}
		c.syscalls = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	}
	return c
}

// usage is bc_print_usage: the counters between two readings (Go has no count of its own).
func usage(c0, c1 cpu) string {
	s := fmt.Sprintf(" vcsw=%d ivcsw=%d", c1.vcsw-c0.vcsw, c1.ivcsw-c0.ivcsw)
	if scFd >= 0 {
		s += fmt.Sprintf(" syscalls=%d", c1.syscalls-c0.syscalls)
	}
	return s
}
