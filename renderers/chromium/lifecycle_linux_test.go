package chromium

import (
	"syscall"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// prctl options of Linux's <linux/prctl.h>.
const prSetChildSubreaper = 36

// TestNoZombiesAsSubreaper makes the test process a subreaper, so that
// Chromium's orphans and crash handlers become its children, as they do
// of a Presso that runs as PID 1 in a container without an init. None of
// them may stay a zombie after a kill, a recycle or Close.
func TestNoZombiesAsSubreaper(t *testing.T) {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	defer syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0)
	r, tmp := lifecycleRenderer(t, Config{Chromium: ChromiumConfig{MaxPages: 1, RecycleAfter: intPointer(2)}})
	render := func(step string) {
		t.Helper()
		if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>"+step+"</p>"), defaultTestTimeout); err != nil {
			t.Fatalf("render %s: %v", step, err)
		}
	}

	render("before the kill")
	killed := r.browsers.currentBrowser()
	if err := syscall.Kill(killed.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing Chromium (pid %d): %v", killed.pid, err)
	}
	waitReady(t, r, restartWithin)
	requireNoProcesses(t, killed.dataDir, "after the kill")
	requireNoZombies(t, "after the kill")

	// The second render on the new browser recycles it.
	recycled := r.browsers.currentBrowser()
	render("first on the new browser")
	render("second on the new browser")
	deadline := time.Now().Add(restartWithin)
	for r.browsers.currentBrowser() == recycled {
		if time.Now().After(deadline) {
			t.Fatal("the second render did not recycle Chromium")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitDrained(t, r)
	requireNoProcesses(t, recycled.dataDir, "after the recycle")
	requireNoZombies(t, "after the recycle")

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	requireNoProcesses(t, tmp, "after Close")
	requireNoZombies(t, "after Close")
}
