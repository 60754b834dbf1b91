store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

mapping "m" {
  module = "../valid/modules/default.module"
}

sync "people" {
  connector       = connector.hr
  mapping         = mapping.m
  schedule        = "@hourly"
  required_fields = ["email", "employee_numbr", "nickname"]
}

sync "typed" {
  connector       = connector.hr
  mapping         = mapping.m
  schedule        = "@hourly"
  required_fields = "email"
}

sync "nulls" {
  connector       = connector.hr
  mapping         = mapping.m
  schedule        = "@hourly"
  required_fields = ["email", null]
}
