//go:build unix

package chromium

import "syscall"

// killGroup sends SIGKILL to the process group pgrp, which contains the
// Chromium browser process and its helpers. rod's Launcher.Kill does the
// same after sleeping a second first, which a restart cannot afford.
func killGroup(pgrp int) {
	if pgrp > 0 {
		_ = syscall.Kill(-pgrp, syscall.SIGKILL)
	}
}

// reapChild waits for the exited child pid without blocking.
func reapChild(pid int) {
	var status syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &status, syscall.WNOHANG, nil)
}
