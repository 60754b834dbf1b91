store {
}

connector "hr" {
  sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

mapping "default" {
  settings = { email_domain = "example.com" }
}

sync "people" {
  timezone = "UTC"
}
