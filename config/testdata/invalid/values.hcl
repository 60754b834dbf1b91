store {
  url = ""
}

connector "hr" {
  plugin = "file"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

sync "timezone" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  timezone  = "Mars/Olympus_Mons"
}

sync "durations" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  timeout   = "soon"
}

sync "negative_duration" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  timeout   = "-5m"
  timezone  = ""
}

sync "numbers" {
  connector  = connector.hr
  mapping    = mapping.default
  schedule   = "@hourly"
  batch_size = -1
  deletion {
    max_count   = -10
    max_percent = 150
    max_error_percent = 101
  }
}

sync "zero_batch" {
  connector  = connector.hr
  mapping    = mapping.default
  schedule   = "@hourly"
  batch_size = 0
  deletion {
    max_percent = -0.5
    max_error_percent = -1
  }
}
