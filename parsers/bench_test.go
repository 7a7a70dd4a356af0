package parsers

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// benchTable writes the dump gen generates (lines lines) to a file, then
// parses that file with p once per iteration, as the bundle walker would:
// streaming, the text never held. Beside the usual time, bytes per second
// and allocations it reports:
//
//   - lines/s: lines per second of wall time;
//   - lines/cpu-s: lines per second of this process's CPU time (user and
//     system, every thread: garbage collection included), which a shared,
//     busy machine disturbs much less than wall time;
//   - live-MB: the heap still in use, after a collection, while the last
//     iteration's evidence is alive: what the parsed table costs to keep.
//
// check validates each iteration's result.
func benchTable(b *testing.B, p *Parser, lines int, gen io.Reader, check func(*Input)) {
	path := filepath.Join(b.TempDir(), p.Kind+".txt")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	size, err := io.Copy(f, gen)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var in *Input
	cpu0 := cpuTime()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		in = NewInput(p.Kind + ".txt")
		RunParser(p, in, f)
		f.Close()
		check(in)
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if cpu > 0 {
		b.ReportMetric(float64(lines)*float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(in)
	in = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportMetric(float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse))/(1<<20), "live-MB")
}

// appendDec appends v in decimal, as strconv.AppendInt does, a little
// faster: the dump generators format a dozen numbers per line.
func appendDec(b []byte, v int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var buf [20]byte
	i := len(buf)
	for v >= 100 {
		q := v / 100
		d := (v - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = decPairs[d], decPairs[d+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		buf[i], buf[i+1] = decPairs[2*v], decPairs[2*v+1]
	} else {
		i--
		buf[i] = byte('0' + v)
	}
	return append(b, buf[i:]...)
}

const decPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

func TestAppendDec(t *testing.T) {
	for _, v := range []int{0, 1, 9, 10, 99, 100, 101, 999, 1000, 65535, 200000003, -7, -1234, 1<<63 - 1} {
		if got, want := string(appendDec([]byte("x"), v)), "x"+strconv.Itoa(v); got != want {
			t.Errorf("appendDec(%d) = %q, want %q", v, got, want)
		}
	}
}
