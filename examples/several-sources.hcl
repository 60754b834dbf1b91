# Two sources for the same people: the HR export (examples/hr.csv) creates and ends
# people and names managers by employee number; the directory (here the example LDIF,
# standing in for Active Directory) only joins them, by employee number and then email,
# and wins the email and the phones. Run from the repository's root:
#   peoplesync --config examples/several-sources.hcl sync --sync hr
#   peoplesync --config examples/several-sources.hcl sync --sync directory
#   peoplesync --config examples/several-sources.hcl pending --sync directory
#   peoplesync --config examples/several-sources.hcl person malgorzata.sharma@example.com

store {
  url = env("DATABASE_URL")
}

connector "hr_csv" {
  plugin = "file"
  config {
    path         = "hr.csv"
    id_attribute = "employee_id"
  }
}

connector "directory" {
  plugin = "file"
  config {
    path         = "people.ldif"
    id_attribute = "entryUUID"
  }
}

mapping "default" {
  module   = "../mappings/default/default.wasm"
  settings = { default_country_code = "49" }
}

sync "hr" {
  connector = connector.hr_csv
  mapping   = mapping.default
  schedule  = "0 * * * *"
}

sync "directory" {
  connector = connector.directory
  mapping   = mapping.default
  schedule  = "*/15 * * * *"
  people {
    create = false
    end    = false
    join   = ["employee_number", "email"]
  }
}

precedence {
  default = ["hr", "directory"]
  fields = {
    email        = ["directory", "hr"]
    phone_work   = ["directory", "hr"]
    phone_mobile = ["directory", "hr"]
    photo        = ["directory"]
  }
}
