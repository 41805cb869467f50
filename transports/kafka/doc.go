// Package kafka is the Kafka transport: the pipeline's messages go through
// Kafka topics with Watermill's Kafka Pub/Sub (watermill-kafka, on
// IBM/sarama), so that queued jobs survive a restart and any number of API
// and worker processes share them.
//
// Kafka hands each partition to one member of a consumer group, and a
// member handles one message of a partition at a time, so a group renders
// at most as many jobs at once as its topic has partitions. Messages are
// keyed by the job id (engine.MetadataPartitionKey), which keeps the
// messages of one job in order. A nacked message is delivered again and
// holds up the rest of its partition until it is acked. The engine's retry
// and poison-queue middleware bound how long that lasts.
//
// Names: an engine topic such as presso.render becomes
// <topic_prefix>.render; engine.GroupWorkers becomes consumer_group; any
// other group, such as an API process's presso-api-<id>, becomes
// <topic_prefix>-api-<id>: its leading "presso-" is replaced by the prefix.
package kafka
