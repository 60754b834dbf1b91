package file

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxLine bounds one physical line (a JSON Lines record with a photo is one line), and
// one CSV record over several lines.
const maxLine = 64 << 20

var bom = []byte{0xEF, 0xBB, 0xBF}

// lineReader reads the physical lines of an export for every format. It is where the
// file problems that no format can read past are found: a line over maxLine, a read
// error, and a last line without its line break, which is how a cut-off file looks
// (head -c, a copy that ran out of disk, an upload that stopped).
type lineReader struct {
	br   *bufio.Reader
	path string
	n    int    // the line last returned, 1-based
	long []byte // a line longer than br's buffer
	err  error  // why next returned false, nil at a clean end
}

func newLineReader(r io.Reader, path string) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), path: path}
}

// next returns the next line without its line break ("\n" or "\r\n"), and a leading byte
// order mark on line 1. The bytes are valid until the next call. It returns false at the
// end of the file or on an error, which err then holds.
func (lr *lineReader) next() ([]byte, bool) {
	if lr.err != nil {
		return nil, false
	}
	line, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.br.ReadSlice('\n')
			lr.long = append(lr.long, line...)
			if len(lr.long) > maxLine {
				lr.err = &LineError{Path: lr.path, Line: lr.n + 1, Err: fmt.Errorf("line longer than %d MiB", maxLine>>20)}
				return nil, false
			}
		}
		line = lr.long
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && len(line) == 0:
		return nil, false
	case errors.Is(err, io.EOF):
		lr.err = &LineError{Path: lr.path, Line: lr.n + 1, Err: errCutOff}
		return nil, false
	default:
		lr.err = fmt.Errorf("reading %s: %w", lr.path, err)
		return nil, false
	}
	if len(line) > maxLine+1 {
		lr.err = &LineError{Path: lr.path, Line: lr.n + 1, Err: fmt.Errorf("line longer than %d MiB", maxLine>>20)}
		return nil, false
	}
	lr.n++
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if lr.n == 1 {
		line = bytes.TrimPrefix(line, bom)
	}
	return line, true
}

// errCutOff is the problem of a file whose last line has no line break.
var errCutOff = errors.New("the last line has no line break: the file looks cut off, so the read is incomplete")
