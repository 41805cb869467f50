package local

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleTempAge is the age after which the sweep deletes a temporary file.
// Each chunk that Store writes updates the file's modification time, so a
// file reaches this age only when its writer died or stalled for an hour.
const staleTempAge = time.Hour

func (s *Storage) sweepLoop() {
	defer close(s.sweepDone)
	ticker := time.NewTicker(s.cfg.SweepInterval)
	defer ticker.Stop()

	// The first sweep runs at once, to clean up after a process that was
	// down for longer than the TTL.
	s.sweep()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-ticker.C:
			s.sweep()
		}
	}
}

// sweep deletes documents older than the TTL and stale temporary files, and
// returns how many files it deleted. Other files in the folder, the URL
// signing key among them, are left alone.
func (s *Storage) sweep() int {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		s.logger.Error("sweep failed to list the document folder", "dir", s.cfg.Dir, "error", err)
		return 0
	}

	now := s.now()
	removed, failed := 0, 0
	var firstErr error
	for _, entry := range entries {
		name := entry.Name()
		var maxAge time.Duration
		switch {
		case documentNamePattern.MatchString(name):
			maxAge = s.cfg.TTL
		case isTempName(name):
			maxAge = staleTempAge
		default:
			continue
		}

		// Another process sharing the folder may delete the file first,
		// so a file that has vanished is not an error.
		info, err := entry.Info()
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < maxAge {
			continue
		}
		err = os.Remove(filepath.Join(s.cfg.Dir, name))
		switch {
		case err == nil:
			removed++
		case errors.Is(err, fs.ErrNotExist):
		default:
			failed++
			if firstErr == nil {
				firstErr = err
			}
		}
	}

	if removed > 0 {
		s.logger.Debug("sweep deleted expired files", "count", removed)
	}
	// One line per sweep, however many files failed, so that a read-only
	// folder does not flood the log.
	if failed > 0 {
		s.logger.Error("sweep failed to delete expired files", "count", failed, "firstError", firstErr)
	}
	return removed
}

func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
}
