// Purpose: the kernel lane's Go client - connects the way Go daemons (dockerd, containerd,
// buildkitd) do, from goroutines on threads other than the process's first - so that the
// socket bypass is tried on what it is for.
//
//	go-dial HOST PORT N
//
// Dials HOST:PORT once from the main thread (pinned to it in init) and once from each of N
// goroutines, each locked to an OS thread of its own, all at once. For each connection it
// prints "conn main=1|0 local=ADDR:PORT echo=ok|ERROR" (main=0: a thread that is not the group
// leader, checked by gettid) and exits 0 when every dial and echo worked.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func init() { runtime.LockOSThread() } // main() runs on the process's first thread

func dial(addr string) string {
	main := 0
	if syscall.Gettid() == os.Getpid() {
		main = 1
	}
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		return fmt.Sprintf("conn main=%d error %v", main, err)
	}
	defer c.Close()
	echo := "ok"
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		echo = err.Error()
	} else if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ping\n" {
		echo = fmt.Sprintf("bad %q %v", line, err)
	}
	return fmt.Sprintf("conn main=%d local=%s echo=%s", main, c.LocalAddr(), echo)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go-dial HOST PORT N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "go-dial: N must be a positive number")
		os.Exit(2)
	}
	addr := net.JoinHostPort(os.Args[1], os.Args[2])
	out := []string{dial(addr)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // stays on this thread; the main one is taken
			<-start
			r := dial(addr)
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	rc := 0
	for _, l := range out {
		fmt.Println(l)
		if !strings.HasSuffix(l, "echo=ok") {
			rc = 1
		}
	}
	os.Exit(rc)
}
