package local

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/presso-dev/presso/storages/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		clock := newFakeClock()
		// The server starts first because its URL is the storage's public
		// URL; the handler is set once the storage exists.
		var documents http.Handler
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			documents.ServeHTTP(w, r)
		}))
		t.Cleanup(server.Close)
		dir := t.TempDir()
		s := newTestStorage(t, Config{Dir: dir, TTL: 2 * time.Hour, PublicURL: server.URL}, clock)
		documents = s.DocumentHandler()

		return storagetest.Target{
			Storage:  s,
			Features: storagetest.Features{ContentHeaders: true},
			// A file in place of the folder makes every write fail, even
			// for root, whom permissions do not stop.
			Fail: func(t *testing.T) {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dir, []byte("not a folder"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			FailureReason: "not a directory",
			Secrets:       []string{dir},
			URLTTL:        2 * time.Hour,
			AdvanceClock:  clock.Advance,
		}
	})
}
