// Package jobstore holds the implementations of engine.JobStore: memory,
// the embedded default that lives and dies with the process, and postgres,
// shared by every process of a fleet and durable across restarts. The job
// store records each job's state and webhook attempts, queues pending
// webhook deliveries, and keeps the answers of idempotent requests.
package jobstore
