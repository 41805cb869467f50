package local

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/presso-dev/presso/engine"
)

// documentNamePattern matches <requestId>-<epoch ms>.<ext>. Its character set
// has no path separator and no leading dot, so a name that matches can
// neither leave the folder nor reach the signing key file.
var documentNamePattern = regexp.MustCompile(`^([A-Za-z0-9_-]{1,200})-([0-9]{1,19})\.(pdf|png|jpg|webp)$`)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// contentTypes maps the extensions that engine.Job.Extension returns to
// media types.
var contentTypes = map[string]string{
	"pdf":  "application/pdf",
	"png":  "image/png",
	"jpg":  "image/jpeg",
	"webp": "image/webp",
}

// Dispositions of a stored document, as signed in its URL.
const (
	dispositionInline     = "inline"
	dispositionAttachment = "attachment"
)

// documentName returns the file name of job's document. It depends only on
// the job, so storing a redelivered job overwrites the same file.
func documentName(job *engine.Job) (string, error) {
	if !requestIDPattern.MatchString(job.RequestID) {
		return "", fmt.Errorf("request id %q is invalid: it must be 1 to 200 letters, digits, '-' or '_'", job.RequestID)
	}
	ext := job.Extension()
	if _, ok := contentTypes[ext]; !ok {
		return "", fmt.Errorf("document type %q is not supported", ext)
	}
	return job.RequestID + "-" + strconv.FormatInt(job.CreatedAt.UnixMilli(), 10) + "." + ext, nil
}

// parseDocumentName returns the request id and extension of a document name,
// with ok false for anything that Store cannot have written.
func parseDocumentName(name string) (requestID, ext string, ok bool) {
	match := documentNamePattern.FindStringSubmatch(name)
	if match == nil {
		return "", "", false
	}
	return match[1], match[3], true
}

func jobDisposition(job *engine.Job) string {
	if strings.HasPrefix(job.ContentDisposition(), dispositionAttachment) {
		return dispositionAttachment
	}
	return dispositionInline
}

// urlSigner signs and checks the query of document URLs.
type urlSigner struct {
	key []byte
}

// sign returns the hex HMAC-SHA256 of name, expires and disposition. The
// fields are joined with newlines, which none of them can contain, so two
// different triples never sign the same message.
func (s urlSigner) sign(name string, expires int64, disposition string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(name + "\n" + strconv.FormatInt(expires, 10) + "\n" + disposition))
	return hex.EncodeToString(mac.Sum(nil))
}

// verify reports in constant time whether signature is the signature of the
// other three values.
func (s urlSigner) verify(name string, expires int64, disposition, signature string) bool {
	actual, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	expected, _ := hex.DecodeString(s.sign(name, expires, disposition))
	return hmac.Equal(actual, expected)
}
