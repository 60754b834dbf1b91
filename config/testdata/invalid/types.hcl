store {
  url = ["postgres://localhost/peoplesync"]
}

connector "hr" {
  plugin = 42
}

mapping "default" {
  module   = "../valid/modules/default.module"
  settings = "email_domain=example.com"
}

sync "people" {
  connector  = connector.hr
  mapping    = mapping.default
  schedule   = ["@hourly"]
  timezone   = null
  timeout    = 5
  batch_size = "many"
  deletion {
    max_count   = 1.5
    max_percent = "ten"
  }
}

sync "staff" {
  connector  = connector.hr
  mapping    = mapping.default
  schedule   = "@daily"
  batch_size = 2.5
}
