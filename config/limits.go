package config

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on what a configuration file may hold, checked on its tokens before hclsyntax
// parses it. hclsyntax parses by recursive descent and the evaluation recurses too, so
// without them a hostile or broken file decides how much stack, memory and time a load
// takes: 100,000 nested brackets ended in "fatal error: stack overflow" (which no
// recover catches), a settings list of 5M items took 93 s and 3.9 GB, and a 50 MB string
// was echoed whole in a diagnostic. A real sync.hcl is a few kilobytes, nests a handful
// of levels and lists tens of items; the limits leave two orders of magnitude above that.
// They are checked on the lexer's tokens, at about 1.5 µs a token (0.3 s for a file of
// 100,000 brackets, the worst a 256 KiB file can hold, ×4 under the race detector).
const (
	// MaxFileSize is the largest configuration file, and the largest file file() reads.
	MaxFileSize = 256 << 10
	// MaxNesting is the deepest nesting of brackets, braces, parentheses, quotes,
	// interpolations and unary operators.
	MaxNesting = 64
	// MaxItems is the most items (elements, attributes, arguments) between one pair of
	// brackets or braces.
	MaxItems = 10000
	// MaxQuoted is how many characters of a value a diagnostic quotes; the rest is cut.
	MaxQuoted = 80
	// maxDiagnosticText bounds a diagnostic's summary and detail, whoever wrote them
	// (hclsyntax quotes a misspelt attribute's name whole, however long).
	maxDiagnosticText = 1000
)

// boundDiagnostics cuts every summary and detail longer than maxDiagnosticText.
func boundDiagnostics(diags hcl.Diagnostics) {
	for _, d := range diags {
		d.Summary = cutText(d.Summary)
		d.Detail = cutText(d.Detail)
	}
}

func cutText(s string) string {
	if len(s) <= maxDiagnosticText {
		return s
	}
	cut := maxDiagnosticText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes cut)", len(s)-cut)
}

// checkLimits reports the first place where src exceeds a limit, or nothing. It lexes
// src (the lexer is a state machine: no recursion) and walks the tokens with an explicit
// stack.
func checkLimits(src []byte, filename string) hcl.Diagnostics {
	start := hcl.Pos{Line: 1, Column: 1}
	if len(src) > MaxFileSize {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration file too large",
			Detail:   fmt.Sprintf("The file is %d bytes; a configuration file may hold at most %d (256 KiB).", len(src), MaxFileSize),
			Subject:  &hcl.Range{Filename: filename, Start: start, End: start},
		}}
	}
	tokens, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos) // the parser reports lexical errors
	type open struct {
		rng   hcl.Range
		items int
	}
	var stack []open
	unary := 0 // consecutive unary operators, each one more level of recursion
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenMinus, hclsyntax.TokenBang:
			unary++
		default:
			unary = 0
		}
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			stack = append(stack, open{rng: tok.Range})
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case hclsyntax.TokenComma, hclsyntax.TokenNewline:
			if len(stack) > 0 {
				top := &stack[len(stack)-1]
				if top.items++; top.items > MaxItems {
					return hcl.Diagnostics{{
						Severity: hcl.DiagError,
						Summary:  "Too many items",
						Detail:   fmt.Sprintf("This holds more than %d items (elements, attributes or arguments), more than a configuration needs.", MaxItems),
						Subject:  top.rng.Ptr(),
					}}
				}
			}
		}
		if len(stack)+unary > MaxNesting {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Nesting too deep",
				Detail:   fmt.Sprintf("Brackets, braces, parentheses, strings and operators nest here more than %d levels deep, more than a configuration needs.", MaxNesting),
				Subject:  tok.Range.Ptr(),
			}}
		}
	}
	return nil
}

// quote renders a value for a diagnostic as a Go-quoted string of at most MaxQuoted
// characters: a longer one is cut and says how long it was, so that a megabyte that
// landed in the wrong attribute does not become a megabyte of output.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	cut, n := 0, 0
	for i := range s {
		if n == MaxQuoted {
			cut = i
			break
		}
		n++
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}
