// Package httpapi is Presso's HTTP front: the Doppio-compatible render
// routes built with huma, the generated OpenAPI document and its docs UI,
// health checks and the document links of the local storage. It turns each
// request into an engine.Job and hands it to the engine; it never renders
// itself, so that API and worker processes can run apart.
package httpapi
