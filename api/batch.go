package api

import "fmt"

// Batch modes of POST /v1/jobs:batch.
const (
	// BatchCreate creates every job; an existing key fails that item with
	// already_exists and leaves the stored job alone.
	BatchCreate = "create"

	// BatchUpsert creates missing jobs and replaces existing ones, as PUT
	// /v1/jobs/{group}/{name}?create=true does for one.
	BatchUpsert = "upsert"
)

// Limits of POST /v1/jobs:batch.
const (
	MaxBatchJobs  = 1000     // jobs in one request
	MaxBatchBytes = 32 << 20 // body limit of one request
)

// BatchRequest is the body of POST /v1/jobs:batch. An empty Mode means
// BatchCreate.
type BatchRequest struct {
	Jobs []Job  `json:"jobs"`
	Mode string `json:"mode,omitempty"`
}

// Validate checks the envelope of a batch: its mode and size. Each job is
// validated on its own and fails only its own item.
func (r *BatchRequest) Validate() error {
	switch r.Mode {
	case "", BatchCreate, BatchUpsert:
	default:
		return Invalid("mode", "%q is not one of create, upsert", r.Mode)
	}
	if len(r.Jobs) == 0 {
		return Invalid("jobs", "is required")
	}
	if len(r.Jobs) > MaxBatchJobs {
		return Invalid("jobs", "has %d entries, at most %d are allowed", len(r.Jobs), MaxBatchJobs)
	}
	return nil
}

// BatchResult is the outcome of one job of a batch, in request order.
// Status is the HTTP status the same write would have answered alone (201
// created, 200 replaced, 400, 409, ...); Error is set when it failed.
type BatchResult struct {
	Key    string `json:"key"`
	Status int    `json:"status"`
	Error  *Error `json:"error,omitempty"`
}

// BatchResponse is the answer of POST /v1/jobs:batch.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// Failed counts the items that did not succeed.
func (r *BatchResponse) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Error != nil || res.Status >= 300 {
			n++
		}
	}
	return n
}

// Err returns an error naming the first failed item, or nil when all
// succeeded.
func (r *BatchResponse) Err() error {
	for _, res := range r.Results {
		if res.Error != nil {
			return fmt.Errorf("batch: %d of %d failed, first %s: %w", r.Failed(), len(r.Results), res.Key, res.Error)
		}
		if res.Status >= 300 {
			return fmt.Errorf("batch: %d of %d failed, first %s with status %d", r.Failed(), len(r.Results), res.Key, res.Status)
		}
	}
	return nil
}
