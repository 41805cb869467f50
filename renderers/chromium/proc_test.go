package chromium

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	cases := []struct {
		line string
		want procStat
	}{
		{"4242 (chromium) S 4200 4242 4242 0 -1 4194560 100", procStat{pid: 4242, ppid: 4200, pgrp: 4242, state: 'S', comm: "chromium"}},
		{"17 (chrome_crashpad) Z 1 16 16 0", procStat{pid: 17, ppid: 1, pgrp: 16, state: 'Z', comm: "chrome_crashpad"}},
		// The executable name may contain spaces and parentheses.
		{"99 (a) b (c)) R 98 97 97 0", procStat{pid: 99, ppid: 98, pgrp: 97, state: 'R', comm: "a) b (c)"}},
	}
	for _, tc := range cases {
		got, err := parseProcStat([]byte(tc.line))
		if err != nil {
			t.Errorf("parseProcStat(%q): %v", tc.line, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseProcStat(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
	for _, line := range []string{"", "42 chromium S 1 42", "42 (chromium) S", "x (chromium) S 1 42"} {
		if _, err := parseProcStat([]byte(line)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded, want an error", line)
		}
	}
}

func TestTreeRSSOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("/proc is missing: treeRSS reads Linux's /proc")
	}
	if rss := treeRSS(os.Getpid()); rss < 1<<20 {
		t.Errorf("treeRSS(this process) = %d bytes, want at least 1 MiB", rss)
	}
	if tree := processTree(os.Getpid()); len(tree) == 0 || tree[0] != os.Getpid() {
		t.Errorf("processTree(this process) = %v, want it to start with %d", tree, os.Getpid())
	}
}

// processInfo is one process that /proc shows, with its command line.
type processInfo struct {
	procStat
	cmdline string
}

func (p processInfo) String() string {
	return fmt.Sprintf("pid %d ppid %d state %c %s", p.pid, p.ppid, p.state, p.cmdline)
}

// processesMentioning lists the live processes whose command line contains
// text, such as a directory that holds user data dirs.
func processesMentioning(text string) []processInfo {
	var found []processInfo
	for _, p := range listProcesses() {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		if err != nil || p.state == 'Z' {
			continue
		}
		cmdline := strings.ReplaceAll(string(data), "\x00", " ")
		if strings.Contains(cmdline, text) {
			found = append(found, processInfo{p, cmdline})
		}
	}
	return found
}

// zombieChildren lists the zombies whose parent is this test process.
func zombieChildren() []processInfo {
	var found []processInfo
	for _, p := range listProcesses() {
		if p.state == 'Z' && p.ppid == os.Getpid() {
			found = append(found, processInfo{procStat: p})
		}
	}
	return found
}

// requireNoZombies fails if this process has a zombie child.
func requireNoZombies(t *testing.T, when string) {
	t.Helper()
	if zombies := zombieChildren(); len(zombies) > 0 {
		t.Errorf("zombie children of the test process %s: %v", when, zombies)
	}
}

// requireNoProcesses fails if a live process mentions text.
func requireNoProcesses(t *testing.T, text, when string) {
	t.Helper()
	if left := processesMentioning(text); len(left) > 0 {
		t.Errorf("Chromium processes of %s left %s:\n%v", text, when, left)
	}
}
