# The shape of the repository's sync.hcl.
store {
  url = env("DATABASE_URL")
}

connector "hr_export" {
  plugin = "file" # a bundled connector, or the path of a plugin binary
  config {        # decoded by the connector's own schema
    path         = "examples/people.ldif"
    format       = "ldif"
    id_attribute = "entryUUID"
  }
}

mapping "default" {
  module   = "modules/default.module"
  settings = { email_domain = "example.com" }
}

sync "people" {
  connector      = connector.hr_export
  mapping        = mapping.default
  schedule       = "*/30 * * * *"
  delta_schedule = "@every 5m"
  timezone       = "Europe/Berlin"
  timeout        = "30m"
  batch_size     = 1000
  deletion {
    max_count   = 500
    max_percent = 10
  }
}
