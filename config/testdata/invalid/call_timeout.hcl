store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

mapping "slow" {
  module       = "../valid/modules/default.module"
  call_timeout = "soon"
}

mapping "never" {
  module       = "../valid/modules/default.module"
  call_timeout = "0s"
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.slow
  schedule  = "@hourly"
}

mapping "hasty" {
  module       = "../valid/modules/default.module"
  call_timeout = "5ms"
}

mapping "patient" {
  module       = "../valid/modules/default.module"
  call_timeout = "1h"
}
