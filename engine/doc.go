// Package engine defines Presso's render jobs, the interfaces that renderers,
// storages, notifiers and transports implement, the registry through which
// implementations are chosen by name from configuration, and the pipeline
// that moves a job from the HTTP front through a Watermill router to a stored
// document and a webhook call.
//
// The pipeline has two halves that may run in the same process or in
// different ones. A Dispatcher publishes jobs on the render topic and waits
// for the results of direct and sync jobs on the results topic. A Worker
// consumes the render topic, renders and stores each document, publishes the
// result, and for async jobs publishes a notification on the notify topic,
// whose handler calls the webhook.
package engine
