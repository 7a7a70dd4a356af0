package collect

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ExecFunc runs argv with stdout and stderr connected to the given writers
// and returns the exit status. When ctx is done it must stop the command and
// return promptly with ctx's error wrapped. A command that cannot be found
// returns an error wrapping exec.ErrNotFound; one that may not be run, one
// wrapping fs.ErrPermission. Tests inject a fake.
type ExecFunc func(ctx context.Context, argv []string, stdout, stderr io.Writer) (exit int, err error)

// ReadFileFunc reads at most max bytes of a file; tests inject a fake.
type ReadFileFunc func(path string, max int64) ([]byte, error)

// sbinDirs are searched when a tool is not on PATH: sysctl and friends live
// in sbin, which is often not on an unprivileged user's PATH.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"}

// lookPath finds a tool on PATH or in the sbin directories.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		cand := filepath.Join(d, name)
		if fi, serr := os.Stat(cand); serr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", err
}

// stopGrace is how long a command gets to exit after SIGTERM (tcpdump uses
// it to flush its last packets) before it is killed.
const stopGrace = 300 * time.Millisecond

// Exec is the real ExecFunc. Each command runs in its own process group
// with LC_ALL=C (stable month names and number formats); when ctx is done
// the group gets SIGTERM, then SIGKILL after a short grace.
func Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
	path, err := lookPath(argv[0])
	if err != nil {
		return 127, err
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 126, err
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopGrace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	// A grandchild holding the output pipe open must not keep us waiting.
	cmd.WaitDelay = 200 * time.Millisecond
	werr := cmd.Wait()
	close(done)
	<-stopped
	// Whatever the group left behind goes too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	code := cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		return code, ctx.Err()
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) && !errors.Is(werr, exec.ErrWaitDelay) {
		return code, werr
	}
	return code, nil
}

// ReadFile is the real ReadFileFunc.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}
