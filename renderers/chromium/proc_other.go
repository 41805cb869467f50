//go:build !unix

package chromium

import "os"

// killGroup kills the Chromium browser process pid. Without process groups
// its helpers are left to end when it ends.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// reapChild does nothing: only Linux shows zombies in /proc.
func reapChild(int) {}
