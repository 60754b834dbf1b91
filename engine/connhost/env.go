package connhost

import "strings"

// passedEnv are the variables of the host's environment a plugin gets. Nothing else
// passes: the host's environment holds secrets (DATABASE_URL, the values config's env()
// reads), and a plugin's config, secrets included, travels over the protocol instead.
// go-plugin adds its own variables (the magic cookie, PLUGIN_*) after these.
var passedEnv = map[string]bool{
	// Where programs, home and temporary files are; go-plugin puts its socket in TMPDIR.
	"PATH": true, "HOME": true, "TMPDIR": true,
	// Locale and time zone.
	"TZ": true, "LANG": true, "LANGUAGE": true,
	// The system's CA certificates, for connectors that speak TLS.
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	// The Go runtime's knobs, so that an operator can tune a plugin as they tune the host.
	"GOGC": true, "GOMEMLIMIT": true, "GOMAXPROCS": true, "GODEBUG": true,
	"GOTRACEBACK": true, "GORACE": true, "GOCOVERDIR": true,
}

// pluginEnv returns the entries of environ (os.Environ's form) a plugin may see.
func pluginEnv(environ []string) []string {
	env := make([]string, 0, len(passedEnv)+4)
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if passedEnv[name] || strings.HasPrefix(name, "LC_") {
			env = append(env, kv)
		}
	}
	return env
}
