connector "hr" {
  plugin = "file"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
}
