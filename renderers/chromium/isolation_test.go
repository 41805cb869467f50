package chromium

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/presso-dev/presso/engine"
)

func TestJobsDoNotShareState(t *testing.T) {
	var (
		mu      sync.Mutex
		cookies = map[string]string{}
	)
	mux := http.NewServeMux()
	// /set stores a cookie and a localStorage entry, then reads both back
	// to show that they were stored.
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "server", Value: "1", Path: "/"})
		fmt.Fprint(w, `<p id="out"></p><script>
			document.cookie = 'script=1; path=/';
			localStorage.setItem('entry', 'stored');
			document.getElementById('out').textContent = 'cookies [' + document.cookie + '] storage [' + localStorage.getItem('entry') + ']';
		</script>`)
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies[r.URL.Path] = r.Header.Get("Cookie")
		mu.Unlock()
		fmt.Fprint(w, `<p id="out"></p><script>
			document.getElementById('out').textContent = 'cookies [' + document.cookie + '] storage [' + localStorage.getItem('entry') + ']';
		</script>`)
	})
	server := httptest.NewServer(mux)
	defer server.Close()

	first := pdfText(t, mustRender(t, engine.KindPDF, gotoRequest(server.URL+"/set")), 0, 0)
	second := pdfText(t, mustRender(t, engine.KindPDF, gotoRequest(server.URL+"/read")), 0, 0)

	if !strings.Contains(first, "cookies [server=1; script=1] storage [stored]") {
		t.Fatalf("first job text = %q, want both cookies and the storage entry set", first)
	}
	if !strings.Contains(second, "cookies [] storage [null]") {
		t.Errorf("second job text = %q, want no cookie and no storage entry", second)
	}
	mu.Lock()
	defer mu.Unlock()
	if sent := cookies["/read"]; sent != "" {
		t.Errorf("second job sent the Cookie header %q, want none", sent)
	}
}
