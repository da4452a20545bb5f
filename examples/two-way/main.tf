# Two-way cross-account S3 replication: bucket A (account A) replicates into bucket B (account B) and B replicates
# back into A, with replica modification sync, so metadata changes (tags, ACLs, object lock settings) made on a
# replica flow back to the original as well. Both buckets must already exist. One `tofu apply` sets up both
# accounts and both directions.
#
# Why there is no dependency cycle although each bucket is both a source and a destination: each direction is a
# pair of resources, a crossrepl_destination in the receiving account and a crossrepl_source in the sending one.
#   - A crossrepl_destination only needs the sending account's id and the sending bucket's name (the replication
#     role's name is derived from the bucket name exactly as crossrepl_source derives it), all known in advance:
#     it depends on nothing.
#   - A crossrepl_source references the outputs of the crossrepl_destination of its own direction.
# So the graph is two independent chains, destination.b_from_a -> source.a_to_b and destination.a_from_b ->
# source.b_to_a, and never a loop through the other direction.

terraform {
  required_providers {
    crossrepl = {
      source = "registry.terraform.io/crossrepl/crossrepl"
    }
  }
}

provider "crossrepl" {
  alias      = "a"
  region     = var.region
  profile    = var.profile_a
  access_key = var.access_key_a
  secret_key = var.secret_key_a

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
  alias      = "b"
  region     = var.region
  profile    = var.profile_b
  access_key = var.access_key_b
  secret_key = var.secret_key_b

  s3_use_path_style = var.endpoint != null
  endpoints {
    s3  = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
    kms = var.endpoint
  }
}

# ---- A -> B -------------------------------------------------------------------------------------------------------

# Account B: versioning on B, and a bucket-policy statement admitting account A's replication role (crossrepl-<A>).
resource "crossrepl_destination" "b_from_a" {
  provider          = crossrepl.b
  bucket            = var.bucket_b
  source_account_id = var.account_a_id
  source_bucket     = var.bucket_a
}

# Account A: the replication role and policy, versioning on A, and a rule replicating A into B.
resource "crossrepl_source" "a_to_b" {
  provider = crossrepl.a
  bucket   = var.bucket_a

  destination {
    bucket_arn                = crossrepl_destination.b_from_a.bucket_arn
    account_id                = crossrepl_destination.b_from_a.account_id
    grant                     = crossrepl_destination.b_from_a.grant
    delete_marker_replication = true # deletes on A hide the object on B too
    replica_modifications     = true # metadata changes made on replicas in A go back to B
  }
}

# ---- B -> A -------------------------------------------------------------------------------------------------------

# Account A: a bucket-policy statement on A admitting account B's replication role (crossrepl-<B>).
resource "crossrepl_destination" "a_from_b" {
  provider          = crossrepl.a
  bucket            = var.bucket_a
  source_account_id = var.account_b_id
  source_bucket     = var.bucket_b
}

# Account B: its own replication role and policy, and a rule replicating B into A.
resource "crossrepl_source" "b_to_a" {
  provider = crossrepl.b
  bucket   = var.bucket_b

  destination {
    bucket_arn                = crossrepl_destination.a_from_b.bucket_arn
    account_id                = crossrepl_destination.a_from_b.account_id
    grant                     = crossrepl_destination.a_from_b.grant
    delete_marker_replication = true
    replica_modifications     = true # metadata changes made on replicas in B go back to A
  }
}

output "replication_role_arn_a" {
  description = "Role account A replicates into B with."
  value       = crossrepl_source.a_to_b.role_arn
}

output "replication_role_arn_b" {
  description = "Role account B replicates into A with."
  value       = crossrepl_source.b_to_a.role_arn
}

output "statement_sid_on_b" {
  description = "Sid of the statement on bucket B admitting account A's role."
  value       = crossrepl_destination.b_from_a.statement_sid
}

output "statement_sid_on_a" {
  description = "Sid of the statement on bucket A admitting account B's role."
  value       = crossrepl_destination.a_from_b.statement_sid
}
