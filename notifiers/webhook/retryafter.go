package webhook

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// parseRetryAfter returns the pause that a Retry-After value requests, as
// delay-seconds or an HTTP date, relative to now.
// It returns 0 for an empty or malformed value or a date in the past. A
// huge number of seconds saturates at the largest Duration instead of
// overflowing, so callers must bound the result with their own maximum.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.ParseUint(value, 10, 64); err == nil {
		if seconds > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(seconds) * time.Second
	}
	if strings.Trim(value, "0123456789") == "" {
		// Digits only, but too many for uint64.
		return time.Duration(math.MaxInt64)
	}
	date, err := http.ParseTime(value)
	if err != nil || !date.After(now) {
		return 0
	}
	return date.Sub(now)
}
