# Several connectors, mappings and syncs; an external plugin with a checksum.
store {
  url = "postgres://localhost/peoplesync"
}

connector "ad" {
  plugin = "./connectors/connector"
  sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
  config {
    hosts = ["dc1.example.com", "dc2.example.com"]
  }
}

connector "hr-csv" {
  plugin = "file"
  config {
    path   = "people.csv"
    format = "csv"
  }
}

mapping "default" {
  module = "modules/default.module"
}

mapping "acme" {
  module       = "./modules/default.module"
  settings     = {}
  call_timeout = "5s"
}

sync "ad_people" {
  connector      = connector.ad
  mapping        = mapping.acme
  schedule       = "0 */6 * * *"
  delta_schedule = "*/5 * * * *"
  timezone       = "America/New_York"
  timeout        = "2h30m"
  batch_size     = 250
  deletion {
    max_count = 0
  }
}

sync "hr_people" {
  connector = connector.hr-csv
  mapping   = mapping.default
  schedule  = "@every 10m"
  required_fields = ["email", "employee_number"]
  deletion {
    max_percent = 2.5
    max_error_percent = 5
  }
}
