# Many different problems in one file: all are reported at once, in file order.
store {
  url = env("PEOPLESYNC_UNSET_VARIABLE")
}

connector "hr" {
  plugin = "./plugins/hr"
  sha256 = "abc"
  config {
    path = "people.ldif"
  }
}

mapping "default" {
  module   = "mappings/missing.wasm"
  settings = [1, 2]
}

sync "people" {
  connector      = connector.hr_export
  mapping        = "default"
  schedule       = "every half hour"
  delta_schedule = "@every 5m"
  timezone       = "Europe/Berlinn"
  timeout        = "30 minutes"
  batch_size     = -1000
  colour         = "blue"
  deletion {
    max_count   = 500
    max_percent = 110
  }
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
}
