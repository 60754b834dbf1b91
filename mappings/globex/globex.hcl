# Globex runs two syncs with the same module: one per directory, each with its own
# settings. Build the module first (make mappings); `peoplesync mapping test` reads this.

# Every configuration names its store; mapping test never connects to it.
store {
  url = "postgres://localhost/people"
}

mapping "globex_eu" {
  module   = "globex.wasm"
  settings = { directory = "ldap", country_code = "49" }
}

mapping "globex_jp" {
  module   = "globex.wasm"
  settings = { directory = "hr", country_code = "81", display_script = "native" }
}
