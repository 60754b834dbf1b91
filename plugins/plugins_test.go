package plugins

import (
	"context"
	"strings"
	"testing"
)

func TestServeUnknownNameListsBundled(t *testing.T) {
	err := Serve("ldapp")
	if err == nil || !strings.Contains(err.Error(), `"ldapp"`) || !strings.Contains(err.Error(), "file") {
		t.Errorf("Serve(unknown) = %v, want an error naming it and listing the bundled connectors", err)
	}
}

func TestBundledNamesMatchDescribe(t *testing.T) {
	for name, newConnector := range Bundled {
		d, err := newConnector().Describe(context.Background())
		if err != nil {
			t.Fatalf("%s: Describe: %v", name, err)
		}
		if d.Name != name {
			t.Errorf("bundled as %q, but Describe says %q", name, d.Name)
		}
	}
}
