store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

sync "four_fields" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "*/30 * * *"
}

sync "seconds" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "0 */30 * * * *"
}

sync "out_of_range" {
  connector      = connector.hr
  mapping        = mapping.default
  schedule       = "0 25 * * *"
  delta_schedule = "@fortnightly"
}

sync "bad_every" {
  connector      = connector.hr
  mapping        = mapping.default
  schedule       = "@hourly"
  delta_schedule = "@every soon"
}

sync "tz_prefix" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "CRON_TZ=Europe/Berlin 0 3 * * *"
}

sync "empty" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = ""
}
