//go:build unix

package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// readPipe reads content written into a named pipe, as an export streamed by another
// process would arrive.
func readPipe(t *testing.T, content string) ([]connector.Record, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hr.csv")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = w.WriteString(content)
		_ = w.Close()
	}()
	c := file.New()
	if diags, err := c.Configure(t.Context(), config(t, map[string]any{"path": path, "id_attribute": "id"})); err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
	var got []connector.Record
	_, err := c.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	return got, err
}

// A named pipe is read in one pass: it streams, a repeated ID makes its later record
// Invalid (the earlier one went out before it), and a cut-off last line fails the read
// without emitting that record.
func TestNamedPipe(t *testing.T) {
	got, err := readPipe(t, "id,cn\n1,Ada\n2,Bo\n2,Bo again\n3,Cy\n")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(got) != 4 || got[0].ID != "1" || got[1].ID != "2" || got[1].Kind != connector.Upsert || got[3].ID != "3" {
		t.Fatalf("records %+v", got)
	}
	if got[2].Kind != connector.Invalid || got[2].ID != "2" || !strings.Contains(got[2].Problem, "first at line 3") {
		t.Errorf("the repeated ID's record: %+v, want Invalid naming line 3", got[2])
	}

	got, err = readPipe(t, "id,cn\n1,Ada\n2,B")
	if err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Errorf("cut-off pipe: err %v, want the file to look cut off", err)
	}
	for _, r := range got {
		if r.ID == "2" {
			t.Errorf("the cut-off record was emitted: %+v", r)
		}
	}
}
