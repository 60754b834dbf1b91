store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
  config {
    path = "people.ldif"
}
