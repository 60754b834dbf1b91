store {
  url = "postgres://localhost/one"
}

store {
  url = "postgres://localhost/two"
}

connector "hr" {
  plugin = "file"
  config {
    path = "a.ldif"
  }
  config {
    path = "b.ldif"
  }
}

connector "hr" {
  plugin = "ldap"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

mapping "default" {
  module = "../valid/modules/missing.module"
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  deletion {
    max_count = 10
  }
  deletion {
    max_count = 20
  }
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@daily"
}
