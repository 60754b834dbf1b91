# The mapping block a sync uses to run the acme module, and the config that
# `peoplesync mapping test` reads. Build the module first: make mappings.

# Every configuration names its store; mapping test never connects to it.
store {
  url = "postgres://localhost/people"
}

mapping "acme" {
  module = "acme.wasm"
  settings = {
    country_code       = "1"
    unknown_department = "keep"
    department_codes = {
      "4711" = "Platform Engineering"
      "2001" = "Sales"
    }
  }
}
