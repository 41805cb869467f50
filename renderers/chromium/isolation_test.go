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

// TestJobsDoNotShareDatabasesOrWorkers checks the stores that outlive a
// page: IndexedDB, the Cache API and service workers. The first job writes
// all three and waits for the worker to be active; the second job, on the
// same origin, must find none of them.
func TestJobsDoNotShareDatabasesOrWorkers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `self.addEventListener('fetch', () => {});`)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p id="out">pending</p><script>
			(async () => {
				const db = await new Promise((ok, fail) => {
					const open = indexedDB.open('presso-isolation', 1);
					open.onupgradeneeded = () => open.result.createObjectStore('items');
					open.onsuccess = () => ok(open.result);
					open.onerror = () => fail(open.error);
				});
				await new Promise((ok) => { const tx = db.transaction('items', 'readwrite'); tx.objectStore('items').put('stored', 'entry'); tx.oncomplete = ok; });
				await (await caches.open('presso-isolation')).put('/cached', new Response('cached'));
				await navigator.serviceWorker.register('/sw.js');
				await navigator.serviceWorker.ready;
				const databases = (await indexedDB.databases()).map(d => d.name).join(',');
				const registrations = (await navigator.serviceWorker.getRegistrations()).length;
				document.getElementById('out').textContent = 'databases [' + databases + '] caches [' + (await caches.keys()).join(',') + '] workers [' + registrations + ']';
			})().catch(e => { document.getElementById('out').textContent = 'failed ' + e; });
		</script>`)
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p id="out">pending</p><script>
			(async () => {
				const databases = (await indexedDB.databases()).map(d => d.name).join(',');
				const registrations = (await navigator.serviceWorker.getRegistrations()).length;
				document.getElementById('out').textContent = 'databases [' + databases + '] caches [' + (await caches.keys()).join(',') + '] workers [' + registrations + '] controlled [' + Boolean(navigator.serviceWorker.controller) + ']';
			})();
		</script>`)
	})
	server := httptest.NewServer(mux)
	defer server.Close()

	waitForResult := func(url string) engine.RenderRequest {
		req := gotoRequest(url)
		req.Page.WaitForFunction = &engine.WaitForFunction{PageFunction: `document.getElementById('out').textContent !== 'pending'`}
		return req
	}
	first := pdfText(t, mustRender(t, engine.KindPDF, waitForResult(server.URL+"/set")), 0, 0)
	second := pdfText(t, mustRender(t, engine.KindPDF, waitForResult(server.URL+"/read")), 0, 0)

	if !strings.Contains(first, "databases [presso-isolation] caches [presso-isolation] workers [1]") {
		t.Fatalf("first job text = %q, want a database, a cache and a service worker", first)
	}
	if !strings.Contains(second, "databases [] caches [] workers [0] controlled [false]") {
		t.Errorf("second job text = %q, want no database, cache or service worker", second)
	}
}
