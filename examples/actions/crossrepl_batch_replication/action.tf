# Terraform >= 1.14. Run it with: terraform apply -invoke=action.crossrepl_batch_replication.data
action "crossrepl_batch_replication" "data" {
  provider = crossrepl.source
  config {
    # The source of the resource example: its existing_objects block created the batch role the job runs as.
    source_bucket        = crossrepl_source.data.bucket
    report_bucket_arn    = "arn:aws:s3:::acme-batch-reports" # with existing_objects' report_prefix (the default)
    replication_statuses = ["FAILED"]                        # e.g. after a permission was fixed
    timeout              = "30m"
  }
}
