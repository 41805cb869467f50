package chromium

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// Defaults of Config.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultBin           = "/usr/bin/chromium"
	DefaultRecycleAfter  = 500
	DefaultPreparedPages = 1
)

// Timing of the browser's health check; Config's unexported fields take
// these unless a test sets its own.
const (
	// defaultHealthInterval is the pause between two health checks.
	defaultHealthInterval = 5 * time.Second
	// defaultPingTimeout bounds one health check, a Browser.getVersion.
	defaultPingTimeout = 2 * time.Second
	// failedChecksBeforeRestart is the number of health checks in a row
	// that must fail before Chromium is killed and started again.
	failedChecksBeforeRestart = 2
)

// minTimeout rejects timeouts that are almost certainly a missing unit: a
// bare number such as `timeout: 30` decodes as 30 nanoseconds.
const minTimeout = time.Second

// Config configures the renderer; it is the "renderer" section of the
// configuration. A zero field takes its default.
type Config struct {
	// Timeout is the time limit of one render, from the moment it gets a
	// page to the last byte written, every wait included. A shorter
	// deadline on the context given to Render wins. Default: 30s.
	Timeout time.Duration `koanf:"timeout"`
	// Chromium configures the browser process.
	Chromium ChromiumConfig `koanf:"chromium"`

	// Guard decides which addresses pages may reach; nil means a guard
	// without an allow-list, which lets pages reach public addresses only.
	Guard *outbound.Guard `koanf:"-"`
	// FailOnRefusal fails a render whose page tried to reach a refused
	// address with a sub-resource; a refused main page always fails. New
	// reads it from outbound.fail_on_refusal (default true).
	FailOnRefusal bool `koanf:"-"`
	// Metrics counts refused connections; it may be nil.
	Metrics *engine.Metrics `koanf:"-"`
}

// ChromiumConfig is the "renderer.chromium" section of the configuration.
type ChromiumConfig struct {
	// Bin is the path of the Chromium executable. The renderer never
	// downloads a browser. Default: /usr/bin/chromium.
	Bin string `koanf:"bin"`
	// MaxPages is the number of renders that run at once, each in its own
	// page; further calls to Render wait for a free page. Default (0): the
	// number of CPUs.
	MaxPages int `koanf:"max_pages"`
	// Flags are extra Chromium command-line flags, each "--name" or
	// "--name=value". A flag that the renderer also sets is replaced by the
	// given one. Optional.
	Flags []string `koanf:"flags"`
	// RecycleAfter is the number of renders after which the renderer
	// replaces Chromium with a new process, because Chromium's memory grows
	// over many tabs. New renders go to the new process at once; the old
	// one finishes its renders and then stops. nil takes the default, 500;
	// 0 never recycles by count.
	RecycleAfter *int `koanf:"recycle_after"`
	// RecycleMemoryMB replaces Chromium the same way once the resident
	// memory (RSS) of its process tree exceeds this many MiB, measured at
	// every health check (every 5s). It sums VmRSS of the browser process
	// and its descendants, so memory they share counts more than once.
	// Default (0): off.
	RecycleMemoryMB int `koanf:"recycle_memory_mb"`
	// PreparedPages is the number of tabs the renderer keeps ready, each
	// in a new browser context of its own with its own outbound proxy
	// session, so that a render does not wait for Chromium to create them.
	// Each prepared tab serves exactly one render and is disposed of after
	// it, as a tab created on demand is. nil takes the default, 1; 0 turns
	// preparing off. Each prepared tab keeps a renderer process of Chromium
	// running, tens of MiB of memory.
	PreparedPages *int `koanf:"prepared_pages"`

	// healthInterval is the pause between two health checks. Default:
	// defaultHealthInterval.
	healthInterval time.Duration
	// pingTimeout bounds one health check. Default: defaultPingTimeout.
	pingTimeout time.Duration
}

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Chromium.Bin == "" {
		c.Chromium.Bin = DefaultBin
	}
	if c.Chromium.MaxPages == 0 {
		c.Chromium.MaxPages = runtime.NumCPU()
	}
	if c.Chromium.RecycleAfter == nil {
		c.Chromium.RecycleAfter = intPointer(DefaultRecycleAfter)
	}
	if c.Chromium.PreparedPages == nil {
		c.Chromium.PreparedPages = intPointer(DefaultPreparedPages)
	}
	if c.Chromium.healthInterval == 0 {
		c.Chromium.healthInterval = defaultHealthInterval
	}
	if c.Chromium.pingTimeout == 0 {
		c.Chromium.pingTimeout = defaultPingTimeout
	}

	if c.Timeout < minTimeout {
		return c, fmt.Errorf("renderer.timeout must be at least %s, got %s: give a duration with a unit, such as 30s", minTimeout, c.Timeout)
	}
	if c.Chromium.MaxPages < 0 {
		return c, fmt.Errorf("renderer.chromium.max_pages must be positive, or 0 for the number of CPUs, got %d", c.Chromium.MaxPages)
	}
	if *c.Chromium.RecycleAfter < 0 {
		return c, fmt.Errorf("renderer.chromium.recycle_after must be a number of renders, or 0 to never recycle by count, got %d", *c.Chromium.RecycleAfter)
	}
	if c.Chromium.RecycleMemoryMB < 0 {
		return c, fmt.Errorf("renderer.chromium.recycle_memory_mb must be a size in MiB, or 0 to never recycle by memory, got %d", c.Chromium.RecycleMemoryMB)
	}
	if *c.Chromium.PreparedPages < 0 {
		return c, fmt.Errorf("renderer.chromium.prepared_pages must be a number of tabs, or 0 to prepare none, got %d", *c.Chromium.PreparedPages)
	}
	for i, flag := range c.Chromium.Flags {
		name, _, err := parseFlag(flag)
		if err != nil {
			return c, fmt.Errorf("renderer.chromium.flags[%d]: %w", i, err)
		}
		if slices.Contains(reservedFlags, name) {
			return c, fmt.Errorf("renderer.chromium.flags[%d]: --%s is set by Presso to route Chromium through the outbound guard; open targets with outbound.allow instead", i, name)
		}
	}
	return c, nil
}

// parseFlag splits "--name=value" into its name and value; value is empty
// for a flag without one.
func parseFlag(flag string) (name, value string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(flag), "--")
	if !ok {
		return "", "", fmt.Errorf("invalid flag %q: a Chromium flag starts with --, such as --lang=en-US", flag)
	}
	name, value, _ = strings.Cut(rest, "=")
	if name == "" || strings.ContainsAny(name, " \t") {
		return "", "", fmt.Errorf("invalid flag %q: the name after -- must be one word, such as --lang=en-US", flag)
	}
	return name, value, nil
}

func intPointer(n int) *int { return &n }
