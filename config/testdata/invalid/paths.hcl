store {
  url = "postgres://localhost/peoplesync"
}

connector "missing_binary" {
  plugin = "./bin/connector"
}

connector "not_executable" {
  plugin = "../valid/connectors/not-executable"
}

connector "directory" {
  plugin = "../valid/connectors"
}

connector "short_sum" {
  plugin = "../valid/connectors/connector"
  sha256 = "e3b0c442"
}

connector "not_hex" {
  plugin = "../valid/connectors/connector"
  sha256 = "z3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

connector "bundled_sum" {
  plugin = "file"
  sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

mapping "missing_module" {
  module = "mappings/default/default.wasm"
}

mapping "module_dir" {
  module = "../valid/modules"
}
