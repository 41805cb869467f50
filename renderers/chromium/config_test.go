package chromium

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}

	if cfg.Timeout != 30*time.Second {
		t.Errorf("Timeout = %s, want 30s", cfg.Timeout)
	}
	if cfg.Chromium.Bin != "/usr/bin/chromium" {
		t.Errorf("Chromium.Bin = %q, want /usr/bin/chromium", cfg.Chromium.Bin)
	}
	if cfg.Chromium.MaxPages != runtime.NumCPU() {
		t.Errorf("Chromium.MaxPages = %d, want runtime.NumCPU() = %d", cfg.Chromium.MaxPages, runtime.NumCPU())
	}
	if len(cfg.Chromium.Flags) != 0 {
		t.Errorf("Chromium.Flags = %q, want none", cfg.Chromium.Flags)
	}
	if *cfg.Chromium.RecycleAfter != 500 {
		t.Errorf("Chromium.RecycleAfter = %d, want 500", *cfg.Chromium.RecycleAfter)
	}
	if cfg.Chromium.RecycleMemoryMB != 0 {
		t.Errorf("Chromium.RecycleMemoryMB = %d, want 0 (off)", cfg.Chromium.RecycleMemoryMB)
	}
	if *cfg.Chromium.PreparedPages != 1 {
		t.Errorf("Chromium.PreparedPages = %d, want 1", *cfg.Chromium.PreparedPages)
	}
}

func TestConfigKeepsZeroCounts(t *testing.T) {
	in := Config{Chromium: ChromiumConfig{RecycleAfter: intPointer(0), PreparedPages: intPointer(0)}}

	cfg, err := in.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}

	if *cfg.Chromium.RecycleAfter != 0 {
		t.Errorf("Chromium.RecycleAfter = %d, want 0 (never recycle by count)", *cfg.Chromium.RecycleAfter)
	}
	if *cfg.Chromium.PreparedPages != 0 {
		t.Errorf("Chromium.PreparedPages = %d, want 0 (prepare none)", *cfg.Chromium.PreparedPages)
	}
}

func TestConfigKeepsValues(t *testing.T) {
	in := Config{Timeout: 45 * time.Second, Chromium: ChromiumConfig{Bin: "/opt/chromium", MaxPages: 3, Flags: []string{"--lang=de-DE"}}}

	cfg, err := in.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}

	if cfg.Timeout != in.Timeout || cfg.Chromium.Bin != in.Chromium.Bin || cfg.Chromium.MaxPages != in.Chromium.MaxPages {
		t.Errorf("withDefaults changed set values: got %+v, want %+v", cfg, in)
	}
}

func TestConfigInvalid(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"timeout without unit", Config{Timeout: 30}, "renderer.timeout"},
		{"negative timeout", Config{Timeout: -time.Second}, "renderer.timeout"},
		{"negative max pages", Config{Chromium: ChromiumConfig{MaxPages: -1}}, "renderer.chromium.max_pages"},
		{"negative recycle after", Config{Chromium: ChromiumConfig{RecycleAfter: intPointer(-1)}}, "renderer.chromium.recycle_after"},
		{"negative recycle memory", Config{Chromium: ChromiumConfig{RecycleMemoryMB: -1}}, "renderer.chromium.recycle_memory_mb"},
		{"negative prepared pages", Config{Chromium: ChromiumConfig{PreparedPages: intPointer(-1)}}, "renderer.chromium.prepared_pages"},
		{"flag without dashes", Config{Chromium: ChromiumConfig{Flags: []string{"--lang=en", "lang=en"}}}, "renderer.chromium.flags[1]"},
		{"flag without name", Config{Chromium: ChromiumConfig{Flags: []string{"--=x"}}}, "renderer.chromium.flags[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults()
			if err == nil {
				t.Fatal("withDefaults accepted the configuration, want an error")
			}
			if !strings.HasPrefix(err.Error(), tc.key) {
				t.Errorf("error = %q, want it to start with the key %s", err, tc.key)
			}
		})
	}
}

func TestParseFlag(t *testing.T) {
	cases := []struct {
		flag, name, value string
	}{
		{"--disable-extensions", "disable-extensions", ""},
		{"--lang=en-US", "lang", "en-US"},
		{"--proxy-bypass-list=<-loopback>;*.internal", "proxy-bypass-list", "<-loopback>;*.internal"},
		{"  --window-size=800,600  ", "window-size", "800,600"},
	}
	for _, tc := range cases {
		name, value, err := parseFlag(tc.flag)
		if err != nil {
			t.Errorf("parseFlag(%q): %v", tc.flag, err)
			continue
		}
		if name != tc.name || value != tc.value {
			t.Errorf("parseFlag(%q) = %q, %q; want %q, %q", tc.flag, name, value, tc.name, tc.value)
		}
	}
}
