verbose = true

store {
  url  = "postgres://localhost/peoplesync"
  pool = 4
}

connectr "hr" {
  plugin = "file"
}

connector "hr" {
  plugin = "file"
  path   = "people.ldif"
}

mapping "default" {
  module = "../valid/modules/default.module"
  setings = {}
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  retries   = 3
  deletion {
    max_total = 5
  }
  guard {
  }
}
