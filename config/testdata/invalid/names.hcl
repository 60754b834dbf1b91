store {
  url = "postgres://localhost/peoplesync"
}

connector "hr export" {
  plugin = "file"
}

connector {
  plugin = "file"
}

mapping "1default" {
  module = "../valid/modules/default.module"
}

sync "people" "extra" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
}
