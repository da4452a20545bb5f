resource "crossrepl_source" "data" {
  provider = crossrepl.source
  bucket   = "acme-data"

  destination {
    bucket_arn = crossrepl_destination.dr.bucket_arn
    account_id = crossrepl_destination.dr.account_id
    grant      = crossrepl_destination.dr.grant
  }

  # A second rule: keys under logs/ also go to a same-account archive, in Glacier.
  destination {
    bucket_arn    = "arn:aws:s3:::acme-archive"
    prefix        = "logs/"
    storage_class = "GLACIER"
  }

  # Also replicate what the bucket already holds (an S3 Batch Replication job; see the existing-objects guide).
  existing_objects {
    report_bucket_arn = "arn:aws:s3:::acme-batch-reports"
    triggers_replace  = { run = "1" } # change to run the job again
  }
}
