package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPageAndCompletionsHaveEveryFlag checks that the man page and the
// three completion scripts, all generated from the flag set, name every
// visible flag, and that the checked-in orchard.1 is up to date.
func TestManPageAndCompletionsHaveEveryFlag(t *testing.T) {
	var man bytes.Buffer
	writeManPage(&man)
	docs := map[string]string{"man": man.String()}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, stderr, code := runCLI(t, nil, "completion", sh)
		if code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", sh, code, stderr)
		}
		docs[sh] = out
	}
	flags := visibleFlags()
	if len(flags) < 25 {
		t.Fatalf("only %d flags", len(flags))
	}
	for _, f := range flags {
		for doc, text := range docs {
			want := "--" + f.Name
			switch doc {
			case "man":
				want = `\-\-` + strings.ReplaceAll(f.Name, "-", `\-`)
			case "fish":
				want = "-l " + f.Name + " "
			}
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %s", doc, want)
			}
		}
	}
	for doc, text := range docs {
		if strings.Contains(text, "cpuprofile") {
			t.Errorf("%s names the hidden --cpuprofile", doc)
		}
	}
	if !strings.Contains(docs["bash"], `--format) COMPREPLY=($(compgen -W "`+strings.Join(enumValues["format"], " ")+`"`) {
		t.Error("bash does not complete --format's values")
	}
	path := filepath.Join("..", "..", "orchard.1")
	if *update {
		if err := os.WriteFile(path, man.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != man.String() {
		t.Errorf("orchard.1 is not what the flag set generates (go generate ./cmd/orchard): %v", err)
	}
}

// TestCompletionScriptsParse runs each shell's syntax check on its script
// when the shell is installed.
func TestCompletionScriptsParse(t *testing.T) {
	for sh, check := range map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}} {
		path, err := exec.LookPath(check[0])
		if err != nil {
			continue
		}
		out, _, _ := runCLI(t, nil, "completion", sh)
		f := filepath.Join(t.TempDir(), "c."+sh)
		os.WriteFile(f, []byte(out), 0o644)
		if msg, err := exec.Command(path, append(check[1:], f)...).CombinedOutput(); err != nil {
			t.Errorf("%s rejects its completion script: %v\n%s", sh, err, msg)
		}
	}
	if _, _, code := runCLI(t, nil, "completion", "tcsh"); code != exitUsage {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}
