//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalsStopAnyInput runs the real binary on inputs that never end or
// never start (a stalled pipe, a FIFO without a writer, a FIFO with a slow
// writer), signals it, and checks it stops promptly, prints the partial
// report, says it was interrupted, and exits 130 or 143.
//
// Promptly is the README's promise, within a second, on a machine that
// has the CPU for it. What the bound proves is that a stop does not wait
// for the input (a read that never returns, a writer that never comes,
// a poll of its own): after the signal, orchard only prints the report of
// what it read and exits. That work is what a plain run on those same
// bytes does, start-up included, so the bound is a second on top of such
// a run, timed just before and just after: on an idle machine it takes
// tens of milliseconds, and on a loaded one it takes as long as the load
// makes the stop's own work take, while a stop that waits on its input
// still fails (a stalled writer waits 20 s, a stalled pipe for ever).
func TestSignalsStopAnyInput(t *testing.T) {
	bin := orchardBinary(t, "1")
	demo := demoBytes(t)
	part := filepath.Join(t.TempDir(), "part.pcap")
	if err := os.WriteFile(part, demo[:2000], 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		sig    syscall.Signal
		want   int
		stdin  bool // feed part of the demo on a pipe that then stalls
		fifo   bool // read a FIFO
		writer bool // ...that a writer opens and stalls on
	}{
		{"stalled stdin, SIGINT", syscall.SIGINT, 130, true, false, false},
		{"stalled stdin, SIGTERM", syscall.SIGTERM, 143, true, false, false},
		{"FIFO with no writer, SIGTERM", syscall.SIGTERM, 143, false, true, false},
		{"FIFO with a stalled writer, SIGINT", syscall.SIGINT, 130, false, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--no-color", "-")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			var pw *os.File
			if c.stdin {
				pr, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stdin, pw = pr, w
				defer pr.Close()
			}
			if c.fifo {
				fifo := filepath.Join(t.TempDir(), "live.fifo")
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
				cmd.Args[len(cmd.Args)-1] = fifo
				if c.writer {
					go func() {
						w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
						if err == nil {
							w.Write(demo[:2000])
							time.Sleep(20 * time.Second)
							w.Close()
						}
					}()
				}
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if pw != nil {
				pw.Write(demo[:2000]) // the header and a few packets, then nothing
				defer pw.Close()
			}
			time.Sleep(500 * time.Millisecond)
			before := plainRun(t, bin, part)
			sent := time.Now()
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(3*time.Second + 4*before):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running %v after %v; stderr: %s", time.Since(sent).Round(time.Millisecond), c.sig, errb.String())
			}
			stop := time.Since(sent)
			ref := max(before, plainRun(t, bin, part))
			t.Logf("stopped %v after the signal; a plain run on the same bytes took %v", stop.Round(time.Millisecond), ref.Round(time.Millisecond))
			if stop > time.Second+ref {
				t.Errorf("stopped %v after the signal, want under a second more than a plain run of what it read (%v)", stop.Round(time.Millisecond), ref.Round(time.Millisecond))
			}
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != c.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.want, errb.String())
			}
			if !strings.Contains(errb.String(), "interrupted by") {
				t.Errorf("stderr does not say it was interrupted: %s", errb.String())
			}
			if !strings.Contains(out.String(), "orchard: ") || !strings.Contains(out.String(), "warning: interrupted by SIG") {
				t.Errorf("no partial report, saying it is partial, on stdout: %q", out.String())
			}
			if (c.stdin || c.writer) && !strings.Contains(out.String(), " packets,") {
				t.Errorf("partial report lacks the packet count: %q", out.String())
			}
		})
	}
}

// plainRun times a run of bin on the capture file to its end, the work a
// stop does after its signal (the report of what was read, and exiting),
// with start-up on top, under the machine's load of the moment.
func plainRun(t *testing.T, bin, file string) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(bin, "--no-color", file).CombinedOutput()
	d := time.Since(start)
	if !strings.Contains(string(out), " packets,") {
		t.Fatalf("plain run on %s: %v\n%s", file, err, out)
	}
	return d
}

// TestSecondSignalExitsAtOnce checks that a second signal ends the process
// at once even if the first one is still being handled.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	bin := orchardBinary(t, "1")
	fifo := filepath.Join(t.TempDir(), "x.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	cmd := exec.Command(bin, fifo)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || (ee.ExitCode() != 130 && ee.ExitCode() != 143) {
			t.Errorf("exit %v, want 130 or 143; stderr: %s", err, errb.String())
		}
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running after two signals")
	}
}

// TestStaticBuildFilter checks a build without cgo says clearly that it
// cannot apply a BPF filter to a file, and still narrows with --device.
func TestStaticBuildFilter(t *testing.T) {
	bin := orchardBinary(t, "0")
	out, err := exec.Command(bin, demoPcap, "port", "53").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(out), "built without cgo and cannot compile BPF filters") {
		t.Errorf("static build with a filter: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "--device", "apsd", demoPcap).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tcp.syn_unanswered") {
		t.Errorf("static build with --device: %v\n%s", err, out)
	}
}

// TestStdinTerminalRefused checks '-' with a terminal on stdin is a usage
// error rather than a silent wait (script(1) gives the binary a terminal).
func TestStdinTerminalRefused(t *testing.T) {
	scr, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	bin := orchardBinary(t, "1")
	cmd := exec.Command(scr, "-qec", bin+" -", "/dev/null")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("orchard - waited on a terminal")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(out), "standard input is a terminal") {
		t.Errorf("exit %v, output %q", err, out)
	}
}
