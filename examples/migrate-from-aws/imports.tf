# Adopt what the old hashicorp/aws resources created, in the plan of the first apply. Safe to delete once that
# apply succeeded (or keep them as a record: an import block for an address already in the state does nothing).

# The id is the source bucket: crossrepl reads its replication configuration, the role it names, and the
# customer-managed policy attached to that role.
import {
  to       = crossrepl_source.data
  id       = var.source_bucket
  provider = crossrepl.source
}

# The id is `<destination bucket>,<source account id>,<source bucket>`: the role name of a hand-written setup does
# not tell the source bucket, so it is spelled out.
import {
  to       = crossrepl_destination.dr
  id       = "${var.destination_bucket},${var.source_account_id},${var.source_bucket}"
  provider = crossrepl.destination
}
