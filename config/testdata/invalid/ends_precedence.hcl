# Three syncs may end people that they share; the precedence names only two of them,
# in default and in active's list.
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
    join   = ["employee_number"]
  }
}

sync "badge" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    end  = true
    join = ["email"]
  }
}

precedence {
  default = ["hr", "ad"]
  fields = {
    active = ["hr", "badge"]
  }
}
