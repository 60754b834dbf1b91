store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

connector "ad" {
  plugin = "ldap"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

sync "quoted" {
  connector = "hr"
  mapping   = "default"
  schedule  = "@hourly"
}

sync "wrong_kind" {
  connector = mapping.default
  mapping   = connector.hr
  schedule  = "@hourly"
}

sync "undeclared" {
  connector = connector.hr_export
  mapping   = mapping.acme
  schedule  = "@hourly"
}

sync "malformed" {
  connector = connector.hr.config
  mapping   = mapping["default"]
  schedule  = "@hourly"
}

sync "bare" {
  connector = connector
  mapping   = env("MAPPING")
  schedule  = "@hourly"
}
