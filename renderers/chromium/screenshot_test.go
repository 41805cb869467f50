package chromium

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/presso-dev/presso/engine"
)

// tallPage is 2000 CSS pixels high and as wide as the viewport.
const tallPage = `<html><body style="margin:0"><div style="height:2000px;background:linear-gradient(#fff,#00f)">tall</div></body></html>`

func screenshotRequest(html string, opts *engine.ScreenshotOptions, viewport *engine.Viewport) engine.RenderRequest {
	req := htmlRequest(html)
	req.Page.Screenshot = opts
	if viewport != nil {
		req.Launch = &engine.LaunchOptions{DefaultViewport: viewport}
	}
	return req
}

// pngSize decodes a PNG screenshot and returns its size in pixels.
func pngSize(t *testing.T, data []byte) (width, height int) {
	t.Helper()
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not a PNG: %v", err)
	}
	return cfg.Width, cfg.Height
}

func TestScreenshotSize(t *testing.T) {
	cases := []struct {
		name          string
		html          string
		opts          *engine.ScreenshotOptions
		viewport      *engine.Viewport
		width, height int
	}{
		{"default viewport", `<p>shot</p>`, nil, nil, 800, 600},
		{"custom viewport", `<p>shot</p>`, nil, &engine.Viewport{Width: 1024, Height: 700}, 1024, 700},
		{"device scale factor 2", `<p>shot</p>`, nil, &engine.Viewport{Width: 400, Height: 300, DeviceScaleFactor: 2}, 800, 600},
		{"viewport only by default", tallPage, nil, nil, 800, 600},
		{"full page", tallPage, &engine.ScreenshotOptions{FullPage: true}, nil, 800, 2000},
		{"full page without capture beyond viewport", tallPage, &engine.ScreenshotOptions{FullPage: true, CaptureBeyondViewport: new(false)}, nil, 800, 2000},
		{"full page at scale 2", tallPage, &engine.ScreenshotOptions{FullPage: true}, &engine.Viewport{Width: 300, Height: 200, DeviceScaleFactor: 2}, 600, 4000},
		{"clip", tallPage, &engine.ScreenshotOptions{Clip: &engine.Clip{X: 10, Y: 20, Width: 100, Height: 50}}, nil, 100, 50},
		{"clip below the fold", tallPage, &engine.ScreenshotOptions{Clip: &engine.Clip{X: 0, Y: 1500, Width: 120, Height: 80}}, nil, 120, 80},
		{"clip at scale 2", tallPage, &engine.ScreenshotOptions{Clip: &engine.Clip{X: 10, Y: 20, Width: 100, Height: 50}}, &engine.Viewport{DeviceScaleFactor: 2}, 200, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			shot := mustRender(t, engine.KindScreenshot, screenshotRequest(tc.html, tc.opts, tc.viewport))
			width, height := pngSize(t, shot)
			if width != tc.width || height != tc.height {
				t.Errorf("screenshot = %d x %d px, want %d x %d", width, height, tc.width, tc.height)
			}
		})
	}
}

func TestScreenshotFormats(t *testing.T) {
	quality := 50
	cases := []struct {
		format string
		check  func(t *testing.T, data []byte) (width, height int)
	}{
		{"png", pngSize},
		{"jpeg", jpegSize},
		{"jpg", jpegSize},
		{"webp", webpSize},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			opts := &engine.ScreenshotOptions{Type: tc.format}
			if tc.format != "png" {
				opts.Quality = &quality
			}
			shot := mustRender(t, engine.KindScreenshot, screenshotRequest(`<p>format</p>`, opts, &engine.Viewport{Width: 320, Height: 240}))
			if width, height := tc.check(t, shot); width != 320 || height != 240 {
				t.Errorf("%s screenshot = %d x %d px, want 320 x 240", tc.format, width, height)
			}
		})
	}
}

func TestScreenshotQualityRejectedForPNG(t *testing.T) {
	quality := 80
	req := screenshotRequest(`<p>q</p>`, &engine.ScreenshotOptions{Quality: &quality}, nil)

	_, err := renderJob(t, sharedRenderer(t), engine.KindScreenshot, req, defaultTestTimeout)

	requireJobError(t, err, engine.CodeInvalidRequest)
}

func TestScreenshotClipAndFullPageExclusive(t *testing.T) {
	req := screenshotRequest(`<p>q</p>`, &engine.ScreenshotOptions{FullPage: true, Clip: &engine.Clip{Width: 10, Height: 10}}, nil)

	_, err := renderJob(t, sharedRenderer(t), engine.KindScreenshot, req, defaultTestTimeout)

	requireJobError(t, err, engine.CodeInvalidRequest)
}

func TestScreenshotOmitBackground(t *testing.T) {
	html := `<p style="margin:0">corner stays empty</p>`

	transparent := mustRender(t, engine.KindScreenshot, screenshotRequest(html, &engine.ScreenshotOptions{OmitBackground: true}, nil))
	opaque := mustRender(t, engine.KindScreenshot, screenshotRequest(html, nil, nil))

	if alpha := pngAlphaAt(t, transparent, 790, 590); alpha != 0 {
		t.Errorf("with omitBackground: alpha at the corner = %d, want 0", alpha)
	}
	if alpha := pngAlphaAt(t, opaque, 790, 590); alpha != 255 {
		t.Errorf("without omitBackground: alpha at the corner = %d, want 255", alpha)
	}
}

func pngAlphaAt(t *testing.T, data []byte, x, y int) uint32 {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not a PNG: %v", err)
	}
	_, _, _, alpha := img.At(x, y).RGBA()
	return alpha >> 8
}

func jpegSize(t *testing.T, data []byte) (width, height int) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}) {
		t.Fatalf("output starts with % x, want the JPEG marker ff d8 ff", data[:min(len(data), 4)])
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not a JPEG: %v", err)
	}
	return cfg.Width, cfg.Height
}

// webpSize checks the RIFF/WEBP header and reads the image size from the
// first chunk, which is VP8 (lossy), VP8L (lossless) or VP8X (extended).
// The layouts are those of the WebP container specification (RFC 9649).
func webpSize(t *testing.T, data []byte) (width, height int) {
	t.Helper()
	if len(data) < 30 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		t.Fatalf("output starts with %q, want RIFF....WEBP", data[:min(len(data), 12)])
	}
	chunk := data[12:16]
	payload := data[20:]
	switch string(chunk) {
	case "VP8 ":
		// A 3-byte frame tag and the start code 9d 01 2a precede two
		// little-endian 14-bit dimensions.
		if !bytes.Equal(payload[3:6], []byte{0x9d, 0x01, 0x2a}) {
			t.Fatalf("VP8 chunk has no start code: % x", payload[:10])
		}
		return int(binary.LittleEndian.Uint16(payload[6:8]) & 0x3fff), int(binary.LittleEndian.Uint16(payload[8:10]) & 0x3fff)
	case "VP8L":
		// The signature byte 0x2f precedes width-1 and height-1 in 14 bits each.
		bits := binary.LittleEndian.Uint32(payload[1:5])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1
	case "VP8X":
		// Four bytes of flags precede canvas width-1 and height-1 in 24 bits each.
		width = int(payload[4]) | int(payload[5])<<8 | int(payload[6])<<16
		height = int(payload[7]) | int(payload[8])<<8 | int(payload[9])<<16
		return width + 1, height + 1
	}
	t.Fatalf("unknown WebP chunk %q", chunk)
	return 0, 0
}
