// Command fleet measures how fast Presso delivers bursts of small async
// jobs: 1,000 jobs to one webhook receiver on the embedded defaults, and
// 500 jobs with one and with two worker processes on the PostgreSQL and
// Kafka transports. It builds the presso binary, runs every process on
// loopback, and prints a Markdown table.
//
//	go run ./bench/fleet -dsn postgres://presso:presso@127.0.0.1:5432/presso_test?sslmode=disable
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("PRESSO_TEST_POSTGRES_DSN"), "PostgreSQL DSN of a role that may create databases")
	burst := flag.Int("burst", 1000, "jobs of the burst on the embedded defaults")
	jobs := flag.Int("jobs", 500, "jobs of each fleet run")
	flag.Parse()

	dir, err := os.MkdirTemp("", "presso-fleet-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	binary := filepath.Join(dir, "presso")
	if out, err := exec.Command("go", "build", "-o", binary, "./cmd/presso").CombinedOutput(); err != nil {
		log.Fatalf("go build: %v: %s", err, out)
	}

	fmt.Println("| run | jobs | processes | accepted in | all delivered in | jobs/s |")
	fmt.Println("|---|---|---|---|---|---|")
	r := run{binary: binary, dir: dir}
	r.measure("memory transport, one process", *burst, nil, 0)
	if *dsn == "" {
		log.Print("no -dsn: the PostgreSQL and Kafka runs are skipped")
		return
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	for _, workers := range []int{1, 2} {
		db := createDatabase(*dsn)
		r.measure("postgres transport", *jobs, map[string]string{
			"transport.kind": "postgres", "transport.postgres.dsn": db, "transport.postgres.consumers": "2",
			"jobs.store": "postgres", "jobs.postgres.dsn": db,
		}, workers)
		dropDatabase(*dsn, db)
	}
	for _, workers := range []int{1, 2} {
		db := createDatabase(*dsn)
		r.measure("kafka transport", *jobs, map[string]string{
			"transport.kind": "kafka", "transport.kafka.brokers": strings.Join(cluster.ListenAddrs(), ","),
			"transport.kafka.topic_prefix": fmt.Sprintf("bench%d", workers), "transport.kafka.partitions": "12",
			"jobs.store": "postgres", "jobs.postgres.dsn": db,
		}, workers)
		dropDatabase(*dsn, db)
	}
}

type run struct {
	binary string
	dir    string
}

// measure starts Presso (one process with every role when workers is 0,
// else one API process and that many workers), sends jobs async renders
// at once and waits for every webhook.
func (r run) measure(name string, jobs int, settings map[string]string, workers int) {
	addr := freeAddr()
	base := map[string]string{
		"server.addr": addr, "server.public_url": "http://" + addr,
		"storage.local.dir": filepath.Join(r.dir, "documents"), "templates.dir": filepath.Join(r.dir, "templates"),
		"auth.anonymous_signing_secret": "whsec_" + base64.StdEncoding.EncodeToString([]byte("bench-secret-0123456789abcdef")),
		"outbound.allow":                "127.0.0.0/8", "limits.max_queued": "0", "limits.max_queued_per_key": "0",
		"renderer.chromium.max_pages": "2", "log.level": "error",
	}
	for k, v := range settings {
		base[k] = v
	}
	args := func(role string, extra ...string) []string {
		list := []string{"serve", "--role", role}
		for k, v := range base {
			list = append(list, "--set", k+"="+v)
		}
		return append(list, extra...)
	}

	var procs []*exec.Cmd
	if workers == 0 {
		procs = append(procs, start(r.binary, args("all")))
	} else {
		for range workers {
			procs = append(procs, start(r.binary, args("worker", "--set", "worker.addr="+freeAddr())))
		}
		procs = append(procs, start(r.binary, args("api")))
	}
	defer stop(procs)
	waitReady("http://" + addr + "/readyz")
	time.Sleep(2 * time.Second) // workers finish joining their consumer group

	var mu sync.Mutex
	delivered := map[string]bool{}
	done := make(chan struct{})
	receiver := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		mu.Lock()
		delivered[req.Header.Get("webhook-id")] = true
		if len(delivered) == jobs {
			close(done)
		}
		mu.Unlock()
	})}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go receiver.Serve(listener)
	defer receiver.Close()

	body, _ := json.Marshal(map[string]any{
		"page":   map[string]any{"setContent": map[string]any{"html": base64.StdEncoding.EncodeToString([]byte("<h1>Receipt</h1><p>Total 12.00 EUR</p>"))}},
		"doppio": map[string]any{"webhook": map[string]any{"url": "http://" + listener.Addr().String() + "/hook", "method": "POST"}},
	})
	started := time.Now()
	var wg sync.WaitGroup
	queue := make(chan struct{}, jobs)
	for range jobs {
		queue <- struct{}{}
	}
	close(queue)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range queue {
				resp, err := http.Post("http://"+addr+"/v1/render/pdf/async", "application/json", bytes.NewReader(body))
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					log.Fatalf("async answered %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(started)
	select {
	case <-done:
	case <-time.After(15 * time.Minute):
		log.Fatalf("%s: only %d of %d webhooks arrived", name, len(delivered), jobs)
	}
	total := time.Since(started)
	processes := "1 (all roles)"
	if workers > 0 {
		processes = fmt.Sprintf("1 API + %d worker(s)", workers)
	}
	fmt.Printf("| %s | %d | %s | %.2f s | %.2f s | %.1f |\n", name, jobs, processes, accepted.Seconds(), total.Seconds(), float64(jobs)/total.Seconds())
}

func start(binary string, args []string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	return cmd
}

func stop(procs []*exec.Cmd) {
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		p.Wait()
	}
}

func waitReady(url string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatalf("%s did not become ready", url)
}

func freeAddr() string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

func createDatabase(dsn string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("presso_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		log.Fatal(err)
	}
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		log.Fatal(err)
	}
	return strings.Replace(dsn, "/"+config.Database, "/"+name, 1)
}

func dropDatabase(adminDSN, dsn string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	config, _ := pgx.ParseConfig(dsn)
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+config.Database+" WITH (FORCE)")
}
