# The old hashicorp/aws resources leave the state without being destroyed: crossrepl adopts the role, the policy,
# the replication configuration and the replication grant in the same apply (imports.tf).
#
# `destroy = false` is essential. Without these blocks, deleting the resource blocks would make the plan destroy
# them: delete the role and the policy, delete the replication configuration (replication stops), and delete the
# whole destination bucket policy, every other statement included.
#
# Delete the old resource blocks in the same change as adding these (an engine refuses a `removed` block whose
# resource block is still there). The `from` addresses must be those of your configuration. These blocks can be
# deleted after the apply. OpenTofu before 1.10 rejects `lifecycle` here: leave it out there (OpenTofu's `removed`
# block forgets by default).

removed {
  from = aws_iam_role.replication
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_policy.replication
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role_policy_attachment.replication
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_s3_bucket_replication_configuration.replication
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_s3_bucket_policy.destination
  lifecycle {
    destroy = false
  }
}
