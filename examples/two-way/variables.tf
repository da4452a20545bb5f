variable "region" {
  description = "Region of both buckets."
  type        = string
  default     = "us-east-1"
}

variable "bucket_a" {
  description = "Existing bucket in account A."
  type        = string
}

variable "bucket_b" {
  description = "Existing bucket in account B."
  type        = string
}

variable "account_a_id" {
  description = "Id of account A (12 digits); bucket B's policy admits its replication role."
  type        = string
}

variable "account_b_id" {
  description = "Id of account B (12 digits); bucket A's policy admits its replication role."
  type        = string
}

variable "profile_a" {
  description = "AWS profile of account A (null: the standard AWS environment)."
  type        = string
  default     = null
}

variable "profile_b" {
  description = "AWS profile of account B."
  type        = string
  default     = null
}

variable "access_key_a" {
  description = "Static credentials instead of a profile (LocalStack: the 12-digit account id)."
  type        = string
  default     = null
}

variable "secret_key_a" {
  type      = string
  default   = null
  sensitive = true
}

variable "access_key_b" {
  type    = string
  default = null
}

variable "secret_key_b" {
  type      = string
  default   = null
  sensitive = true
}

variable "endpoint" {
  description = "One endpoint URL for S3, IAM and STS (LocalStack); null for real AWS."
  type        = string
  default     = null
}
