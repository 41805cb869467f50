package local

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSweepRemovesOnlyExpiredFiles(t *testing.T) {
	clock := newFakeClock()
	s := newTestStorage(t, Config{TTL: time.Hour}, clock)
	now := clock.Now()
	files := []struct {
		name    string
		age     time.Duration
		removed bool
	}{
		{"doppioreq_old-1.pdf", 2 * time.Hour, true},
		{"doppioreq_fresh-2.png", 30 * time.Minute, false},
		{".upload-123.tmp", 2 * staleTempAge, true},
		{".upload-456.tmp", time.Minute, false},
		{URLSecretFile, 1000 * time.Hour, false},
		{"notes.txt", 1000 * time.Hour, false},
	}
	for _, f := range files {
		path := filepath.Join(s.cfg.Dir, f.name)
		if f.name != URLSecretFile {
			if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		mtime := now.Add(-f.age)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}

	s.sweep()

	for _, f := range files {
		_, err := os.Stat(filepath.Join(s.cfg.Dir, f.name))
		switch {
		case f.removed && !os.IsNotExist(err):
			t.Errorf("%s (age %s) was kept, want it removed", f.name, f.age)
		case !f.removed && err != nil:
			t.Errorf("%s (age %s) is gone, want it kept: %v", f.name, f.age, err)
		}
	}
}

func TestSweepLoopRemovesStoredDocument(t *testing.T) {
	clock := newFakeClock()
	s := newTestStorage(t, Config{TTL: time.Hour, SweepInterval: 5 * time.Millisecond}, clock)
	stored := store(t, s, pdfJob(), []byte("expiring"))
	path := filepath.Join(s.cfg.Dir, stored.Key)
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	// The sweep compares modification times with the storage's clock.
	clock.mu.Lock()
	clock.now = time.Now()
	clock.mu.Unlock()

	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep loop did not remove an expired document within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	late := filepath.Join(s.cfg.Dir, "doppioreq_late-1.pdf")
	if err := os.WriteFile(late, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(late, old, old)
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(late); err != nil {
		t.Errorf("a file was removed after Close: %v", err)
	}
}
