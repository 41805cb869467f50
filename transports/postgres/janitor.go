package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// janitorInterval is the pause between two heartbeats and cleanups.
	janitorInterval = time.Minute
	// ephemeralTTL is how long a per-process group lives without a
	// heartbeat: five missed beats, so that a slow database or a pause of
	// the process does not drop a live group.
	ephemeralTTL = 5 * janitorInterval
	// janitorTimeout bounds one round of heartbeat and cleanup.
	janitorTimeout = 30 * time.Second
)

// runJanitor sends the heartbeats of this process's groups and removes
// what no consumer will ever read: the groups of processes that stopped
// without closing, with their delivery rows, and messages past retention
// that every group has handled. Every process runs it; the statements are
// idempotent, so concurrent runs only repeat each other's work.
func (t *Transport) runJanitor() {
	defer close(t.janitorDone)
	ticker := time.NewTicker(janitorInterval)
	defer ticker.Stop()
	for {
		select {
		case <-t.stopJanitor:
			return
		case <-ticker.C:
		}

		ctx, cancel := context.WithTimeout(context.Background(), janitorTimeout)
		err := t.heartbeat(ctx)
		groups, groupsErr := t.expireGroups(ctx, ephemeralTTL)
		messages, messagesErr := t.deleteExpiredMessages(ctx, t.cfg.Retention)
		cancel()

		if err := errors.Join(err, groupsErr, messagesErr); err != nil {
			t.logger.Warn("transport cleanup failed; retrying at the next round", "error", err, "retryIn", janitorInterval)
		}
		if groups > 0 || messages > 0 {
			t.logger.Info("transport cleanup", "expiredGroups", groups, "deletedMessages", messages)
		}
	}
}

// heartbeat marks this process's groups as alive. It registers a group
// again if another process expired it during a long pause of this one, but
// the messages published in between are lost to that group.
func (t *Transport) heartbeat(ctx context.Context) error {
	topics, groups := t.ephemeralRegistrations()
	if len(topics) == 0 {
		return nil
	}
	_, err := t.pool.Exec(ctx, `INSERT INTO `+tableGroups+` (topic, consumer_group, ephemeral)
		SELECT topic, consumer_group, TRUE FROM unnest($1::text[], $2::text[]) AS r(topic, consumer_group)
		ON CONFLICT (topic, consumer_group) DO UPDATE SET seen_at = now()`, topics, groups)
	if err != nil {
		return fmt.Errorf("heartbeat of consumer groups: %w", err)
	}
	return nil
}

// expireGroups drops the per-process groups without a heartbeat for ttl,
// with their delivery rows, and returns how many it dropped.
func (t *Transport) expireGroups(ctx context.Context, ttl time.Duration) (int64, error) {
	var expired int64
	err := t.pool.QueryRow(ctx, `WITH expired AS (
			DELETE FROM `+tableGroups+`
			WHERE ephemeral AND seen_at < now() - $1::float8 * interval '1 second'
			RETURNING topic, consumer_group
		), dropped AS (
			DELETE FROM `+tableDeliveries+` d USING expired e
			WHERE d.topic = e.topic AND d.consumer_group = e.consumer_group
		)
		SELECT count(*) FROM expired`, ttl.Seconds()).Scan(&expired)
	if err != nil {
		return 0, fmt.Errorf("expire consumer groups: %w", err)
	}
	return expired, nil
}

// deleteExpiredMessages deletes the messages older than retention that no
// group has left to handle, and returns how many it deleted.
func (t *Transport) deleteExpiredMessages(ctx context.Context, retention time.Duration) (int64, error) {
	tag, err := t.pool.Exec(ctx, `DELETE FROM `+tableMessages+` m
		WHERE m.created_at < now() - $1::float8 * interval '1 second'
		AND NOT EXISTS (SELECT 1 FROM `+tableDeliveries+` d WHERE d."offset" = m."offset")`, retention.Seconds())
	if err != nil {
		return 0, fmt.Errorf("delete expired messages: %w", err)
	}
	return tag.RowsAffected(), nil
}

// dropEphemeralGroups removes this process's own groups and their delivery
// rows, because no other process will consume them.
func (t *Transport) dropEphemeralGroups(ctx context.Context) error {
	topics, groups := t.ephemeralRegistrations()
	if len(topics) == 0 {
		return nil
	}
	_, err := t.pool.Exec(ctx, `WITH dropped AS (
			DELETE FROM `+tableGroups+` g
			USING unnest($1::text[], $2::text[]) AS r(topic, consumer_group)
			WHERE g.topic = r.topic AND g.consumer_group = r.consumer_group
			RETURNING g.topic, g.consumer_group
		)
		DELETE FROM `+tableDeliveries+` d USING dropped x
		WHERE d.topic = x.topic AND d.consumer_group = x.consumer_group`, topics, groups)
	if err != nil {
		return fmt.Errorf("drop consumer groups: %w", err)
	}
	return nil
}

func (t *Transport) ephemeralRegistrations() (topics, groups []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for r := range t.ephemeral {
		topics = append(topics, r.topic)
		groups = append(groups, r.group)
	}
	return topics, groups
}
