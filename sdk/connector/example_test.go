package connector_test

import (
	"fmt"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// A whole connector, with its main (one call of Serve) and its conformance test, is the
// program in examples/connector.

// A connector that decodes a wire format of its own (LDAP's BER, say) can hand each
// record over in parts, as bytes, by implementing WriterReader: served as a plugin, the
// parts go straight into the batch on its way to the engine. Its Read is then ReadTo
// with NewRecordWriter(emit), which builds Records from the parts, as here.
func ExampleRecordWriter() {
	w := connector.NewRecordWriter(func(r connector.Record) error {
		fmt.Println(r.ID, r.DN, r.Attributes["cn"], len(r.Binary["jpegPhoto"][0]))
		return nil
	})
	name, photo := []byte("Ada Lovelace"), []byte{0xff, 0xd8, 0xff}
	w.Begin(connector.Upsert)
	w.SetDN([]byte("uid=ada,ou=people"))
	w.Text("cn", [][]byte{name})
	w.Binary("jpegPhoto", [][]byte{photo})
	w.SetID("1") // parts come in any order; the ID often comes with the attributes
	if err := w.End(); err != nil {
		fmt.Println(err)
	}
	// Output: 1 uid=ada,ou=people [Ada Lovelace] 3
}
