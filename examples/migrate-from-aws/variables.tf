variable "region" {
  description = "Region of both buckets."
  type        = string
  default     = "us-east-1"
}

variable "source_bucket" {
  description = "Source bucket of the existing replication setup (source account)."
  type        = string
}

variable "destination_bucket" {
  description = "Destination bucket of the existing replication setup (destination account)."
  type        = string
}

variable "source_account_id" {
  description = "Id of the source account (12 digits), owner of the replication role."
  type        = string
}

variable "source_profile" {
  description = "AWS profile of the source account (null: the standard AWS environment)."
  type        = string
  default     = null
}

variable "destination_profile" {
  description = "AWS profile of the destination account."
  type        = string
  default     = null
}

variable "source_access_key" {
  description = "Static credentials instead of a profile (LocalStack: the 12-digit account id)."
  type        = string
  default     = null
}

variable "source_secret_key" {
  type      = string
  default   = null
  sensitive = true
}

variable "destination_access_key" {
  type    = string
  default = null
}

variable "destination_secret_key" {
  type      = string
  default   = null
  sensitive = true
}

variable "endpoint" {
  description = "One endpoint URL for S3, IAM and STS (LocalStack); null for real AWS."
  type        = string
  default     = null
}
