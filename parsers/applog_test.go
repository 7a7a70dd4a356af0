package parsers

import (
	"strings"
	"testing"
	"time"
)

func TestAppSignatures(t *testing.T) {
	// Real wordings; where they did not come from testdata/logs/app, the
	// comment names the library that prints them.
	tests := []struct {
		line   string
		sig    string
		fields map[string]string
	}{
		{`2026/11/21 22:03:41 http: Accept error: accept tcp 127.0.0.1:33829: accept4: too many open files; retrying in 5ms`, "emfile", map[string]string{"op": "accept4"}},
		{`2026/11/21 22:03:41 dial backend: dial tcp 127.0.0.1:1: socket: too many open files`, "emfile", map[string]string{"op": "socket", "remote": "127.0.0.1:1"}},
		{`2026/11/21 22:06:14 [crit] 636#636: accept4() failed (24: Too many open files)`, "emfile", map[string]string{"op": "accept4", "errno": "24"}},
		{`java.net.SocketException: Too many open files`, "emfile", nil},
		{`OSError: [Errno 23] Too many open files in system`, "enfile", map[string]string{"errno": "23"}},
		{`2026/11/21 22:03:37.749474 upstream read: read tcp 127.0.0.1:48250->127.0.0.1:36719: read: connection reset by peer`, "conn-reset", map[string]string{"local": "127.0.0.1:48250", "remote": "127.0.0.1:36719"}},
		{`java.net.SocketException: Connection reset`, "conn-reset", nil},
		{`Error: read ECONNRESET`, "conn-reset", nil}, // Node.js
		{`2026/11/21 22:06:13 [error] 636#636: *3 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /reset HTTP/1.1", upstream: "http://127.0.0.1:18091/reset", host: "127.0.0.1:18080"`, "conn-reset", map[string]string{"errno": "104", "client": "127.0.0.1", "upstream": "127.0.0.1:18091"}},
		{`2026/11/21 22:03:37.698937 redis: dial tcp 127.0.0.1:1: connect: connection refused`, "conn-refused", map[string]string{"remote": "127.0.0.1:1"}},
		{`ERROR:root:connection to backend failed: [Errno 111] Connection refused`, "conn-refused", map[string]string{"errno": "111"}},
		{`2026/11/21 22:03:38.351557 dial: dial tcp 10.255.255.1:0->127.0.0.1:80: bind: cannot assign requested address`, "eaddrnotavail", map[string]string{"local": "10.255.255.1:0", "remote": "127.0.0.1:80"}},
		{`2026/11/21 22:03:37.950013 rpc call failed: read tcp 127.0.0.1:36124->127.0.0.1:34107: i/o timeout`, "timeout", nil},
		{`2026/11/21 22:03:38.150397 health check: Get "http://127.0.0.1:34107/health": context deadline exceeded`, "timeout", nil},
		{`WARNING: rpc timeout: java.net.SocketTimeoutException: Read timed out`, "timeout", nil},
		{`2026/11/21 22:06:14 [error] 636#636: *5 upstream timed out (110: Connection timed out) while reading response header from upstream`, "timeout", map[string]string{"errno": "110"}},
		{`2026-11-21 22:03:51,951 - 22116 - ERROR: - thrift call ping failed: TSocket read 0 bytes`, "short-read", map[string]string{"bytes": "0"}},
		{`TSocket: Could not read 4 bytes from 10.0.0.5:9090`, "short-read", map[string]string{"bytes": "4", "addr": "10.0.0.5:9090"}}, // C++/PHP Thrift
		{`TSocket: Could read 4 bytes from ....`, "short-read", map[string]string{"bytes": "4"}},                                       // the healthcheck seed's wording
		{`2017-11-24 13:46:54,760 - 8 - ERROR: - Error while reading from socket: ('Connection closed by server.',)`, "closed-by-server", nil},
		{`psycopg2.pool.PoolError: connection pool exhausted`, "pool-exhausted", nil},
		{`org.apache.http.conn.ConnectionPoolTimeoutException: Timeout waiting for connection from pool`, "pool-exhausted", nil},
		{`org.apache.commons.dbcp.SQLNestedException: Cannot get a connection, pool error Timeout waiting for idle object`, "pool-exhausted", nil},
		{`java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.`, "pool-exhausted", map[string]string{"wait_ms": "30000"}},
		{`sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30`, "pool-exhausted", map[string]string{"size": "5", "overflow": "10"}},
		{`redis: connection pool timeout`, "pool-exhausted", nil}, // go-redis ErrPoolTimeout
		{`write tcp 10.0.0.1:5000->10.0.0.2:6379: write: broken pipe`, "broken-pipe", map[string]string{"remote": "10.0.0.2:6379"}},
	}
	for _, tc := range tests {
		t.Run(tc.sig+"/"+tc.line[:min(len(tc.line), 40)], func(t *testing.T) {
			s, f := matchSignature(AppSignatures, tc.line, strings.ToLower(tc.line))
			if s == nil || s.ID != tc.sig {
				t.Fatalf("signature %v, want %s", s, tc.sig)
			}
			f = mergeFields(f, appFields(tc.line))
			for k, v := range tc.fields {
				if f[k] != v {
					t.Errorf("field %s = %q, want %q (all %v)", k, f[k], v, f)
				}
			}
		})
	}
	// Lines that must not be claimed by a signature.
	for _, line := range []string{
		`2026/11/21 22:10:04.490959 progress: ok=6 timeout=0 reset=0 refused=0 addr_not_avail=0 other=0`,
		`2026/11/21 22:10:03.490069 loadgen: http://10.200.1.10:8080/ mode=http rate=20/s timeout=1s keepalive=false`,
		`69 connection resets received`,
		`Connection pool is full, discarding connection: example.com`,
	} {
		if s, _ := matchSignature(AppSignatures, line, strings.ToLower(line)); s != nil {
			t.Errorf("%q matched %s", line, s.ID)
		}
	}
}

func TestAppStamps(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name   string
		line   string
		time   time.Time
		noYear bool
		noZone bool
		level  string
	}{
		{"go log", "2026/11/21 22:03:41 http: Accept error: accept4: too many open files", utc("2026-11-21T22:03:41Z"), false, true, ""},
		{"go log micro", "2026/11/21 22:03:37.698937 redis: connect: connection refused", utc("2026-11-21T22:03:37.698937Z"), false, true, ""},
		{"nginx error", "2026/11/21 22:06:14 [crit] 636#636: accept4() failed (24: Too many open files)", utc("2026-11-21T22:06:14Z"), false, true, "crit"},
		{"python", "2026-11-21 22:03:52,003 - 22116 - ERROR: - connection refused", utc("2026-11-21T22:03:52.003Z"), false, true, "error"},
		{"log4j bracketed", "[2026-11-21 22:03:52,003] WARN connection refused (kafka)", utc("2026-11-21T22:03:52.003Z"), false, true, "warning"},
		{"rfc3339 offset", "2026-11-21T22:03:52.5+08:00 ERROR connection refused", utc("2026-11-21T14:03:52.5Z"), false, false, "error"},
		{"rfc3339 compact offset", "2026-11-21T22:03:52+0800 E connection refused", utc("2026-11-21T14:03:52Z"), false, false, ""},
		{"access log", `127.0.0.1 - - [21/Nov/2026:22:06:13 +0000] "GET /refused HTTP/1.1" 502 157 "-" "curl/7.88.1" connection refused`, utc("2026-11-21T22:06:13Z"), false, false, ""},
		{"klog", "E1121 22:03:53.123456   12345 proxier.go:42] dial tcp 10.0.0.1:443: connect: connection refused", time.Date(0, 11, 21, 22, 3, 53, 123456000, time.UTC), true, true, "error"},
		{"tomcat", "21-Nov-2026 22:03:53.123 SEVERE [http-nio-8080-exec-1] connection refused", utc("2026-11-21T22:03:53.123Z"), false, true, "severe"},
		{"redis server", "1234:M 21 Nov 2026 22:03:53.123 # Error accepting a client connection: accept: Too many open files", utc("2026-11-21T22:03:53.123Z"), false, true, ""},
		{"logfmt", `time=2026-11-21T22:03:38.351Z level=ERROR msg="connect to backend failed" err="connection refused"`, utc("2026-11-21T22:03:38.351Z"), false, false, "error"},
		{"logrus quoted", `time="2026-11-21T22:03:38Z" level=warning msg="connection refused"`, utc("2026-11-21T22:03:38Z"), false, false, "warning"},
		{"json", `{"time":"2026-11-21T22:03:38.351648883Z","level":"ERROR","msg":"connection refused"}`, utc("2026-11-21T22:03:38.351648883Z"), false, false, "error"},
		{"zap epoch", `{"level":"error","ts":1795298618.5,"msg":"connection refused"}`, utc("2026-11-21T22:03:38.5Z"), false, false, "error"},
		{"python default", "ERROR:root:connection to backend failed: [Errno 111] Connection refused", time.Time{}, false, false, "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !appLogParser.Detect([]byte(tc.line + "\n")) {
				t.Errorf("not detected")
			}
			in := parseText(t, appLogParser, "app.log", tc.line+"\n")
			if errs := errorStrings(in); len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			e := firstLogEvent(t, in)
			if !e.Time.Equal(tc.time) || e.NoYear != tc.noYear || e.NoZone != tc.noZone {
				t.Errorf("time %v noYear %v noZone %v, want %v %v %v", e.Time, e.NoYear, e.NoZone, tc.time, tc.noYear, tc.noZone)
			}
			if e.Level != tc.level {
				t.Errorf("level %q, want %q", e.Level, tc.level)
			}
			if e.Source != "app" || e.Count != 1 || e.Ref.Line != 1 {
				t.Errorf("event %+v", e)
			}
		})
	}
}

func TestAppEntries(t *testing.T) {
	// A Python traceback: the signature is in the last line of the entry,
	// which is the record's Ref; the entry's stamp times it.
	const text = `2026-11-21 22:03:51,946 - 22116 - ERROR: - get_task failed
Traceback (most recent call last):
  File "app.py", line 29, in <module>
    redis.Redis(host=host, port=port).lpop("proxy_task_queue")
redis.exceptions.ConnectionError: Connection closed by server.
2026-11-21 22:03:52,003 - 22116 - INFO: - retrying
2026-11-21 22:03:52,100 - 22116 - ERROR: - call failed: Connection reset by peer
Caused by: java.net.SocketException: Connection reset
2026-13-45 22:03:52,100 - 22116 - ERROR: - bad date, connection refused
`
	in := parseText(t, appLogParser, "app.log", text)
	errs := errorStrings(in)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "app.log:9: bad timestamp") {
		t.Errorf("errors %q", errs)
	}
	type row struct {
		line  int
		sig   string
		entry string
		known bool
	}
	var got []row
	for _, e := range in.Out.Logs {
		got = append(got, row{e.Ref.Line, e.Signature, e.Fields["entry_line"], !e.Time.IsZero()})
	}
	want := []row{
		{5, "closed-by-server", "1", true},
		{7, "conn-reset", "", true}, // line 8 repeats it in the same entry
		{9, "conn-refused", "", false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %+v, want %+v", got[i], want[i])
		}
	}
}

func TestAppRequestAndPoolLines(t *testing.T) {
	// From the fd-exhaustion lab bundle's ordersvc.log, and nginx's access
	// log with $request_time last.
	const text = `2026/11/21 22:10:03.791376 10.200.2.10:43900 "GET /api/order?id=1 HTTP/1.1" 200 0.250s
2026/11/21 22:10:04.370632 db pool: max_open=2 open=2 in_use=2 idle=0 wait_count=15 wait_duration=669ms max_lifetime_closed=0
2026/11/21 22:10:04.5 10.200.2.10:43902 "GET /api/order?id=2 HTTP/1.1" 200
2026/11/21 22:10:05 127.0.0.1 - - "GET /x HTTP/1.1" 504 167 "-" "curl/7.88.1" 1.001
`
	in := parseText(t, appLogParser, "ordersvc.log", text)
	if errs := errorStrings(in); len(errs) > 0 {
		t.Fatalf("errors %v", errs)
	}
	if len(in.Out.Logs) != 3 {
		t.Fatalf("events %+v", in.Out.Logs)
	}
	if f := in.Out.Logs[0].Fields; f["kind"] != "request" || f["status"] != "200" || f["duration"] != "0.250s" {
		t.Errorf("request fields %v", f)
	}
	if f := in.Out.Logs[1].Fields; f["kind"] != "pool-stats" {
		t.Errorf("pool fields %v", f)
	}
	if f := in.Out.Logs[2].Fields; f["status"] != "504" || f["duration"] != "1.001s" || in.Out.Logs[2].Ref.Line != 4 {
		t.Errorf("access fields %v", f)
	}
}

func TestAppDetectStrict(t *testing.T) {
	for _, s := range []string{
		"hello\n2026/11/21 22:03:41 late stamp\n",
		"\x00\x00\x00\x002026/11/21",
		"2026-11-21\n",
		"Go is a programming language\n",
		"2026/13/45 99:99:99 not a date\n",
		"{\"a\":1}\n",
		"# comment\n",
	} {
		if appLogParser.Detect([]byte(s)) {
			t.Errorf("claims %q", s)
		}
	}
}

// TestSignatureTable: the tables are well formed and every signature has
// a real wording here that it matches (a signature whose needles or
// patterns were broken would match nothing, silently).
func TestSignatureTable(t *testing.T) {
	examples := map[string]string{
		"tw-bucket-overflow":  "TCP: TCP: time wait bucket table overflow", // 3.x printed the prefix twice
		"syn-flood":           "TCP: request_sock_TCP: Possible SYN flooding on port [::]:80. Sending cookies.  Check SNMP counters.",
		"conntrack-full":      "nf_conntrack: table full, dropping packet.",
		"orphan-sockets":      "TCP: too many orphaned sockets",
		"tcp-memory-pressure": "TCP: out of memory -- consider tuning tcp_mem",
		"file-max-reached":    "VFS: file-max limit 51200 reached",
		"neighbor-overflow":   "neighbour: ndisc_cache: neighbor table overflow!",
		"oom-kill":            "Out of memory: Kill process 1234 (java) score 900 or sacrifice child",
		"enfile":              "socket: too many open files in system",
		"emfile":              "accept4() failed (24: Too many open files)",
		"eaddrnotavail":       "connect: EADDRNOTAVAIL",
		"pool-exhausted":      "redis.clients.jedis.exceptions.JedisConnectionException: Could not get a resource from the pool",
		"short-read":          "TSocket read 0 bytes",
		"closed-by-server":    "redis.exceptions.ConnectionError: Connection closed by server.",
		"conn-reset":          "read: connection reset by peer",
		"broken-pipe":         "write: broken pipe",
		"conn-refused":        "connect: connection refused",
		"timeout":             "i/o timeout",
	}
	seen := map[string]bool{}
	for _, table := range [][]Signature{KernelSignatures, AppSignatures} {
		for _, s := range table {
			if s.ID == "" || s.Meaning == "" || len(s.Needles) == 0 || len(s.res) != len(s.Patterns) {
				t.Errorf("incomplete signature %+v", s)
			}
			if seen[s.ID] {
				t.Errorf("duplicate id %s", s.ID)
			}
			seen[s.ID] = true
			for _, n := range s.Needles {
				if n != strings.ToLower(n) {
					t.Errorf("%s: needle %q is not lower case (lines are lowered)", s.ID, n)
				}
			}
			ex, ok := examples[s.ID]
			if !ok {
				t.Errorf("%s: no example", s.ID)
				continue
			}
			got, _ := matchSignature(table, ex, strings.ToLower(ex))
			if got == nil || got.ID != s.ID {
				t.Errorf("%s: example %q matched %v", s.ID, ex, got)
			}
		}
	}
	if SignatureByID("syn-flood") == nil || SignatureByID("nope") != nil {
		t.Error("SignatureByID")
	}
}

func TestHAProxyRaw(t *testing.T) {
	// HAProxy 2.6 "log stdout format raw" traffic lines, from the same run as
	// testdata/logs/app/haproxy-rfc3164.log.
	const text = `127.0.0.1:43656 [21/Nov/2026:22:06:21.636] fe be_refused/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET /refused HTTP/1.1"
127.0.0.1:43684 [21/Nov/2026:22:06:21.648] fe be_slow/s3 0/0/0/-1/1001 504 198 - - sH-- 1/1/0/0/0 0/0 "GET /slow HTTP/1.1"
127.0.0.1:43690 [21/Nov/2026:22:06:22.001] fe be_ok/s4 0/0/0/2/2 200 198 - - ---- 1/1/0/0/0 0/0 "GET /ok HTTP/1.1"
`
	if p := Detect([]byte(text)); p != appLogParser {
		t.Fatalf("Detect = %s", logKind(p))
	}
	in := parseText(t, appLogParser, "haproxy.log", text)
	if len(in.Out.Logs) != 2 {
		t.Fatalf("events %+v, errors %v", in.Out.Logs, errorStrings(in))
	}
	for i, want := range []struct{ sig, flags, at string }{{"conn-refused", "SC--", "2026-11-21T22:06:21.636Z"}, {"timeout", "sH--", "2026-11-21T22:06:21.648Z"}} {
		e := in.Out.Logs[i]
		if e.Signature != want.sig || e.Fields["termination"] != want.flags || !e.NoZone || e.Time.Format(time.RFC3339Nano) != want.at {
			t.Errorf("event %d: %+v", i, e)
		}
	}
}
