package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/swarmsched/swarm/api"
)

// answer is one HTTP answer: its status and, for an error, the envelope's
// code.
type answer struct {
	status int
	code   string
}

// doJSON sends one request to one server (no retry elsewhere: the
// history must record exactly what was sent where) and decodes a 2xx
// answer into out.
func doJSON(hc *http.Client, method, url string, body, out any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, fmt.Errorf("%s %s: encode: %w", method, url, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return answer{status: resp.StatusCode}, fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	a := answer{status: resp.StatusCode}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var env api.ErrorBody
		if json.Unmarshal(b, &env) == nil && env.Error != nil {
			a.code = env.Error.Code
		}
		return a, nil
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return a, fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
	}
	return a, nil
}

// getJSON GETs url into out and fails unless the answer is 200.
func getJSON(hc *http.Client, url string, out any) (answer, error) {
	a, err := doJSON(hc, http.MethodGet, url, nil, out)
	if err == nil && a.status != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d %s", url, a.status, a.code)
	}
	return a, err
}
