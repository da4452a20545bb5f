# One provider block per account, told apart by alias.
provider "crossrepl" {
  alias   = "source"
  profile = "prod"
  region  = "eu-west-1"
}

provider "crossrepl" {
  alias   = "dr"
  profile = "backup"
  region  = "eu-central-1"
}
