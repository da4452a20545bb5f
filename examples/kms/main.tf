# Cross-account replication of SSE-KMS objects: a bucket in the source account, whose objects are encrypted with a
# key of the source account, replicates into a bucket in the destination account, where replicas are encrypted
# with a key of the destination account. Both buckets and both keys must already exist, each key in its bucket's
# region. One `tofu apply` sets up both accounts; docs/guides/kms.md explains which policy grants what.

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

# Destination account: versioning, the bucket-policy statements, and one statement in the replica key's policy
# that lets the source account's replication role encrypt replicas with it (through S3, for this bucket only).
resource "crossrepl_destination" "dr" {
  provider          = crossrepl.destination
  bucket            = var.destination_bucket
  source_account_id = var.source_account_id
  source_bucket     = var.source_bucket

  # Also list the bucket's default SSE-KMS key here if it has one (see the output default_kms_key_arn).
  replica_kms_key_arns = [var.replica_kms_key_arn]
}

# Source account: the role may decrypt source objects with the source key and encrypt replicas with the replica
# key (and, through the grant, use the destination bucket's default key); the rule replicates SSE-KMS objects and
# names the replica key. With the grant, plan refuses a replica key the destination does not list.
resource "crossrepl_source" "data" {
  provider = crossrepl.source
  bucket   = var.source_bucket

  destination {
    bucket_arn          = crossrepl_destination.dr.bucket_arn
    account_id          = crossrepl_destination.dr.account_id
    grant               = crossrepl_destination.dr.grant
    replica_kms_key_arn = var.replica_kms_key_arn
    source_kms_key_arns = [var.source_kms_key_arn]
  }
}

output "replication_role_arn" {
  value = crossrepl_source.data.role_arn
}

output "replica_key_statement_sid" {
  description = "Sid of the statement in the replica key's policy (null after a refresh that found it changed)."
  value       = crossrepl_destination.dr.kms_statement_sid
}

output "default_kms_key_arn" {
  description = "The destination bucket's default SSE-KMS key, if any: list it in replica_kms_key_arns too."
  value       = crossrepl_destination.dr.default_kms_key_arn
}
