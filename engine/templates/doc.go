// Package templates keeps the HTML templates that API keys store through
// /v1/templates and renders them for the /v1/template/{direct,sync,async}
// routes.
//
// A template is a page in plain HTML with its kind (pdf or screenshot) and
// that kind's options. At render time the HTTP front loads the caller's
// template from a Store, fills its {* DOP_name *} tags from the request's
// templateData with Render, and turns the result into an
// engine.RenderRequest, which then runs like any other render.
//
// Every template belongs to one API key, by the key's name. A Store never
// shows one key's templates to another: Get, Update and Delete of another
// key's template return ErrNotFound, as for an id that does not exist.
//
// Implementations: Memory here, the file store in storages/local and the
// S3 store in storages/s3. They register in Stores under the names that
// the configuration key templates.store accepts. Package templatestest
// holds the conformance suite that every implementation passes.
package templates
