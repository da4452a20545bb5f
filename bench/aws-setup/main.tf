# The cross-account replication of examples/cross-account/, written by hand with hashicorp/aws: the comparison
# configuration of `bench/bench.py` (docs/performance.md, "Against hashicorp/aws").
#
# Like the crossrepl example, both buckets already exist (the bench creates them with boto3 before each apply),
# so this manages the seven resources that do the same work as crossrepl_destination + crossrepl_source:
#   destination account: aws_s3_bucket_versioning, aws_s3_bucket_policy
#   source account:      aws_iam_role, aws_iam_policy, aws_iam_role_policy_attachment, aws_s3_bucket_versioning,
#                        aws_s3_bucket_replication_configuration
# The "nine resources" usually quoted for this setup also count the two aws_s3_bucket resources.
# Documents are the ones crossrepl writes (trust policy, least-privilege role policy, the two destination
# bucket-policy statements), except that the bucket policy names the role itself as principal (the classic way,
# which orders the destination after the role) and the rule is the classic `allfiles` with storage class STANDARD
# and owner override to the destination account.

terraform {
  required_providers {
    aws = {
      source = "registry.terraform.io/hashicorp/aws"
    }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}
variable "source_bucket" { type = string }
variable "destination_bucket" { type = string }
variable "source_account_id" { type = string }
variable "destination_account_id" { type = string }
variable "endpoint" {
  description = "One endpoint URL for S3, IAM and STS (LocalStack)."
  type        = string
}

provider "aws" {
  alias                       = "source"
  region                      = var.region
  access_key                  = var.source_account_id # LocalStack: a 12-digit access key id selects the account
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    s3  = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
  }
}

provider "aws" {
  alias                       = "destination"
  region                      = var.region
  access_key                  = var.destination_account_id
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    s3  = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
  }
}

locals {
  source_bucket_arn      = "arn:aws:s3:::${var.source_bucket}"
  destination_bucket_arn = "arn:aws:s3:::${var.destination_bucket}"
}

# ---- source account ----------------------------------------------------------------------------------------

resource "aws_iam_role" "replication" {
  provider = aws.source
  name     = "s3-replication-configuration"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "S3AssumeReplicationRole"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = var.source_account_id }
        ArnLike      = { "aws:SourceArn" = local.source_bucket_arn }
      }
    }]
  })
}

resource "aws_iam_policy" "replication" {
  provider = aws.source
  name     = "s3-replication"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SourceBucket"
        Effect   = "Allow"
        Action   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
        Resource = local.source_bucket_arn
      },
      {
        Sid      = "SourceObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
        Resource = "${local.source_bucket_arn}/*"
      },
      {
        Sid      = "DestinationObjects"
        Effect   = "Allow"
        Action   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
        Resource = "${local.destination_bucket_arn}/*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "replication" {
  provider   = aws.source
  role       = aws_iam_role.replication.name
  policy_arn = aws_iam_policy.replication.arn
}

resource "aws_s3_bucket_versioning" "source" {
  provider = aws.source
  bucket   = var.source_bucket
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_replication_configuration" "replication" {
  provider = aws.source
  # versioning must be on at both ends first; the destination must admit the role first
  depends_on = [aws_s3_bucket_versioning.source, aws_s3_bucket_versioning.destination, aws_s3_bucket_policy.destination]

  role   = aws_iam_role.replication.arn
  bucket = var.source_bucket

  rule {
    id       = "allfiles"
    priority = 1
    status   = "Enabled"
    filter {}
    delete_marker_replication {
      status = "Enabled"
    }
    destination {
      bucket        = local.destination_bucket_arn
      account       = var.destination_account_id
      storage_class = "STANDARD"
      access_control_translation {
        owner = "Destination"
      }
    }
  }
}

# ---- destination account -----------------------------------------------------------------------------------

resource "aws_s3_bucket_versioning" "destination" {
  provider = aws.destination
  bucket   = var.destination_bucket
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_policy" "destination" {
  provider = aws.destination
  bucket   = var.destination_bucket
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ReplicateObjects"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.replication.arn }
        Action    = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
        Resource  = "${local.destination_bucket_arn}/*"
      },
      {
        Sid       = "ReplicationBucket"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.replication.arn }
        Action    = ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:ListBucket"]
        Resource  = local.destination_bucket_arn
      },
    ]
  })
}

output "replication_role_arn" {
  value = aws_iam_role.replication.arn
}
