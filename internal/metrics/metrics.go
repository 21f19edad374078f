package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every swarm metric.
const Namespace = "swarm"

// Buckets of the histograms, in seconds (sizes for UpdateBatch).
var (
	// LatenessBuckets span 1 ms to 60 s, the default misfire threshold.
	LatenessBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

	// ApplyBuckets span 0.5 ms to 10 s, the proposal timeout.
	ApplyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

	// RequestBuckets span 1 ms to 30 s.
	RequestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

	// BatchBuckets span 1 to 512 updates, the updater's largest batch.
	BatchBuckets = prometheus.ExponentialBuckets(1, 2, 10)
)

// Metrics holds the collectors of one server.
type Metrics struct {
	reg *prometheus.Registry

	fires         *prometheus.CounterVec
	lateness      prometheus.Histogram
	executions    *prometheus.CounterVec
	updateBatch   prometheus.Histogram
	raftApply     *prometheus.HistogramVec
	leaderChanges *prometheus.CounterVec
	clients       *prometheus.GaugeVec
	requests      *prometheus.CounterVec
	requestTime   *prometheus.HistogramVec
	notifications *prometheus.CounterVec

	mu      sync.RWMutex
	sampler Sampler
}

// Sampler reads the state a scrape reports. It runs on the scraping
// request's goroutine and must be quick.
type Sampler func() Sample

// Sample is the server's state at a scrape.
type Sample struct {
	// MetaLeader: this server leads the meta group.
	MetaLeader bool

	// Shards are the shard replicas this server holds.
	Shards []ShardSample
}

// ShardSample is one shard replica at a scrape.
type ShardSample struct {
	ID         int
	Group      string // its Raft group's name, as RaftApply gets it
	Leader     bool   // this replica leads its group
	Jobs       int64  // jobs in the replica's store
	StoreBytes int64  // size of the replica's store
	Pending    int    // executions in the release queue (leader only)
}

// New builds the collectors on a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		fires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "fires_total",
			Help: "Fires by outcome: released (an attempt handed to its target), resent, undelivered, skipped_<reason>.",
		}, []string{"outcome"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "fire_lateness_seconds",
			Help:    "Release time minus the time an attempt was due (its instant, or the end of a retry's backoff).",
			Buckets: LatenessBuckets,
		}),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "executions_total",
			Help: "Committed results by the state they left the execution in (a terminal state, or retrying).",
		}, []string{"state"}),
		updateBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "update_batch_size",
			Help:    "Execution updates (dispatches, acks, results) carried by one Raft entry.",
			Buckets: BatchBuckets,
		}),
		raftApply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "raft_apply_seconds",
			Help:    "Time a proposal on this server took to commit and apply, by Raft group.",
			Buckets: ApplyBuckets,
		}, []string{"group"}),
		leaderChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "raft_leader_changes_total",
			Help: "Changes of this server's leadership of a Raft group: gained, lost, or held into a new term.",
		}, []string{"group"}),
		clients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "clients",
			Help: "Workers connected to this server, by client group.",
		}, []string{"group"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_requests_total",
			Help: "REST requests answered by this server, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		requestTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "api_request_duration_seconds",
			Help:    "Time to answer a REST request, by route pattern and method.",
			Buckets: RequestBuckets,
		}, []string{"route", "method"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "notifications_total",
			Help: "Alert webhooks by event and result: delivered, failed (tries spent or refused), dropped (queue full).",
		}, []string{"event", "result"}),
	}
	m.reg.MustRegister(
		m.fires, m.lateness, m.executions, m.updateBatch, m.raftApply, m.leaderChanges,
		m.clients, m.requests, m.requestTime, m.notifications,
		sampled{m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry the collectors are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SetSampler sets what a scrape reads the server's state from.
func (m *Metrics) SetSampler(s Sampler) {
	m.mu.Lock()
	m.sampler = s
	m.mu.Unlock()
}

// FireOutcome counts a fire by what became of it.
func (m *Metrics) FireOutcome(outcome string) { m.fires.WithLabelValues(outcome).Inc() }

// FireLateness observes how late an attempt was released.
func (m *Metrics) FireLateness(d time.Duration) { m.lateness.Observe(max(d, 0).Seconds()) }

// ExecutionFinished counts a committed result.
func (m *Metrics) ExecutionFinished(state string) { m.executions.WithLabelValues(state).Inc() }

// UpdateBatch observes the updates in one Raft entry.
func (m *Metrics) UpdateBatch(n int) { m.updateBatch.Observe(float64(n)) }

// RaftApply observes a committed proposal's latency.
func (m *Metrics) RaftApply(group string, d time.Duration) {
	m.raftApply.WithLabelValues(group).Observe(d.Seconds())
}

// LeaderChange counts a change of this server's leadership of group.
func (m *Metrics) LeaderChange(group string) { m.leaderChanges.WithLabelValues(group).Inc() }

// ClientsChanged adds delta to the clients of a client group.
func (m *Metrics) ClientsChanged(group string, delta int) {
	m.clients.WithLabelValues(group).Add(float64(delta))
}

// Request counts one answered REST request; d of zero (a WebSocket) is
// not observed.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	if d > 0 {
		m.requestTime.WithLabelValues(route, method).Observe(d.Seconds())
	}
}

// Notification counts an alert webhook by its result.
func (m *Metrics) Notification(event, result string) {
	m.notifications.WithLabelValues(event, result).Inc()
}

// sampled reports the Sampler's state at each scrape.
type sampled struct{ m *Metrics }

var (
	descShardLeaders = prometheus.NewDesc(Namespace+"_shard_leaders",
		"Shard groups this server leads.", nil, nil)
	descIsLeader = prometheus.NewDesc(Namespace+"_raft_is_leader",
		"1 when this server leads the Raft group, else 0.", []string{"group"}, nil)
	descJobs = prometheus.NewDesc(Namespace+"_shard_jobs",
		"Jobs held by this server's replica of a shard.", []string{"shard"}, nil)
	descStoreBytes = prometheus.NewDesc(Namespace+"_store_bytes",
		"Size of this server's store of a shard replica.", []string{"shard"}, nil)
	descPending = prometheus.NewDesc(Namespace+"_release_queue",
		"Executions queued for release by the shard's leader (0 on followers).", []string{"shard"}, nil)
)

func (s sampled) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descShardLeaders, descIsLeader, descJobs, descStoreBytes, descPending} {
		ch <- d
	}
}

func (s sampled) Collect(ch chan<- prometheus.Metric) {
	s.m.mu.RLock()
	sampler := s.m.sampler
	s.m.mu.RUnlock()
	if sampler == nil {
		return
	}
	smp := sampler()

	ch <- prometheus.MustNewConstMetric(descIsLeader, prometheus.GaugeValue, boolValue(smp.MetaLeader), "meta")
	leaders := 0
	for _, sh := range smp.Shards {
		id := strconv.Itoa(sh.ID)
		if sh.Leader {
			leaders++
		}
		ch <- prometheus.MustNewConstMetric(descIsLeader, prometheus.GaugeValue, boolValue(sh.Leader), sh.Group)
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(sh.Jobs), id)
		ch <- prometheus.MustNewConstMetric(descStoreBytes, prometheus.GaugeValue, float64(sh.StoreBytes), id)
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(sh.Pending), id)
	}
	ch <- prometheus.MustNewConstMetric(descShardLeaders, prometheus.GaugeValue, float64(leaders))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
