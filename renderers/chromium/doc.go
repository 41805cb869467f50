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
// every wait included.
//
// The page options follow Puppeteer:
//   - page.goto navigates and fails only on a network error, not on an HTTP
//     error status.
//   - page.setContent writes the HTML into about:blank.
//   - waitUntil accepts load, domcontentloaded, networkidle0 and networkidle2.
//   - page.pdf and page.screenshot map onto Page.printToPDF and
//     Page.captureScreenshot.
//
// Unlike Puppeteer, the renderer closes JavaScript dialogs at once, because
// no user is there to close them and an open dialog stops the page.
//
// The renderer never downloads a browser: renderer.chromium.bin must name
// an installed Chromium.
package chromium
