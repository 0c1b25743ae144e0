// Command serve-load is the load generator of tools/bench-serve: it drives a running
// `ledger serve` over keep-alive HTTP/1.1 connections (net/http, one connection per client)
// and prints one JSON object with the rate and the latency percentiles it measured.
//
//	serve-load -url URL -token TOKEN -mode singles -clients 64 -duration 10s -template line.json
//	serve-load -url URL -token TOKEN -mode batches -file lines.jsonl -batch 1000
//	serve-load -url URL -token TOKEN -mode get -clients 1 -requests 20000 -paths paths.txt
//
// singles: each client posts one interchange line per request (application/json), the
// template's {UUID} replaced by a fresh UUID and {N} by a name unique to the request (run-n), and
// waits for the import report (sent once durable) before the next. batches: one client posts
// the file's lines in order, -batch lines per request (application/jsonl). get: GETs of the
// paths (one per line), chosen at random. Every answer's status is checked (200, and for
// appends a report with nothing refused); any other counts as an error and is reported.
// Standard library only: GO111MODULE=off go build -o serve-load ./tools/serve-load
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func uuid() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type result struct {
	Mode       string  `json:"mode"`
	Clients    int     `json:"clients"`
	Requests   int     `json:"requests"`
	Events     int     `json:"events"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"firstError,omitempty"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"eventsPerSecond"`
	ReqPerSec  float64 `json:"requestsPerSecond"`
	P50ms      float64 `json:"p50ms"`
	P99ms      float64 `json:"p99ms"`
	P999ms     float64 `json:"p999ms"`
	MaxMs      float64 `json:"maxms"`
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the service")
	token := flag.String("token", "", "bearer token")
	mode := flag.String("mode", "singles", "singles, batches or get")
	clients := flag.Int("clients", 1, "concurrent clients (connections)")
	duration := flag.Duration("duration", 10*time.Second, "singles: how long to run")
	warmup := flag.Duration("warmup", time.Second, "singles and get: run this long first, unmeasured")
	template := flag.String("template", "", "singles: a file holding one interchange line with {UUID} and {N}")
	file := flag.String("file", "", "batches: JSON Lines to post in order")
	batch := flag.Int("batch", 1000, "batches: lines per request")
	requests := flag.Int("requests", 10000, "get: requests in all")
	paths := flag.String("paths", "", "get: a file of paths, one per line")
	flag.Parse()

	transport := &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2, MaxConnsPerHost: *clients, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: transport, Timeout: 5 * time.Minute}
	var errors int64
	var firstError atomic.Value
	fail := func(what string) {
		if atomic.AddInt64(&errors, 1) == 1 {
			firstError.Store(what)
		}
	}
	do := func(method, path, ctype string, body []byte) (int, []byte, error) {
		req, err := http.NewRequest(method, *url+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, data, err
	}
	// A report accounting for every line: with refusals allowed (batches of the demo's lines, which
	// hold lines the rules refuse, as for `ledger import`), a 422 whose refusals complete the count.
	checkReport := func(status int, data []byte, err error, lines int, refusalsAllowed bool) {
		if err != nil {
			fail(err.Error())
			return
		}
		var report struct {
			Appended   int               `json:"appended"`
			Duplicates int               `json:"duplicates"`
			Refused    []json.RawMessage `json:"refused"`
		}
		parsed := json.Unmarshal(data, &report) == nil
		refused := 0
		if refusalsAllowed {
			refused = len(report.Refused)
		}
		ok := status == 200 || (refusalsAllowed && status == 422)
		if !ok || !parsed || (!refusalsAllowed && len(report.Refused) > 0) || report.Appended+report.Duplicates+refused != lines {
			fail(fmt.Sprintf("%d %s", status, strings.TrimSpace(string(data[:minInt(len(data), 300)]))))
		}
	}

	res := result{Mode: *mode, Clients: *clients}
	var latencies []time.Duration
	var mu sync.Mutex
	switch *mode {
	case "singles", "get":
		var tmpl string
		var pathList []string
		if *mode == "singles" {
			b, err := os.ReadFile(*template)
			if err != nil {
				fmt.Fprintln(os.Stderr, "serve-load:", err)
				os.Exit(1)
			}
			tmpl = strings.TrimSpace(string(b))
		} else {
			b, err := os.ReadFile(*paths)
			if err != nil {
				fmt.Fprintln(os.Stderr, "serve-load:", err)
				os.Exit(1)
			}
			for _, l := range strings.Split(string(b), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					pathList = append(pathList, l)
				}
			}
		}
		var counter int64
		run := strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36) // {N} is unique across runs too
		var measuring atomic.Bool
		var stop atomic.Bool
		var remaining int64 = int64(*requests)
		one := func(rng *mrand.Rand) (time.Duration, bool) {
			start := time.Now()
			if *mode == "singles" {
				n := atomic.AddInt64(&counter, 1)
				line := strings.ReplaceAll(strings.ReplaceAll(tmpl, "{UUID}", uuid()), "{N}", run+"-"+strconv.FormatInt(n, 10))
				status, data, err := do("POST", "/v1/events", "application/json", []byte(line))
				checkReport(status, data, err, 1, false)
			} else {
				status, data, err := do("GET", pathList[rng.Intn(len(pathList))], "", nil)
				if err != nil || status != 200 {
					fail(fmt.Sprintf("%d %v %s", status, err, string(data[:minInt(len(data), 200)])))
				}
			}
			return time.Since(start), true
		}
		var wg sync.WaitGroup
		var measuredStart time.Time
		for c := 0; c < *clients; c++ {
			wg.Add(1)
			go func(seed int64) {
				defer wg.Done()
				rng := mrand.New(mrand.NewSource(seed))
				var mine []time.Duration
				for !stop.Load() {
					m := measuring.Load()
					if m && *mode == "get" && atomic.AddInt64(&remaining, -1) < 0 {
						break
					}
					d, _ := one(rng)
					if m {
						mine = append(mine, d)
					}
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}(int64(c + 1))
		}
		time.Sleep(*warmup)
		atomic.StoreInt64(&errors, 0)
		measuredStart = time.Now()
		measuring.Store(true)
		if *mode == "singles" {
			time.Sleep(*duration)
			stop.Store(true)
		}
		wg.Wait()
		res.Seconds = time.Since(measuredStart).Seconds()
		res.Requests = len(latencies)
		if *mode == "singles" {
			res.Events = res.Requests
		}
	case "batches":
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "serve-load:", err)
			os.Exit(1)
		}
		scanner := bufio.NewScanner(f)
		scanner.Buffer(make([]byte, 1<<20), 1<<26)
		var lines [][]byte
		for scanner.Scan() {
			if len(bytes.TrimSpace(scanner.Bytes())) > 0 {
				lines = append(lines, append([]byte(nil), scanner.Bytes()...))
			}
		}
		start := time.Now()
		for i := 0; i < len(lines); i += *batch {
			j := minInt(i+*batch, len(lines))
			body := append(bytes.Join(lines[i:j], []byte("\n")), '\n')
			t := time.Now()
			status, data, err := do("POST", "/v1/events", "application/jsonl", body)
			checkReport(status, data, err, j-i, true)
			latencies = append(latencies, time.Since(t))
		}
		res.Seconds = time.Since(start).Seconds()
		res.Requests = len(latencies)
		res.Events = len(lines)
	default:
		fmt.Fprintln(os.Stderr, "serve-load: -mode is singles, batches or get")
		os.Exit(1)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	res.Errors = atomic.LoadInt64(&errors)
	if v := firstError.Load(); v != nil {
		res.FirstError = v.(string)
	}
	if res.Seconds > 0 {
		res.PerSecond = math.Round(float64(res.Events)/res.Seconds*10) / 10
		res.ReqPerSec = math.Round(float64(res.Requests)/res.Seconds*10) / 10
	}
	res.P50ms, res.P99ms, res.P999ms = percentile(latencies, 0.50), percentile(latencies, 0.99), percentile(latencies, 0.999)
	if len(latencies) > 0 {
		res.MaxMs = float64(latencies[len(latencies)-1].Microseconds()) / 1000
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}
