package engine

// Topic names of the pipeline. A transport may add a prefix.
const (
	// TopicRender carries async jobs to the workers.
	TopicRender = "presso.render"
	// TopicRenderInteractive carries direct and sync jobs to the workers.
	// A backlog of async jobs on TopicRender does not hold them up, and
	// workers give them free render slots first.
	TopicRenderInteractive = "presso.render.interactive"
	// TopicResults carries results of direct and sync jobs back to the API
	// processes waiting for them.
	TopicResults = "presso.results"
	// TopicNotify carries webhook deliveries of async jobs.
	TopicNotify = "presso.notify"
	// TopicPoison receives messages that failed every retry.
	TopicPoison = "presso.poison"
)

// Consumer groups. Workers share one group so that each job is rendered
// once; every API process needs every result, so each joins a group of its
// own, named after its instance id.
const (
	GroupWorkers   = "presso-workers"
	GroupAPIPrefix = "presso-api-"
)
