package adminapi

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lbdns.db")
	tok, err := LoadOrCreateToken(db)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Errorf("token %q, want 64 hex digits", tok)
	}
	fi, err := os.Stat(TokenPath(db))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreateToken(db)
	if err != nil || again != tok {
		t.Errorf("second LoadOrCreateToken = %q, %v; want the same token %q", again, err, tok)
	}
	read, err := ReadToken(db)
	if err != nil || read != tok {
		t.Errorf("ReadToken = %q, %v; want %q", read, err, tok)
	}
}

func TestTokenFileRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	good := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		mode    os.FileMode
		content string
		want    string
	}{
		{"world-readable", 0o644, good, "mode 0644, so group or others can read"},
		{"group-readable", 0o640, good, "mode 0640"},
		{"empty", 0o600, "", "malformed"},
		{"short", 0o600, "secret", "malformed"},
		{"two words", 0o600, strings.Repeat("a", 32) + " " + strings.Repeat("b", 32), "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "lbdns.db")
			if err := os.WriteFile(TokenPath(db), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(TokenPath(db), tc.mode); err != nil {
				t.Fatal(err)
			}
			for name, load := range map[string]func(string) (string, error){
				"LoadOrCreateToken": LoadOrCreateToken, "ReadToken": ReadToken,
			} {
				tok, err := load(db)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s = %q, %v; want error containing %q", name, tok, err, tc.want)
				}
			}
			if b, _ := os.ReadFile(TokenPath(db)); string(b) != tc.content {
				t.Errorf("refused token file was rewritten to %q", b)
			}
		})
	}
}

func TestReadTokenMissing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lbdns.db")
	if _, err := ReadToken(db); err == nil || !strings.Contains(err.Error(), "lbdns serve") {
		t.Errorf("ReadToken without a token file: %v, want a hint about lbdns serve", err)
	}
	if _, err := os.Stat(TokenPath(db)); !os.IsNotExist(err) {
		t.Errorf("ReadToken created the token file")
	}
}

func TestAddrFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lbdns.db")
	if _, err := ReadAddr(db); err == nil || !strings.Contains(err.Error(), "--admin") {
		t.Errorf("ReadAddr before WriteAddr: %v, want a hint", err)
	}
	for _, addr := range []string{"127.0.0.1:8053", "[::1]:9053"} {
		if err := WriteAddr(db, addr); err != nil {
			t.Fatal(err)
		}
		if got, err := ReadAddr(db); err != nil || got != addr {
			t.Errorf("ReadAddr = %q, %v; want %q", got, err, addr)
		}
	}
	if err := RemoveAddr(db); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAddr(db); err != nil {
		t.Errorf("second RemoveAddr: %v, want nil", err)
	}
	if _, err := ReadAddr(db); err == nil {
		t.Error("ReadAddr after RemoveAddr succeeded")
	}
	entries, _ := os.ReadDir(filepath.Dir(db))
	if len(entries) != 0 {
		t.Errorf("leftover files: %v", entries)
	}
}
