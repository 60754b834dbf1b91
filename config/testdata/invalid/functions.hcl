store {
  url = env("PEOPLESYNC_UNSET_VARIABLE")
}

connector "hr" {
  plugin = "file"
  config {
    password = env("HR_PASSWORD")
  }
}

mapping "default" {
  module = "../valid/modules/default.module"
  settings = {
    banner = file("missing-banner.txt")
    domain = env("EMAIL_DOMAIN", "example.com", "extra")
  }
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = env(42)
  timezone  = var.timezone
  timeout   = upper("1h")
}
