package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBrowserProcessesEndWithPresso runs `presso serve`, renders once,
// stops it with SIGTERM and checks that none of its Chromium processes is
// left, running or as a zombie. Its Chromium processes are the ones below
// the presso process in the process tree while it runs.
func TestBrowserProcessesEndWithPresso(t *testing.T) {
	requireTools(t)
	addr := freeAddr(t)
	p := startProcess(t, "presso", "serve",
		"--set", "server.addr="+addr,
		"--set", "storage.local.dir="+filepath.Join(t.TempDir(), "documents"),
		"--set", "templates.dir="+t.TempDir(),
		"--set", "auth.anonymous_signing_secret="+newSecret(),
		"--set", "outbound.allow=127.0.0.0/8")
	url := "http://" + addr
	waitReady(t, url+"/readyz", p)
	pressoPID := p.cmd.Process.Pid

	found := chromiumBelow(pressoPID)
	if len(found.dataDirs) == 0 {
		t.Fatalf("found no Chromium process below presso (pid %d); the checks below would prove nothing", pressoPID)
	}

	page := map[string]any{"setContent": map[string]any{"html": b64("<h1>Shutdown check</h1>")}}
	body, _ := json.Marshal(map[string]any{"page": page})
	resp, err := http.Post(url+"/v1/render/pdf/direct", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("direct render answered %d: %s", resp.StatusCode, pdf)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "Shutdown check") {
		t.Errorf("PDF text lacks the page: %q", text)
	}
	// The render may have started more processes, such as prepared tabs.
	found.add(chromiumBelow(pressoPID))

	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("presso exited with %v after SIGTERM", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("presso did not exit within 30s of SIGTERM")
	}

	for _, proc := range listProcs() {
		switch {
		case proc.state == 'Z' && proc.ppid == os.Getpid():
			t.Errorf("zombie child of the test process: %v", proc)
		case proc.state != 'Z' && found.mentioned(proc.cmdline):
			t.Errorf("a Chromium process of presso is left after it exited: %v", proc)
		}
	}
	// A helper whose parent exited before it is moved to init, and is a
	// zombie until init waits for it: that takes init a moment.
	exited := time.Now()
	for {
		zombies := found.zombies()
		if len(zombies) == 0 {
			break
		}
		if time.Since(exited) > 5*time.Second {
			t.Errorf("Chromium processes of presso are still zombies 5s after it exited: %v", zombies)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("no zombie of presso's Chromium %s after presso exited", time.Since(exited).Round(time.Millisecond))
	for dir := range found.dataDirs {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("user data dir %s left after presso exited", dir)
		}
	}
}

// procEntry is one process as /proc shows it.
type procEntry struct {
	pid, ppid, pgrp int
	state           byte
	cmdline         string
}

func (p procEntry) String() string {
	return fmt.Sprintf("pid %d ppid %d pgrp %d state %c %q", p.pid, p.ppid, p.pgrp, p.state, p.cmdline)
}

// listProcs reads every process of /proc; those that exit meanwhile are
// left out.
func listProcs() []procEntry {
	entries, _ := os.ReadDir("/proc")
	var list []procEntry
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + entry.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the executable name, which may contain spaces,
		// start after the last ')': state, ppid, pgrp.
		end := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[end+1:]))
		if end < 0 || len(fields) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		pgrp, _ := strconv.Atoi(fields[2])
		cmdline, _ := os.ReadFile("/proc/" + entry.Name() + "/cmdline")
		list = append(list, procEntry{
			pid: pid, ppid: ppid, pgrp: pgrp, state: fields[0][0],
			cmdline: strings.ReplaceAll(string(cmdline), "\x00", " "),
		})
	}
	return list
}

// chromiumProcs is what the test records about presso's Chromium.
type chromiumProcs struct {
	pids map[int]bool
	// groups holds the process groups of the browser processes; every
	// helper of a browser is in its group.
	groups   map[int]bool
	dataDirs map[string]bool
}

// chromiumBelow records the Chromium processes whose chain of parents
// leads to root, with their user data dirs.
func chromiumBelow(root int) chromiumProcs {
	found := chromiumProcs{pids: map[int]bool{}, groups: map[int]bool{}, dataDirs: map[string]bool{}}
	list := listProcs()
	parent := map[int]int{}
	for _, proc := range list {
		parent[proc.pid] = proc.ppid
	}
	below := func(pid int) bool {
		for steps := 0; pid > 1 && steps < 64; steps++ {
			if pid = parent[pid]; pid == root {
				return true
			}
		}
		return false
	}
	for _, proc := range list {
		dir := userDataDir(proc.cmdline)
		if !below(proc.pid) || !strings.Contains(dir, "presso-chromium-") {
			continue
		}
		found.pids[proc.pid] = true
		found.groups[proc.pgrp] = true
		found.dataDirs[dir] = true
	}
	return found
}

// userDataDir returns the value of --user-data-dir in cmdline.
func userDataDir(cmdline string) string {
	_, rest, ok := strings.Cut(cmdline, "--user-data-dir=")
	if !ok {
		return ""
	}
	dir, _, _ := strings.Cut(rest, " ")
	return dir
}

func (c chromiumProcs) add(other chromiumProcs) {
	for pid := range other.pids {
		c.pids[pid] = true
	}
	for group := range other.groups {
		c.groups[group] = true
	}
	for dir := range other.dataDirs {
		c.dataDirs[dir] = true
	}
}

// zombies lists the zombies among the recorded processes and the members
// of their process groups.
func (c chromiumProcs) zombies() []procEntry {
	var found []procEntry
	for _, proc := range listProcs() {
		if proc.state == 'Z' && (c.pids[proc.pid] || c.groups[proc.pgrp]) {
			found = append(found, proc)
		}
	}
	return found
}

// mentioned reports whether cmdline names one of the recorded user data dirs.
func (c chromiumProcs) mentioned(cmdline string) bool {
	for dir := range c.dataDirs {
		if strings.Contains(cmdline, dir) {
			return true
		}
	}
	return false
}
