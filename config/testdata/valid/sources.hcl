# Two sources of one set of people: HR creates and ends people; the directory only
# joins them, on the employee number and then the email, and contributes its fields.
store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

connector "corp_ldap" {
  plugin = "ldap"
}

mapping "default" {
  module = "modules/default.module"
}

sync "hr" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
}

sync "ad" {
  connector = connector.corp_ldap
  mapping   = mapping.default
  schedule  = "*/15 * * * *"
  people {
    create = false
    end    = false
    join   = ["employee_number", "email"]
  }
}

precedence {
  default = ["hr", "ad"]
  fields = {
    email                    = ["ad", "hr"]
    photo                    = ["ad"]
    "attributes.cost_center" = ["hr"]
  }
}
