# The working example: sync the people of an HR export (LDIF) into the People Service's
# profile store. `make run` runs it; `peoplesync validate` checks it.

store {
  url = env("DATABASE_URL")
}

connector "hr_export" {
  plugin = "file" # a bundled connector, or the path of a connector binary built with sdk/
  # sha256 = "…"  # checked before an external binary is started
  config {
    path         = "examples/people.ldif"
    format       = "ldif"
    id_attribute = "entryUUID"
  }
}

mapping "default" {
  module = "mappings/default/default.wasm"
  settings = {
    email_domain         = "example.com"
    default_country_code = "49"
  }
}

sync "people" {
  connector = connector.hr_export
  mapping   = mapping.default
  schedule  = "*/30 * * * *"

  deletion {
    max_count   = 500
    max_percent = 10
  }
}
