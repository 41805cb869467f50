// Package transporttest is the conformance suite of engine.Transport. Every
// transport runs Run against a real backend, with Features naming what its
// backend cannot do. The engine can then rely on one contract: consumer
// groups that split a topic, broadcast between groups, redelivery after a
// nack, and metadata that survives the trip.
package transporttest
