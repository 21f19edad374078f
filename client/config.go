package client

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/swarmsched/swarm/api"
)

// Defaults and limits of Config.
const (
	// DefaultGroup is the client group of a client that names none.
	DefaultGroup = api.DefaultGroup

	// DefaultCapacity is how many runs a client holds at once. Jobs mostly
	// wait on I/O, so it is a fixed number rather than the CPU count; set
	// Capacity to what the machine and the jobs allow.
	DefaultCapacity = 8

	// DefaultHeartbeatInterval is used when the server's welcome names no
	// interval.
	DefaultHeartbeatInterval = 5 * time.Second

	// DefaultOutputTailBytes bounds the output kept in a result.
	DefaultOutputTailBytes = 4096

	// MaxOutputTailBytes is the largest OutputTailBytes allowed, so that a
	// result always fits in one protocol message.
	MaxOutputTailBytes = 256 << 10

	// DefaultDrainTimeout is how long Stop waits for running work before
	// it hands the rest back to the server.
	DefaultDrainTimeout = 30 * time.Second

	// DefaultKillGrace is how long a killed process group has between
	// SIGTERM and SIGKILL, and how long a cancelled handler has to return.
	DefaultKillGrace = 5 * time.Second

	// DefaultLogLinesPerSecond bounds the log lines one run streams; lines
	// above it are dropped from the stream (not from the output tail) and a
	// "[... N lines dropped]" line says so.
	DefaultLogLinesPerSecond = 100

	// DefaultLogLineBytes bounds one streamed log line; longer lines are
	// cut and end with " [truncated]".
	DefaultLogLineBytes = 4096

	// MaxLogLineBytes is the largest LogLineBytes allowed.
	MaxLogLineBytes = 64 << 10

	// MaxBackoff caps the wait between connection attempts.
	MaxBackoff = 5 * time.Second

	// ConnectPath is the WebSocket endpoint on every server.
	ConnectPath = "/v1/connect"
)

// Config configures a Client. The zero value of every field but Servers is
// usable.
type Config struct {
	// Servers are the servers to dial: host:port, or an http(s) or ws(s)
	// URL. The path defaults to ConnectPath. The client starts at a random
	// one and moves to the next on failure. Required.
	Servers []string

	// ID identifies the client in the cluster; a second connection with
	// the same ID replaces the first. Defaults to a random id persisted in
	// DataDir, or to "<hostname>-<pid>" without a DataDir.
	ID string

	// Group is the client group jobs address. Defaults to DefaultGroup.
	Group string

	// Capacity is how many runs the client holds at once; fires above it
	// are refused with reason "capacity". Defaults to DefaultCapacity.
	Capacity int

	// Labels describe the client to routing (for example "zone": "eu-1").
	Labels map[string]string

	// DataDir holds the journal and the run directories. With it,
	// processes run under the exec shim and survive a client restart.
	// Defaults to none: no journal, processes die with the client, and
	// unconfirmed results are lost when the client stops.
	DataDir string

	// AllowExec restricts the process executor to commands matching one
	// of these patterns (path.Match syntax: "*" does not cross "/"). The
	// pattern is matched against the executor's command string as sent,
	// which for a shell job is the whole shell command. Empty allows all.
	AllowExec []string

	// Token is sent as "Authorization: Bearer <token>" when dialing.
	Token string

	// TLSConfig is used for wss:// and https:// servers. Defaults to Go's
	// defaults.
	TLSConfig *tls.Config

	// Logger receives the client's logs. Defaults to discarding them.
	Logger *slog.Logger

	// HeartbeatInterval overrides the interval the server's welcome asks
	// for. A server silent for three intervals is taken as dead.
	HeartbeatInterval time.Duration

	// OutputTailBytes bounds the output tail of a result (stdout and
	// stderr interleaved, the last bytes). Defaults to
	// DefaultOutputTailBytes; at most MaxOutputTailBytes.
	OutputTailBytes int

	// DrainTimeout is how long Stop waits for running work. Defaults to
	// DefaultDrainTimeout; use a tiny value such as time.Nanosecond to
	// hand running work back at once.
	DrainTimeout time.Duration

	// KillGrace is the time between SIGTERM and SIGKILL when a run is
	// killed. Defaults to DefaultKillGrace.
	KillGrace time.Duration

	// LogLinesPerSecond bounds the log lines streamed per run. Defaults
	// to DefaultLogLinesPerSecond.
	LogLinesPerSecond int

	// LogLineBytes bounds one streamed log line. Defaults to
	// DefaultLogLineBytes; at most MaxLogLineBytes.
	LogLineBytes int

	// ShimCommand is the command that starts the exec shim (its program
	// as an absolute path); the client appends the run directory, "--"
	// and the job's command. It is used only with a DataDir. Defaults to
	// this program followed by ShimArg, which RunShimIfRequested
	// recognises.
	ShimCommand []string

	// Software names the client software in its hello. Defaults to
	// "swarm-go-client".
	Software string

	// KafkaBrokers and KafkaTopic, when set, make the client also run the
	// fires of kafka jobs: it consumes them from the topic, in consumer
	// group KafkaGroup, and reports them over its connection like any
	// fire. Default to none: the client runs only what its server sends.
	KafkaBrokers []string
	KafkaTopic   string

	// KafkaGroup is the Kafka consumer group. Defaults to Group.
	KafkaGroup string
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if len(c.Servers) == 0 {
		return errors.New("client: Servers: at least one server is required")
	}
	for i, s := range c.Servers {
		if _, err := connectURL(s); err != nil {
			return fmt.Errorf("client: Servers[%d]: %w", i, err)
		}
	}
	if c.ID != "" && !api.ValidName(c.ID) {
		return fmt.Errorf("client: ID: %q must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", c.ID)
	}
	if c.Group != "" && !api.ValidName(c.Group) {
		return fmt.Errorf("client: Group: %q must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Group)
	}
	if err := c.validateNumbers(); err != nil {
		return err
	}
	if err := validateLabels(c.Labels); err != nil {
		return err
	}
	for i, p := range c.AllowExec {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("client: AllowExec[%d]: bad pattern %q", i, p)
		}
	}
	return c.validateKafka()
}

func (c Config) validateNumbers() error {
	switch {
	case c.Capacity < 0:
		return errors.New("client: Capacity: must not be negative")
	case c.HeartbeatInterval < 0:
		return errors.New("client: HeartbeatInterval: must not be negative")
	case c.OutputTailBytes < 0 || c.OutputTailBytes > MaxOutputTailBytes:
		return fmt.Errorf("client: OutputTailBytes: must be between 0 and %d", MaxOutputTailBytes)
	case c.DrainTimeout < 0:
		return errors.New("client: DrainTimeout: must not be negative")
	case c.KillGrace < 0:
		return errors.New("client: KillGrace: must not be negative")
	case c.LogLinesPerSecond < 0:
		return errors.New("client: LogLinesPerSecond: must not be negative")
	case c.LogLineBytes < 0 || c.LogLineBytes > MaxLogLineBytes:
		return fmt.Errorf("client: LogLineBytes: must be between 0 and %d", MaxLogLineBytes)
	}
	return nil
}

func validateLabels(labels map[string]string) error {
	for k, v := range labels {
		if k == "" {
			return errors.New("client: Labels: empty key")
		}
		if hasControl(k) || hasControl(v) {
			return fmt.Errorf("client: Labels[%q]: must not contain control characters", k)
		}
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// withDefaults returns a copy with every default filled in except ID,
// which may come from the journal.
func (c Config) withDefaults() Config {
	c.Servers = append([]string(nil), c.Servers...)
	c.Labels = maps.Clone(c.Labels)
	c.AllowExec = append([]string(nil), c.AllowExec...)
	c.Group = cmp.Or(c.Group, DefaultGroup)
	c.Capacity = cmp.Or(c.Capacity, DefaultCapacity)
	c.OutputTailBytes = cmp.Or(c.OutputTailBytes, DefaultOutputTailBytes)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, DefaultDrainTimeout)
	c.KillGrace = cmp.Or(c.KillGrace, DefaultKillGrace)
	c.LogLinesPerSecond = cmp.Or(c.LogLinesPerSecond, DefaultLogLinesPerSecond)
	c.LogLineBytes = cmp.Or(c.LogLineBytes, DefaultLogLineBytes)
	c.Software = cmp.Or(c.Software, "swarm-go-client")
	c.KafkaBrokers = append([]string(nil), c.KafkaBrokers...)
	if c.KafkaTopic != "" {
		c.KafkaGroup = cmp.Or(c.KafkaGroup, c.Group)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// shimCommand returns the configured shim command or the default one.
func (c Config) shimCommand() ([]string, error) {
	if len(c.ShimCommand) > 0 {
		return append([]string(nil), c.ShimCommand...), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable for the exec shim: %w", err)
	}
	return []string{exe, ShimArg}, nil
}

// defaultID is the id of a client without ID and without DataDir.
func defaultID() string {
	return hostPart() + "-" + strconv.Itoa(os.Getpid())
}

// hostPart is the host name mapped onto the id alphabet.
func hostPart() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "client"
	}
	return sanitizeID(host)
}

// sanitizeID maps s onto the id alphabet.
func sanitizeID(s string) string {
	b := []byte(s)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-'
		if !ok {
			b[i] = '-'
		}
	}
	s = strings.TrimLeft(string(b), "._-")
	if len(s) > 100 {
		s = s[:100]
	}
	return cmp.Or(s, "client")
}

// connectURL turns a configured server into the WebSocket URL to dial.
func connectURL(server string) (string, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return "", errors.New("empty server address")
	}
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("parse server %q: %w", server, err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("server %q: scheme must be ws, wss, http or https", server)
	}
	if u.Host == "" {
		return "", fmt.Errorf("server %q: no host", server)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, ConnectPath) {
		p += ConnectPath // after a proxy prefix such as /swarm, if any
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}
