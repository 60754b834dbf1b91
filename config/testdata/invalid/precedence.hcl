# Mistakes in the precedence block.
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
}

precedence {
  default = ["hr", "adx", "hr", "payroll"]
  fields = {
    emial                    = ["ad"]
    email                    = ["ad", "ad", "hrr"]
    "attributes."            = ["hr"]
    "attribute.cost_center"  = ["hr"]
    "attributes.cost_center" = ["hr"]
    photo                    = ["ad"]
    photo                    = ["hr"]
    active                   = [null]
  }
  order = ["hr"]
}

precedence {
  default = ["ad"]
}
