package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// pageSize is the unit of the RSS field of /proc/PID/statm.
var pageSize = int64(os.Getpagesize())

// proc is one line of /proc/PID/stat, with the fields this program uses.
type proc struct {
	pid, ppid int
	comm      string
	state     byte
	// cpu is utime+stime+cutime+cstime in clock ticks: the process's own
	// CPU time plus that of its children that it has waited for.
	cpu       int64
	startTime uint64
}

// readProc parses /proc/PID/stat. comm may contain spaces and parentheses,
// so the fields are counted from the last ')'.
func readProc(pid int) (proc, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, err
	}
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(data[end+1:]))
	// fields[0] is field 3 (state) of proc(5).
	if len(fields) < 20 {
		return proc{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	p := proc{pid: pid, comm: string(data[open+1 : end]), state: fields[0][0]}
	p.ppid, _ = strconv.Atoi(fields[1])
	for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		v, _ := strconv.ParseInt(fields[i], 10, 64)
		p.cpu += v
	}
	p.startTime, _ = strconv.ParseUint(fields[19], 10, 64)
	return p, nil
}

// procTable reads every process of the machine.
func procTable() map[int]proc {
	entries, _ := os.ReadDir("/proc")
	table := make(map[int]proc, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(pid); err == nil {
			table[pid] = p
		}
	}
	return table
}

// descendants returns root and every process below it in table, root first.
func descendants(table map[int]proc, root int) []proc {
	children := map[int][]int{}
	for pid, p := range table {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var out []proc
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if p, ok := table[pid]; ok {
			out = append(out, p)
		}
		queue = append(queue, children[pid]...)
	}
	return out
}

// rssBytes is the resident set size of pid from /proc/PID/statm.
func rssBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * pageSize
}

// pssBytes is the proportional set size of pid from
// /proc/PID/smaps_rollup: shared pages count once per sharing process, so
// that sums over processes do not count them twice.
func pssBytes(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// memSample is the memory of a process tree at one moment.
type memSample struct {
	Renders int `json:"renders,omitempty"`
	// Seconds since the start of the series.
	Seconds   float64 `json:"seconds"`
	PressoRSS int64   `json:"pressoRssBytes"`
	// ChromiumRSS sums the RSS of every process below presso whose
	// command name starts with "chrom"; OtherRSS the rest (rod's leakless
	// guard). RSS sums count pages shared between Chromium's processes
	// once per process, so TotalPSS is given too.
	ChromiumRSS   int64 `json:"chromiumRssBytes"`
	OtherRSS      int64 `json:"otherRssBytes"`
	TotalRSS      int64 `json:"totalRssBytes"`
	TotalPSS      int64 `json:"totalPssBytes,omitempty"`
	ChromiumProcs int   `json:"chromiumProcesses"`
}

// sampleTree measures root and its descendants. withPSS adds the PSS sum,
// which costs a walk of every mapping of every process.
func sampleTree(root int, withPSS bool) memSample {
	var s memSample
	for _, p := range descendants(procTable(), root) {
		if p.state == 'Z' {
			continue
		}
		rss := rssBytes(p.pid)
		switch {
		case p.pid == root:
			s.PressoRSS = rss
		case strings.HasPrefix(p.comm, "chrom"):
			s.ChromiumRSS += rss
			s.ChromiumProcs++
		default:
			s.OtherRSS += rss
		}
		s.TotalRSS += rss
		if withPSS {
			s.TotalPSS += pssBytes(p.pid)
		}
	}
	return s
}

// cpuSnapshot is the machine's CPU time and that of this program's process
// tree at one moment, to tell how much CPU other processes took during a
// measurement.
type cpuSnapshot struct {
	busy, total int64 // clock ticks over all CPUs, from /proc/stat
	own         int64 // clock ticks of this process and its descendants
}

func takeCPUSnapshot() cpuSnapshot {
	var s cpuSnapshot
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		for i, f := range fields[1:] {
			v, _ := strconv.ParseInt(f, 10, 64)
			if i >= 8 { // guest and guest_nice are already in user and nice
				break
			}
			s.total += v
			if i != 3 && i != 4 { // idle, iowait
				s.busy += v
			}
		}
	}
	for _, p := range descendants(procTable(), os.Getpid()) {
		s.own += p.cpu
	}
	return s
}

// cpuShare is the CPU use between two snapshots, in percent of the whole
// machine (100 = every CPU busy).
type cpuShare struct {
	MachineBusyPct float64 `json:"machineBusyPct"`
	// OthersPct is the CPU used by processes outside this program's tree
	// (other engineers' builds and tests, the kernel's own threads).
	OthersPct float64 `json:"othersPct"`
}

func cpuBetween(a, b cpuSnapshot) cpuShare {
	total := float64(b.total - a.total)
	if total <= 0 {
		return cpuShare{}
	}
	busy := float64(b.busy - a.busy)
	others := busy - float64(b.own-a.own)
	return cpuShare{MachineBusyPct: round1(100 * busy / total), OthersPct: round1(max(0, 100*others/total))}
}

// loadAverage returns the three load averages of /proc/loadavg.
func loadAverage() [3]float64 {
	var l [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	fields := strings.Fields(string(data))
	for i := 0; i < 3 && i < len(fields); i++ {
		l[i], _ = strconv.ParseFloat(fields[i], 64)
	}
	return l
}

// becomeSubreaper makes this process the parent of any orphan among its
// descendants (PR_SET_CHILD_SUBREAPER), so that a Chromium process whose
// parent died is still found, killed and reaped here instead of being left
// to the container's init.
func becomeSubreaper() {
	const prSetChildSubreaper = 36
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// reapOrphans waits for every exited child not owned by an exec.Cmd. It is
// called only once nothing else waits for children.
func reapOrphans() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// reapChromiumOrphans waits for the exited Chromium processes that were
// moved to this process, a subreaper, when their parent exited: the crash
// handlers that Chromium starts with a double fork. No exec.Cmd of this
// process runs a program of those names, so none of them waits for these.
func reapChromiumOrphans() {
	self := os.Getpid()
	for pid, p := range procTable() {
		if p.ppid == self && p.state == 'Z' && (strings.HasPrefix(p.comm, "chromium") || strings.HasPrefix(p.comm, "chrome_crashpad")) {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// killLeftovers kills every process of snapshot that still runs (same pid
// and start time) and returns their descriptions.
func killLeftovers(snapshot []proc) []string {
	var left []string
	for _, p := range snapshot {
		now, err := readProc(p.pid)
		if err != nil || now.startTime != p.startTime {
			continue
		}
		if now.state == 'Z' {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(p.pid, &ws, syscall.WNOHANG, nil)
			continue
		}
		left = append(left, fmt.Sprintf("%d %s", p.pid, p.comm))
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(p.pid, &ws, 0, nil)
	}
	return left
}

func mib(b int64) float64 { return round1(float64(b) / (1 << 20)) }
