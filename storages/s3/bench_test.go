package s3

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/presso-dev/presso/engine"
)

// BenchmarkStoreLarge uploads a generated file of 50 and 200 MB through
// Store to an S3 endpoint that discards what it receives. It reports the
// process's peak resident memory during the uploads as peak-RSS-MB (VmHWM
// after a reset) and its resident memory before them as base-RSS-MB.
//
// The endpoint is discardS3 and not gofakes3, because gofakes3 keeps every
// part in memory until CompleteMultipartUpload, whatever its backend, and
// would dominate the measurement. The transfermanager sub-benchmarks run
// the same upload through feature/s3/transfermanager for comparison.
//
//	go test ./storages/s3/ -run '^$' -bench StoreLarge -benchtime 3x
func BenchmarkStoreLarge(b *testing.B) {
	server := httptest.NewServer(&discardS3{})
	defer server.Close()
	cfg := Config{Bucket: testBucket, Endpoint: server.URL, PathStyle: true,
		AccessKeyID: "AKIABENCH", SecretAccessKey: "bench-secret"}
	s, err := NewWithConfig(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	for _, megabytes := range []int{50, 200} {
		path := writeBenchFile(b, megabytes<<20)

		b.Run(fmt.Sprintf("store/%dMB", megabytes), func(b *testing.B) {
			measureUploads(b, path, func(file *os.File, size int64) error {
				_, err := s.Store(context.Background(), engine.Document{Job: pdfJob(), Body: file, Size: size})
				return err
			})
		})
		b.Run(fmt.Sprintf("transfermanager/%dMB", megabytes), func(b *testing.B) {
			manager := transfermanager.New(s.client)
			measureUploads(b, path, func(file *os.File, size int64) error {
				_, err := manager.UploadObject(context.Background(), &transfermanager.UploadObjectInput{
					Bucket: aws.String(testBucket), Key: aws.String("tm.pdf"), Body: file,
				})
				return err
			})
		})
	}
}

func measureUploads(b *testing.B, path string, upload func(*os.File, int64) error) {
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	// Return the previous sub-benchmark's heap to the OS, so that its
	// pages do not count towards this one's resident size.
	debug.FreeOSMemory()
	baseRSS := procStatusMB(b, "VmRSS")
	resetPeakRSS(b)
	b.SetBytes(info.Size())
	b.ReportAllocs()
	b.ResetTimer()

	for b.Loop() {
		file, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		err = upload(file, info.Size())
		file.Close()
		if err != nil {
			b.Fatal(err)
		}
	}

	b.StopTimer()
	b.ReportMetric(procStatusMB(b, "VmHWM"), "peak-RSS-MB")
	b.ReportMetric(baseRSS, "base-RSS-MB")
}

// writeBenchFile writes size bytes of incompressible data to a temporary
// file, a block at a time.
func writeBenchFile(b *testing.B, size int) string {
	path := filepath.Join(b.TempDir(), "document.pdf")
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	block := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{7}).Read(block)
	for written := 0; written < size; written += len(block) {
		if _, err := file.Write(block[:min(len(block), size-written)]); err != nil {
			b.Fatal(err)
		}
	}
	return path
}

// resetPeakRSS sets VmHWM back to the current resident size (Linux 4.0 and
// later), so that the peak reflects only what follows.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// procStatusMB returns a kB field of /proc/self/status in MB.
func procStatusMB(b *testing.B, field string) float64 {
	file, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		value, found := strings.CutPrefix(scanner.Text(), field+":")
		if !found {
			continue
		}
		kB, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			b.Fatalf("parsing %s: %v", field, err)
		}
		return kB / 1024
	}
	b.Fatalf("/proc/self/status has no %s", field)
	return 0
}

// discardS3 serves the S3 requests of an upload, HeadBucket, PutObject
// and the multipart operations, and reads and discards every body.
type discardS3 struct {
	uploads atomic.Int64
}

func (d *discardS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	query := r.URL.Query()
	switch {
	case r.Method == http.MethodHead:
	case r.Method == http.MethodPost && query.Has("uploads"):
		id := "upload-" + strconv.FormatInt(d.uploads.Add(1), 10)
		writeXML(w, struct {
			XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
			Bucket   string
			Key      string
			UploadId string
		}{Bucket: testBucket, Key: strings.TrimPrefix(r.URL.Path, "/"+testBucket+"/"), UploadId: id})
	case r.Method == http.MethodPut:
		w.Header().Set("ETag", `"etag-`+query.Get("partNumber")+`"`)
	case r.Method == http.MethodPost && query.Has("uploadId"):
		writeXML(w, struct {
			XMLName xml.Name `xml:"CompleteMultipartUploadResult"`
			ETag    string
		}{ETag: `"complete"`})
	default:
		http.Error(w, "not supported by discardS3", http.StatusNotImplemented)
	}
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(v)
}
