package mapping

import "errors"

// SkipError is the decision not to keep a record (a service account, a computer, a record
// without a name), with the reason. The host counts it as skipped, not failed.
type SkipError struct {
	Reason string
}

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns the error a mapping function returns to skip its record for reason.
func Skip(reason string) error {
	return &SkipError{Reason: reason}
}

// IsSkip reports whether err is (or wraps) a skip, and its reason.
func IsSkip(err error) (reason string, ok bool) {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Reason, true
	}
	return "", false
}
