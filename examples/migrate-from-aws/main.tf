# Adopting the usual hand-written hashicorp/aws cross-account replication setup, without a replication gap.
# docs/guides/migrate-from-aws-provider.md explains every step; in short:
#   1. put these files into the configuration that holds the old hashicorp/aws resources, and delete the old
#      resource blocks (aws_iam_role, aws_iam_policy, aws_iam_role_policy_attachment,
#      aws_s3_bucket_replication_configuration, aws_s3_bucket_policy) in the same change;
#   2. `tofu plan` (or `terraform plan`): two imports, two in-place updates, five resources forgotten, nothing
#      created or destroyed;
#   3. apply; a second plan is empty.
#
# The names below are those of the old setup. They are what makes this an adoption rather than a parallel setup:
# without role_name / policy_name crossrepl would create a second role and policy next to the old ones, and
# without rule_id / priority it would rewrite the rule under its own id.

terraform {
  required_providers {
    crossrepl = {
      source = "registry.terraform.io/crossrepl/crossrepl"
    }
    # The configuration being migrated also has hashicorp/aws here (for the buckets, which stay with it):
    # aws = { source = "hashicorp/aws" }
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

# Destination account: replaces aws_s3_bucket_policy.destination. Only the statements that granted the old role
# replication are replaced (by crossrepl's two); every other statement of the bucket policy is kept as it is.
resource "crossrepl_destination" "dr" {
  provider          = crossrepl.destination
  bucket            = var.destination_bucket
  source_account_id = var.source_account_id
  source_bucket     = var.source_bucket
  source_role_name  = "s3-replication-configuration" # the old role, kept
}

# Source account: replaces aws_iam_role.replication, aws_iam_policy.replication,
# aws_iam_role_policy_attachment.replication and aws_s3_bucket_replication_configuration.replication.
resource "crossrepl_source" "data" {
  provider    = crossrepl.source
  bucket      = var.source_bucket
  role_name   = "s3-replication-configuration" # the old role, kept (its ARN does not change)
  policy_name = "s3-replication"               # the old managed policy, kept (rewritten to least privilege)

  destination {
    bucket_arn                = crossrepl_destination.dr.bucket_arn
    account_id                = crossrepl_destination.dr.account_id
    grant                     = crossrepl_destination.dr.grant
    rule_id                   = "allfiles" # the old rule's id
    priority                  = 0          # what hashicorp/aws sends for `filter {}` without `priority`
    storage_class             = "STANDARD"
    delete_marker_replication = true
    # owner_override = true   # only if the old rule had access_control_translation { owner = "Destination" }
  }
}

output "replication_role_arn" {
  description = "The replication role: the same ARN as before the migration."
  value       = crossrepl_source.data.role_arn
}

output "destination_statement_sid" {
  description = "Sid of crossrepl's statement in the destination bucket policy (the second one adds `Bucket`)."
  value       = crossrepl_destination.dr.statement_sid
}
