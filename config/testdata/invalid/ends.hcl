# Two syncs share people (ad joins them) and both may end them (end = true is the
# default), and no precedence says which wins.
store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

sync "hr" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
}

sync "ad" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    create = false
    join   = ["email"]
  }
}
