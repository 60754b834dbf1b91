package config

import (
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// evalContext returns the evaluation context of a configuration: no variables, and the
// functions env, file and trimspace. lookupEnv resolves env(); dir is where file() paths
// are relative to.
func evalContext(lookupEnv func(string) (string, bool), dir string) *hcl.EvalContext {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env":       envFunc(lookupEnv),
			"file":      fileFunc(dir),
			"trimspace": stdlib.TrimSpaceFunc,
		},
	}
}

// envFunc is env(NAME) or env(NAME, DEFAULT): the value of an environment variable. An
// unset variable without a default is an error, so that a missing secret is caught at
// load time rather than sent to a directory as an empty password.
func envFunc(lookup func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the default if given and the variable is unset.",
		Params: []function.Parameter{
			{Name: "name", Type: cty.String},
		},
		VarParam: &function.Parameter{Name: "default", Type: cty.String},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			name := args[0].AsString()
			if v, ok := lookup(name); ok {
				return cty.StringVal(v).Mark(secretMark{from: fmt.Sprintf("env(%q)", name)}), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.NilVal, &UnsetEnvError{Name: name}
		},
	})
}

// UnsetEnvError is the error of env(NAME) without a default when NAME is not set. A
// diagnostic of such a call carries it (hclsyntax.FunctionCallDiagExtra), so that a
// command that never uses the value (validate, for the store's url) can tell it apart.
type UnsetEnvError struct {
	Name string
}

func (e *UnsetEnvError) Error() string {
	return fmt.Sprintf("environment variable %q is not set (give a default with env(%q, \"...\"))", e.Name, e.Name)
}

// fileFunc is file(PATH): the contents of a UTF-8 text file, relative to dir.
func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a text file, relative to the configuration file's directory.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			written := args[0].AsString()
			path := resolvePath(dir, written)
			b, err := readLimited(path)
			if err != nil {
				return cty.NilVal, fmt.Errorf("cannot read file: %w", err)
			}
			if !utf8.Valid(b) {
				return cty.NilVal, fmt.Errorf("file %s is not valid UTF-8 text", path)
			}
			return cty.StringVal(string(b)).Mark(secretMark{from: fmt.Sprintf("file(%q)", written)}), nil
		},
	})
}

// resolvePath joins a relative path to dir; absolute paths are kept.
func resolvePath(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
