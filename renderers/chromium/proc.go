package chromium

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Chromium runs as a tree of processes: the browser process, which rod's
// leakless guard starts as the leader of a new process group, and its
// zygotes, renderers, GPU and utility processes, which stay in that group.
// Its crash handlers (chrome_crashpad_handler) detach into sessions of
// their own and end when the browser process ends. The helpers below read
// that tree from /proc, so they work on Linux only; elsewhere they find
// nothing.

// procStat contains the fields of /proc/<pid>/stat that the renderer reads.
type procStat struct {
	pid   int
	ppid  int
	pgrp  int
	state byte
	// comm is the executable name, cut by the kernel to 15 bytes.
	comm string
}

// readProcStat parses /proc/<pid>/stat.
func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}

// parseProcStat parses the contents of /proc/<pid>/stat:
// "pid (comm) state ppid pgrp ...". comm may contain spaces and
// parentheses, so the fields after it are found from the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("malformed /proc stat line")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data[:open])))
	if err != nil {
		return procStat{}, err
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 3 || len(fields[0]) != 1 {
		return procStat{}, errors.New("malformed /proc stat line")
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procStat{}, err
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return procStat{}, err
	}
	return procStat{pid: pid, ppid: ppid, pgrp: pgrp, state: fields[0][0], comm: string(data[open+1 : end])}, nil
}

// procMounted reports whether /proc shows this process, as on Linux.
var procMounted = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
})

// listProcesses returns every process that /proc shows. Processes that exit
// while it reads are left out.
func listProcesses() []procStat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	list := make([]procStat, 0, len(entries))
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		if stat, err := readProcStat(pid); err == nil {
			list = append(list, stat)
		}
	}
	return list
}

// processTree returns root and all its descendants, found by following
// parent pids. A process whose parent exited has been moved to another
// parent (init or a subreaper) and is no longer found.
func processTree(root int) []int {
	children := map[int][]int{}
	for _, p := range listProcesses() {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// treeRSS returns the resident memory, in bytes, of root and all its
// descendants, summing VmRSS of /proc/<pid>/status. Memory that several
// processes share counts once per process, so the sum overstates what the
// tree uses. It still grows as Chromium's memory grows.
func treeRSS(root int) int64 {
	var total int64
	for _, pid := range processTree(root) {
		total += processRSS(pid)
	}
	return total
}

// processRSS returns VmRSS of one process in bytes, 0 when it cannot be read.
func processRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		value, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// crashpadComm is the name under which /proc shows chrome_crashpad_handler.
const crashpadComm = "chrome_crashpad"

// sweepGroup kills what is left of the Chromium process group pgrp after
// its browser process has exited, and reaps those of its processes that
// became children of this process (see reapChromiumZombies). It returns
// once no live process of the group remains, or after wait.
func sweepGroup(pgrp int, wait time.Duration) {
	if pgrp <= 0 {
		return
	}
	deadline := time.Now().Add(wait)
	for {
		live := reapChromiumZombies(pgrp)
		if !live || time.Now().After(deadline) {
			return
		}
		// SIGKILL cannot be caught, so a member left over is one that was
		// forked while the first signal was sent.
		killGroup(pgrp)
		time.Sleep(20 * time.Millisecond)
	}
}

// reapChromiumZombies waits for the exited Chromium processes that are
// children of this process: members of the process group pgrp other than
// its leader, and crash handlers of any Chromium. It reports whether a
// member of pgrp still runs; pgrp 0 reaps crash handlers only.
//
// A process whose parent exits is moved to the nearest subreaper, or to
// init. When this process is init (PID 1 in a container started without an
// init such as tini) or a subreaper, Chromium's orphans become its
// children, and so do its crash handlers, which Chromium starts with a
// double fork. Each one that exits stays a zombie until this process waits
// for it, and Go waits only for the children it started with os/exec. The
// group's leader is left alone: when it is a child of this process, rod's
// launcher started it with os/exec and waits for it.
func reapChromiumZombies(pgrp int) (live bool) {
	self := os.Getpid()
	for _, p := range listProcesses() {
		member := pgrp > 0 && p.pgrp == pgrp
		switch {
		case p.state == 'Z' && p.ppid == self && p.pid != pgrp && (member || p.comm == crashpadComm):
			reapChild(p.pid)
		case member && p.state != 'Z':
			live = true
		}
	}
	return live
}
