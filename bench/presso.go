package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildPresso compiles ./cmd/presso into dir. With a commit, the source is
// that commit of the repository at root, exported with git archive. Work
// in progress in the shared work tree then neither breaks the build nor
// changes what is measured. With no commit, the source is the work tree.
func buildPresso(root, dir, commit string) (string, error) {
	src := root
	if commit != "" {
		src = filepath.Join(dir, "src")
		if err := os.Mkdir(src, 0o755); err != nil {
			return "", err
		}
		archive := exec.Command("git", "-C", root, "archive", "--format=tar", commit)
		extract := exec.Command("tar", "-x", "-C", src)
		pipe, err := archive.StdoutPipe()
		if err != nil {
			return "", err
		}
		extract.Stdin = pipe
		extract.Stderr = os.Stderr
		archive.Stderr = os.Stderr
		if err := extract.Start(); err != nil {
			return "", err
		}
		if err := archive.Run(); err != nil {
			_ = extract.Wait()
			return "", fmt.Errorf("git archive %s: %w", commit, err)
		}
		if err := extract.Wait(); err != nil {
			return "", fmt.Errorf("extracting HEAD: %w", err)
		}
	}
	bin := filepath.Join(dir, "presso")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/presso")
	cmd.Dir = src
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/presso in %s: %w", src, err)
	}
	return bin, nil
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before presso listens, and startPresso then returns presso's log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pressoProcess is a `presso serve` child process with a data dir of its
// own, listening on a free loopback port with authentication off.
type pressoProcess struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	dir  string
	log  *os.File
	done chan struct{}

	stopOnce sync.Once
	stopLeft []string
	stopErr  error
}

// pressoSets are --set values that every presso started by the program
// gets before those of its scenario: the Chromium of -chromium and the
// values of -set.
var pressoSets []string

// startPresso runs `presso serve` with pressoSets and the given --set
// values on top of the ones that give it a port and a temporary data dir,
// and waits until /readyz responds 200.
func startPresso(bin string, sets ...string) (*pressoProcess, error) {
	dir, err := os.MkdirTemp("", "presso-bench-")
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve",
		"--set", fmt.Sprintf("server.addr=127.0.0.1:%d", port),
		"--set", "storage.local.dir=" + filepath.Join(dir, "documents"),
		"--set", "auth.anonymous_signing_secret_file=" + filepath.Join(dir, "signing-secret"),
	}
	for _, s := range append(slices.Clone(pressoSets), sets...) {
		args = append(args, "--set", s)
	}
	logFile, err := os.Create(filepath.Join(dir, "presso.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// TMPDIR puts Chromium's user data dir and the worker's temporary
	// files under dir. PRESSO_ variables of the caller's shell are left
	// out, so that only the --set values above change the defaults.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PRESSO_") && !strings.HasPrefix(kv, "TMPDIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &pressoProcess{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, log: logFile, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	track(p)
	if err := p.waitReady(60 * time.Second); err != nil {
		_, _ = p.stop()
		return nil, err
	}
	logf("presso pid %d on %s (%s)", p.pid(), p.base, strings.Join(sets, " "))
	return p, nil
}

func (p *pressoProcess) pid() int { return p.cmd.Process.Pid }

func (p *pressoProcess) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 3 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("presso exited at start; its log:\n%s", p.logTail())
		default:
		}
		resp, err := client.Get(p.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("presso not ready after %s; its log:\n%s", limit, p.logTail())
}

// chromiumBrowserPID returns the pid of the Chromium browser process below
// presso: the one with a DevTools port on its command line.
func chromiumBrowserPID(root int) int {
	for _, p := range descendants(procTable(), root) {
		if strings.HasPrefix(p.comm, "chrom") && hasArg(p.pid, "--remote-debugging-port") {
			return p.pid
		}
	}
	return 0
}

func hasArg(pid int, prefix string) bool {
	for _, a := range cmdline(pid) {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// cmdline returns the arguments of pid. Chromium's child processes
// rewrite their command line into one string separated by spaces; that
// string is split on spaces.
func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
	if len(args) == 1 {
		return strings.Fields(args[0])
	}
	return args
}

// stop sends SIGTERM and waits for presso to exit, then kills whatever of
// its process tree remains (none when presso shut Chromium down). It
// returns the processes it had to kill.
func (p *pressoProcess) stop() ([]string, error) {
	p.stopOnce.Do(func() { p.stopLeft, p.stopErr = p.doStop() })
	return p.stopLeft, p.stopErr
}

func (p *pressoProcess) doStop() ([]string, error) {
	defer untrack(p)
	// tree is empty when presso has already exited.
	tree := descendants(procTable(), p.pid())
	if len(tree) > 0 {
		tree = tree[1:]
	}
	var err error
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			err = errors.New("presso did not exit within 60 s of SIGTERM; killed its process group")
			_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
			<-p.done
		}
	}
	if code := p.cmd.ProcessState.ExitCode(); err == nil && code != 0 {
		err = fmt.Errorf("presso exited with status %d; its log:\n%s", code, p.logTail())
	}
	// Chromium's processes exit a moment after the browser process.
	var left []string
	for range 50 {
		if left = alive(tree); len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	left = killLeftovers(tree)
	reapChromiumOrphans()
	p.log.Close()
	if len(left) > 0 {
		err = errors.Join(err, fmt.Errorf("killed processes presso left running: %v", left))
	}
	if err == nil {
		_ = os.RemoveAll(p.dir)
	} else {
		logf("kept %s for inspection", p.dir)
	}
	return left, err
}

// alive lists the processes of snapshot that still run, zombies excepted.
func alive(snapshot []proc) []string {
	var out []string
	for _, p := range snapshot {
		now, err := readProc(p.pid)
		if err == nil && now.startTime == p.startTime && now.state != 'Z' {
			out = append(out, fmt.Sprintf("%d %s", p.pid, p.comm))
		}
	}
	return out
}

func (p *pressoProcess) logTail() string {
	data, _ := os.ReadFile(filepath.Join(p.dir, "presso.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// httpClient is the client of every request to presso: keep-alive
// connections, enough of them for the highest concurrency.
func httpClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// post sends body as JSON and returns the whole response body. A status
// other than 200 is a *statusError.
func post(ctx context.Context, client *http.Client, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{code: resp.StatusCode, msg: fmt.Sprintf("POST %s: %s: %.300s", url, resp.Status, data)}
	}
	return data, nil
}

// statusError is a response with a status other than 200.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// running holds the presso processes and baseline browsers not yet
// stopped, for the signal handler.
var running struct {
	sync.Mutex
	presso   map[*pressoProcess]bool
	browsers map[*bareChromium]bool
}

func track(p *pressoProcess) {
	running.Lock()
	defer running.Unlock()
	if running.presso == nil {
		running.presso = map[*pressoProcess]bool{}
	}
	running.presso[p] = true
}

func untrack(p *pressoProcess) {
	running.Lock()
	defer running.Unlock()
	delete(running.presso, p)
}

// stopAll stops every presso and baseline browser still running, for an
// interrupted run.
func stopAll() {
	running.Lock()
	var ps []*pressoProcess
	for p := range running.presso {
		ps = append(ps, p)
	}
	var bs []*bareChromium
	for b := range running.browsers {
		bs = append(bs, b)
	}
	running.Unlock()
	for _, b := range bs {
		b.close()
	}
	for _, p := range ps {
		if left, err := p.stop(); err != nil || len(left) > 0 {
			logf("stopping presso pid %d: %v", p.pid(), err)
		}
	}
}
