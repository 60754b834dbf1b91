# env() with and without a default, file() relative to this file, in every block.
store {
  url = env("DATABASE_URL")
}

connector "ldap" {
  plugin = "ldap"
  config {
    url           = env("LDAP_URL", "ldaps://ldap.example.com")
    bind_password = trimspace(file("bind-password.txt"))
  }
}

mapping "default" {
  module = "modules/default.module"
  settings = {
    email_domain = env("EMAIL_DOMAIN", "example.com")
    banner       = file("bind-password.txt")
    weights      = [1, 2.5]
    nested       = { enabled = true }
  }
}

sync "people" {
  connector = connector.ldap
  mapping   = mapping.default
  schedule  = env("SCHEDULE", "0 3 * * *")
}
