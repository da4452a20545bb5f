variable "region" {
  description = "Region of both buckets and both keys."
  type        = string
  default     = "us-east-1"
}

variable "source_bucket" {
  description = "Existing bucket in the source account to replicate."
  type        = string
}

variable "destination_bucket" {
  description = "Existing bucket in the destination account to replicate into."
  type        = string
}

variable "source_account_id" {
  description = "Id of the source account (12 digits)."
  type        = string
}

variable "source_kms_key_arn" {
  description = "ARN of the KMS key of the source account that source objects are encrypted with."
  type        = string
}

variable "replica_kms_key_arn" {
  description = "ARN of a customer managed KMS key of the destination account, in the destination bucket's region, to encrypt replicas with."
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
  description = "One endpoint URL for S3, IAM, STS and KMS (LocalStack); null for real AWS."
  type        = string
  default     = null
}
