// Package chromium is Presso's renderer: it turns a job's page options into
// a PDF or a screenshot with the Chromium installed on the machine, driven
// over the DevTools protocol with go-rod. A worker calls Render for each
// job it consumes and stores what Render writes.
//
// Importing the package registers it in engine.Renderers under the name
// "chromium"; New reads the "renderer" section of the configuration.
//
// One Chromium process, started by New and stopped by Close, serves every
// render. Each render gets a fresh tab in an incognito browser context of
// its own, closed afterwards, so that cookies, storage and caches never
// pass between jobs. A semaphore of renderer.chromium.max_pages bounds the
// renders that run at once, and renderer.timeout bounds each of them,
// every wait included. The renderer keeps renderer.chromium.prepared_pages
// such tabs created ahead of demand (pool.go), each still used by one job
// only.
//
// A supervisor (lifecycle.go) replaces the Chromium process while Presso
// runs. When it exits or fails two health checks in a row, a new one
// starts at once. The renders that ran on the old one fail with
// render_failed ("Chromium exited during the render; retry the request").
// They are not retried, because the page may be what crashed it. After
// renderer.chromium.recycle_after renders, or above
// renderer.chromium.recycle_memory_mb, a new process takes the new renders
// while the old one finishes its own and then stops, so no render fails.
// Each replacement counts in presso_browser_restarts_total. Stopping a
// process kills its whole process group and waits for any of its
// processes that became children of Presso (proc.go), so that none is
// left running or as a zombie.
//
// The page options follow Puppeteer:
//   - page.goto navigates and fails only on a network error, not on an HTTP
//     error status.
//   - page.setContent writes the HTML into about:blank.
//   - waitUntil accepts load, domcontentloaded, networkidle0 and networkidle2.
//   - page.pdf and page.screenshot map onto Page.printToPDF and
//     Page.captureScreenshot.
//   - The set-up options apply to the tab before the content loads (see
//     setup.go): setJavaScriptEnabled, emulateMediaType and setUserAgent
//     through the Emulation domain, setExtraHTTPHeaders and setCookies
//     through the Network domain, setLocalStorageItems as a script that
//     runs before the page's own, and authenticate by answering the
//     Fetch domain's authRequired events (auth.go).
//   - waitForSelector, then waitForFunction, run after the load and before
//     the output (waits.go), with Puppeteer's polling modes and its
//     default time limit of 30 seconds.
//
// Every stage is bounded by the render's time limit, and a timeout names
// its stage: navigation, waitForSelector "<selector>", waitForFunction
// "<function>", print or screenshot.
//
// Unlike Puppeteer, the renderer closes JavaScript dialogs at once, because
// no user is there to close them and an open dialog stops the page. Also
// unlike Puppeteer, waitForFunction calls a page function whose value is a
// function, so that "() => window.ready" works as a string; and with
// JavaScript off, where the page runs no timer or animation frame, the
// waits poll from outside the page.
//
// The renderer never downloads a browser: renderer.chromium.bin must name
// an installed Chromium.
package chromium
