package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor starts an acquire and returns a channel that gets its error.
func waitFor(s *renderSlots, ctx context.Context, interactive bool) chan error {
	done := make(chan error, 1)
	go func() { done <- s.acquire(ctx, interactive) }()
	return done
}

// waiters returns the number of waiters of each class.
func waiters(s *renderSlots) (interactive, async int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting[0]), len(s.waiting[1])
}

// settle waits until s has the given numbers of waiters.
func settle(t *testing.T, s *renderSlots, interactive, async int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		i, a := waiters(s)
		if i == interactive && a == async {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiters = %d interactive, %d async; want %d, %d", i, a, interactive, async)
		}
		time.Sleep(time.Millisecond)
	}
}

func requireGranted(t *testing.T, name string, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not get a slot", name)
	}
}

func requireWaiting(t *testing.T, name string, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned %v while every slot is taken", name, err)
	default:
	}
}

func TestSlotsInteractiveFirst(t *testing.T) {
	ctx := context.Background()
	s := newRenderSlots(1)
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	async1 := waitFor(s, ctx, false)
	settle(t, s, 0, 1)
	async2 := waitFor(s, ctx, false)
	settle(t, s, 0, 2)
	sync1 := waitFor(s, ctx, true)
	settle(t, s, 1, 2)
	sync2 := waitFor(s, ctx, true)
	settle(t, s, 2, 2)

	for _, next := range []struct {
		name string
		done chan error
	}{{"first sync", sync1}, {"second sync", sync2}, {"first async", async1}, {"second async", async2}} {
		s.release()
		requireGranted(t, next.name, next.done)
		for _, other := range []chan error{sync1, sync2, async1, async2} {
			if other != next.done {
				select {
				case err := <-other:
					t.Fatalf("another waiter returned %v together with the %s", err, next.name)
				default:
				}
			}
		}
	}
	s.release()
	if s.free != 1 {
		t.Errorf("free = %d after every release, want 1", s.free)
	}
}

func TestSlotsCancelledWaiterLeaves(t *testing.T) {
	s := newRenderSlots(1)
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := waitFor(s, ctx, true)
	settle(t, s, 1, 0)
	next := waitFor(s, context.Background(), false)
	settle(t, s, 1, 1)
	requireWaiting(t, "the cancelled waiter", cancelled)

	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire returned %v", err)
	}
	settle(t, s, 0, 1)
	s.release()
	requireGranted(t, "the async waiter", next)
	s.release()
	if s.free != 1 {
		t.Errorf("free = %d, want 1", s.free)
	}
}

func TestSlotsAbandonedGrantPassedOn(t *testing.T) {
	s := newRenderSlots(1)
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	// An interactive waiter whose context ends just as release grants it
	// the slot.
	granted := make(chan struct{}, 1)
	s.mu.Lock()
	s.waiting[0] = append(s.waiting[0], granted)
	s.mu.Unlock()
	next := waitFor(s, context.Background(), false)
	settle(t, s, 1, 1)
	s.release()
	settle(t, s, 0, 1)
	requireWaiting(t, "the async waiter", next)

	s.abandon(0, granted)
	requireGranted(t, "the async waiter", next)
	s.release()
	if s.free != 1 {
		t.Errorf("free = %d, want 1", s.free)
	}
}
