# Cross-account S3 replication in two blocks: a bucket in the source account replicates into a bucket in the
# destination account. Both buckets must already exist. One `tofu apply` sets up both accounts.

terraform {
  required_providers {
    crossrepl = {
      source = "registry.terraform.io/crossrepl/crossrepl"
    }
  }
}

provider "crossrepl" {
  alias      = "source"
  region     = var.region
  profile    = var.source_profile
  access_key = var.source_access_key
  secret_key = var.source_secret_key

  # Only for LocalStack or other custom endpoints; null means the real AWS endpoints.
  s3_use_path_style = var.endpoint != null
  endpoints {
    s3  = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
    kms = var.endpoint
  }
}

provider "crossrepl" {
  alias      = "destination"
  region     = var.region
  profile    = var.destination_profile
  access_key = var.destination_access_key
  secret_key = var.destination_secret_key

  s3_use_path_style = var.endpoint != null
  endpoints {
    s3  = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
    kms = var.endpoint
  }
}

# Destination account: versioning, and a bucket-policy statement admitting the source account's replication role.
resource "crossrepl_destination" "dr" {
  provider          = crossrepl.destination
  bucket            = var.destination_bucket
  source_account_id = var.source_account_id
  source_bucket     = var.source_bucket
}

# Source account: the replication role and policy, versioning, and one replication rule per destination.
resource "crossrepl_source" "data" {
  provider = crossrepl.source
  bucket   = var.source_bucket

  destination {
    bucket_arn = crossrepl_destination.dr.bucket_arn
    account_id = crossrepl_destination.dr.account_id
    grant      = crossrepl_destination.dr.grant
  }
}

output "replication_role_arn" {
  value = crossrepl_source.data.role_arn
}

output "destination_statement_sid" {
  value = crossrepl_destination.dr.statement_sid
}
