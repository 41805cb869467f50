package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// storeReason describes err for a job error, which reaches API clients:
// the operation, the store's error code and message, or the kind of
// network failure. It leaves out request URLs and addresses, which name
// internal hosts, and never contains credentials, which the SDK sends
// only in headers.
func storeReason(err error) string {
	operation := ""
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		operation = opErr.Operation() + ": "
	}

	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		reason := apiErr.ErrorCode()
		if message := apiErr.ErrorMessage(); message != "" {
			reason += ": " + message
		}
		if status := statusCode(err); status != 0 {
			reason += fmt.Sprintf(" (HTTP %d)", status)
		}
		return operation + reason
	}

	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return operation + "timed out"
	case errors.Is(err, context.Canceled):
		return operation + "canceled"
	}
	// A DNS error comes wrapped in a dial *net.OpError, so it is checked
	// first. net.OpError's own text names the addresses, but its Op and
	// wrapped error ("dial", "connect: connection refused") do not.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return operation + "network error: resolving the endpoint's host name failed"
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		return operation + "network error: " + netErr.Op + ": " + netErr.Err.Error()
	}
	if status := statusCode(err); status != 0 {
		return operation + fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	return operation + "request failed (see the server log for details)"
}

// statusCode returns the HTTP status of the response behind err, 0 when
// no response arrived.
func statusCode(err error) int {
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil {
		return respErr.HTTPStatusCode()
	}
	return 0
}

// bucketCheckError turns a failed HeadBucket into a start-up error that
// names what to fix. HeadBucket responses have no body, so the status code
// is all that S3 reports.
func bucketCheckError(cfg Config, err error) error {
	bucketKey := cfg.ConfigPath + ".bucket"
	where := cfg.endpointDescription()

	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil {
		switch respErr.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%s %q does not exist %s: create it or fix the name", bucketKey, cfg.Bucket, where)
		case http.StatusForbidden:
			return fmt.Errorf("%s %q %s: access denied: give the credentials s3:ListBucket, s3:PutObject and s3:GetObject on it, or fix %s.access_key_id and %s.secret_access_key",
				bucketKey, cfg.Bucket, where, cfg.ConfigPath, cfg.ConfigPath)
		case http.StatusMovedPermanently, http.StatusBadRequest:
			if region := respErr.Response.Header.Get("X-Amz-Bucket-Region"); region != "" && region != cfg.Region {
				return fmt.Errorf("%s.region %q is wrong for bucket %q, which is in %s: set %s.region to %s",
					cfg.ConfigPath, cfg.Region, cfg.Bucket, region, cfg.ConfigPath, region)
			}
		}
	}
	// Start-up errors reach the operator, not API clients, so they keep
	// the SDK's full text with the request URL.
	return fmt.Errorf("%s %q %s could not be checked, so check %s.endpoint, %s.region and the network: %w",
		bucketKey, cfg.Bucket, where, cfg.ConfigPath, cfg.ConfigPath, err)
}
