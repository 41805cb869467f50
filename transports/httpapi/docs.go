package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
)

// The docs UI is Stoplight Elements 9.0.25 (Apache-2.0, see
// docsui/assets/LICENSE), served from the binary because its default CDN
// is out of reach on machines without internet access.
//
//go:embed docsui/assets
var docsAssets embed.FS

const docsPage = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Presso API</title>
  <link rel="stylesheet" href="/docs/assets/styles.min.css">
  <script src="/docs/assets/web-components.min.js"></script>
</head>
<body style="height:100vh;margin:0">
  <elements-api apiDescriptionUrl="/openapi.json" router="hash" layout="sidebar" tryItCredentialsPolicy="same-origin"></elements-api>
</body>
</html>`

func docsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(docsPage))
	})
}

func docsAssetsHandler() http.Handler {
	assets, err := fs.Sub(docsAssets, "docsui/assets")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return http.StripPrefix("/docs/assets/", http.FileServerFS(assets))
}
