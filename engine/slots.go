package engine

import (
	"context"
	"slices"
	"sync"
)

// renderSlots bounds the renders that run at once in a worker and decides
// who gets a slot that frees up: a direct or sync job first, whose caller
// holds an HTTP request open, then an async job. Each class waits in
// arrival order. A plain buffered channel would serve waiters in arrival
// order only, and the in-memory transport hands every queued async job to
// the router at once, so a sync request would wait behind the whole async
// backlog and time out.
type renderSlots struct {
	mu   sync.Mutex
	free int
	// waiting holds the waiters of each class, interactive at index 0.
	waiting [2][]chan struct{}
}

func newRenderSlots(n int) *renderSlots {
	return &renderSlots{free: n}
}

func slotClass(interactive bool) int {
	if interactive {
		return 0
	}
	return 1
}

// acquire waits for a slot until ctx ends. The caller calls release once
// for each nil return.
func (s *renderSlots) acquire(ctx context.Context, interactive bool) error {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	class := slotClass(interactive)
	granted := make(chan struct{}, 1)
	s.waiting[class] = append(s.waiting[class], granted)
	s.mu.Unlock()

	select {
	case <-granted:
		return nil
	case <-ctx.Done():
		s.abandon(class, granted)
		return ctx.Err()
	}
}

// abandon takes a waiter whose context ended out of its queue. When release
// granted it a slot meanwhile, the slot goes to the next waiter.
func (s *renderSlots) abandon(class int, granted chan struct{}) {
	s.mu.Lock()
	if i := slices.Index(s.waiting[class], granted); i >= 0 {
		s.waiting[class] = slices.Delete(s.waiting[class], i, i+1)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	<-granted
	s.release()
}

// release frees a slot, or hands it to the first waiter of the most
// urgent class.
func (s *renderSlots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for class := range s.waiting {
		if queue := s.waiting[class]; len(queue) > 0 {
			s.waiting[class] = queue[1:]
			queue[0] <- struct{}{}
			return
		}
	}
	s.free++
}
