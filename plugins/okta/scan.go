package okta

// A page is checked once (json.Valid), and then walked with the scanner below instead
// of being decoded into maps: decoding each user into a map[string]json.RawMessage,
// and its profile into another, validated the same bytes three times and copied every
// value, which made the connector read 100k users at under half the speed of a client
// that only splits the pages (see bench_test.go).

// skipSpace returns the index of the first byte at or after i that is not JSON white
// space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at b[i]. b must be
// valid JSON (json.Valid), so the scan only needs to find where the value ends.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = valueEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// elements calls each with every element of the valid JSON array b.
func elements(b []byte, each func(v []byte) error) error {
	i := skipSpace(b, 0)
	i = skipSpace(b, i+1) // past '['
	for i < len(b) && b[i] != ']' {
		end := valueEnd(b, i)
		if err := each(b[i:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

// members calls each with the key (as JSON writes it, quotes included) and the value of
// every member of the valid JSON object b.
func members(b []byte, each func(key, v []byte)) {
	i := skipSpace(b, 0)
	i = skipSpace(b, i+1) // past '{'
	for i < len(b) && b[i] == '"' {
		kend := valueEnd(b, i)
		key := b[i:kend]
		i = skipSpace(b, kend)
		i = skipSpace(b, i+1) // past ':'
		vend := valueEnd(b, i)
		each(key, b[i:vend])
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}
