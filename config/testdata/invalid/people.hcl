# Mistakes in a sync's people block.
store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

mapping "default" {
  module = "../valid/modules/default.module"
}

sync "keys" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    end  = false
    join = ["employe_number", "email", "attribute.badge", "attributes.", "photo", "email", null]
  }
}

sync "types" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    create = "maybe"
    end    = 1
    join   = "email"
    colour = "blue"
  }
  people {
    create = false
  }
}

sync "orphan" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    create = false
    end    = false
  }
}

sync "empty_join" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    create = false
    end    = false
    join   = []
  }
}
