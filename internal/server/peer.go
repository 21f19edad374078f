package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
)

// Headers of requests between servers.
const (
	// hopsHeader counts how often a request was forwarded; a server
	// forwards a request at most maxHops times, so a stale view can never
	// bounce it around.
	hopsHeader = "X-Swarm-Hops"
	maxHops    = 2

	// epochHeader carries the sender's meta epoch; a receiver behind it
	// waits briefly for its meta replica to catch up before routing.
	epochHeader = "X-Swarm-Epoch"

	peerTimeout = 10 * time.Second
)

// peers talks HTTP to other servers.
type peers struct {
	s      *Server
	client *http.Client
}

func newPeers(s *Server) *peers {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &peers{s: s, client: &http.Client{Transport: tr, Timeout: peerTimeout}}
}

// useTLS makes calls to peers verify them with the server's TLS client
// configuration (set once TLS is loaded, before any call).
func (p *peers) useTLS(cfg *tls.Config) {
	p.client.Transport.(*http.Transport).TLSClientConfig = cfg
}

// httpAddr returns a server's API address from the meta state.
func (p *peers) httpAddr(server string) (string, error) {
	srv, ok := p.s.meta.State().Servers[server]
	if !ok || srv.HTTPAddr == "" {
		return "", api.Unavailable("server %s is unknown", server)
	}
	return srv.HTTPAddr, nil
}

// call posts in as JSON to a server's path and decodes the answer into
// out. A non-2xx answer returns its *api.Error.
func (p *peers) call(ctx context.Context, server, method, path string, in, out any) error {
	addr, err := p.httpAddr(server)
	if err != nil {
		return err
	}
	return p.callAddr(ctx, addr, method, path, in, out)
}

func (p *peers) callAddr(ctx context.Context, addr, method, path string, in, out any) error {
	var raw []byte
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		raw, body = b, bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.scheme()+"://"+addr+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hopsHeader, "1")
	req.Header.Set(epochHeader, fmt.Sprint(p.s.meta.State().Epoch))
	p.s.authorizePeer(req, raw)
	resp, err := p.client.Do(req)
	if err != nil {
		return api.Unavailable("call %s%s: %v", addr, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return api.Unavailable("call %s%s: %v", addr, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
			eb.Error.Status = resp.StatusCode
			return eb.Error
		}
		return &api.Error{Code: api.CodeUnavailable, Message: fmt.Sprintf("call %s%s: status %d", addr, path, resp.StatusCode), Status: resp.StatusCode}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}

// batcher sends items to one server in batches: it flushes when max items
// wait or a few milliseconds after the first, and hands each caller its
// item's outcome.
type batcher[T, R any] struct {
	send  func(ctx context.Context, items []T) ([]R, error)
	max   int
	delay time.Duration

	mu      sync.Mutex
	pending []batchItem[T, R]
	timer   *time.Timer
	wg      *sync.WaitGroup
	ctx     context.Context
}

type batchItem[T, R any] struct {
	item T
	done func(R, error)
}

var errBatchStopped = errors.New("server stopping")

// add queues an item; done runs with its outcome.
func (b *batcher[T, R]) add(item T, done func(R, error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		var zero R
		done(zero, errBatchStopped)
		return
	}
	b.pending = append(b.pending, batchItem[T, R]{item, done})
	if len(b.pending) >= b.max {
		b.flushLocked()
		return
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.delay, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.flushLocked()
		})
	}
}

func (b *batcher[T, R]) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.pending) == 0 {
		return
	}
	batch := b.pending
	b.pending = nil
	if b.ctx.Err() != nil {
		var zero R
		for _, it := range batch {
			it.done(zero, errBatchStopped)
		}
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		items := make([]T, len(batch))
		for i, it := range batch {
			items[i] = it.item
		}
		res, err := b.send(b.ctx, items)
		for i, it := range batch {
			var r R
			if err == nil && i < len(res) {
				r = res[i]
			}
			it.done(r, err)
		}
	}()
}

// scheme is https when the servers serve TLS.
func (p *peers) scheme() string {
	if p.s.tlsServer != nil {
		return "https"
	}
	return "http"
}

// download streams a peer's answer body to w.
func (p *peers) download(ctx context.Context, server, path string, w io.Writer) error {
	addr, err := p.httpAddr(server)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", p.scheme()+"://"+addr+path, nil)
	if err != nil {
		return err
	}
	p.s.authorizePeer(req, nil)
	resp, err := p.streamClient().Do(req)
	if err != nil {
		return api.Unavailable("download %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return peerError(resp)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// upload posts a file to a peer.
func (p *peers) upload(ctx context.Context, server, path, file string) error {
	addr, err := p.httpAddr(server)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", p.scheme()+"://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	p.s.authorizePeer(req, body)
	resp, err := p.streamClient().Do(req)
	if err != nil {
		return api.Unavailable("upload %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return peerError(resp)
	}
	return nil
}

// streamClient is the peers' client without the per-call timeout, for
// transfers of whole stores.
func (p *peers) streamClient() *http.Client {
	return &http.Client{Transport: p.client.Transport}
}

func peerError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb api.ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
		eb.Error.Status = resp.StatusCode
		return eb.Error
	}
	return &api.Error{Code: api.CodeUnavailable, Message: fmt.Sprintf("status %d", resp.StatusCode), Status: resp.StatusCode}
}
